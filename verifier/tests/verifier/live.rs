//! Against the real backend (`JWT_ALG=EdDSA`, its own SQLite file): its tokens verify
//! from its JWKS alone, forgeries built on them do not, a rotated key is learnt in time,
//! and an issuer that cannot be reached closes the door.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures::future::join_all;
use jwt_verifier::{AUTH_SERVER_AUDIENCE, AUTH_SERVER_ISSUER, Invalid, Verifier, VerifyError};
use serde_json::{Value, json};
use testkit::eddsa::{SignedIn, access_token};
use testkit::{EdDsaBackend, eventually};

use crate::support::{JwksServer, ManualClock, TestKey, hs256, part, parts};

/// A verifier of `backend`'s tokens on `clock`.
fn verifier(backend: &EdDsaBackend, clock: &ManualClock) -> Verifier {
    Verifier::auth_server_builder(&backend.base_url())
        .clock(clock.clone())
        .build()
        .unwrap()
}

/// A backend, a user signed in there, and a verifier of its tokens on a clock the test
/// moves (nothing fetched yet).
struct Live {
    backend: EdDsaBackend,
    user: SignedIn,
    clock: ManualClock,
    verifier: Verifier,
}

impl Live {
    async fn start(email: &str) -> Self {
        let backend = EdDsaBackend::start(&[]).await;
        let user = backend.signed_in(email).await;
        let clock = ManualClock::new();
        let verifier = verifier(&backend, &clock);
        Self {
            backend,
            user,
            clock,
            verifier,
        }
    }
}

/// The backend's published keys.
async fn published(backend: &EdDsaBackend) -> Vec<Value> {
    let set: Value = reqwest::get(backend.jwks_url())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    set["keys"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_real_access_token_verifies_from_the_jwks_alone() {
    let backend = EdDsaBackend::start(&[]).await;
    let user = backend.signed_in("verified@example.com").await;
    let verifier = Verifier::for_auth_server(&backend.base_url()).unwrap();

    let claims = verifier.verify(&user.token).await.unwrap();
    assert_eq!(claims.sub, user.user_id);
    assert_eq!(claims.role, shared::Role::User);
    assert_eq!(
        (claims.iss.as_str(), claims.aud.as_str()),
        (AUTH_SERVER_ISSUER, AUTH_SERVER_AUDIENCE)
    );
    assert_eq!(verifier.fetch_count(), 1);

    for (issuer, audience, error) in [
        ("someone-else", AUTH_SERVER_AUDIENCE, Invalid::WrongIssuer),
        (AUTH_SERVER_ISSUER, "orders-service", Invalid::WrongAudience),
    ] {
        let other = Verifier::from_jwks_url(&backend.jwks_url(), issuer, audience).unwrap();
        assert_eq!(other.verify(&user.token).await, Err(error.into()));
    }
}

#[tokio::test]
async fn forgeries_built_on_a_real_token_are_refused() {
    let live = Live::start("target@example.com").await;
    live.verifier.verify(&live.user.token).await.unwrap();
    let (header, claims) = parts(&live.user.token);
    let kid = header["kid"].clone();
    let x = published(&live.backend).await[0]["x"]
        .as_str()
        .unwrap()
        .to_owned();

    let mut forgeries: Vec<(&str, String, VerifyError)> = Vec::new();
    let (_, signature) = live.user.token.rsplit_once('.').unwrap();
    let mut admin = claims.clone();
    admin["role"] = json!("admin");
    forgeries.push((
        "claims changed under the real signature",
        format!("{}.{}.{signature}", part(&header), part(&admin)),
        Invalid::BadSignature.into(),
    ));
    forgeries.push((
        "alg none",
        format!(
            "{}.{}.",
            part(&json!({"alg": "none", "kid": kid})),
            part(&claims)
        ),
        Invalid::Malformed.into(),
    ));
    let raw = URL_SAFE_NO_PAD.decode(&x).unwrap();
    for secret in [raw.as_slice(), x.as_bytes()] {
        forgeries.push((
            "HS256 with the public key as the secret",
            hs256(&kid, &claims, secret),
            Invalid::WrongAlgorithm.into(),
        ));
    }
    let attacker = TestKey::new("attacker");
    let attackers_jwks = JwksServer::start(&[&attacker]).await;
    let own_header = |extra: Value| {
        let mut header = json!({"alg": "EdDSA", "typ": "JWT", "kid": kid});
        header
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        attacker.sign_with_header(&header, &claims)
    };
    forgeries.push((
        "the attacker's key under the real kid",
        own_header(json!({})),
        Invalid::BadSignature.into(),
    ));
    forgeries.push((
        "the attacker's JWKS in jku",
        own_header(json!({"jku": attackers_jwks.url()})),
        Invalid::KeyInHeader.into(),
    ));
    forgeries.push((
        "the attacker's key in jwk",
        own_header(json!({"jwk": attacker.jwk()})),
        Invalid::KeyInHeader.into(),
    ));
    forgeries.push((
        "the attacker's key under its own kid",
        attacker.sign(&claims),
        VerifyError::UnknownKey {
            kid: "attacker".to_owned(),
        },
    ));
    for (what, token, error) in forgeries {
        assert_eq!(live.verifier.verify(&token).await, Err(error), "{what}");
    }
    assert_eq!(attackers_jwks.fetches(), 0, "jku is never followed");

    // Twenty tokens with made-up kids, once the throttle allows a fetch: one fetch.
    live.clock.advance(Duration::from_secs(5));
    let before = live.verifier.fetch_count();
    let made_up: Vec<String> = (0..20)
        .map(|i| TestKey::new(&format!("made-up-{i}")).sign(&claims))
        .collect();
    let results = join_all(made_up.iter().map(|token| live.verifier.verify(token))).await;
    assert!(
        results
            .iter()
            .all(|r| matches!(r, Err(VerifyError::UnknownKey { .. })))
    );
    assert_eq!(live.verifier.fetch_count(), before + 1);
    // The control: the genuine token still verifies.
    assert!(live.verifier.verify(&live.user.token).await.is_ok());
}

#[tokio::test]
async fn a_real_token_expires_exactly_at_its_exp() {
    let live = Live::start("expiring@example.com").await;
    let token = &live.user.token;
    let exp = parts(token).1["exp"].as_i64().unwrap();

    live.clock.set_ms(exp * 1000 - 1);
    assert!(live.verifier.verify(token).await.is_ok());
    live.clock.set_ms(exp * 1000);
    assert_eq!(live.verifier.verify(token).await, Err(VerifyError::Expired));
}

#[tokio::test]
async fn a_rotated_key_is_learnt_from_its_publication_or_its_first_token() {
    // The JWKS says max-age=1 (half the delay).
    let backend = EdDsaBackend::start(&[("KEY_PUBLISH_DELAY", "2s")]).await;
    let user = backend.signed_in("rotation@example.com").await;
    let old_kid = parts(&user.token).0["kid"].clone();
    // One verifier learns keys as the JWKS ages; the other keeps a fresh cache and learns
    // the new key from the first token that names it.
    let ageing = ManualClock::new();
    let by_publication = verifier(&backend, &ageing);
    let fresh = ManualClock::new();
    let by_first_token = Verifier::auth_server_builder(&backend.base_url())
        .clock(fresh.clone())
        .refetch_interval(Duration::from_millis(500))
        .build()
        .unwrap();
    for verifier in [&by_publication, &by_first_token] {
        verifier.verify(&user.token).await.unwrap();
    }

    let printed = backend.rotate_keys();
    assert!(printed.starts_with("new EdDSA key "), "{printed}");
    let both_published = eventually(Duration::from_secs(3), || async {
        published(&backend).await.len() == 2
    })
    .await;
    assert!(both_published, "the new key is published at once");
    ageing.advance(Duration::from_secs(5));
    by_publication.verify(&user.token).await.unwrap();
    assert_eq!(
        by_publication.fetch_count(),
        2,
        "the aged JWKS was fetched again"
    );

    // Within KEY_PUBLISH_DELAY (and the second the servers take to notice) the new key
    // signs: a refresh gets a token naming it.
    let signs = eventually(Duration::from_secs(5), || async {
        tokio::time::sleep(Duration::from_millis(250)).await;
        user.browser.refresh().await;
        parts(&access_token(&user.browser)).0["kid"] != old_kid
    })
    .await;
    assert!(signs, "the new key signs after KEY_PUBLISH_DELAY");
    let new_token = access_token(&user.browser);

    let claims = by_publication.verify(&new_token).await.unwrap();
    assert_eq!(claims.sub, user.user_id);
    assert_eq!(by_publication.fetch_count(), 2, "known before it signed");

    fresh.advance(Duration::from_millis(500));
    by_first_token.verify(&new_token).await.unwrap();
    assert_eq!(
        by_first_token.fetch_count(),
        2,
        "one fetch for the unknown kid"
    );

    // Nobody is signed out: the old key verifies until its last token has expired.
    for verifier in [&by_publication, &by_first_token] {
        assert!(verifier.verify(&user.token).await.is_ok());
    }
}

#[tokio::test]
async fn an_issuer_that_cannot_be_reached_fails_closed_with_a_clear_error() {
    let live = Live::start("outage@example.com").await;
    live.verifier.verify(&live.user.token).await.unwrap();
    let jwks_url = live.backend.jwks_url();
    live.backend.stop();

    // What was fetched keeps verifying for the time the JWKS allowed (max-age=30).
    assert!(live.verifier.verify(&live.user.token).await.is_ok());
    live.clock.advance(Duration::from_secs(30));
    let error = live.verifier.verify(&live.user.token).await.unwrap_err();
    let VerifyError::JwksUnavailable { url, reason } = &error else {
        panic!("{error:?}");
    };
    assert_eq!(url, &jwks_url);
    assert!(reason.contains("Connection refused"), "{reason}");
    assert!(
        error.to_string().starts_with(&format!(
            "cannot verify access tokens: the JWKS at {jwks_url} is unavailable: "
        )),
        "{error}"
    );

    // A service that starts while the issuer is down accepts nothing.
    let newcomer =
        Verifier::from_jwks_url(&jwks_url, AUTH_SERVER_ISSUER, AUTH_SERVER_AUDIENCE).unwrap();
    assert!(matches!(
        newcomer.fetch_keys().await,
        Err(VerifyError::JwksUnavailable { .. })
    ));
    assert!(matches!(
        newcomer.verify(&live.user.token).await,
        Err(VerifyError::JwksUnavailable { .. })
    ));
}
