//! The JWKS cache: kept as long as `Cache-Control` says (within bounds), fetched again on
//! an unknown `kid` at most once per interval and once for many requests, and closed to
//! every token when the keys cannot be had.

use std::time::Duration;

use axum::http::StatusCode;
use futures::future::join_all;
use jwt_verifier::{AUTH_SERVER_AUDIENCE, AUTH_SERVER_ISSUER, Verifier, VerifyError};
use serde_json::json;

use crate::support::{Fixture, JwksServer, ManualClock, TestKey, claims, closed_port_url};

const INTERVAL: Duration = Duration::from_secs(5);
const SECOND: Duration = Duration::from_secs(1);

/// The reason of a `JwksUnavailable`, or a panic.
fn unavailable(result: Result<jwt_verifier::Claims, VerifyError>) -> String {
    match result {
        Err(VerifyError::JwksUnavailable { reason, .. }) => reason,
        other => panic!("expected JwksUnavailable, got {other:?}"),
    }
}

#[tokio::test]
async fn the_jwks_is_kept_for_its_max_age_then_fetched_again() {
    let f = Fixture::start().await;
    let token = f.token();

    f.verifier.verify(&token).await.unwrap();
    f.clock.advance(Duration::from_secs(59));
    f.verifier.verify(&token).await.unwrap();
    assert_eq!(f.jwks.fetches(), 1, "max-age=60 not over yet");
    f.clock.advance(SECOND);
    f.verifier.verify(&token).await.unwrap();
    assert_eq!(f.jwks.fetches(), 2);
    assert_eq!(f.verifier.fetch_count(), 2);
}

#[tokio::test]
async fn max_age_is_capped_a_missing_one_defaults_and_no_cache_means_one_interval() {
    let f = Fixture::start().await;
    let verifier = f
        .jwks
        .builder(&f.clock)
        .max_cache_time(Duration::from_secs(600))
        .default_cache_time(Duration::from_secs(120))
        .refetch_interval(INTERVAL)
        .build()
        .unwrap();
    let mut long_lived = claims(f.clock.now_secs());
    long_lived["exp"] = json!(f.clock.now_secs() + 86_400);
    let token = f.key.sign(&long_lived);
    for (cache_control, kept) in [
        (Some("public, max-age=86400"), Duration::from_secs(600)),
        (None, Duration::from_secs(120)),
        (Some("no-cache"), INTERVAL),
        (Some("max-age=0"), INTERVAL),
    ] {
        f.jwks.cache_control(cache_control);
        // Expire what the last round cached; this fetch reads the new header.
        f.clock.advance(Duration::from_secs(600));
        verifier.verify(&token).await.unwrap();
        let fetched = f.jwks.fetches();
        f.clock.advance(kept - Duration::from_millis(1));
        verifier.verify(&token).await.unwrap();
        assert_eq!(f.jwks.fetches(), fetched, "{cache_control:?}: still cached");
        f.clock.advance(Duration::from_millis(1));
        verifier.verify(&token).await.unwrap();
        let refetched = f.jwks.fetches();
        assert_eq!(refetched, fetched + 1, "{cache_control:?}: kept {kept:?}");
    }
}

#[tokio::test]
async fn an_unknown_kid_fetches_again_at_most_once_per_interval_however_many_ask() {
    let f = Fixture::start().await;
    let now = f.clock.now_secs();
    f.verifier.verify(&f.token()).await.unwrap();
    assert_eq!(f.jwks.fetches(), 1);

    // The issuer publishes a key; 20 requests bring tokens signed with it at once.
    let new = TestKey::new("new");
    f.jwks.publish(&[&f.key, &new]);
    f.jwks.delay(Duration::from_millis(200));
    f.clock.advance(INTERVAL);
    let tokens: Vec<String> = (0..20).map(|_| new.sign(&claims(now))).collect();
    let results = join_all(tokens.iter().map(|token| f.verifier.verify(token))).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(f.jwks.fetches(), 2, "one fetch for all twenty");

    // Made-up kids: one fetch per interval at most, however many arrive.
    let stranger = TestKey::new("made-up");
    let strangers: Vec<String> = (0..20).map(|_| stranger.sign(&claims(now))).collect();
    let refused = VerifyError::UnknownKey {
        kid: "made-up".to_owned(),
    };
    for round in 0..3 {
        let results = join_all(strangers.iter().map(|token| f.verifier.verify(token))).await;
        assert!(results.iter().all(|result| *result == Err(refused.clone())));
        let expected = 2 + usize::from(round == 2);
        assert_eq!(f.jwks.fetches(), expected, "round {round}");
        f.clock.advance(INTERVAL / 2);
    }
}

#[tokio::test]
async fn concurrent_first_requests_share_one_fetch() {
    let f = Fixture::start().await;
    f.jwks.delay(Duration::from_millis(200));
    let tokens: Vec<String> = (0..20).map(|_| f.token()).collect();
    let results = join_all(tokens.iter().map(|token| f.verifier.verify(token))).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(f.jwks.fetches(), 1);
}

#[tokio::test]
async fn a_failed_fetch_keeps_cached_keys_until_their_time_then_refuses_every_token() {
    let f = Fixture::start().await;
    let token = f.token();
    f.verifier.verify(&token).await.unwrap();

    f.jwks.answer(StatusCode::INTERNAL_SERVER_ERROR, "down");
    f.clock.advance(INTERVAL);
    let newcomer = TestKey::new("new").sign(&claims(f.clock.now_secs()));
    let reason = unavailable(f.verifier.verify(&newcomer).await);
    assert_eq!(reason, "it answered 500 Internal Server Error");
    let cached = f.verifier.verify(&token).await;
    assert!(
        cached.is_ok(),
        "a cached key keeps verifying within max-age"
    );

    f.clock.advance(Duration::from_secs(55));
    unavailable(f.verifier.verify(&token).await);
    let fetched = f.jwks.fetches();
    f.clock.advance(INTERVAL - SECOND);
    unavailable(f.verifier.verify(&token).await);
    assert_eq!(
        f.jwks.fetches(),
        fetched,
        "a failing issuer is not hammered"
    );

    f.jwks.publish(&[&f.key]);
    f.clock.advance(SECOND);
    let back = f.verifier.verify(&token).await;
    assert!(back.is_ok(), "back once it answers");
}

#[tokio::test]
async fn a_jwks_that_cannot_be_used_fails_closed_with_a_clear_error() {
    let f = Fixture::start().await;
    let huge = format!(r#"{{"keys": [], "pad": "{}"}}"#, "x".repeat(70_000));
    let cases = [
        (StatusCode::NOT_FOUND, "{}", "it answered 404 Not Found"),
        (
            StatusCode::FOUND,
            "{}",
            "it answered 302 Found (redirects are not followed)",
        ),
        (StatusCode::OK, "<html>", "it is not a JWK set"),
        (StatusCode::OK, &huge, "it is larger than 65536 bytes"),
    ];
    for (status, body, expected) in cases {
        f.jwks.answer(status, body);
        let fresh = f.jwks.verifier(&f.clock);
        let error = fresh.verify(&f.token()).await.unwrap_err();
        let VerifyError::JwksUnavailable { url, reason } = &error else {
            panic!("{status}: {error:?}");
        };
        assert_eq!(url, f.jwks.url());
        assert!(reason.starts_with(expected), "{status}: {reason}");
        let message = error.to_string();
        assert!(
            message.starts_with("cannot verify access tokens: the JWKS at http://127.0.0.1:"),
            "{message}"
        );
    }

    let nowhere = closed_port_url().await;
    let verifier =
        Verifier::from_jwks_url(&nowhere, AUTH_SERVER_ISSUER, AUTH_SERVER_AUDIENCE).unwrap();
    let reason = unavailable(verifier.verify(&f.token()).await);
    assert!(reason.contains("Connection refused"), "{reason}");
    assert!(verifier.fetch_keys().await.is_err());
}

#[tokio::test]
async fn a_jwks_that_answers_too_slowly_fails_closed() {
    let f = Fixture::start().await;
    f.jwks.delay(Duration::from_secs(5));
    let verifier = f
        .jwks
        .builder(&f.clock)
        .fetch_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let reason = unavailable(verifier.verify(&f.token()).await);
    assert!(reason.starts_with("it did not answer in time"), "{reason}");
}

#[tokio::test]
async fn a_key_dropped_from_the_jwks_stops_verifying_at_the_next_fetch() {
    let retired = TestKey::new("retired");
    let active = TestKey::new("active");
    let jwks = JwksServer::start(&[&retired, &active]).await;
    let clock = ManualClock::new();
    let verifier = jwks.verifier(&clock);
    let token = retired.sign(&claims(clock.now_secs()));
    verifier.verify(&token).await.unwrap();

    jwks.publish(&[&active]);
    clock.advance(Duration::from_secs(60));
    let refused = verifier.verify(&token).await;
    let kid = "retired".to_owned();
    assert_eq!(refused, Err(VerifyError::UnknownKey { kid }));
}
