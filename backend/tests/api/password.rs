//! `POST /api/auth/password/change`: the current password, asked for and throttled like a
//! sign-in; the other sessions end, this one stays.

use reqwest::{Method, StatusCode};
use serde_json::json;

use backend::store::Proof;

use crate::helpers::*;

const NEW_PASSWORD: &str = "a whole new passphrase here";

async fn change(browser: &Browser, current: &str, new: &str) -> reqwest::Response {
    browser
        .post_json(
            "/api/auth/password/change",
            &json!({"current_password": current, "new_password": new}),
        )
        .await
}

#[tokio::test]
async fn a_password_change_ends_the_other_sessions_and_keeps_this_one() {
    let app = spawn_app().await;
    let (here, _) = app.signed_in("changer@example.com").await;
    let elsewhere = app.browser();
    assert_eq!(
        elsewhere
            .login("changer@example.com", PASSWORD)
            .await
            .status(),
        StatusCode::OK
    );
    let device_before = here.cookie("device").unwrap();

    let response = change(&here, PASSWORD, NEW_PASSWORD).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let device = set_cookie_line(&response, "device");
    assert!(
        !device.contains(&device_before),
        "the device cookie is renewed"
    );

    elsewhere.assert_session_revoked().await;
    assert_eq!(here.get("/api/me").await.status(), StatusCode::OK);
    assert_eq!(here.refresh().await.status(), StatusCode::OK);
    let old = app.browser().login("changer@example.com", PASSWORD).await;
    assert_eq!(old.status(), StatusCode::UNAUTHORIZED);
    let new = app
        .browser()
        .login("changer@example.com", NEW_PASSWORD)
        .await;
    assert_eq!(new.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_wrong_current_password_is_counted_like_a_failed_sign_in() {
    let app = spawn_app().await;
    let (browser, _) = app.signed_in("guessed@example.com").await;
    for _ in 0..5 {
        let response = change(&browser, "not the password", NEW_PASSWORD).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(error_code(response).await, "invalid_credentials");
    }
    let response = change(&browser, PASSWORD, NEW_PASSWORD).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()["retry-after"], "30");
    // The session that guessed is still signed in; the password is unchanged.
    assert_eq!(browser.get("/api/me").await.status(), StatusCode::OK);
    let login = app.browser().login("guessed@example.com", PASSWORD).await;
    assert_eq!(login.status(), StatusCode::OK);
}

#[tokio::test]
async fn guesses_with_a_stolen_access_token_delay_the_account() {
    let app = spawn_app().await;
    let (owner, _) = app.signed_in("stolen@example.com").await;
    // The thief has the session's cookies but not the owner's device cookie.
    let thief = owner.fork();
    thief.set_cookie("device", "not-a-device-cookie");
    for _ in 0..5 {
        let response = change(&thief, "a guess", NEW_PASSWORD).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let elsewhere = app.browser().login("stolen@example.com", PASSWORD).await;
    assert_eq!(elsewhere.status(), StatusCode::TOO_MANY_REQUESTS);
    // The owner's own browser still gets in.
    assert_eq!(
        owner.login("stolen@example.com", PASSWORD).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_change_from_a_session_ended_meanwhile_changes_nothing() {
    let app = spawn_app().await;
    let (browser, auth) = app.signed_in("ended-meanwhile@example.com").await;
    // Ended in the database by another instance; this one has not heard of it yet.
    app.state
        .store
        .revoke_session(&auth.session.id, None, app.clock_now_ms())
        .await
        .unwrap();
    let response = change(&browser, PASSWORD, NEW_PASSWORD).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(response).await, "session_revoked");
    let login = app
        .browser()
        .login("ended-meanwhile@example.com", PASSWORD)
        .await;
    assert_eq!(login.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_sign_in_checked_against_the_old_password_gets_no_session() {
    let app = spawn_app().await;
    let (owner, auth) = app.signed_in("raced@example.com").await;
    let before = app
        .state
        .store
        .user_by_id(&auth.user.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        change(&owner, PASSWORD, NEW_PASSWORD).await.status(),
        StatusCode::NO_CONTENT
    );
    // A sign-in that verified the old hash just before the change now asks for its
    // session: the store refuses it, so it cannot outlive the change.
    let late = app.session_row("late-sign-in", &auth.user.id);
    let created = app
        .state
        .store
        .create_session(
            &late,
            &before.password_hash,
            &Proof::Password,
            "late-hash",
            100,
        )
        .await
        .unwrap();
    assert_eq!(created, None);
    let live = app.live_sessions(&auth.user.id).await;
    assert_eq!(live.len(), 1);
    assert_eq!(live[0].id, auth.session.id);
}

#[tokio::test]
async fn a_weak_or_malformed_new_password_changes_nothing() {
    let app = spawn_app().await;
    let (browser, _) = app.signed_in("weak@example.com").await;
    for (new, code) in [
        ("short", "weak_password"),
        ("password123", "weak_password"),
        (&"x".repeat(129) as &str, "password_too_long"),
    ] {
        let response = change(&browser, PASSWORD, new).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{new}");
        assert_eq!(error_code(response).await, code);
    }
    let smuggled = browser
        .post_json(
            "/api/auth/password/change",
            &json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD, "role": "admin"}),
        )
        .await;
    assert_eq!(smuggled.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_code(smuggled).await, "invalid_body");
    let login = app.browser().login("weak@example.com", PASSWORD).await;
    assert_eq!(login.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_password_change_needs_the_access_token_and_the_csrf_header() {
    let app = spawn_app().await;
    let (browser, _) = app.signed_in("guarded@example.com").await;
    let body = json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD});
    let forged = browser
        .send(
            browser
                .request_without_csrf(Method::POST, "/api/auth/password/change")
                .json(&body),
        )
        .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(forged).await, "csrf_rejected");
    let stranger = app
        .browser()
        .post_json("/api/auth/password/change", &body)
        .await;
    assert_eq!(stranger.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(stranger).await, "missing_token");
    let login = app.browser().login("guarded@example.com", PASSWORD).await;
    assert_eq!(login.status(), StatusCode::OK);
}
