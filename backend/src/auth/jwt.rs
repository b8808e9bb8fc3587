//! Access tokens: JWTs signed and verified here and nowhere else, with the key set of
//! [`super::signing_keys`]: the active key signs; every key not retired verifies the tokens
//! that name it by `kid`, with the one algorithm it was made for.
//!
//! Expiry and not-before are checked against the injected clock rather than by
//! `jsonwebtoken` (which reads the system clock), so tests can move time.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
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

/// One key of the set, ready to use.
pub struct Key {
    /// Its id.
    pub kid: String,
    /// The one algorithm it signs and verifies with.
    pub alg: Algorithm,
    /// Signs (only while it is the active key).
    pub encoding: EncodingKey,
    /// Verifies.
    pub decoding: DecodingKey,
    /// An EdDSA key's public key (base64url), for the JWKS.
    pub public_x: Option<String>,
    /// Unix ms from which it signs.
    pub activates_at: i64,
    /// Unix ms from which it verifies no more (`None`: no successor yet).
    pub retires_at: Option<i64>,
}

/// The keys at one moment of the database, in the order they activate.
#[derive(Default)]
pub struct KeySet {
    keys: Vec<Key>,
    by_kid: HashMap<String, usize>,
}

impl KeySet {
    /// A set of `keys`, sorted by activation.
    pub fn new(mut keys: Vec<Key>) -> Self {
        keys.sort_by(|a, b| (a.activates_at, &a.kid).cmp(&(b.activates_at, &b.kid)));
        let by_kid = keys
            .iter()
            .enumerate()
            .map(|(i, key)| (key.kid.clone(), i))
            .collect();
        Self { keys, by_kid }
    }

    /// The key that signs at `now_ms`: the last one activated.
    pub fn signing(&self, now_ms: i64) -> Option<&Key> {
        self.keys
            .iter()
            .rev()
            .find(|key| key.activates_at <= now_ms)
    }

    /// The key `kid`, if it verifies at `now_ms` (it is not retired).
    pub fn verifying(&self, kid: &str, now_ms: i64) -> Option<&Key> {
        let key = &self.keys[*self.by_kid.get(kid)?];
        key.retires_at.is_none_or(|at| now_ms < at).then_some(key)
    }

    /// The keys that verify at `now_ms` (next, active and retiring).
    pub fn live(&self, now_ms: i64) -> impl Iterator<Item = &Key> {
        self.keys
            .iter()
            .filter(move |key| key.retires_at.is_none_or(|at| now_ms < at))
    }
}

/// The key set in use, swapped whole when the database's changes.
pub struct JwtKeys {
    set: RwLock<Arc<KeySet>>,
    hs256: Validation,
    eddsa: Validation,
}

/// The checks `jsonwebtoken` makes for a key of `alg` (the times are checked here).
fn validation(alg: Algorithm) -> Validation {
    let mut validation = Validation::new(alg);
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[AUDIENCE]);
    validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.leeway = 0;
    validation
}

impl JwtKeys {
    /// Keys from `set`.
    pub fn new(set: KeySet) -> Self {
        Self {
            set: RwLock::new(Arc::new(set)),
            hs256: validation(Algorithm::HS256),
            eddsa: validation(Algorithm::EdDSA),
        }
    }

    /// Puts `set` in use.
    pub fn install(&self, set: KeySet) {
        *self.set.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(set);
    }

    /// The set in use.
    pub fn current(&self) -> Arc<KeySet> {
        Arc::clone(&self.set.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// Signs an access token for a session, issued at `now_ms` (Unix ms) and expiring at
    /// `expires_at` (Unix seconds), with the key active at `now_ms`.
    pub fn issue(
        &self,
        user_id: &str,
        session_id: &str,
        role: Role,
        now_ms: i64,
        expires_at: i64,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let now = now_ms.div_euclid(1000);
        let claims = Claims {
            sub: user_id.to_owned(),
            sid: session_id.to_owned(),
            role,
            iat: now,
            nbf: now,
            exp: expires_at,
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            jti: uuid::Uuid::new_v4().to_string(),
        };
        self.sign(&claims, now_ms)
    }

    /// Signs arbitrary claims with the key active at `now_ms`, under the header
    /// `{"alg":…,"typ":"JWT","kid":…}`.
    pub fn sign(
        &self,
        claims: &Claims,
        now_ms: i64,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let set = self.set.read().unwrap_or_else(|e| e.into_inner());
        let Some(key) = set.signing(now_ms) else {
            return Err(jsonwebtoken::errors::ErrorKind::InvalidKeyFormat.into());
        };
        let mut header = Header::new(key.alg);
        header.kid = Some(key.kid.clone());
        jsonwebtoken::encode(&header, claims, &key.encoding)
    }

    /// Verifies signature, header and claims at time `now_ms` (Unix ms).
    pub fn verify(&self, token: &str, now_ms: i64) -> Result<Claims, TokenError> {
        let now = now_ms.div_euclid(1000);
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::Invalid);
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Invalid)?;
        if header.jku.is_some()
            || header.jwk.is_some()
            || header.x5u.is_some()
            || header.x5c.is_some()
        {
            return Err(TokenError::Invalid);
        }
        let set = self.set.read().unwrap_or_else(|e| e.into_inner());
        let key = header
            .kid
            .as_deref()
            .and_then(|kid| set.verifying(kid, now_ms))
            .filter(|key| key.alg == header.alg)
            .ok_or(TokenError::Invalid)?;
        let validation = match key.alg {
            Algorithm::EdDSA => &self.eddsa,
            _ => &self.hs256,
        };
        let claims = jsonwebtoken::decode::<Claims>(token, &key.decoding, validation)
            .map_err(|_| TokenError::Invalid)?
            .claims;
        drop(set);
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
        let expires_at = now_ms.div_euclid(1000) + 60;
        let token = self.issue("self-test", "self-test", Role::User, now_ms, expires_at)?;
        match self.verify(&token, now_ms) {
            Ok(claims) if claims.sub == "self-test" => Ok(()),
            other => anyhow::bail!("JWT self-test failed: {other:?}"),
        }
    }
}
