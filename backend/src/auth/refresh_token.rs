//! Refresh token values: opaque, 256-bit, stored only as SHA-256 hashes.
//!
//! A rotated token's successor is `HMAC(rotation key, old token)`. That lets a replay of
//! the token just rotated away, within the grace window, be answered with the very token
//! the rotation issued, while the database still holds nothing but hashes.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::crypto::{derive_key, random_token, sha256_hex};

/// Derives successors of refresh tokens.
pub struct RefreshTokens {
    rotation_key: Vec<u8>,
}

impl RefreshTokens {
    /// The rotation key is derived from the signing secret under its own label.
    pub fn new(secret: &[u8]) -> Self {
        Self {
            rotation_key: derive_key(secret, b"jwt-auth refresh-token rotation v1"),
        }
    }

    /// A fresh token for a new session.
    pub fn generate(&self) -> String {
        random_token(32)
    }

    /// The token that rotating `token` issues.
    pub fn successor(&self, token: &str) -> String {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.rotation_key).expect("HMAC accepts any key size");
        mac.update(token.as_bytes());
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }
}

/// The hash stored in the database.
pub fn hash(token: &str) -> String {
    sha256_hex(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::is_token_shaped;

    #[test]
    fn successors_are_well_formed_deterministic_and_keyed() {
        let a = RefreshTokens::new(b"first secret, at least thirty-two bytes");
        let b = RefreshTokens::new(b"other secret, at least thirty-two bytes");
        let token = a.generate();
        assert!(is_token_shaped(&token));
        assert!(is_token_shaped(&a.successor(&token)));
        assert_eq!(a.successor(&token), a.successor(&token));
        assert_ne!(a.successor(&token), b.successor(&token));
        assert_ne!(a.successor(&token), token);
    }

    #[test]
    fn junk_is_not_well_formed() {
        assert!(!is_token_shaped(""));
        assert!(!is_token_shaped(&"a".repeat(44)));
        assert!(!is_token_shaped(&format!("{}=", "a".repeat(42))));
    }
}
