//! Register, login, me, logout, logout-all, and the cookies they set.

use reqwest::StatusCode;
use serde_json::Value;
use shared::{AuthResponse, MeResponse, Role};

use crate::helpers::*;

#[tokio::test]
async fn register_signs_the_new_user_in() {
    let app = spawn_app().await;
    let browser = app.browser();
    let response = browser.register("  New.User@Example.COM ", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: AuthResponse = response.json().await.unwrap();
    assert_eq!(body.user.email, "new.user@example.com");
    assert_eq!(body.user.role, Role::User);
    let now = app.clock_now();
    assert_eq!(body.session.server_time, now);
    assert_eq!(body.session.access_expires_at, now + 15 * 60);
    assert_eq!(body.session.refresh_expires_at, now + 7 * 24 * 3600);

    let me = browser.get("/api/me").await;
    assert_eq!(me.status(), StatusCode::OK);
    let me: MeResponse = me.json().await.unwrap();
    assert_eq!(me.user, body.user);
}

#[tokio::test]
async fn login_answers_user_and_session_with_cookies() {
    let app = spawn_app().await;
    app.signed_in("ann@example.com").await;
    let browser = app.browser();
    let response = browser.login("ANN@example.com", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(set_cookies(&response).len(), 4);
    let body: AuthResponse = response.json().await.unwrap();
    assert_eq!(body.user.email, "ann@example.com");
    assert_eq!(browser.get("/api/products").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn session_cookies_have_the_exact_attributes() {
    let app = spawn_app().await;
    let response = app.browser().register("attrs@example.com", PASSWORD).await;
    let access = set_cookie_line(&response, "access_token");
    assert!(
        access.ends_with("; HttpOnly; SameSite=Strict; Path=/api; Max-Age=900"),
        "{access}"
    );
    let refresh = set_cookie_line(&response, "refresh_token");
    assert!(
        refresh.ends_with("; HttpOnly; SameSite=Strict; Path=/api/auth; Max-Age=604800"),
        "{refresh}"
    );
    let csrf = set_cookie_line(&response, "csrf_token");
    assert!(
        csrf.ends_with("; SameSite=Strict; Path=/; Max-Age=604800"),
        "{csrf}"
    );
    assert!(!csrf.contains("HttpOnly"));
    let device = set_cookie_line(&response, "device");
    assert!(
        device.ends_with("; HttpOnly; SameSite=Strict; Path=/api/auth; Max-Age=31536000"),
        "{device}"
    );
    for line in set_cookies(&response) {
        assert!(!line.contains("Secure"), "{line}");
    }
}

#[tokio::test]
async fn secure_cookies_are_secure_and_prefixed() {
    let app = spawn_app_with(&["--cookie-secure", "true"], |_| {}).await;
    let response = app.browser().register("secure@example.com", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let lines = set_cookies(&response);
    assert_eq!(lines.len(), 4);
    for name in ["access_token", "refresh_token", "csrf_token", "device"] {
        let line = set_cookie_line(&response, &format!("__Secure-{name}"));
        assert!(line.contains("; Secure"), "{line}");
    }
}

/// A `__Secure-` cookie can only come from a secure page; a name that spells the prefix in
/// percent-escapes is another cookie to a browser (so anyone on plain HTTP could plant
/// one) and must be another cookie to the server too, not read as ours once decoded.
#[tokio::test]
async fn a_cookie_name_that_spells_the_secure_prefix_in_escapes_is_not_ours() {
    let app = spawn_app_with(&["--cookie-secure", "true"], |_| {}).await;
    let response = app
        .browser()
        .register("planted@example.com", PASSWORD)
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let value = |name: &str| {
        let line = set_cookie_line(&response, &format!("__Secure-{name}"));
        let pair = line.split(';').next().unwrap().to_owned();
        pair.split_once('=').unwrap().1.to_owned()
    };
    let (access, refresh, csrf) = (
        value("access_token"),
        value("refresh_token"),
        value("csrf_token"),
    );
    let client = reqwest::Client::new();

    let me = client
        .get(app.url("/api/me"))
        .header("cookie", format!("%5F%5FSecure-access_token={access}"))
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(me).await, "missing_token");

    let refresh_under = |prefix: &str| {
        client
            .post(app.url("/api/auth/refresh"))
            .header(
                "cookie",
                format!("{prefix}refresh_token={refresh}; {prefix}csrf_token={csrf}"),
            )
            .header("x-csrf-token", &csrf)
            .send()
    };
    let rotated = refresh_under("%5F%5FSecure-").await.unwrap();
    assert_eq!(rotated.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(rotated).await, "invalid_refresh_token");
    // Beside the genuine cookies, a planted CSRF cookie does not stand in for ours.
    let forged = client
        .post(app.url("/api/auth/refresh"))
        .header(
            "cookie",
            format!(
                "__Secure-refresh_token={refresh}; __Secure-csrf_token={csrf}; \
                 %5F%5FSecure-csrf_token=planted"
            ),
        )
        .header("x-csrf-token", "planted")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(forged).await, "csrf_rejected");
    // The same cookies under their own names still work.
    let rotated = refresh_under("__Secure-").await.unwrap();
    assert_eq!(rotated.status(), StatusCode::OK);
}

#[tokio::test]
async fn logout_revokes_the_access_token_at_once_and_clears_cookies() {
    let app = spawn_app().await;
    let (browser, _) = app.signed_in("out@example.com").await;
    let stolen = browser.fork();
    let response = browser.post("/api/auth/logout").await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    for name in ["access_token", "refresh_token", "csrf_token"] {
        let line = set_cookie_line(&response, name);
        assert!(line.contains("Max-Age=0"), "{line}");
    }
    assert!(set_cookie_line(&response, "refresh_token").contains("Path=/api/auth"));
    assert!(set_cookie_line(&response, "access_token").contains("Path=/api;"));

    // A copy of the cookies taken before logout is now worthless.
    stolen.assert_session_revoked().await;
}

#[tokio::test]
async fn logout_is_idempotent_with_no_or_stale_cookies() {
    let app = spawn_app().await;
    let (browser, _) = app.signed_in("idem@example.com").await;
    let stale = browser.fork();
    assert_eq!(
        browser.post("/api/auth/logout").await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        stale.post("/api/auth/logout").await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.browser().post("/api/auth/logout").await.status(),
        StatusCode::NO_CONTENT
    );
    let garbage = app.browser();
    garbage.set_cookie("csrf_token", "x");
    garbage.set_cookie("refresh_token", "not-a-token");
    garbage.set_cookie("access_token", "not.a.jwt");
    assert_eq!(
        garbage.post("/api/auth/logout").await.status(),
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn logout_all_revokes_every_session_of_the_user_only() {
    let app = spawn_app().await;
    let (laptop, _) = app.signed_in("many@example.com").await;
    let phone = app.browser();
    assert_eq!(
        phone.login("many@example.com", PASSWORD).await.status(),
        StatusCode::OK
    );
    let (other_user, _) = app.signed_in("other@example.com").await;

    let response = laptop.post("/api/auth/logout-all").await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    phone.assert_session_revoked().await;
    assert_eq!(other_user.get("/api/me").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn logout_all_needs_an_access_token() {
    let app = spawn_app().await;
    let browser = app.browser();
    browser.set_cookie("csrf_token", "abc");
    let response = browser.post("/api/auth/logout-all").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(response).await, "missing_token");
}

#[tokio::test]
async fn products_need_an_access_token() {
    let app = spawn_app().await;
    let response = app.browser().get("/api/products").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.headers()["www-authenticate"],
        "Bearer error=\"invalid_token\""
    );
    assert_eq!(error_code(response).await, "missing_token");

    let (browser, _) = app.signed_in("buyer@example.com").await;
    let response = browser.get("/api/products").await;
    assert_eq!(response.headers()["content-type"], "application/json");
    let products: Value = response.json().await.unwrap();
    assert_eq!(products.as_array().map(Vec::len), Some(5));
    let first = &products[0];
    assert!(first["id"].is_i64() && first["name"].is_string() && first["price_cents"].is_i64());
}

#[tokio::test]
async fn a_sign_in_racing_disable_leaves_no_live_session() {
    use futures::StreamExt;
    use futures::stream::FuturesUnordered;

    // One hashing thread: the sign-ins queue for it after reading the account.
    let app = spawn_app_with(&[], |config| config.hash_workers = 1).await;
    let (_, auth) = app.signed_in("racing@example.com").await;
    let browsers: Vec<Browser> = (0..4).map(|_| app.browser()).collect();
    let mut logins: FuturesUnordered<_> = browsers
        .iter()
        .map(|b| b.login("racing@example.com", PASSWORD))
        .collect();
    let mut statuses = vec![logins.next().await.unwrap().status()];
    // The first sign-in is done; the others have read the account and are still hashing.
    let disabled = app
        .state
        .store
        .disable_user("racing@example.com", app.clock_now_ms())
        .await
        .unwrap();
    assert!(disabled.is_some());
    while let Some(response) = logins.next().await {
        statuses.push(response.status());
    }
    // Signed in before the disable (then revoked by it) or refused: never a live session.
    assert!(
        statuses
            .iter()
            .all(|s| [StatusCode::OK, StatusCode::FORBIDDEN].contains(s)),
        "{statuses:?}"
    );
    let live = app.live_sessions(&auth.user.id).await;
    assert!(
        live.is_empty(),
        "{} sessions outlived the disable",
        live.len()
    );
}

#[tokio::test]
async fn logout_without_a_database_still_clears_the_cookies() {
    let app = spawn_app().await;
    let (browser, _) = app.signed_in("outage-logout@example.com").await;
    app.state.store.close().await;
    let response = browser.post("/api/auth/logout").await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    for name in ["access_token", "refresh_token", "csrf_token"] {
        let line = set_cookie_line(&response, name);
        assert!(line.contains("Max-Age=0"), "{line}");
    }
    assert_eq!(error_code(response).await, "database_unavailable");
    assert_eq!(browser.cookie("refresh_token"), None);
}
