//! Forged, expired and malformed access tokens: always 401, never 5xx, never accepted.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Sha256, Sha384, Sha512};

use crate::helpers::*;

fn encode(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
}

fn decode(part: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

fn mac<M: Mac + hmac::digest::KeyInit>(input: &str) -> String {
    let mut mac = <M as Mac>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(input.as_bytes());
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

/// A token with this header and these claims, signed with the server's real key using
/// the algorithm the header names (HS256/384/512 with `JWT_SECRET`, EdDSA with the stored
/// key the header's `kid` names) or no signature at all.
pub(crate) async fn forge(app: &TestApp, header: &Value, claims: &Value) -> String {
    let input = format!("{}.{}", encode(header), encode(claims));
    let signature = match header["alg"].as_str() {
        Some("HS256") => mac::<Hmac<Sha256>>(&input),
        Some("HS384") => mac::<Hmac<Sha384>>(&input),
        Some("HS512") => mac::<Hmac<Sha512>>(&input),
        Some("EdDSA") => {
            use ed25519_dalek::Signer;
            let key = ed25519_key(app, header["kid"].as_str().unwrap_or_default()).await;
            URL_SAFE_NO_PAD.encode(key.sign(input.as_bytes()).to_bytes())
        }
        _ => String::new(),
    };
    format!("{input}.{signature}")
}

/// The server's Ed25519 key `kid`, opened from the database with `JWT_SECRET` (as an
/// operator holding the secret could); for a `kid` the server does not have, a key of
/// the attacker's.
async fn ed25519_key(app: &TestApp, kid: &str) -> ed25519_dalek::SigningKey {
    let rows = app.state.store.signing_keys().await.unwrap();
    let Some(row) = rows.iter().find(|row| row.kid == kid) else {
        return ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
    };
    let sealer = backend::crypto::Sealer::new(&backend::crypto::derive_key(
        SECRET.as_bytes(),
        b"signing key sealing",
    ));
    let seed = sealer.open(row.secret.as_ref().unwrap(), kid).unwrap();
    ed25519_dalek::SigningKey::from_bytes(&seed.try_into().unwrap())
}

/// A signed-in browser and the header and claims of its real access token.
async fn genuine(app: &TestApp) -> (Browser, Value, Value) {
    let (browser, _) = app.signed_in("victim@example.com").await;
    let token = browser.cookie("access_token").unwrap();
    let parts: Vec<&str> = token.split('.').collect();
    (browser, decode(parts[0]), decode(parts[1]))
}

pub(crate) async fn me_with(app: &TestApp, token: &str) -> reqwest::Response {
    let browser = app.browser();
    browser.set_cookie("access_token", token);
    browser.get("/api/me").await
}

async fn assert_refused(app: &TestApp, token: &str, code: &str) {
    let response = me_with(app, token).await;
    assert_eq!(
        response.status(),
        StatusCode::UNAUTHORIZED,
        "token {token:.80}"
    );
    assert_eq!(
        response.headers()["www-authenticate"],
        "Bearer error=\"invalid_token\""
    );
    assert_eq!(error_code(response).await, code, "token {token:.80}");
}

#[tokio::test]
async fn a_token_re_signed_with_the_real_key_is_accepted() {
    // The control for every forgery below: the forging helper itself produces tokens the
    // server accepts, so each refusal is due to the one thing that test changes.
    let app = spawn_app().await;
    let (_, header, claims) = genuine(&app).await;
    let alg = std::env::var("TEST_JWT_ALG").unwrap_or_else(|_| "HS256".to_owned());
    assert_eq!(header["alg"], alg.as_str());
    assert_eq!(header["typ"], "JWT");
    assert!(header["kid"].is_string());
    for claim in [
        "sub", "sid", "role", "iat", "nbf", "exp", "iss", "aud", "jti",
    ] {
        assert!(!claims[claim].is_null(), "{claim} missing");
    }
    let response = me_with(&app, &forge(&app, &header, &claims).await).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_tampered_payload_with_the_original_signature_is_refused() {
    let app = spawn_app().await;
    let (browser, _, mut claims) = genuine(&app).await;
    let token = browser.cookie("access_token").unwrap();
    let parts: Vec<&str> = token.split('.').collect();
    claims["role"] = json!("admin");
    let tampered = format!("{}.{}.{}", parts[0], encode(&claims), parts[2]);
    assert_refused(&app, &tampered, "invalid_token").await;
}

#[tokio::test]
async fn alg_none_is_refused_in_any_spelling() {
    let app = spawn_app().await;
    let (_, mut header, claims) = genuine(&app).await;
    for alg in ["none", "None", "NONE", "nOnE"] {
        header["alg"] = json!(alg);
        assert_refused(&app, &forge(&app, &header, &claims).await, "invalid_token").await;
    }
}

#[tokio::test]
async fn other_hmac_algorithms_signed_with_the_real_key_are_refused() {
    let app = spawn_app().await;
    let (_, mut header, claims) = genuine(&app).await;
    for alg in ["HS384", "HS512"] {
        header["alg"] = json!(alg);
        assert_refused(&app, &forge(&app, &header, &claims).await, "invalid_token").await;
    }
}

#[tokio::test]
async fn unknown_or_missing_kid_is_refused() {
    let app = spawn_app().await;
    let (_, mut header, claims) = genuine(&app).await;
    header["kid"] = json!("0000000000000000");
    assert_refused(&app, &forge(&app, &header, &claims).await, "invalid_token").await;
    header.as_object_mut().unwrap().remove("kid");
    assert_refused(&app, &forge(&app, &header, &claims).await, "invalid_token").await;
}

#[tokio::test]
async fn key_url_headers_are_refused_even_when_correctly_signed() {
    let app = spawn_app().await;
    let (_, header, claims) = genuine(&app).await;
    for (name, value) in [
        ("jku", json!("https://attacker.example/jwks.json")),
        ("x5u", json!("https://attacker.example/cert.pem")),
        ("jwk", json!({"kty": "oct", "k": "AAAA"})),
    ] {
        let mut header = header.clone();
        header[name] = value;
        assert_refused(&app, &forge(&app, &header, &claims).await, "invalid_token").await;
    }
}

#[tokio::test]
async fn an_expired_token_is_refused_as_expired() {
    let app = spawn_app().await;
    let (browser, _, _) = genuine(&app).await;
    app.advance(Duration::from_secs(15 * 60 - 1));
    assert_eq!(browser.get("/api/me").await.status(), StatusCode::OK);
    app.advance(Duration::from_secs(1));
    let response = browser.get("/api/me").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(response).await, "token_expired");
}

#[tokio::test]
async fn a_token_not_yet_valid_is_refused_beyond_the_leeway() {
    let app = spawn_app().await;
    let (_, header, mut claims) = genuine(&app).await;
    let now = app.clock_now();
    claims["nbf"] = json!(now + 25);
    assert_eq!(
        me_with(&app, &forge(&app, &header, &claims).await)
            .await
            .status(),
        StatusCode::OK
    );
    claims["nbf"] = json!(now + 31);
    assert_refused(&app, &forge(&app, &header, &claims).await, "invalid_token").await;
}

#[tokio::test]
async fn missing_or_wrong_issuer_and_audience_are_refused() {
    let app = spawn_app().await;
    let (_, header, claims) = genuine(&app).await;
    for (claim, value) in [
        ("iss", None),
        ("iss", Some(json!("someone-else"))),
        ("aud", None),
        ("aud", Some(json!("another-app"))),
    ] {
        let mut claims = claims.clone();
        match value {
            Some(value) => claims[claim] = value,
            None => {
                claims.as_object_mut().unwrap().remove(claim);
            }
        }
        assert_refused(&app, &forge(&app, &header, &claims).await, "invalid_token").await;
    }
}

#[tokio::test]
async fn required_claims_missing_or_of_the_wrong_type_are_refused() {
    let app = spawn_app().await;
    let (_, header, claims) = genuine(&app).await;
    let exp = claims["exp"].as_i64().unwrap();
    let mut cases: Vec<Value> = Vec::new();
    for missing in ["exp", "nbf", "sub", "sid", "role"] {
        let mut c = claims.clone();
        c.as_object_mut().unwrap().remove(missing);
        cases.push(c);
    }
    for (claim, value) in [
        ("exp", json!(exp.to_string())),
        ("exp", json!(exp as f64 + 0.5)),
        ("nbf", json!("0")),
        ("nbf", json!(-1)),
        ("iat", json!(-1)),
        ("sub", json!(42)),
        ("sid", json!(null)),
        ("sid", json!("")),
        ("role", json!("superuser")),
    ] {
        let mut c = claims.clone();
        c[claim] = value;
        cases.push(c);
    }
    for forged in cases {
        assert_refused(&app, &forge(&app, &header, &forged).await, "invalid_token").await;
    }
}

#[tokio::test]
async fn garbage_and_oversized_tokens_are_refused_without_server_errors() {
    let app = spawn_app().await;
    let (_, header, claims) = genuine(&app).await;
    let mut huge = claims.clone();
    huge["padding"] = json!("x".repeat(8 * 1024));
    let oversized = forge(&app, &header, &huge).await;
    for token in [
        "abc",
        "a.b.c",
        "..",
        "eyJhbGciOiJIUzI1NiJ9",
        "eyJhbGciOiJIUzI1NiJ9.e30.",
        "%%%.%%%.%%%",
        oversized.as_str(),
    ] {
        assert_refused(&app, token, "invalid_token").await;
    }
}

#[tokio::test]
async fn a_bearer_header_authenticates_without_cookies() {
    let app = spawn_app().await;
    let (browser, _, _) = genuine(&app).await;
    let token = browser.cookie("access_token").unwrap();
    let client = reqwest::Client::new();
    let response = client
        .get(app.url("/api/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    for bad in ["Bearer ", "Bearer nonsense", "Basic dXNlcjpwYXNz"] {
        let response = client
            .get(app.url("/api/me"))
            .header("authorization", bad)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{bad}");
        assert_eq!(error_code(response).await, "invalid_token", "{bad}");
    }
}

#[tokio::test]
async fn an_access_token_never_outlives_its_session() {
    let app = spawn_app_with(
        &["--access-token-ttl", "15m", "--refresh-token-ttl", "20m"],
        |_| {},
    )
    .await;
    let (browser, _) = app.signed_in("capped-token@example.com").await;
    app.advance(Duration::from_secs(10 * 60));
    let response = browser.refresh().await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: shared::AuthResponse = response.json().await.unwrap();
    // 15 more minutes would pass the session's end: the token ends with the session.
    assert_eq!(
        body.session.access_expires_at,
        body.session.refresh_expires_at
    );
    let token = browser.cookie("access_token").unwrap();
    let claims = decode(token.split('.').nth(1).unwrap());
    assert_eq!(claims["exp"], json!(body.session.refresh_expires_at));

    app.advance(Duration::from_secs(10 * 60));
    let me = browser.get("/api/me").await;
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(me).await, "token_expired");
}

#[tokio::test]
async fn logging_out_of_an_ended_session_still_revokes_its_tokens() {
    let app = spawn_app_with(
        &["--access-token-ttl", "1m", "--refresh-token-ttl", "2m"],
        |_| {},
    )
    .await;
    let (browser, auth) = app.signed_in("ended@example.com").await;
    app.advance(Duration::from_secs(3 * 60));
    assert_eq!(
        browser.post("/api/auth/logout").await.status(),
        StatusCode::NO_CONTENT
    );
    // A token minted before the cap existed could still be alive: it must be refused.
    assert!(app.state.revoked.contains(&auth.session.id));
}
