//! The audit log: what is recorded (sign-ins and failures, reuse, revocations, password
//! and second-factor changes, operators' commands), that it never holds a secret, and
//! that only admins read it.

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;
use shared::{AuditEvent, Role};
use testkit::passkey::SoftAuthenticator;

use crate::admin::cli;
use crate::helpers::*;
use crate::mfa::{first_step, verify, with_totp};

/// A signed-in admin.
async fn admin(app: &TestApp) -> Browser {
    let (browser, _) = app.signed_in("admin@example.com").await;
    let store = &app.state.store;
    assert!(
        store
            .set_role("admin@example.com", Role::Admin)
            .await
            .unwrap()
    );
    // The role is in the access token from the next refresh on.
    assert_eq!(browser.refresh().await.status(), StatusCode::OK);
    browser
}

/// The audit log as an admin reads it.
async fn read(admin: &Browser, query: &str) -> Vec<AuditEvent> {
    let response = admin.get(&format!("/api/admin/audit{query}")).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

/// How many events of each action `events` holds.
fn counts(events: &[AuditEvent]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for event in events {
        *counts.entry(event.action.clone()).or_default() += 1;
    }
    counts
}

#[tokio::test]
async fn sign_ins_failures_reuse_revocations_and_changes_are_recorded_without_secrets() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let email = "audited@example.com";
    // account_created, sign_in (password), totp_enabled.
    let (browser, secret, codes) = with_totp(&app, email).await;
    let me: Value = browser.get("/api/me").await.json().await.unwrap();
    let user_id = me["user"]["id"].as_str().unwrap().to_owned();

    // sign_in_failed (password) for the account; one for an unknown email, with no user.
    let wrong = app.browser().login(email, "not the password at all").await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let unknown = app.browser().login("nobody@example.com", PASSWORD).await;
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    // sign_in_failed (code) named by the ticket; then sign_in (second_factor).
    let second = first_step(&app, email).await;
    assert_eq!(
        verify(&second, "000000").await.status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(verify(&second, &codes[0]).await.status(), StatusCode::OK);
    // refresh_token_reuse: a rotated token comes back after the grace.
    let stolen = second.cookie("refresh_token").unwrap();
    assert_eq!(second.refresh().await.status(), StatusCode::OK);
    app.advance(Duration::from_secs(11));
    let thief = app.browser();
    thief.set_cookie("refresh_token", &stolen);
    thief.set_cookie("csrf_token", &second.cookie("csrf_token").unwrap());
    assert_eq!(thief.refresh().await.status(), StatusCode::UNAUTHORIZED);
    // passkey_added, sign_in (passkey), passkey_removed.
    let mut key = SoftAuthenticator::new("http://localhost:3000");
    let added: Value = add_passkey(&browser, &mut key, "Laptop")
        .await
        .json()
        .await
        .unwrap();
    let path = format!("/api/auth/passkeys/{}", added["id"].as_str().unwrap());
    assert_eq!(browser.delete(&path).await.status(), StatusCode::NO_CONTENT);
    // session_revoked, sign_out_others, password_changed, totp_disabled, sign_out.
    let third = first_step(&app, email).await;
    assert_eq!(verify(&third, &codes[1]).await.status(), StatusCode::OK);
    let sessions: Value = browser.get("/api/sessions").await.json().await.unwrap();
    let other = sessions
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["current"] == false)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let revoked = browser.delete(&format!("/api/sessions/{other}")).await;
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    // One more session for "sign out everywhere else" to end.
    let fourth = first_step(&app, email).await;
    assert_eq!(verify(&fourth, &codes[4]).await.status(), StatusCode::OK);
    assert_eq!(
        browser.post("/api/auth/logout-others").await.status(),
        StatusCode::NO_CONTENT
    );
    let changed = browser
        .post_json(
            "/api/auth/password/change",
            &serde_json::json!({"current_password": PASSWORD, "new_password": "another long passphrase"}),
        )
        .await;
    assert_eq!(changed.status(), StatusCode::NO_CONTENT);
    let off = browser
        .post_json(
            "/api/auth/mfa/totp/disable",
            &serde_json::json!({"code": codes[2]}),
        )
        .await;
    assert_eq!(off.status(), StatusCode::NO_CONTENT);
    let access = browser.cookie("access_token").unwrap();
    let refresh = browser.cookie("refresh_token").unwrap();
    assert_eq!(
        browser.post("/api/auth/logout").await.status(),
        StatusCode::NO_CONTENT
    );

    let expected: BTreeMap<String, usize> = [
        ("account_created", 1),
        ("sign_in", 4),
        ("sign_in_failed", 2),
        ("totp_enabled", 1),
        ("refresh_token_reuse", 1),
        ("passkey_added", 1),
        ("passkey_removed", 1),
        ("session_revoked", 1),
        ("sign_out_others", 1),
        ("password_changed", 1),
        ("totp_disabled", 1),
        ("sign_out", 1),
    ]
    .into_iter()
    .map(|(action, n)| (action.to_owned(), n))
    .collect();
    let query = format!("?user_id={user_id}");
    // Failed sign-ins are recorded just after their answer.
    let complete = eventually(Duration::from_secs(2), || async {
        counts(&read(&admin, &query).await) == expected
    })
    .await;
    let events = read(&admin, &query).await;
    assert!(complete, "{:#?}", counts(&events));
    let how = |action: &str| -> Vec<String> {
        let mut details: Vec<String> = events
            .iter()
            .filter(|e| e.action == action)
            .filter_map(|e| e.detail.clone())
            .collect();
        details.sort();
        details
    };
    assert_eq!(
        how("sign_in"),
        [
            "password",
            "second_factor",
            "second_factor",
            "second_factor"
        ]
    );
    assert_eq!(how("sign_in_failed"), ["code", "password"]);
    assert_eq!(how("passkey_added"), ["Laptop"]);
    assert!(
        events
            .iter()
            .all(|e| e.user_id.as_deref() == Some(user_id.as_str()))
    );
    assert!(events.iter().all(|e| e.ip.as_deref() == Some("127.0.0.1")));

    // The failure for an unknown email names nobody, and the email typed is kept nowhere.
    let all = read(&admin, "?limit=1000").await;
    let anonymous: Vec<&AuditEvent> = all
        .iter()
        .filter(|e| e.action == "sign_in_failed" && e.user_id.is_none())
        .collect();
    assert_eq!(anonymous.len(), 1);
    let text = format!("{all:?}");
    for secret_text in [
        PASSWORD,
        "not the password at all",
        "another long passphrase",
        "nobody@example.com",
        &secret,
        &codes[0],
        &codes[3],
        &stolen,
        &access,
        &refresh,
    ] {
        assert!(
            !text.contains(secret_text),
            "the audit log holds {secret_text:?}"
        );
    }
}

#[tokio::test]
async fn only_admins_read_it_newest_first_and_bad_queries_are_refused() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let (user, _) = app.signed_in("plain@example.com").await;
    let elsewhere = app.browser().login("plain@example.com", PASSWORD).await;
    assert_eq!(elsewhere.status(), StatusCode::OK);
    app.advance(Duration::from_millis(5));
    assert_eq!(
        user.post("/api/auth/logout-others").await.status(),
        StatusCode::NO_CONTENT
    );

    let forbidden = user.get("/api/admin/audit").await;
    assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(forbidden).await, "forbidden");
    let anonymous = app.browser().get("/api/admin/audit").await;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    for query in [
        "?limit=0",
        "?limit=1001",
        "?limit=ten",
        "?limit=-1",
        "?user=x",
        "?limit=1&limit=2",
    ] {
        let refused = admin.get(&format!("/api/admin/audit{query}")).await;
        assert_eq!(
            refused.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{query}"
        );
        assert_eq!(error_code(refused).await, "invalid_body");
    }
    let newest = read(&admin, "?limit=1").await;
    assert_eq!(newest.len(), 1);
    assert_eq!(newest[0].action, "sign_out_others");
    let all = read(&admin, "").await;
    assert!(all.windows(2).all(|pair| pair[0].at >= pair[1].at));
    let none = read(&admin, "?user_id=no-such-user").await;
    assert!(none.is_empty());
}

#[tokio::test]
async fn operators_commands_are_recorded_and_printed() {
    let app = spawn_app().await;
    app.signed_in("managed@example.com").await;
    let role = cli(
        &app,
        &[
            "user",
            "set-role",
            "--email",
            "managed@example.com",
            "--role",
            "admin",
        ],
        "",
    );
    assert!(role.status.success(), "{role:?}");
    let disabled = cli(
        &app,
        &["user", "disable", "--email", "Managed@Example.com"],
        "",
    );
    assert!(disabled.status.success(), "{disabled:?}");
    let printed = cli(&app, &["audit", "--email", "managed@example.com"], "");
    assert!(printed.status.success(), "{printed:?}");
    let stdout = String::from_utf8(printed.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{stdout}");
    assert!(
        lines[0].contains(" account_disabled ")
            && lines[0].contains("detail=\"operator: disable\""),
        "{stdout}"
    );
    assert!(
        lines[1].contains(" role_changed ") && lines[1].contains("detail=\"operator: admin\""),
        "{stdout}"
    );
    assert!(
        stdout.contains(" account_created ") && stdout.contains(" sign_in "),
        "{stdout}"
    );
    let unknown = cli(&app, &["audit", "--email", "nobody@example.com"], "");
    assert!(!unknown.status.success());
}

#[tokio::test]
async fn junk_sent_to_passkey_sign_in_writes_nothing_and_a_real_attempt_is_recorded() {
    let app = spawn_app().await;
    for _ in 0..20 {
        let junk = app
            .browser()
            .post_json(
                "/api/auth/passkeys/login/finish",
                &serde_json::json!({"credential": {"response": {"clientDataJSON": "e30"}}}),
            )
            .await;
        assert_eq!(junk.status(), StatusCode::UNAUTHORIZED);
    }
    // A ceremony of ours, answered by a credential nobody registered.
    let options: Value = app
        .browser()
        .post("/api/auth/passkeys/login/start")
        .await
        .json()
        .await
        .unwrap();
    // A passkey of another site's database: unknown here.
    let elsewhere = spawn_app().await;
    let (owner, _) = elsewhere.signed_in("stranger@example.com").await;
    let mut stranger = SoftAuthenticator::new("http://localhost:3000");
    let added = add_passkey(&owner, &mut stranger, "Key").await;
    assert_eq!(added.status(), StatusCode::CREATED);
    let assertion = stranger.get(&options, None).unwrap();
    let refused = app
        .browser()
        .post_json(
            "/api/auth/passkeys/login/finish",
            &serde_json::json!({ "credential": assertion }),
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let recorded = eventually(Duration::from_secs(2), || async {
        let events = app.state.store.audit_events(None, 100).await.unwrap();
        events
            .iter()
            .filter(|e| e.action == "sign_in_failed")
            .count()
            == 1
    })
    .await;
    let events = app.state.store.audit_events(None, 100).await.unwrap();
    assert!(recorded, "{events:?}");
    assert_eq!(events.len(), 1, "the junk left no trace: {events:?}");
}
