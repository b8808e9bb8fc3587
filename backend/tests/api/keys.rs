//! Signing keys: the JWKS, Ed25519 tokens checked by another implementation, attacks on
//! the header (algorithm confusion, `jwk`, strange `kid`s), and rotation with no restart
//! and nobody signed out.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signer, Verifier};
use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::Sha256;

use backend::auth::signing_keys::{KeyAlgorithm, KeyState, SigningKeys};

use crate::admin::cli;
use crate::helpers::*;
use crate::tokens::me_with;

async fn eddsa_app() -> TestApp {
    spawn_app_with(&["--jwt-alg", "EdDSA"], |_| {}).await
}

fn part(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
}

fn decoded(part: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

/// The header and claims of the browser's access token.
fn token_parts(browser: &Browser) -> (String, Value, Value) {
    let token = browser.cookie("access_token").unwrap();
    let parts: Vec<&str> = token.split('.').collect();
    (token.clone(), decoded(parts[0]), decoded(parts[1]))
}

async fn jwks(app: &TestApp) -> (Option<String>, Value) {
    let response = app.browser().get("/.well-known/jwks.json").await;
    assert_eq!(response.status(), StatusCode::OK);
    let cache = response
        .headers()
        .get("cache-control")
        .map(|v| v.to_str().unwrap().to_owned());
    (cache, response.json().await.unwrap())
}

/// `header.claims` signed with the Ed25519 `key`.
fn signed_ed25519(key: &ed25519_dalek::SigningKey, header: &Value, claims: &Value) -> String {
    let input = format!("{}.{}", part(header), part(claims));
    let signature = URL_SAFE_NO_PAD.encode(key.sign(input.as_bytes()).to_bytes());
    format!("{input}.{signature}")
}

#[tokio::test]
async fn the_jwks_verifies_a_real_token_with_another_implementation() {
    let app = eddsa_app().await;
    let (browser, _) = app.signed_in("eddsa@example.com").await;
    let (token, header, _) = token_parts(&browser);
    assert_eq!(header["alg"], "EdDSA");
    let (cache, set) = jwks(&app).await;
    assert_eq!(cache.as_deref(), Some("public, max-age=30"));
    let keys = set["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    let jwk = &keys[0];
    assert_eq!(jwk["kty"], "OKP");
    assert_eq!(jwk["crv"], "Ed25519");
    assert_eq!(jwk["alg"], "EdDSA");
    assert_eq!(jwk["use"], "sig");
    assert_eq!(jwk["kid"], header["kid"]);
    assert!(jwk.get("d").is_none(), "never the private key");

    // ed25519-dalek directly, from the JWK alone (not jsonwebtoken, which the server uses).
    let x: [u8; 32] = URL_SAFE_NO_PAD
        .decode(jwk["x"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    let public = ed25519_dalek::VerifyingKey::from_bytes(&x).unwrap();
    let (input, signature) = token.rsplit_once('.').unwrap();
    let signature: [u8; 64] = URL_SAFE_NO_PAD
        .decode(signature)
        .unwrap()
        .try_into()
        .unwrap();
    public
        .verify(
            input.as_bytes(),
            &ed25519_dalek::Signature::from_bytes(&signature),
        )
        .expect("the JWKS key verifies the token");

    // With HS256 nothing is published: the key is a secret.
    let hs = spawn_app_with(&["--jwt-alg", "HS256"], |_| {}).await;
    assert_eq!(jwks(&hs).await.1, json!({ "keys": [] }));
}

#[tokio::test]
async fn algorithm_confusion_attacker_keys_and_strange_kids_are_refused() {
    let app = eddsa_app().await;
    let (browser, _) = app.signed_in("target@example.com").await;
    let (_, header, claims) = token_parts(&browser);
    let (_, set) = jwks(&app).await;
    let x = set["keys"][0]["x"].as_str().unwrap().to_owned();

    // The public key used as an HMAC secret, raw and as text.
    let raw = URL_SAFE_NO_PAD.decode(&x).unwrap();
    for secret in [raw.as_slice(), x.as_bytes()] {
        let confused = json!({"alg": "HS256", "typ": "JWT", "kid": header["kid"]});
        let input = format!("{}.{}", part(&confused), part(&claims));
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap();
        mac.update(input.as_bytes());
        let token = format!(
            "{input}.{}",
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        );
        let refused = me_with(&app, &token).await;
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(error_code(refused).await, "invalid_token");
    }

    // The attacker's own key, offered in a `jwk` header or under the real kid.
    let attacker = ed25519_dalek::SigningKey::from_bytes(&[9; 32]);
    let attacker_x = URL_SAFE_NO_PAD.encode(attacker.verifying_key().as_bytes());
    let with_jwk = json!({"alg": "EdDSA", "typ": "JWT", "kid": header["kid"],
        "jwk": {"kty": "OKP", "crv": "Ed25519", "x": attacker_x}});
    let without = json!({"alg": "EdDSA", "typ": "JWT", "kid": header["kid"]});
    for forged in [&with_jwk, &without] {
        let refused = me_with(&app, &signed_ed25519(&attacker, forged, &claims)).await;
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    }
    // `alg: none`, and kids that are paths or SQL.
    let none = format!(
        "{}.{}.",
        part(&json!({"alg": "none", "typ": "JWT", "kid": header["kid"]})),
        part(&claims)
    );
    assert_eq!(
        me_with(&app, &none).await.status(),
        StatusCode::UNAUTHORIZED
    );
    for kid in ["../../../etc/passwd", "' OR '1'='1", "%00", ""] {
        let strange = json!({"alg": "EdDSA", "typ": "JWT", "kid": kid});
        let refused = me_with(&app, &signed_ed25519(&attacker, &strange, &claims)).await;
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED, "{kid}");
    }
    // The control: the genuine token still works.
    assert_eq!(browser.get("/api/me").await.status(), StatusCode::OK);
}

/// Runs `backend keys …` on the app's database with its secret.
fn keys_cli(app: &TestApp, args: &[&str], alg: &str) -> String {
    let mut argv = vec!["keys"];
    argv.extend_from_slice(args);
    argv.extend_from_slice(&["--jwt-secret", SECRET, "--jwt-alg", alg]);
    let output = cli(app, &argv, "");
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap()
}

#[tokio::test]
async fn a_rotation_needs_no_restart_signs_nobody_out_and_retires_the_old_key() {
    for alg in ["EdDSA", "HS256"] {
        let app = spawn_app_with(&["--jwt-alg", alg], |_| {}).await;
        let (browser, _) = app.signed_in("rotating@example.com").await;
        let (old_token, old_header, claims) = token_parts(&browser);
        let old_kid = old_header["kid"].as_str().unwrap().to_owned();

        let rotated = keys_cli(&app, &["rotate"], alg);
        assert!(rotated.starts_with(&format!("new {alg} key ")), "{rotated}");
        let events = app.state.store.audit_events(None, 100).await.unwrap();
        assert!(
            events.iter().any(|e| e.action == "key_rotated"),
            "a rotation is in the audit log"
        );
        // Every instance reads the key set within a second or two.
        let published = eventually(Duration::from_secs(3), || async {
            app.state.jwt.current().live(app.clock_now_ms()).count() == 2
        })
        .await;
        assert!(published, "{alg}: the new key is known");
        if alg == "EdDSA" {
            assert_eq!(jwks(&app).await.1["keys"].as_array().unwrap().len(), 2);
        }
        // Published, not signing yet: a refresh still signs with the old key.
        assert_eq!(browser.refresh().await.status(), StatusCode::OK);
        assert_eq!(token_parts(&browser).1["kid"], old_kid.as_str());
        let listed = keys_cli(&app, &["list"], alg);
        assert!(
            listed.contains(" active ") && listed.contains(" next "),
            "{listed}"
        );

        // After KEY_PUBLISH_DELAY the new key signs; the old token still works. (The
        // command line timed the key by the database's clock.)
        let rows = app.state.store.signing_keys().await.unwrap();
        let wait = rows[1].activates_at - app.clock_now_ms();
        assert!((55_000..=65_000).contains(&wait), "{wait} ms to wait");
        app.advance(Duration::from_millis(u64::try_from(wait).unwrap()));
        assert_eq!(browser.refresh().await.status(), StatusCode::OK);
        let new_kid = token_parts(&browser).1["kid"].as_str().unwrap().to_owned();
        assert_ne!(new_kid, old_kid, "{alg}");
        assert_eq!(me_with(&app, &old_token).await.status(), StatusCode::OK);

        // A token of the old key that would outlive its retirement is refused after it.
        let mut long = claims.clone();
        long["exp"] = json!(app.clock_now() + 24 * 3600);
        let header = json!({"alg": alg, "typ": "JWT", "kid": old_kid});
        let late = crate::tokens::forge(&app, &header, &long).await;
        assert_eq!(
            me_with(&app, &late).await.status(),
            StatusCode::OK,
            "control"
        );
        app.advance(Duration::from_secs(15 * 60 + 31));
        let refused = me_with(&app, &late).await;
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED, "{alg}");
        assert_eq!(error_code(refused).await, "invalid_token");
        assert_eq!(
            browser.refresh().await.status(),
            StatusCode::OK,
            "nobody signed out"
        );
        // (The command line reads the database's clock; this server runs on the test's.)
        let rows = app.state.store.signing_keys().await.unwrap();
        let states = app.state.signing_keys.states(&rows, app.clock_now_ms());
        assert_eq!(states, [KeyState::Retired, KeyState::Active]);
        for row in rows {
            if let Some(sealed) = row.secret {
                assert!(!listed.contains(&sealed), "never the key material");
            }
        }
    }
}

const OTHER_SECRET: &[u8] = b"another-secret-0123456789-abcdefghijklmnopqrstuv";

#[tokio::test]
async fn a_key_of_another_secret_is_refused_by_rotate_and_retires_nothing() {
    let app = spawn_app_with(&["--jwt-alg", "EdDSA"], |_| {}).await;
    let (browser, _) = app.signed_in("wrong-secret@example.com").await;
    // `keys rotate` run without the server's JWT_SECRET: refused, nothing stored.
    let output = cli(
        &app,
        &[
            "keys",
            "rotate",
            "--jwt-secret",
            "another-secret-0123456789-abcdefghijklmnopqrstuv",
        ],
        "",
    );
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("JWT_SECRET") && stderr.trim_end().lines().count() == 1,
        "{stderr}"
    );
    assert_eq!(app.state.store.signing_keys().await.unwrap().len(), 1);

    // A key that does not open here (stored by an instance with another secret) is no
    // successor: the key in use does not retire because of it.
    let foreign = SigningKeys::new(
        app.state.store.clone(),
        OTHER_SECRET,
        KeyAlgorithm::EdDsa,
        Duration::from_secs(900),
    );
    foreign.bootstrap(app.clock_now_ms()).await.unwrap();
    assert_eq!(app.state.store.signing_keys().await.unwrap().len(), 2);
    let (_, set) = app.state.signing_keys.load().await.unwrap();
    app.state.jwt.install(set);
    app.advance(Duration::from_secs(15 * 60 + 31));
    assert_eq!(browser.refresh().await.status(), StatusCode::OK);
    assert_eq!(browser.get("/api/me").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn after_jwt_secret_changes_a_key_of_the_new_secret_signs_at_once() {
    let app = spawn_app().await;
    let now = app.clock_now_ms();
    let changed = SigningKeys::new(
        app.state.store.clone(),
        OTHER_SECRET,
        KeyAlgorithm::Hs256,
        Duration::from_secs(900),
    );
    let (_, before) = changed.load().await.unwrap();
    assert!(
        before.signing(now).is_none(),
        "no stored key opens with the new secret"
    );
    changed.bootstrap(now).await.unwrap();
    let (_, after) = changed.load().await.unwrap();
    let key = after.signing(now).expect("a key of the new secret signs");
    assert_eq!(key.alg, jsonwebtoken::Algorithm::HS256);
    // The old secret's key is still there for the instances that have it.
    assert_eq!(app.state.store.signing_keys().await.unwrap().len(), 2);
}

/// PyJWT, another JOSE implementation altogether: fetches the JWKS, picks the key by the
/// token's `kid` and verifies signature and claims. Installed by `scripts/test`.
const PYJWT_VERIFY: &str = r#"
import sys, jwt
url, token = sys.argv[1], sys.argv[2]
key = jwt.PyJWKClient(url).get_signing_key_from_jwt(token)
claims = jwt.decode(token, key.key, algorithms=["EdDSA"],
                    audience="jwt-auth-spa", issuer="jwt-auth-backend")
print(claims["sub"])
"#;

#[tokio::test]
async fn pyjwt_verifies_a_real_token_with_the_jwks_alone() {
    let app = eddsa_app().await;
    let (browser, auth) = app.signed_in("pyjwt@example.com").await;
    let (token, _, _) = token_parts(&browser);
    let url = app.url("/.well-known/jwks.json");
    let run = |token: String| {
        let url = url.clone();
        tokio::task::spawn_blocking(move || {
            std::process::Command::new("python3")
                .args(["-c", PYJWT_VERIFY, &url, &token])
                .output()
                .expect("python3 runs (scripts/test installs PyJWT)")
        })
    };
    let verified = run(token.clone()).await.unwrap();
    assert!(
        verified.status.success(),
        "PyJWT refused our token (is `pyjwt[crypto]` installed?): {}",
        String::from_utf8_lossy(&verified.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&verified.stdout).trim(),
        auth.user.id
    );
    // The control: PyJWT refuses a token with one claim changed.
    let parts: Vec<&str> = token.split('.').collect();
    let mut claims = decoded(parts[1]);
    claims["role"] = json!("admin");
    let tampered = format!("{}.{}.{}", parts[0], part(&claims), parts[2]);
    assert!(!run(tampered).await.unwrap().status.success());
}
