//! The cryptography `jsonwebtoken` signs with: HS256 and EdDSA on the RustCrypto crates
//! the backend already uses (`hmac`, `sha2`, `ed25519-dalek`), installed as its process
//! provider. Its own `rust_crypto` feature would bring RSA and the NIST curves as well,
//! and with them the `rsa` crate's unfixed timing advisory (RUSTSEC-2023-0071), for
//! algorithms no key of ours is ever made for; `aws_lc_rs` would build C.
//!
//! The code is that of `jsonwebtoken`'s `rust_crypto` provider for these two algorithms,
//! so tokens and verdicts are the same; every other algorithm is refused.

use ed25519_dalek::pkcs8::DecodePrivateKey;
use hmac::{Hmac, Mac};
use jsonwebtoken::crypto::{CryptoProvider, JwkUtils, JwtSigner, JwtVerifier};
use jsonwebtoken::errors::{Error, ErrorKind};
use jsonwebtoken::jwk::ThumbprintHash;
use jsonwebtoken::signature::{self, Signer, Verifier};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, EncodingKey};
use sha2::{Digest, Sha256, Sha384, Sha512};

/// HS256 and EdDSA only.
pub static PROVIDER: CryptoProvider = CryptoProvider {
    signer_factory: new_signer,
    verifier_factory: new_verifier,
    jwk_utils: JwkUtils {
        extract_rsa_public_key_components: |_| Err(unsupported()),
        extract_ec_public_key_coordinates: |_, _| Err(unsupported()),
        compute_digest,
    },
};

/// Makes [`PROVIDER`] the process's provider unless one is installed already (it can be
/// set once); cheap enough to call before each use.
pub fn install() {
    let _ = PROVIDER.install_default();
}

fn unsupported() -> Error {
    ErrorKind::InvalidAlgorithm.into()
}

fn new_signer(alg: &Algorithm, key: &EncodingKey) -> Result<Box<dyn JwtSigner>, Error> {
    match alg {
        Algorithm::HS256 => Ok(Box::new(Hs256(keyed(key.try_get_hmac_secret()?)?))),
        Algorithm::EdDSA if key.family() == AlgorithmFamily::Ed => {
            let signing = ed25519_dalek::SigningKey::from_pkcs8_der(key.inner())
                .map_err(|_| ErrorKind::InvalidEddsaKey)?;
            Ok(Box::new(EdDsaSigner(signing)))
        }
        Algorithm::EdDSA => Err(ErrorKind::InvalidKeyFormat.into()),
        _ => Err(unsupported()),
    }
}

fn new_verifier(alg: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>, Error> {
    match alg {
        Algorithm::HS256 => Ok(Box::new(Hs256(keyed(key.try_get_hmac_secret()?)?))),
        Algorithm::EdDSA if key.family() == AlgorithmFamily::Ed => {
            let bytes =
                <&[u8; 32]>::try_from(key.as_bytes()).map_err(|_| ErrorKind::InvalidEddsaKey)?;
            let public = ed25519_dalek::VerifyingKey::from_bytes(bytes)
                .map_err(|_| ErrorKind::InvalidEddsaKey)?;
            Ok(Box::new(EdDsaVerifier(public)))
        }
        Algorithm::EdDSA => Err(ErrorKind::InvalidKeyFormat.into()),
        _ => Err(unsupported()),
    }
}

fn keyed(secret: &[u8]) -> Result<Hmac<Sha256>, Error> {
    Hmac::new_from_slice(secret).map_err(|_| ErrorKind::InvalidKeyFormat.into())
}

// The signature is `JwkUtils::compute_digest`'s.
#[allow(clippy::needless_pass_by_value)]
fn compute_digest(data: &[u8], hash: ThumbprintHash) -> Vec<u8> {
    match hash {
        ThumbprintHash::SHA256 => Sha256::digest(data).to_vec(),
        ThumbprintHash::SHA384 => Sha384::digest(data).to_vec(),
        ThumbprintHash::SHA512 => Sha512::digest(data).to_vec(),
    }
}

/// HMAC-SHA256 keyed once; each use works on a copy.
struct Hs256(Hmac<Sha256>);

impl Signer<Vec<u8>> for Hs256 {
    fn try_sign(&self, message: &[u8]) -> Result<Vec<u8>, signature::Error> {
        let mut mac = self.0.clone();
        mac.update(message);
        Ok(mac.finalize().into_bytes().to_vec())
    }
}

impl Verifier<Vec<u8>> for Hs256 {
    fn verify(&self, message: &[u8], signature: &Vec<u8>) -> Result<(), signature::Error> {
        let mut mac = self.0.clone();
        mac.update(message);
        mac.verify_slice(signature)
            .map_err(signature::Error::from_source)
    }
}

impl JwtSigner for Hs256 {
    fn algorithm(&self) -> Algorithm {
        Algorithm::HS256
    }
}

impl JwtVerifier for Hs256 {
    fn algorithm(&self) -> Algorithm {
        Algorithm::HS256
    }
}

struct EdDsaSigner(ed25519_dalek::SigningKey);

impl Signer<Vec<u8>> for EdDsaSigner {
    fn try_sign(&self, message: &[u8]) -> Result<Vec<u8>, signature::Error> {
        Ok(self.0.sign(message).to_bytes().to_vec())
    }
}

impl JwtSigner for EdDsaSigner {
    fn algorithm(&self) -> Algorithm {
        Algorithm::EdDSA
    }
}

struct EdDsaVerifier(ed25519_dalek::VerifyingKey);

impl Verifier<Vec<u8>> for EdDsaVerifier {
    fn verify(&self, message: &[u8], signature: &Vec<u8>) -> Result<(), signature::Error> {
        self.0
            .verify(message, &ed25519_dalek::Signature::from_slice(signature)?)
    }
}

impl JwtVerifier for EdDsaVerifier {
    fn algorithm(&self) -> Algorithm {
        Algorithm::EdDSA
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use ed25519_dalek::pkcs8::EncodePrivateKey;
    use jsonwebtoken::crypto::{sign, verify};

    use super::*;

    fn b64(text: &str) -> Vec<u8> {
        URL_SAFE_NO_PAD.decode(text).unwrap()
    }

    #[test]
    fn hs256_gives_the_verdicts_of_rfc_7515_appendix_a_1() {
        install();
        let key = DecodingKey::from_secret(&b64(
            "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow",
        ));
        let input = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";
        let signature = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert!(verify(signature, input.as_bytes(), &key, Algorithm::HS256).unwrap());
        let forged = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXQ";
        assert!(!verify(forged, input.as_bytes(), &key, Algorithm::HS256).unwrap());
        let other = DecodingKey::from_secret(b"another key");
        assert!(!verify(signature, input.as_bytes(), &other, Algorithm::HS256).unwrap());
    }

    #[test]
    fn eddsa_signs_and_verifies_as_rfc_8037_appendix_a_4() {
        install();
        let seed: [u8; 32] = b64("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A")
            .try_into()
            .unwrap();
        let der = ed25519_dalek::SigningKey::from_bytes(&seed)
            .to_pkcs8_der()
            .unwrap();
        let input = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc";
        let signature = "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";
        let encoding = EncodingKey::from_ed_der(der.as_bytes());
        assert_eq!(
            sign(input.as_bytes(), &encoding, Algorithm::EdDSA).unwrap(),
            signature
        );
        let public =
            DecodingKey::from_ed_components("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo").unwrap();
        assert!(verify(signature, input.as_bytes(), &public, Algorithm::EdDSA).unwrap());
        let tampered = input.replace("RXhh", "RXhi");
        assert!(!verify(signature, tampered.as_bytes(), &public, Algorithm::EdDSA).unwrap());
    }

    #[test]
    fn every_other_algorithm_and_a_key_of_the_wrong_kind_are_refused() {
        install();
        let secret = EncodingKey::from_secret(b"s");
        for alg in [
            Algorithm::HS384,
            Algorithm::HS512,
            Algorithm::RS256,
            Algorithm::PS256,
            Algorithm::ES256,
        ] {
            let error = sign(b"m", &secret, alg).unwrap_err();
            assert_eq!(*error.kind(), ErrorKind::InvalidAlgorithm, "{alg:?}");
        }
        let error = sign(b"m", &secret, Algorithm::EdDSA).unwrap_err();
        assert_eq!(*error.kind(), ErrorKind::InvalidKeyFormat);
    }
}
