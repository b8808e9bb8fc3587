//! CSRF: fetch metadata, Origin, the double-submit token, and JSON-only login.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::*;

/// A fresh browser posting credentials to `path` with one extra header.
async fn credentials_with(
    app: &TestApp,
    path: &str,
    header: (&str, &str),
    email: &str,
) -> reqwest::Response {
    let browser = app.browser();
    let request = browser
        .request(Method::POST, path)
        .header(header.0, header.1)
        .json(&json!({"email": email, "password": PASSWORD}));
    browser.send(request).await
}

async fn assert_csrf_rejected(response: reqwest::Response) {
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(response).await, "csrf_rejected");
}

#[tokio::test]
async fn refresh_without_the_csrf_header_is_rejected_and_rotates_nothing() {
    let app = spawn_app().await;
    let (browser, _) = app.signed_in("nohdr@example.com").await;
    let before = browser.cookie("refresh_token");
    let response = browser
        .send(browser.request_without_csrf(Method::POST, "/api/auth/refresh"))
        .await;
    assert_csrf_rejected(response).await;
    assert_eq!(browser.cookie("refresh_token"), before);
    // The token was not consumed: a proper refresh still works, with no reuse alarm.
    assert_eq!(browser.refresh().await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_csrf_header_that_differs_from_the_cookie_is_rejected() {
    let app = spawn_app().await;
    let (browser, _) = app.signed_in("mismatch@example.com").await;
    for path in [
        "/api/auth/refresh",
        "/api/auth/logout",
        "/api/auth/logout-all",
    ] {
        let response = browser
            .send(
                browser
                    .request_without_csrf(Method::POST, path)
                    .header("x-csrf-token", "attacker-guess"),
            )
            .await;
        assert_csrf_rejected(response).await;
    }
    assert_eq!(browser.get("/api/me").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_foreign_origin_is_rejected_even_with_the_right_token() {
    let app = spawn_app().await;
    let (browser, _) = app.signed_in("origin@example.com").await;
    for origin in ["https://evil.example", "null", "http://127.0.0.1:1"] {
        let response = browser
            .send(
                browser
                    .request(Method::POST, "/api/auth/logout")
                    .header("origin", origin),
            )
            .await;
        assert_csrf_rejected(response).await;
    }
    let response = credentials_with(
        &app,
        "/api/auth/login",
        ("origin", "https://evil.example"),
        "origin@example.com",
    )
    .await;
    assert_csrf_rejected(response).await;
    assert_eq!(browser.get("/api/me").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_own_origin_and_configured_origins_are_allowed() {
    let app = spawn_app_with(&["--allowed-origins", "https://app.example.com"], |_| {}).await;
    let own = format!("http://{}", app.addr);
    for origin in [own.as_str(), "https://app.example.com"] {
        let browser = app.browser();
        let response = browser
            .send(
                browser
                    .request(Method::POST, "/api/auth/register")
                    .header("origin", origin)
                    .header("sec-fetch-site", "same-origin")
                    .json(&json!({"email": format!("o{}@example.com", origin.len()), "password": PASSWORD})),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED, "{origin}");
    }
    // Configuring origins replaces the development defaults.
    let response = credentials_with(
        &app,
        "/api/auth/login",
        ("origin", "http://localhost:8080"),
        "x@example.com",
    )
    .await;
    assert_csrf_rejected(response).await;
}

#[tokio::test]
async fn the_trunk_dev_server_origin_is_allowed_in_development() {
    let app = spawn_app().await;
    let response = credentials_with(
        &app,
        "/api/auth/register",
        ("origin", "http://localhost:8080"),
        "trunk@example.com",
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn cross_site_and_same_site_fetch_metadata_are_rejected() {
    let app = spawn_app().await;
    let (browser, _) = app.signed_in("fetchmeta@example.com").await;
    for site in ["cross-site", "same-site"] {
        let response = browser
            .send(
                browser
                    .request(Method::POST, "/api/auth/refresh")
                    .header("sec-fetch-site", site),
            )
            .await;
        assert_csrf_rejected(response).await;
        let response = credentials_with(
            &app,
            "/api/auth/register",
            ("sec-fetch-site", site),
            "csrf-reg@example.com",
        )
        .await;
        assert_csrf_rejected(response).await;
    }
    // Nothing was created by the refused registration.
    assert_eq!(
        app.browser()
            .login("csrf-reg@example.com", PASSWORD)
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    // Safe methods are not affected.
    let response = browser
        .send(
            browser
                .request(Method::GET, "/api/me")
                .header("sec-fetch-site", "cross-site"),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn login_and_register_accept_only_json() {
    let app = spawn_app().await;
    app.signed_in("form@example.com").await;
    for path in ["/api/auth/login", "/api/auth/register"] {
        let browser = app.browser();
        for content_type in [
            None,
            Some("text/plain"),
            Some("application/x-www-form-urlencoded"),
        ] {
            let mut request = browser.request(Method::POST, path).body(format!(
                r#"{{"email":"form@example.com","password":"{PASSWORD}"}}"#
            ));
            if let Some(content_type) = content_type {
                request = request.header("content-type", content_type);
            }
            let response = browser.send(request).await;
            assert_eq!(
                response.status(),
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "{path} {content_type:?}"
            );
            assert!(set_cookies(&response).is_empty());
            assert_eq!(error_code(response).await, "unsupported_media_type");
        }
    }
}

#[tokio::test]
async fn requests_without_session_cookies_need_no_csrf_token() {
    let app = spawn_app().await;
    let client = reqwest::Client::new();
    let logout = client
        .post(app.url("/api/auth/logout"))
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
    let refresh = client
        .post(app.url("/api/auth/refresh"))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(refresh).await, "invalid_refresh_token");
    // A CSRF cookie alone is no credential either, but one session cookie is.
    let browser = app.browser();
    browser.set_cookie(
        "refresh_token",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    );
    let response = browser
        .send(browser.request_without_csrf(Method::POST, "/api/auth/logout"))
        .await;
    assert_csrf_rejected(response).await;
}

#[tokio::test]
async fn bearer_requests_need_no_csrf_header() {
    let app = spawn_app().await;
    let (browser, _) = app.signed_in("bearer@example.com").await;
    let token = browser.cookie("access_token").unwrap();
    let response = reqwest::Client::new()
        .post(app.url("/api/auth/logout-all"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        error_code(browser.get("/api/me").await).await,
        "session_revoked"
    );
}

#[tokio::test]
async fn an_authorization_header_does_not_waive_csrf_where_the_refresh_cookie_acts() {
    let app = spawn_app().await;
    let (browser, _) = app.signed_in("waiver@example.com").await;
    for path in ["/api/auth/refresh", "/api/auth/logout"] {
        let response = browser
            .send(
                browser
                    .request_without_csrf(Method::POST, path)
                    .header("authorization", "Bearer anything"),
            )
            .await;
        assert_csrf_rejected(response).await;
    }
    // Nothing was rotated or ended.
    assert_eq!(browser.refresh().await.status(), StatusCode::OK);
    // Where the header is the credential, it still needs no CSRF token.
    let token = browser.cookie("access_token").unwrap();
    let response = browser
        .send(
            browser
                .request_without_csrf(Method::POST, "/api/auth/logout-others")
                .header("authorization", format!("Bearer {token}")),
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
}
