//! Health, readiness, unknown paths, security headers and the SPA.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test]
async fn health_and_ready_answer() {
    let app = spawn_app().await;
    let health = app.browser().get("/api/health").await;
    assert_eq!(health.status(), StatusCode::OK);
    assert_eq!(
        health.json::<Value>().await.unwrap(),
        json!({"status": "ok"})
    );
    assert_eq!(
        app.browser().get("/api/ready").await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn without_a_database_ready_is_503_but_tokens_still_verify() {
    let app = spawn_app().await;
    let (browser, _) = app.signed_in("offline@example.com").await;
    app.state.store.close().await;

    let ready = browser.get("/api/ready").await;
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(error_code(ready).await, "not_ready");
    // Checking an access token needs no database.
    assert_eq!(browser.get("/api/products").await.status(), StatusCode::OK);
    // What does need it fails clearly, not with a 500.
    let me = browser.get("/api/me").await;
    assert_eq!(me.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(error_code(me).await, "database_unavailable");
}

#[tokio::test]
async fn unknown_api_paths_get_a_json_404_never_the_spa() {
    let app = spawn_app().await;
    for path in ["/api/nope", "/api/auth/nope", "/api", "/api/me/extra"] {
        let response = app.browser().get(path).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        assert_eq!(response.headers()["content-type"], "application/json");
        assert_eq!(error_code(response).await, "not_found");
    }
}

#[tokio::test]
async fn a_wrong_method_gets_a_json_405() {
    let app = spawn_app().await;
    let response = app.browser().get("/api/auth/login").await;
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(error_code(response).await, "method_not_allowed");
}

#[tokio::test]
async fn every_response_carries_nosniff() {
    let app = spawn_app().await;
    for path in ["/api/health", "/api/nope", "/", "/sessions", "/api/me"] {
        let response = app.browser().get(path).await;
        assert_eq!(
            response.headers()["x-content-type-options"],
            "nosniff",
            "{path}"
        );
    }
    let response = app.browser().login("x@example.com", "whatever1").await;
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
}

#[tokio::test]
async fn the_spa_is_served_for_client_routes_with_a_strict_csp() {
    let app = spawn_app().await;
    for path in ["/", "/login", "/sessions", "/some/deep/route"] {
        let response = app.browser().get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let csp = response.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(csp.contains("default-src 'self'"), "{csp}");
        assert!(
            csp.contains("script-src 'self' 'wasm-unsafe-eval'"),
            "{csp}"
        );
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert!(response.text().await.unwrap().contains("<p>spa</p>"));
    }
}

#[tokio::test]
async fn state_changing_requests_to_unknown_paths_still_need_csrf() {
    let app = spawn_app().await;
    let (browser, _) = app.signed_in("unknown-path@example.com").await;
    let response = browser
        .send(browser.request_without_csrf(Method::POST, "/api/nope"))
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(response).await, "csrf_rejected");
}

/// A GET of `path` with `accept` as `Accept-Encoding` (none when empty): the
/// `Content-Encoding` it was answered with (`identity` when none), its `Vary`, its body.
async fn fetch_encoded(app: &TestApp, path: &str, accept: &str) -> (String, String, Vec<u8>) {
    let mut request = reqwest::Client::new().get(app.url(path));
    if !accept.is_empty() {
        request = request.header("accept-encoding", accept);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{path} {accept}");
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|value| value.to_str().unwrap().to_owned())
    };
    let encoding = header("content-encoding").unwrap_or_else(|| "identity".to_owned());
    let vary = header("vary").unwrap_or_default();
    (encoding, vary, response.bytes().await.unwrap().to_vec())
}

#[tokio::test]
async fn precompressed_assets_are_served_brotli_first_then_gzip_then_as_they_are() {
    let app = spawn_app().await;
    let dir = app.static_dir.path();
    std::fs::write(dir.join("app.wasm"), b"plain wasm bytes").unwrap();
    std::fs::write(dir.join("app.wasm.gz"), b"gzip bytes").unwrap();
    std::fs::write(dir.join("app.wasm.br"), b"brotli bytes").unwrap();
    std::fs::write(dir.join("index.html.br"), b"brotli index").unwrap();
    let cases: [(&str, &str, &[u8]); 6] = [
        // What Chromium sends.
        ("gzip, deflate, br, zstd", "br", b"brotli bytes"),
        ("br", "br", b"brotli bytes"),
        ("gzip", "gzip", b"gzip bytes"),
        ("deflate", "identity", b"plain wasm bytes"),
        ("identity", "identity", b"plain wasm bytes"),
        ("", "identity", b"plain wasm bytes"),
    ];
    for (accept, encoding, body) in cases {
        let (got, vary, bytes) = fetch_encoded(&app, "/app.wasm", accept).await;
        assert_eq!(
            (got.as_str(), bytes.as_slice()),
            (encoding, body),
            "{accept}"
        );
        assert_eq!(vary, "accept-encoding", "{accept}");
    }
    let brotli = reqwest::Client::new()
        .get(app.url("/app.wasm"))
        .header("accept-encoding", "br")
        .send()
        .await
        .unwrap();
    assert_eq!(brotli.headers()["content-type"], "application/wasm");

    // A client route gets index.html, precompressed too.
    let (got, vary, bytes) = fetch_encoded(&app, "/login", "gzip, deflate, br").await;
    assert_eq!(
        (got.as_str(), bytes.as_slice()),
        ("br", &b"brotli index"[..])
    );
    assert_eq!(vary, "accept-encoding");
    let (got, _, bytes) = fetch_encoded(&app, "/login", "gzip").await;
    assert_eq!(got, "identity");
    assert!(String::from_utf8(bytes).unwrap().contains("<p>spa</p>"));
}

#[tokio::test]
async fn the_csp_allows_the_inline_loader_of_index_html_by_hash_only() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("index.html"),
        "<!doctype html><script type=\"module\">import init from '/app.js'; init();</script>",
    )
    .unwrap();
    let app = spawn_app_with(&[], |config| config.static_dir = dir.path().to_owned()).await;
    let response = app.browser().get("/sessions").await;
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(csp.matches("'sha256-").count(), 1, "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
}

#[tokio::test]
async fn a_request_over_the_time_limit_gets_the_json_timeout_error() {
    let app = spawn_app_with(&[], |config| {
        config.request_timeout = std::time::Duration::from_millis(1);
    })
    .await;
    // A login hashes a password: far longer than a millisecond.
    let response = app.browser().login("slow@example.com", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::REQUEST_TIMEOUT);
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    assert_eq!(error_code(response).await, "timeout");
}
