//! Refresh: rotation, the grace window, reuse detection, races, absolute expiry.

use std::time::Duration;

use futures::future::join_all;
use reqwest::StatusCode;
use shared::{AuthResponse, Role};

use crate::helpers::*;

#[tokio::test]
async fn refresh_rotates_both_tokens_and_keeps_the_session() {
    let app = spawn_app().await;
    let (browser, login) = app.signed_in("rot@example.com").await;
    let old_refresh = browser.cookie("refresh_token").unwrap();
    let old_access = browser.cookie("access_token").unwrap();
    let csrf = browser.cookie("csrf_token").unwrap();
    app.advance(Duration::from_secs(60));

    let response = browser.refresh().await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let refreshed_cookie = set_cookie_line(&response, "refresh_token");
    let body: AuthResponse = response.json().await.unwrap();
    assert_eq!(body.session.id, login.session.id);
    assert_eq!(
        body.session.refresh_expires_at,
        login.session.refresh_expires_at
    );
    assert_eq!(
        body.session.access_expires_at,
        login.session.access_expires_at + 60
    );
    // Max-Age is what remains of the session, not a fresh week.
    assert!(refreshed_cookie.contains(&format!("Max-Age={}", 7 * 24 * 3600 - 60)));
    assert_ne!(browser.cookie("refresh_token").unwrap(), old_refresh);
    assert_ne!(browser.cookie("access_token").unwrap(), old_access);
    assert_eq!(
        browser.cookie("csrf_token").unwrap(),
        csrf,
        "CSRF token is stable"
    );
    assert_eq!(browser.get("/api/me").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_database_keeps_only_hashes_of_refresh_tokens() {
    let app = spawn_app().await;
    let (browser, _) = app.signed_in("hash@example.com").await;
    let first = browser.cookie("refresh_token").unwrap();
    assert_eq!(browser.refresh().await.status(), StatusCode::OK);
    let second = browser.cookie("refresh_token").unwrap();
    let stored = app.db.dump().await;
    assert!(
        stored.contains("hash@example.com"),
        "the scan sees the data"
    );
    for token in [first, second] {
        assert!(!stored.contains(&token));
    }
}

#[tokio::test]
async fn replay_within_the_grace_window_gets_the_same_current_token() {
    let app = spawn_app().await;
    let (tab_a, _) = app.signed_in("tabs@example.com").await;
    let tab_b = tab_a.fork();

    assert_eq!(tab_a.refresh().await.status(), StatusCode::OK);
    app.advance(Duration::from_secs(10));
    let response = tab_b.refresh().await;
    assert_eq!(response.status(), StatusCode::OK);
    // Both tabs now hold the one current token: the session did not fork.
    assert_eq!(tab_a.cookie("refresh_token"), tab_b.cookie("refresh_token"));
    assert_eq!(tab_b.get("/api/me").await.status(), StatusCode::OK);
    assert_eq!(tab_a.refresh().await.status(), StatusCode::OK);
    assert_eq!(tab_a.get("/api/me").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn replay_after_the_grace_window_revokes_the_whole_session() {
    let app = spawn_app().await;
    let (user, _) = app.signed_in("theft@example.com").await;
    let thief = user.fork();

    assert_eq!(user.refresh().await.status(), StatusCode::OK);
    app.advance(Duration::from_secs(11));
    let replay = thief.refresh().await;
    assert_eq!(replay.status(), StatusCode::UNAUTHORIZED);
    let cleared = set_cookie_line(&replay, "refresh_token");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    assert_eq!(error_code(replay).await, "invalid_refresh_token");

    // The legitimate holder's refresh token and access token die with the session.
    user.assert_session_revoked().await;
}

#[tokio::test]
async fn replay_of_an_older_generation_revokes_the_session_even_within_the_window() {
    let app = spawn_app().await;
    let (user, _) = app.signed_in("gen@example.com").await;
    let first = user.fork();
    assert_eq!(user.refresh().await.status(), StatusCode::OK);
    assert_eq!(user.refresh().await.status(), StatusCode::OK);
    // `first` holds a token two rotations old: not the one just rotated away.
    assert_eq!(first.refresh().await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        error_code(user.get("/api/me").await).await,
        "session_revoked"
    );
}

#[tokio::test]
async fn parallel_refreshes_with_one_token_leave_exactly_one_usable_token() {
    let app = spawn_app().await;
    let (browser, _) = app.signed_in("race@example.com").await;
    let tabs: Vec<Browser> = (0..50).map(|_| browser.fork()).collect();
    let responses = join_all(tabs.iter().map(Browser::refresh)).await;
    for response in &responses {
        assert_eq!(response.status(), StatusCode::OK);
    }
    let mut held: Vec<String> = tabs
        .iter()
        .map(|t| t.cookie("refresh_token").unwrap())
        .collect();
    held.dedup();
    assert_eq!(held.len(), 1, "every racer got the same successor");

    // After the window, only that one token works, and using it does not revoke anything.
    app.advance(Duration::from_secs(11));
    assert_eq!(tabs[0].refresh().await.status(), StatusCode::OK);
    assert_eq!(tabs[0].get("/api/me").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_session_ends_at_its_absolute_expiry_however_often_it_refreshes() {
    let app = spawn_app_with(
        &["--refresh-token-ttl", "1h", "--access-token-ttl", "10m"],
        |_| {},
    )
    .await;
    let (browser, _) = app.signed_in("abs@example.com").await;
    for _ in 0..5 {
        app.advance(Duration::from_secs(9 * 60));
        assert_eq!(browser.refresh().await.status(), StatusCode::OK);
    }
    app.advance(Duration::from_secs(15 * 60));
    let response = browser.refresh().await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(response).await, "invalid_refresh_token");
}

#[tokio::test]
async fn refresh_without_a_valid_token_fails_and_clears_cookies() {
    let app = spawn_app().await;
    for value in [
        None,
        Some("garbage"),
        Some("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
    ] {
        let browser = app.browser();
        browser.set_cookie("csrf_token", "csrf-value");
        if let Some(value) = value {
            browser.set_cookie("refresh_token", value);
        }
        let response = browser.refresh().await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(set_cookie_line(&response, "refresh_token").contains("Max-Age=0"));
        assert_eq!(error_code(response).await, "invalid_refresh_token");
    }
}

#[tokio::test]
async fn a_role_change_applies_at_the_next_refresh() {
    let app = spawn_app().await;
    let (browser, _) = app.signed_in("promoted@example.com").await;
    assert_eq!(
        browser.get("/api/admin/users").await.status(),
        StatusCode::FORBIDDEN
    );
    assert!(
        app.state
            .store
            .set_role("promoted@example.com", Role::Admin)
            .await
            .unwrap()
    );
    let body: AuthResponse = browser.refresh().await.json().await.unwrap();
    assert_eq!(body.user.role, Role::Admin);
    assert_eq!(
        browser.get("/api/admin/users").await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn with_no_grace_even_an_immediate_replay_revokes_the_session() {
    let app = spawn_app_with(&["--refresh-reuse-grace", "0s"], |_| {}).await;
    let (user, _) = app.signed_in("nograce@example.com").await;
    let other_tab = user.fork();
    assert_eq!(user.refresh().await.status(), StatusCode::OK);
    // Same instant, same millisecond: nothing is forgiven.
    assert_eq!(other_tab.refresh().await.status(), StatusCode::UNAUTHORIZED);
    user.assert_session_revoked().await;
}

#[tokio::test]
async fn the_grace_window_is_exact_to_the_millisecond() {
    let app = spawn_app_with(&["--refresh-reuse-grace", "1s"], |_| {}).await;
    let (user, _) = app.signed_in("exact@example.com").await;
    let in_time = user.fork();
    let too_late = user.fork();
    assert_eq!(user.refresh().await.status(), StatusCode::OK);
    app.advance(Duration::from_millis(1_000));
    assert_eq!(in_time.refresh().await.status(), StatusCode::OK);
    app.advance(Duration::from_millis(1));
    assert_eq!(too_late.refresh().await.status(), StatusCode::UNAUTHORIZED);
    user.assert_session_revoked().await;
}

#[tokio::test]
async fn a_rotation_racing_a_revocation_does_not_answer_for_the_revoked_session() {
    use sqlx::Connection;

    let app = spawn_app().await;
    let (user, auth) = app.signed_in("rotate-revoke@example.com").await;
    let is_postgres = app.db.url().starts_with("postgres");
    // Another instance revokes the session, and has not committed yet when the refresh
    // arrives.
    let mut other = sqlx::AnyConnection::connect(app.db.url()).await.unwrap();
    let mut revocation = other.begin().await.unwrap();
    sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE id = $2")
        .bind(app.clock_now_ms())
        .bind(&auth.session.id)
        .execute(&mut *revocation)
        .await
        .unwrap();
    let refresh = tokio::spawn({
        let user = user.clone();
        async move { user.refresh().await }
    });
    if is_postgres {
        // The refresh waits on the revocation's row lock.
        let waiting = eventually(Duration::from_secs(2), || async {
            let mut probe = sqlx::AnyConnection::connect(app.db.url()).await.unwrap();
            let (n,): (i64,) = sqlx::query_as(
                "SELECT COUNT(*) FROM pg_stat_activity \
                 WHERE wait_event_type = 'Lock' AND datname = current_database()",
            )
            .fetch_one(&mut probe)
            .await
            .unwrap();
            n > 0
        })
        .await;
        assert!(waiting, "the refresh reached the locked session row");
    }
    revocation.commit().await.unwrap();
    let response = refresh.await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(response).await, "invalid_refresh_token");
}
