//! Access tokens, from the request's headers to the verified claims.
//!
//! The first byte picks a mode:
//! - `h`: the rest is request header lines (`Authorization: Bearer …`, `Cookie: …`); they
//!   go through `access_token`, `verify_access_token` and the `AuthUser` extractor.
//! - `t`: the rest is the token itself, verified as it is.
//! - `s` / `e`: the rest is a JOSE header and claims (JSON) separated by a newline; the
//!   target signs them with the HS256 / Ed25519 key and verifies the token, so mutations
//!   reach the header and claims checks behind the signature.
//!   Anything else: the same as `t`.
//!
//! Checked on every input: nothing panics; a token we accept is also accepted by
//! `jsonwebtoken`'s strict decoding with the same key, and its claims are ours (issuer,
//! audience, not expired, subject and session named).

#![no_main]

use axum::extract::FromRequestParts;
use axum::http::Request;
use backend::auth::jwt::{AUDIENCE, ISSUER, LEEWAY_SECS};
use backend::http::extract::{AuthUser, access_token, verify_access_token};
use backend_fuzz::{ED25519_SEED, HS256_SECRET, NOW_MS, app, block_on, headers_from_lines};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use libfuzzer_sys::fuzz_target;
use shared::Claims;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode {
        b'h' => through_headers(rest),
        b's' | b'e' => {
            let (header, claims) = match rest.iter().position(|b| *b == b'\n') {
                Some(at) => (&rest[..at], &rest[at + 1..]),
                None => (rest, &b""[..]),
            };
            check(&backend_fuzz::sign_raw(header, claims, mode == b'e'));
        }
        _ => check(&String::from_utf8_lossy(rest)),
    }
});

fn through_headers(rest: &[u8]) {
    let state = app();
    let lines: Vec<&[u8]> = rest.split(|b| *b == b'\n').collect();
    let headers = headers_from_lines(&lines);
    if let Ok(token) = access_token(&headers, state) {
        check(&token);
    }
    let mut request = Request::new(());
    *request.headers_mut() = headers;
    let (mut parts, ()) = request.into_parts();
    if let Ok(user) = block_on(AuthUser::from_request_parts(&mut parts, state)) {
        assert!(!user.user_id.is_empty() && !user.session_id.is_empty());
    }
}

fn check(token: &str) {
    let Ok(claims) = verify_access_token(app(), token) else {
        return;
    };
    let now = NOW_MS / 1000;
    assert_eq!(claims.iss, ISSUER);
    assert_eq!(claims.aud, AUDIENCE);
    assert!(claims.exp > now, "expired token accepted: {token}");
    assert!(claims.nbf <= now + LEEWAY_SECS && claims.iat <= now + LEEWAY_SECS);
    assert!(!claims.sub.is_empty() && !claims.sid.is_empty());
    assert!(
        library_accepts(token).as_ref() == Some(&claims) || library_stricter_on_header(token),
        "accepted by us, not by jsonwebtoken: {token}"
    );
}

/// Whether `jsonwebtoken` refuses this token's header only for members we ignore.
///
/// It types every header member as a string (`cty`, `x5t`, `nonce`, … and any member it
/// does not know, through `Header::extras: HashMap<String, String>`), so it refuses
/// `{"alg":"HS256","kid":"k","x":1}`, where RFC 7515 §4 says a member that is not
/// understood is ignored. We follow the RFC: the members that matter to us (`alg`, `kid`,
/// `typ`, and those that point at a key elsewhere or demand extensions, which we refuse)
/// must still satisfy the library.
fn library_stricter_on_header(token: &str) -> bool {
    const OURS: [&str; 8] = ["alg", "kid", "typ", "jku", "jwk", "x5u", "x5c", "crit"];
    let Some(Ok(bytes)) = token.split('.').next().map(backend_fuzz::unb64) else {
        return false;
    };
    let Ok(serde_json::Value::Object(mut members)) = serde_json::from_slice(&bytes) else {
        return false;
    };
    if serde_json::from_slice::<jsonwebtoken::Header>(&bytes).is_ok() {
        return false;
    }
    members.retain(|name, _| OURS.contains(&name.as_str()));
    serde_json::from_value::<jsonwebtoken::Header>(serde_json::Value::Object(members)).is_ok()
}

/// `jsonwebtoken`'s verdict with the key the header names (time checks are ours alone).
fn library_accepts(token: &str) -> Option<Claims> {
    let header = jsonwebtoken::decode_header(token).ok()?;
    let (key, alg) = match header.kid.as_deref() {
        Some(backend_fuzz::HS256_KID) => (DecodingKey::from_secret(HS256_SECRET), Algorithm::HS256),
        Some(backend_fuzz::ED25519_KID) => {
            let public = ed25519_dalek::SigningKey::from_bytes(&ED25519_SEED).verifying_key();
            let x = backend_fuzz::b64(public.as_bytes());
            (DecodingKey::from_ed_components(&x).ok()?, Algorithm::EdDSA)
        }
        _ => return None,
    };
    let mut validation = Validation::new(alg);
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[AUDIENCE]);
    validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
    validation.leeway = 0;
    validation.validate_exp = false;
    validation.validate_nbf = false;
    jsonwebtoken::decode::<Claims>(token, &key, &validation)
        .ok()
        .map(|data| data.claims)
}
