//! Access tokens: HS256 JWTs, signed and verified here and nowhere else.
//!
//! Expiry and not-before are checked against the injected clock rather than by
//! `jsonwebtoken` (which reads the system clock), so tests can move time.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use sha2::{Digest, Sha256};
use shared::{Claims, Role};

/// `iss` of every access token.
pub const ISSUER: &str = "jwt-auth-backend";
/// `aud` of every access token.
pub const AUDIENCE: &str = "jwt-auth-spa";
/// Tokens longer than this are refused unread.
pub const MAX_TOKEN_BYTES: usize = 4096;
/// Tolerance for clocks of other instances running ahead, applied to `nbf` and `iat`.
/// `exp` gets none: a token never lives longer than it says.
pub const LEEWAY_SECS: i64 = 30;

/// Why a token was refused; the variants map to the API's 401 codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    /// Signed by us, but past `exp`.
    Expired,
    /// Anything else: malformed, forged, wrong algorithm or key id, bad claims.
    Invalid,
}

/// The signing key and everything needed to verify tokens.
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    kid: String,
    validation: Validation,
}

impl JwtKeys {
    /// Keys from the configured secret.
    pub fn new(secret: &[u8]) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        // Checked in `verify` against the injected clock.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.leeway = 0;
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            kid: key_id(secret),
            validation,
        }
    }

    /// Signs an access token for a session, issued at `now` and expiring at `expires_at`
    /// (Unix seconds).
    pub fn issue(
        &self,
        user_id: &str,
        session_id: &str,
        role: Role,
        now: i64,
        expires_at: i64,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        self.sign(&Claims {
            sub: user_id.to_owned(),
            sid: session_id.to_owned(),
            role,
            iat: now,
            nbf: now,
            exp: expires_at,
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            jti: uuid::Uuid::new_v4().to_string(),
        })
    }

    /// Signs arbitrary claims with the header `{"alg":"HS256","typ":"JWT","kid":…}`.
    pub fn sign(&self, claims: &Claims) -> Result<String, jsonwebtoken::errors::Error> {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding)
    }

    /// Verifies signature, header and claims at time `now_ms` (Unix ms).
    pub fn verify(&self, token: &str, now_ms: i64) -> Result<Claims, TokenError> {
        let now = now_ms.div_euclid(1000);
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::Invalid);
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Invalid)?;
        let header_ok = header.alg == Algorithm::HS256
            && header.kid.as_deref() == Some(self.kid.as_str())
            && header.jku.is_none()
            && header.jwk.is_none()
            && header.x5u.is_none()
            && header.x5c.is_none();
        if !header_ok {
            return Err(TokenError::Invalid);
        }
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|_| TokenError::Invalid)?
            .claims;
        if claims.sub.is_empty()
            || claims.sid.is_empty()
            || claims.nbf > now + LEEWAY_SECS
            || claims.iat > now + LEEWAY_SECS
        {
            return Err(TokenError::Invalid);
        }
        if now_ms >= claims.exp.saturating_mul(1000) {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }

    /// Signs and verifies one token, so a broken key or crypto backend stops the start.
    pub fn self_test(&self, now_ms: i64) -> anyhow::Result<()> {
        let now = now_ms.div_euclid(1000);
        let token = self.issue("self-test", "self-test", Role::User, now, now + 60)?;
        match self.verify(&token, now_ms) {
            Ok(claims) if claims.sub == "self-test" => Ok(()),
            other => anyhow::bail!("JWT self-test failed: {other:?}"),
        }
    }
}

fn key_id(secret: &[u8]) -> String {
    let digest = Sha256::new()
        .chain_update(b"jwt-auth key id\0")
        .chain_update(secret)
        .finalize();
    crate::crypto::hex(&digest[..8])
}
