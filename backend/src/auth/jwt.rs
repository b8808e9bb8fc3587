//! Access tokens: JWTs signed and verified here and nowhere else, with the key set of
//! [`super::signing_keys`]: the active key signs; every key not retired verifies the tokens
//! that name it by `kid`, with the one algorithm it was made for.
//!
//! Signing goes through `jsonwebtoken`, on the HS256 and EdDSA of [`super::jose_crypto`]
//! (installed when a key set is made). Verification, which every authenticated request
//! pays, is done here on the same RustCrypto primitives `jsonwebtoken` uses, because its
//! `decode` parses the header three times (ours, then its own twice) and the claims twice
//! and sets up the HMAC key on each call: ~4 µs where one parse of each part and a
//! pre-keyed HMAC take ~1 µs (BENCHMARKS.md). The rules are the same and stricter where
//! they differ (`crit` refused, Ed25519 checked strictly); a test holds every one-byte
//! change of a real token to the same verdict as `jsonwebtoken`.
//!
//! Expiry and not-before are checked against the injected clock rather than the system
//! clock, so tests can move time.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Deserialize;
use serde::de::IgnoredAny;
use sha2::Sha256;
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
    pub verifying: Verifying,
    /// An EdDSA key's public key (base64url), for the JWKS.
    pub public_x: Option<String>,
    /// Unix ms from which it signs.
    pub activates_at: i64,
    /// Unix ms from which it verifies no more (`None`: no successor yet).
    pub retires_at: Option<i64>,
}

/// What checks a key's signatures, prepared once per key.
#[derive(Clone)]
pub enum Verifying {
    /// HMAC-SHA256 already keyed with the secret (each check works on a copy).
    Hs256(Hmac<Sha256>),
    /// An Ed25519 public key, decoded once.
    Ed25519(ed25519_dalek::VerifyingKey),
}

impl Verifying {
    /// Checks `signature` over `message`, in constant time for HMAC.
    fn accepts(&self, message: &[u8], signature: &[u8]) -> bool {
        match self {
            Self::Hs256(keyed) => {
                let mut mac = keyed.clone();
                mac.update(message);
                mac.verify_slice(signature).is_ok()
            }
            Self::Ed25519(public) => ed25519_dalek::Signature::from_slice(signature)
                .is_ok_and(|signature| public.verify_strict(message, &signature).is_ok()),
        }
    }
}

impl Key {
    /// An HS256 key from its secret.
    pub fn hs256(kid: String, secret: &[u8], activates_at: i64) -> Self {
        Self {
            kid,
            alg: Algorithm::HS256,
            encoding: EncodingKey::from_secret(secret),
            verifying: Verifying::Hs256(
                Hmac::new_from_slice(secret).expect("HMAC takes a key of any length"),
            ),
            public_x: None,
            activates_at,
            retires_at: None,
        }
    }

    /// An Ed25519 key from its private seed.
    pub fn ed25519(kid: String, seed: &[u8; 32], activates_at: i64) -> Option<Self> {
        use ed25519_dalek::pkcs8::EncodePrivateKey;
        let signing = ed25519_dalek::SigningKey::from_bytes(seed);
        let der = signing.to_pkcs8_der().ok()?;
        let public = signing.verifying_key();
        Some(Self {
            kid,
            alg: Algorithm::EdDSA,
            encoding: EncodingKey::from_ed_der(der.as_bytes()),
            verifying: Verifying::Ed25519(public),
            public_x: Some(URL_SAFE_NO_PAD.encode(public.as_bytes())),
            activates_at,
            retires_at: None,
        })
    }
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
}

/// The JOSE header fields that matter. Any member that would point at a key elsewhere, or
/// that demands extensions (`crit`), makes the token invalid; others are ignored.
#[derive(Deserialize)]
struct JoseHeader<'a> {
    #[serde(borrow)]
    alg: Cow<'a, str>,
    #[serde(borrow)]
    kid: Option<Cow<'a, str>>,
    /// A string when present (as `jsonwebtoken` demands).
    #[serde(borrow)]
    #[allow(dead_code)]
    typ: Option<Cow<'a, str>>,
    jku: Option<IgnoredAny>,
    jwk: Option<IgnoredAny>,
    x5u: Option<IgnoredAny>,
    x5c: Option<IgnoredAny>,
    crit: Option<IgnoredAny>,
}

impl JoseHeader<'_> {
    fn points_elsewhere(&self) -> bool {
        self.jku.is_some()
            || self.jwk.is_some()
            || self.x5u.is_some()
            || self.x5c.is_some()
            || self.crit.is_some()
    }
}

/// Decodes one base64url part (no padding, canonical) into `buffer`.
fn decode_part<'b>(part: &str, buffer: &'b mut [u8]) -> Result<&'b [u8], TokenError> {
    let len = URL_SAFE_NO_PAD
        .decode_slice(part, buffer)
        .map_err(|_| TokenError::Invalid)?;
    Ok(&buffer[..len])
}

impl JwtKeys {
    /// Keys from `set`.
    pub fn new(set: KeySet) -> Self {
        super::jose_crypto::install();
        Self {
            set: RwLock::new(Arc::new(set)),
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

    /// Verifies signature, header and claims at time `now_ms` (Unix ms): three base64url
    /// parts; a header naming a key of the set that verifies now, with that key's one
    /// algorithm and nothing pointing elsewhere; the signature; then every claim present
    /// with its type, our issuer and audience, `nbf`/`iat` within the leeway, and `exp`
    /// not reached.
    pub fn verify(&self, token: &str, now_ms: i64) -> Result<Claims, TokenError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::Invalid);
        }
        let mut parts = token.split('.');
        let (Some(header_part), Some(claims_part), Some(signature_part), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Invalid);
        };
        // A part decodes to at most 3/4 of the token's length.
        let mut buffer = [0u8; MAX_TOKEN_BYTES / 4 * 3];
        let header: JoseHeader = serde_json::from_slice(decode_part(header_part, &mut buffer)?)
            .map_err(|_| TokenError::Invalid)?;
        if header.points_elsewhere() {
            return Err(TokenError::Invalid);
        }
        let signed = &token.as_bytes()[..header_part.len() + 1 + claims_part.len()];
        let mut signature = [0u8; 64];
        let signature = decode_part(signature_part, &mut signature)?;
        {
            // A copy of the set, so that a rotation is not held up by an Ed25519 check.
            let set = self.current();
            let key = header
                .kid
                .as_deref()
                .and_then(|kid| set.verifying(kid, now_ms))
                .filter(|key| alg_name(key.alg) == Some(&*header.alg))
                .ok_or(TokenError::Invalid)?;
            if !key.verifying.accepts(signed, signature) {
                return Err(TokenError::Invalid);
            }
        }
        let claims: Claims = serde_json::from_slice(decode_part(claims_part, &mut buffer)?)
            .map_err(|_| TokenError::Invalid)?;
        let now = now_ms.div_euclid(1000);
        if claims.iss != ISSUER
            || claims.aud != AUDIENCE
            || claims.exp < 0
            || claims.nbf < 0
            || claims.iat < 0
            || claims.sub.is_empty()
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

/// The JOSE name of the algorithms keys are made for (no other verifies).
fn alg_name(alg: Algorithm) -> Option<&'static str> {
    match alg {
        Algorithm::HS256 => Some("HS256"),
        Algorithm::EdDSA => Some("EdDSA"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::{DecodingKey, Validation};

    use super::*;

    const NOW_MS: i64 = 1_800_000_000_000;

    /// `jsonwebtoken`'s own strict decoding, for comparison.
    fn library_accepts(token: &str, key: &DecodingKey, alg: Algorithm) -> bool {
        let mut validation = Validation::new(alg);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        validation.leeway = 0;
        validation.validate_exp = false;
        validation.validate_nbf = false;
        jsonwebtoken::decode::<Claims>(token, key, &validation).is_ok()
    }

    /// Every change of one character of a real token (replaced by each of `alphabet`, or
    /// removed) gets the same verdict from our verification as from `jsonwebtoken`'s.
    fn agrees_with_the_library(key: Key, library_key: &DecodingKey, alphabet: &[char]) {
        let alg = key.alg;
        let keys = JwtKeys::new(KeySet::new(vec![key]));
        let token = keys
            .issue(
                "user-1",
                "session-1",
                Role::User,
                NOW_MS,
                NOW_MS / 1000 + 900,
            )
            .unwrap();
        assert!(keys.verify(&token, NOW_MS).is_ok());
        assert!(library_accepts(&token, library_key, alg));
        let mut checked = 0;
        for (at, original) in token.char_indices() {
            let replacements = alphabet.iter().filter(|c| **c != original);
            let changed = replacements
                .map(|c| format!("{}{c}{}", &token[..at], &token[at + 1..]))
                .chain([format!("{}{}", &token[..at], &token[at + 1..])]);
            for variant in changed {
                let ours = keys.verify(&variant, NOW_MS).is_ok();
                assert_eq!(
                    ours,
                    library_accepts(&variant, library_key, alg),
                    "{variant}"
                );
                checked += 1;
            }
        }
        assert!(checked > token.len() * alphabet.len() / 2);
    }

    #[test]
    fn hs256_verdicts_match_jsonwebtoken_on_every_one_character_change() {
        let secret = b"unit-test-secret-0123456789abcdefghijklmnop";
        agrees_with_the_library(
            Key::hs256("k1".into(), secret, 0),
            &DecodingKey::from_secret(secret),
            &['A', 'Q', 'g', 'w', '0', '_', '-', '.', '=', '+', ' '],
        );
    }

    #[test]
    fn eddsa_verdicts_match_jsonwebtoken_on_every_one_character_change() {
        let key = Key::ed25519("k1".into(), &[9; 32], 0).unwrap();
        let public = DecodingKey::from_ed_components(key.public_x.as_deref().unwrap()).unwrap();
        agrees_with_the_library(key, &public, &['A', 'w', '_', '.']);
    }

    /// An HS256 token (key `s`) with this header over `plain`'s claims.
    fn resigned_with_header(header_json: &str, plain: &str) -> String {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header_json),
            plain.split('.').nth(1).unwrap()
        );
        let mut mac = Hmac::<Sha256>::new_from_slice(b"s").unwrap();
        mac.update(input.as_bytes());
        format!(
            "{input}.{}",
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        )
    }

    /// A token of key `k1` (secret `s`) and that key set.
    fn plain_token() -> (JwtKeys, String) {
        let keys = JwtKeys::new(KeySet::new(vec![Key::hs256("k1".into(), b"s", 0)]));
        let claims = Claims {
            sub: "u".into(),
            sid: "s".into(),
            role: Role::User,
            iat: NOW_MS / 1000,
            nbf: NOW_MS / 1000,
            exp: NOW_MS / 1000 + 60,
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            jti: "j".into(),
        };
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("k1".into());
        let plain =
            jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(b"s")).unwrap();
        assert!(keys.verify(&plain, NOW_MS).is_ok());
        (keys, plain)
    }

    #[test]
    fn a_header_demanding_extensions_or_with_a_typ_not_a_string_is_refused() {
        let (keys, plain) = plain_token();
        for header_json in [
            r#"{"alg":"HS256","typ":"JWT","kid":"k1","crit":["exp"]}"#,
            r#"{"alg":"HS256","typ":5,"kid":"k1"}"#,
        ] {
            assert_eq!(
                keys.verify(&resigned_with_header(header_json, &plain), NOW_MS),
                Err(TokenError::Invalid),
                "{header_json}"
            );
        }
    }

    /// RFC 7515 §4: a header member that is not understood is ignored, whatever its type
    /// (`jsonwebtoken` would refuse these: it types every member as a string).
    #[test]
    fn header_members_not_understood_are_ignored_whatever_their_type() {
        let (keys, plain) = plain_token();
        for header_json in [
            r#"{"alg":"HS256","kid":"k1","cvit":["exp"]}"#,
            r#"{"alg":"HS256","kid":"k1","cty":7,"x5t":{"a":null},"nonce":false}"#,
        ] {
            let token = resigned_with_header(header_json, &plain);
            assert!(
                jsonwebtoken::decode_header(&token).is_err(),
                "{header_json}"
            );
            assert!(keys.verify(&token, NOW_MS).is_ok(), "{header_json}");
        }
    }
}
