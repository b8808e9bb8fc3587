//! The rules a token must meet, the backend's own: a header that names its key by `kid`
//! and offers no key of its own, the one algorithm that key is for, every claim present
//! with its JSON type, the issuer and audience expected, `nbf` and `iat` at most 30 s
//! ahead, and `exp` with no leeway at all.
//!
//! `jsonwebtoken` reads the header; the signature is checked here with `ed25519-dalek`
//! (strictly: no weak public key, no non-canonical signature) and the claims by serde and
//! the rules below, in the order `jsonwebtoken::decode` applies them. Its `decode` would
//! need a process-wide crypto provider, which a library should not install on behalf of
//! the service that uses it, and its built-in one (`rust_crypto`) brings the `rsa` crate
//! for algorithms a JWKS of Ed25519 keys never needs.
//!
//! Times are checked here against the verifier's clock rather than the system clock, so
//! that tests can move time.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use shared::Claims;

use crate::error::{Invalid, VerifyError};

/// Tokens longer than this are refused unread (the backend's limit too).
pub const MAX_TOKEN_BYTES: usize = 4096;
/// Tolerance for an issuer's clock running ahead, applied to `nbf` and `iat`. `exp` gets
/// none: a token never lives longer than it says.
pub const LEEWAY_SECS: i64 = 30;

/// A published key, with the one algorithm it verifies.
#[derive(Clone)]
pub(crate) struct Key {
    /// Pinned: a token naming this key must say this `alg`.
    pub alg: Algorithm,
    /// The public key, a valid Ed25519 point.
    pub public: ed25519_dalek::VerifyingKey,
}

/// What the header says, once it has passed the header rules.
#[derive(Debug)]
pub(crate) struct Header {
    /// The key the token names.
    pub kid: String,
    /// The algorithm the token claims.
    pub alg: Algorithm,
}

/// Reads the header of `token` and applies the rules that need no key.
pub(crate) fn read_header(token: &str) -> Result<Header, Invalid> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(Invalid::TooLong);
    }
    let header = jsonwebtoken::decode_header(token).map_err(|_| Invalid::Malformed)?;
    if header.jku.is_some() || header.x5u.is_some() || header.jwk.is_some() || header.x5c.is_some()
    {
        return Err(Invalid::KeyInHeader);
    }
    if header.crit.is_some() {
        return Err(Invalid::CriticalHeader);
    }
    let kid = header
        .kid
        .filter(|kid| !kid.is_empty())
        .ok_or(Invalid::MissingKid)?;
    Ok(Header {
        kid,
        alg: header.alg,
    })
}

/// The claim rules for one issuer and audience.
pub(crate) struct Rules {
    issuer: String,
    audience: String,
}

impl Rules {
    /// Rules for tokens from `issuer` to `audience`.
    pub fn new(issuer: &str, audience: &str) -> Self {
        Self {
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
        }
    }

    /// Verifies `token` (whose header is `header`) with `key` at `now_ms` (Unix ms).
    pub fn check(
        &self,
        token: &str,
        header: &Header,
        key: &Key,
        now_ms: i64,
    ) -> Result<Claims, VerifyError> {
        // Only Ed25519 keys are ever taken from a JWKS; the pin is what stops an HS256
        // token "signed" with the public key.
        if header.alg != key.alg || key.alg != Algorithm::EdDSA {
            return Err(Invalid::WrongAlgorithm.into());
        }
        // A header that decoded has no '.', so there are exactly three parts.
        let (signed, signature) = token.rsplit_once('.').ok_or(Invalid::Malformed)?;
        let (_, claims) = signed.split_once('.').ok_or(Invalid::Malformed)?;
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| Invalid::Malformed)?;
        let genuine = ed25519_dalek::Signature::from_slice(&signature).is_ok_and(|signature| {
            key.public
                .verify_strict(signed.as_bytes(), &signature)
                .is_ok()
        });
        if !genuine {
            return Err(Invalid::BadSignature.into());
        }
        let claims = URL_SAFE_NO_PAD
            .decode(claims)
            .map_err(|_| Invalid::Malformed)?;
        let claims: Claims = serde_json::from_slice(&claims).map_err(|_| Invalid::Claims)?;
        // NumericDates before 1970 are not dates a token of ours carries.
        if claims.exp < 0 || claims.nbf < 0 {
            return Err(Invalid::Claims.into());
        }
        if claims.iss != self.issuer {
            return Err(Invalid::WrongIssuer.into());
        }
        if claims.aud != self.audience {
            return Err(Invalid::WrongAudience.into());
        }
        if claims.sub.is_empty() || claims.sid.is_empty() {
            return Err(Invalid::Claims.into());
        }
        let now = now_ms.div_euclid(1000);
        if claims.nbf > now + LEEWAY_SECS || claims.iat > now + LEEWAY_SECS {
            return Err(Invalid::NotYetValid.into());
        }
        if now_ms >= claims.exp.saturating_mul(1000) {
            return Err(VerifyError::Expired);
        }
        Ok(claims)
    }
}
