//! The rules a token must meet, the backend's own: a header that names its key by `kid`
//! and offers no key of its own, the one algorithm that key is for, every claim present
//! with its JSON type, the issuer and audience expected, `nbf` and `iat` at most 30 s
//! ahead, and `exp` with no leeway at all.
//!
//! Times are checked here against the verifier's clock rather than by `jsonwebtoken`
//! (which reads the system clock), so that tests can move time.

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
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
    /// The public key.
    pub decoding: DecodingKey,
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
    eddsa: Validation,
}

impl Rules {
    /// Rules for tokens from `issuer` to `audience`.
    pub fn new(issuer: &str, audience: &str) -> Self {
        let mut eddsa = Validation::new(Algorithm::EdDSA);
        eddsa.set_issuer(&[issuer]);
        eddsa.set_audience(&[audience]);
        eddsa.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        eddsa.validate_exp = false;
        eddsa.validate_nbf = false;
        eddsa.leeway = 0;
        Self { eddsa }
    }

    /// Verifies `token` (whose header is `header`) with `key` at `now_ms` (Unix ms).
    pub fn check(
        &self,
        token: &str,
        header: &Header,
        key: &Key,
        now_ms: i64,
    ) -> Result<Claims, VerifyError> {
        // Only Ed25519 keys are ever taken from a JWKS, so one validation serves; the
        // pin is what stops an HS256 token "signed" with the public key.
        if header.alg != key.alg || key.alg != Algorithm::EdDSA {
            return Err(Invalid::WrongAlgorithm.into());
        }
        let claims = jsonwebtoken::decode::<Claims>(token, &key.decoding, &self.eddsa)
            .map_err(|error| invalid(error.kind()))?
            .claims;
        let now = now_ms.div_euclid(1000);
        if claims.sub.is_empty() || claims.sid.is_empty() {
            return Err(Invalid::Claims.into());
        }
        if claims.nbf > now + LEEWAY_SECS || claims.iat > now + LEEWAY_SECS {
            return Err(Invalid::NotYetValid.into());
        }
        if now_ms >= claims.exp.saturating_mul(1000) {
            return Err(VerifyError::Expired);
        }
        Ok(claims)
    }
}

/// What a `jsonwebtoken` error says about the token.
fn invalid(kind: &ErrorKind) -> Invalid {
    match kind {
        ErrorKind::InvalidSignature => Invalid::BadSignature,
        ErrorKind::InvalidIssuer => Invalid::WrongIssuer,
        ErrorKind::InvalidAudience => Invalid::WrongAudience,
        ErrorKind::InvalidAlgorithm => Invalid::WrongAlgorithm,
        ErrorKind::MissingRequiredClaim(_) | ErrorKind::Json(_) => Invalid::Claims,
        _ => Invalid::Malformed,
    }
}
