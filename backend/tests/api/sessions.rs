//! `/api/sessions`: listing and revoking devices.

use reqwest::StatusCode;
use shared::SessionInfo;

use backend::store::Proof;

use crate::helpers::*;

#[tokio::test]
async fn sessions_lists_live_sessions_and_marks_the_current_one() {
    let app = spawn_app().await;
    let (laptop, login) = app.signed_in("dev@example.com").await;
    let phone = app.browser();
    let response = phone
        .send(
            phone
                .request(reqwest::Method::POST, "/api/auth/login")
                .header("user-agent", "PhoneBrowser/1.0")
                .json(&serde_json::json!({"email": "dev@example.com", "password": PASSWORD})),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);

    let list: Vec<SessionInfo> = laptop.get("/api/sessions").await.json().await.unwrap();
    assert_eq!(list.len(), 2);
    let current: Vec<_> = list.iter().filter(|s| s.current).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0].id, login.session.id);
    assert!(
        list.iter()
            .any(|s| s.user_agent.as_deref() == Some("PhoneBrowser/1.0"))
    );
    assert!(list.iter().all(|s| s.ip.as_deref() == Some("127.0.0.1")));
}

#[tokio::test]
async fn revoking_a_session_cuts_off_that_device_at_once() {
    let app = spawn_app().await;
    let (laptop, _) = app.signed_in("cut@example.com").await;
    let phone = app.browser();
    let phone_session: shared::AuthResponse = phone
        .login("cut@example.com", PASSWORD)
        .await
        .json()
        .await
        .unwrap();

    let response = laptop
        .delete(&format!("/api/sessions/{}", phone_session.session.id))
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    phone.assert_session_revoked().await;
    assert_eq!(laptop.get("/api/me").await.status(), StatusCode::OK);
    let list: Vec<SessionInfo> = laptop.get("/api/sessions").await.json().await.unwrap();
    assert_eq!(list.len(), 1);
}

#[tokio::test]
async fn another_users_session_is_not_found_and_stays_alive() {
    let app = spawn_app().await;
    let (mallory, _) = app.signed_in("mallory@example.com").await;
    let (alice, alice_login) = app.signed_in("alice@example.com").await;
    let response = mallory
        .delete(&format!("/api/sessions/{}", alice_login.session.id))
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(error_code(response).await, "not_found");
    assert_eq!(alice.get("/api/me").await.status(), StatusCode::OK);
    let response = mallory.delete("/api/sessions/no-such-session").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn deleting_a_session_needs_the_csrf_header() {
    let app = spawn_app().await;
    let (browser, login) = app.signed_in("csrfdel@example.com").await;
    let response = browser
        .send(
            browser
                .request_without_csrf(
                    reqwest::Method::DELETE,
                    &format!("/api/sessions/{}", login.session.id),
                )
                .header("x-csrf-token", "wrong"),
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(response).await, "csrf_rejected");
    assert_eq!(browser.get("/api/me").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn logout_others_ends_every_session_but_the_current_one() {
    let app = spawn_app().await;
    let (here, _) = app.signed_in("others@example.com").await;
    let mut elsewhere = Vec::new();
    for _ in 0..3 {
        let browser = app.browser();
        assert_eq!(
            browser.login("others@example.com", PASSWORD).await.status(),
            StatusCode::OK
        );
        elsewhere.push(browser);
    }
    assert_eq!(
        here.send(here.request_without_csrf(reqwest::Method::POST, "/api/auth/logout-others"))
            .await
            .status(),
        StatusCode::FORBIDDEN,
        "it needs the CSRF header"
    );
    let response = here.post("/api/auth/logout-others").await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(
        set_cookies(&response).is_empty(),
        "this tab stays signed in"
    );
    for browser in &elsewhere {
        browser.assert_session_revoked().await;
    }
    let list: Vec<SessionInfo> = here.get("/api/sessions").await.json().await.unwrap();
    assert_eq!(list.len(), 1);
    assert!(list[0].current);
    assert_eq!(here.refresh().await.status(), StatusCode::OK);

    let stranger = app.browser();
    let response = stranger.post("/api/auth/logout-others").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(response).await, "missing_token");
}

#[tokio::test]
async fn a_user_keeps_at_most_a_hundred_live_sessions() {
    let app = spawn_app().await;
    let (first, auth) = app.signed_in("hoarder@example.com").await;
    let now = app.clock_now_ms();
    let stored = app
        .state
        .store
        .user_by_id(&auth.user.id)
        .await
        .unwrap()
        .unwrap();
    for i in 0..99 {
        let session = backend::store::SessionRow {
            last_used_at: now + 1 + i,
            ..app.session_row(&format!("bulk-{i:03}"), &auth.user.id)
        };
        let ended = app
            .state
            .store
            .create_session(
                &session,
                &stored.password_hash,
                &Proof::Password,
                &format!("hash-{i}"),
                100,
            )
            .await
            .unwrap();
        assert_eq!(ended, Some(Vec::new()));
    }
    app.advance(std::time::Duration::from_secs(1));
    let newest = app.browser();
    assert_eq!(
        newest.login("hoarder@example.com", PASSWORD).await.status(),
        StatusCode::OK
    );
    let list: Vec<SessionInfo> = newest.get("/api/sessions").await.json().await.unwrap();
    assert_eq!(list.len(), 100);
    // The least recently used (the first sign-in) made room.
    assert!(list.iter().all(|s| s.id != auth.session.id));
    assert!(list.iter().any(|s| s.current));
    first.assert_session_revoked().await;
}
