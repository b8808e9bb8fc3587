//! `/api/sessions`: listing and revoking devices.

use reqwest::StatusCode;
use shared::SessionInfo;

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
