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
