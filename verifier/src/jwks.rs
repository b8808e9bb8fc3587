//! The JWKS over HTTP: fetched from exactly the configured URL (no redirects followed, and
//! never from anywhere a token names), keeping only Ed25519 signing keys, with the time
//! its `Cache-Control` allows it to be kept.

use std::collections::HashMap;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use reqwest::header::{CACHE_CONTROL, HeaderMap};
use serde::Deserialize;

use crate::token::Key;

/// A JWKS larger than this is refused: the backend's holds a few keys.
const MAX_JWKS_BYTES: usize = 64 * 1024;

/// A fetched key set.
pub(crate) struct Fetched {
    /// The usable keys by `kid`.
    pub keys: HashMap<String, Key>,
    /// `max-age` of the answer (zero for `no-store` or `no-cache`), if it said.
    pub max_age: Option<Duration>,
}

/// Fetches and parses the JWKS at `url`; the error says why it cannot be used.
pub(crate) async fn fetch(http: &reqwest::Client, url: &reqwest::Url) -> Result<Fetched, String> {
    let mut response = http
        .get(url.clone())
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|error| describe(&error))?;
    let status = response.status();
    if status.is_redirection() {
        return Err(format!("it answered {status} (redirects are not followed)"));
    }
    if status != reqwest::StatusCode::OK {
        return Err(format!("it answered {status}"));
    }
    let max_age = max_age(response.headers());
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|error| describe(&error))? {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_JWKS_BYTES {
            return Err(format!("it is larger than {MAX_JWKS_BYTES} bytes"));
        }
    }
    let keys = parse(&body)?;
    Ok(Fetched { keys, max_age })
}

/// A reqwest error with its causes ("error sending request…: connection refused").
fn describe(error: &reqwest::Error) -> String {
    let mut text = if error.is_timeout() {
        "it did not answer in time".to_owned()
    } else {
        error.to_string()
    };
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// `max-age` from `Cache-Control`; `no-store` and `no-cache` count as zero.
fn max_age(headers: &HeaderMap) -> Option<Duration> {
    let mut max_age = None;
    for directive in headers
        .get_all(CACHE_CONTROL)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
    {
        let directive = directive.trim().to_ascii_lowercase();
        if directive == "no-store" || directive == "no-cache" {
            return Some(Duration::ZERO);
        }
        if let Some(seconds) = directive.strip_prefix("max-age=") {
            max_age = seconds
                .trim_matches('"')
                .parse()
                .ok()
                .map(Duration::from_secs);
        }
    }
    max_age
}

/// `{"keys": [...]}`.
#[derive(Deserialize)]
struct JwkSet {
    keys: Vec<serde_json::Value>,
}

/// The members of a JWK this verifier reads.
#[derive(Deserialize)]
struct Jwk {
    kty: String,
    crv: Option<String>,
    x: Option<String>,
    kid: Option<String>,
    alg: Option<String>,
    #[serde(rename = "use")]
    use_: Option<String>,
}

/// The Ed25519 signing keys of a JWK set. Keys of other types, for other uses or without a
/// `kid` are left out; a `kid` that appears twice is left out altogether (which of the two
/// would be meant cannot be known).
fn parse(body: &[u8]) -> Result<HashMap<String, Key>, String> {
    let set: JwkSet =
        serde_json::from_slice(body).map_err(|error| format!("it is not a JWK set: {error}"))?;
    let mut keys: HashMap<String, Option<Key>> = HashMap::new();
    for jwk in set.keys {
        let Some((kid, key)) = serde_json::from_value::<Jwk>(jwk).ok().and_then(ed25519) else {
            continue;
        };
        keys.entry(kid)
            .and_modify(|seen| *seen = None)
            .or_insert(Some(key));
    }
    Ok(keys
        .into_iter()
        .filter_map(|(kid, key)| Some((kid, key?)))
        .collect())
}

/// The key of an Ed25519 signing JWK, pinned to `EdDSA`.
fn ed25519(jwk: Jwk) -> Option<(String, Key)> {
    let usable = jwk.kty == "OKP"
        && jwk.crv.as_deref() == Some("Ed25519")
        && jwk.alg.as_deref().is_none_or(|alg| alg == "EdDSA")
        && jwk.use_.as_deref().is_none_or(|use_| use_ == "sig");
    let kid = jwk.kid.filter(|kid| usable && !kid.is_empty())?;
    let x = URL_SAFE_NO_PAD.decode(jwk.x?).ok()?;
    let public = ed25519_dalek::VerifyingKey::from_bytes(&x.try_into().ok()?).ok()?;
    Some((
        kid,
        Key {
            alg: Algorithm::EdDSA,
            public,
        },
    ))
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;
    use serde_json::json;

    use super::*;

    fn cache_control(value: &str) -> Option<Duration> {
        let mut headers = HeaderMap::new();
        headers.insert(CACHE_CONTROL, HeaderValue::from_str(value).unwrap());
        max_age(&headers)
    }

    #[test]
    fn max_age_is_read_from_cache_control() {
        assert_eq!(
            cache_control("public, max-age=30"),
            Some(Duration::from_secs(30))
        );
        assert_eq!(cache_control("Max-Age=7"), Some(Duration::from_secs(7)));
        assert_eq!(cache_control("public, no-cache"), Some(Duration::ZERO));
        assert_eq!(cache_control("no-store, max-age=60"), Some(Duration::ZERO));
        assert_eq!(cache_control("public"), None);
        assert_eq!(cache_control("max-age=soon"), None);
        assert_eq!(max_age(&HeaderMap::new()), None);
    }

    const X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";

    fn kids(set: &serde_json::Value) -> Vec<String> {
        let mut kids: Vec<String> = parse(set.to_string().as_bytes())
            .unwrap()
            .into_keys()
            .collect();
        kids.sort();
        kids
    }

    #[test]
    fn only_ed25519_signing_keys_with_a_kid_are_kept() {
        let set = json!({"keys": [
            {"kty": "OKP", "crv": "Ed25519", "x": X, "kid": "a", "alg": "EdDSA", "use": "sig"},
            {"kty": "OKP", "crv": "Ed25519", "x": X, "kid": "no-alg-or-use"},
            {"kty": "OKP", "crv": "Ed25519", "x": X, "kid": "enc", "use": "enc"},
            {"kty": "OKP", "crv": "Ed25519", "x": X, "kid": "hs", "alg": "HS256"},
            {"kty": "OKP", "crv": "X25519", "x": X, "kid": "x25519"},
            {"kty": "oct", "k": "c2VjcmV0", "kid": "secret", "alg": "HS256"},
            {"kty": "RSA", "n": "AQAB", "e": "AQAB", "kid": "rsa", "alg": "RS256"},
            {"kty": "OKP", "crv": "Ed25519", "x": X},
            {"kty": "OKP", "crv": "Ed25519", "x": "c2hvcnQ", "kid": "short"},
            {"kty": "OKP", "crv": "Ed25519", "x": "not base64!", "kid": "garbage"},
            {"kty": "OKP", "crv": "Ed25519", "x": X, "kid": "twice"},
            {"kty": "OKP", "crv": "Ed25519", "x": X, "kid": "twice"},
            "not even an object",
        ]});
        assert_eq!(kids(&set), ["a", "no-alg-or-use"]);
    }

    #[test]
    fn a_body_that_is_not_a_jwk_set_is_an_error() {
        for body in [&b"<html>"[..], b"{}", b"{\"keys\": {}}", b"[]"] {
            let error = parse(body).err().expect("refused");
            assert!(error.starts_with("it is not a JWK set"), "{error}");
        }
        assert!(kids(&json!({"keys": []})).is_empty());
    }
}
