//! Small cryptographic helpers every layer may use: random tokens, constant-time
//! comparison, key derivation and hex. A leaf: it imports nothing from this crate.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// `bytes` bytes from the operating system's CSPRNG, base64url-encoded without padding.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    // Without an OS random source nothing here can be secure; there is no way to go on.
    getrandom::fill(&mut buf).expect("the operating system's random source failed");
    URL_SAFE_NO_PAD.encode(buf)
}

/// Whether `value` has the shape of a [`random_token`] of 32 bytes (43 base64url
/// characters): refresh and CSRF tokens. Saves a lookup or comparison for junk.
pub fn is_token_shaped(value: &str) -> bool {
    value.len() == 43
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A key for one purpose, derived from the signing secret under its own `label`, so that
/// no two uses share a key.
pub fn derive_key(secret: &[u8], label: &[u8]) -> Vec<u8> {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret).expect("HMAC accepts any key size");
    mac.update(label);
    mac.finalize().into_bytes().to_vec()
}

/// Encrypts and authenticates small secrets at rest (XChaCha20-Poly1305, a random
/// 192-bit nonce per message): `seal` gives base64url of nonce and ciphertext, `open`
/// gives the plaintext back only if it was sealed with the same key and the same
/// `context` (say, the user id), so a sealed value copied to another row does not open.
pub struct Sealer {
    cipher: chacha20poly1305::XChaCha20Poly1305,
}

impl Sealer {
    /// A sealer keyed by `key` (32 bytes, e.g. from [`derive_key`]).
    pub fn new(key: &[u8]) -> Self {
        use chacha20poly1305::KeyInit;
        Self {
            cipher: chacha20poly1305::XChaCha20Poly1305::new_from_slice(key)
                .expect("a 32-byte key"),
        }
    }

    /// Seals `plaintext` for `context`.
    pub fn seal(&self, plaintext: &[u8], context: &str) -> String {
        use chacha20poly1305::aead::{Aead, Payload};
        let mut nonce = [0u8; 24];
        getrandom::fill(&mut nonce).expect("the operating system's random source failed");
        let sealed = self
            .cipher
            .encrypt(
                (&nonce).into(),
                Payload {
                    msg: plaintext,
                    aad: context.as_bytes(),
                },
            )
            .expect("encryption of a small message cannot fail");
        URL_SAFE_NO_PAD.encode([nonce.as_slice(), &sealed].concat())
    }

    /// The plaintext of a value sealed for `context`, or `None` if it is not one.
    pub fn open(&self, sealed: &str, context: &str) -> Option<Vec<u8>> {
        use chacha20poly1305::aead::{Aead, Payload};
        let bytes = URL_SAFE_NO_PAD.decode(sealed).ok()?;
        if bytes.len() < 24 {
            return None;
        }
        let (nonce, ciphertext) = bytes.split_at(24);
        self.cipher
            .decrypt(
                nonce.into(),
                Payload {
                    msg: ciphertext,
                    aad: context.as_bytes(),
                },
            )
            .ok()
    }
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: impl AsRef<[u8]>) -> String {
    ::hex::encode(bytes)
}

/// SHA-256 of `bytes`, in lower-case hex.
pub fn sha256_hex(bytes: impl AsRef<[u8]>) -> String {
    use sha2::Digest;
    hex(sha2::Sha256::digest(bytes.as_ref()))
}

/// Constant-time equality for secrets compared against input.
pub fn secure_eq(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_value_opens_only_with_its_key_and_context() {
        let sealer = Sealer::new(&derive_key(b"secret", b"label"));
        let sealed = sealer.seal(b"totp secret", "user-1");
        assert_eq!(sealer.open(&sealed, "user-1").unwrap(), b"totp secret");
        assert!(sealer.open(&sealed, "user-2").is_none());
        let other = Sealer::new(&derive_key(b"secret", b"other label"));
        assert!(other.open(&sealed, "user-1").is_none());
        assert_ne!(
            sealer.seal(b"totp secret", "user-1"),
            sealed,
            "a fresh nonce each time"
        );
        assert!(sealer.open("not base64!", "user-1").is_none());
        assert!(sealer.open("AAAA", "user-1").is_none());
    }
}
