//! Brute force and enumeration: identical failures, per-account and per-IP throttling,
//! disabled accounts, and the bounded hashing pool.

use std::time::Duration;

use futures::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn unknown_email_and_wrong_password_get_byte_identical_answers() {
    let app = spawn_app().await;
    app.signed_in("known@example.com").await;
    let wrong_password = app
        .browser()
        .login("known@example.com", "not the password")
        .await;
    let unknown_email = app
        .browser()
        .login("unknown@example.com", "not the password")
        .await;
    assert_eq!(wrong_password.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(unknown_email.status(), wrong_password.status());
    let headers = |r: &reqwest::Response| {
        let mut h: Vec<String> = r
            .headers()
            .iter()
            .filter(|(name, _)| *name != "date")
            .map(|(name, value)| format!("{name}: {}", value.to_str().unwrap()))
            .collect();
        h.sort();
        h
    };
    assert_eq!(headers(&wrong_password), headers(&unknown_email));
    let a = wrong_password.bytes().await.unwrap();
    let b = unknown_email.bytes().await.unwrap();
    assert_eq!(a, b);
    assert!(String::from_utf8_lossy(&a).contains("invalid_credentials"));
}

async fn fail_login(app: &TestApp, email: &str) -> reqwest::Response {
    app.browser().login(email, "definitely wrong").await
}

#[tokio::test]
async fn after_five_failures_an_account_waits_longer_with_each_failure() {
    let app = spawn_app().await;
    app.signed_in("target@example.com").await;
    for _ in 0..5 {
        assert_eq!(
            fail_login(&app, "target@example.com").await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let throttled = app.browser().login("target@example.com", PASSWORD).await;
    assert_eq!(throttled.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(throttled.headers()["retry-after"], "30");
    assert_eq!(error_code(throttled).await, "too_many_attempts");

    app.advance(Duration::from_secs(30));
    assert_eq!(
        fail_login(&app, "target@example.com").await.status(),
        StatusCode::UNAUTHORIZED
    );
    let throttled = fail_login(&app, "target@example.com").await;
    assert_eq!(throttled.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(throttled.headers()["retry-after"], "60");

    // No permanent lock-out: the right password after the delay works.
    app.advance(Duration::from_secs(60));
    assert_eq!(
        app.browser()
            .login("target@example.com", PASSWORD)
            .await
            .status(),
        StatusCode::OK
    );
    // And success resets the count.
    assert_eq!(
        fail_login(&app, "target@example.com").await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn the_delay_is_capped_at_fifteen_minutes() {
    let app = spawn_app().await;
    for _ in 0..5 {
        fail_login(&app, "capped@example.com").await;
    }
    let mut last = 0;
    for _ in 0..6 {
        let throttled = fail_login(&app, "capped@example.com").await;
        assert_eq!(throttled.status(), StatusCode::TOO_MANY_REQUESTS);
        let wait: u64 = throttled.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(wait > last || wait == 900, "{wait} after {last}");
        assert!(wait <= 900);
        last = wait;
        app.advance(Duration::from_secs(wait));
        assert_eq!(
            fail_login(&app, "capped@example.com").await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
}

#[tokio::test]
async fn emails_without_an_account_are_throttled_alike() {
    let app = spawn_app().await;
    for _ in 0..5 {
        assert_eq!(
            fail_login(&app, "ghost@example.com").await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let throttled = fail_login(&app, "ghost@example.com").await;
    assert_eq!(throttled.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(throttled.headers()["retry-after"], "30");
}

#[tokio::test]
async fn forwarded_for_from_an_untrusted_peer_does_not_reset_the_count() {
    let app = spawn_app().await;
    for i in 0..6 {
        let status = login_from(&app, &format!("198.51.100.{i}"), "spoof@example.com").await;
        let expected = if i < 5 {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::TOO_MANY_REQUESTS
        };
        assert_eq!(status, expected, "attempt {i}");
    }
}

async fn login_from(app: &TestApp, forwarded_for: &str, email: &str) -> StatusCode {
    let browser = app.browser();
    browser
        .send(
            browser
                .request(Method::POST, "/api/auth/login")
                .header("x-forwarded-for", forwarded_for)
                .json(&json!({"email": email, "password": "wrong wrong"})),
        )
        .await
        .status()
}

#[tokio::test]
async fn one_ip_is_refused_after_a_hundred_failures_across_accounts() {
    // Behind a trusted proxy, X-Forwarded-For names the client.
    let app = spawn_app_with(&["--trusted-proxies", "127.0.0.1"], |_| {}).await;
    for i in 0..100 {
        let status = login_from(&app, "203.0.113.7", &format!("user{i}@example.com")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    assert_eq!(
        login_from(&app, "203.0.113.7", "fresh@example.com").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        login_from(&app, "203.0.113.8", "fresh@example.com").await,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_disabled_account_is_reported_only_after_the_password_is_verified() {
    let app = spawn_app().await;
    app.signed_in("disabled@example.com").await;
    app.state
        .store
        .disable_user("disabled@example.com", app.clock_now())
        .await
        .unwrap();
    let wrong = app
        .browser()
        .login("disabled@example.com", "wrong password")
        .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(wrong).await, "invalid_credentials");
    let right = app.browser().login("disabled@example.com", PASSWORD).await;
    assert_eq!(right.status(), StatusCode::FORBIDDEN);
    assert!(set_cookies(&right).is_empty());
    assert_eq!(error_code(right).await, "account_disabled");
}

#[tokio::test]
async fn a_saturated_hashing_pool_answers_503_with_retry_after() {
    let app = spawn_app_with(&[], |config| {
        config.hash_workers = 1;
        config.hash_queue_timeout = Duration::ZERO;
    })
    .await;
    let browsers: Vec<Browser> = (0..8).map(|_| app.browser()).collect();
    let responses =
        join_all(browsers.iter().enumerate().map(|(i, b)| async move {
            b.register(&format!("busy{i}@example.com"), PASSWORD).await
        }))
        .await;
    let mut busy = 0;
    for response in responses {
        match response.status() {
            StatusCode::CREATED => {}
            StatusCode::SERVICE_UNAVAILABLE => {
                busy += 1;
                assert_eq!(response.headers()["retry-after"], "1");
                assert_eq!(error_code(response).await, "server_busy");
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert!(busy > 0, "eight hashes at once cannot all fit one worker");
}
