//! Roles and the CLI's account commands, run as the real binary on the test's database.

use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use reqwest::StatusCode;
use shared::UserView;

use crate::helpers::*;

pub(crate) fn cli(app: &TestApp, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_backend"))
        .args(args)
        .env("DATABASE_URL", app.db.url())
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn assert_one_line_failure(output: &Output) {
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
}

#[tokio::test]
async fn a_regular_user_is_forbidden_the_admin_list() {
    let app = spawn_app().await;
    let (browser, _) = app.signed_in("regular@example.com").await;
    let response = browser.get("/api/admin/users").await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(response).await, "forbidden");
}

#[tokio::test]
async fn an_admin_created_with_the_cli_sees_every_user() {
    let app = spawn_app().await;
    app.signed_in("someone@example.com").await;
    let output = cli(
        &app,
        &[
            "user",
            "create",
            "--email",
            "Boss@Example.com",
            "--admin",
            "--password-stdin",
        ],
        &format!("{PASSWORD}\n"),
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let admin = app.browser();
    // The trailing newline was removed: the password is exactly what was typed.
    assert_eq!(
        admin.login("boss@example.com", PASSWORD).await.status(),
        StatusCode::OK
    );
    let users: Vec<UserView> = admin.get("/api/admin/users").await.json().await.unwrap();
    let emails: Vec<&str> = users.iter().map(|u| u.email.as_str()).collect();
    assert_eq!(emails.len(), 2);
    assert!(emails.contains(&"boss@example.com") && emails.contains(&"someone@example.com"));
}

#[tokio::test]
async fn cli_user_create_refuses_bad_input_in_one_line() {
    let app = spawn_app().await;
    app.signed_in("dup@example.com").await;
    for (email, password) in [
        ("not-an-email", PASSWORD),
        ("weak@example.com", "password"),
        ("dup@example.com", PASSWORD),
    ] {
        let output = cli(
            &app,
            &["user", "create", "--email", email, "--password-stdin"],
            &format!("{password}\n"),
        );
        assert_one_line_failure(&output);
    }
    let output = cli(
        &app,
        &[
            "user",
            "set-role",
            "--email",
            "nobody@example.com",
            "--role",
            "admin",
        ],
        "",
    );
    assert_one_line_failure(&output);
    let output = cli(
        &app,
        &["user", "disable", "--email", "nobody@example.com"],
        "",
    );
    assert_one_line_failure(&output);
}

#[tokio::test]
async fn cli_set_role_applies_at_the_next_refresh() {
    let app = spawn_app().await;
    let (browser, _) = app.signed_in("riser@example.com").await;
    let output = cli(
        &app,
        &[
            "user",
            "set-role",
            "--email",
            "riser@example.com",
            "--role",
            "admin",
        ],
        "",
    );
    assert!(output.status.success());
    assert_eq!(
        browser.get("/api/admin/users").await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(browser.refresh().await.status(), StatusCode::OK);
    assert_eq!(
        browser.get("/api/admin/users").await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_user_disabled_by_the_cli_loses_access_within_a_second() {
    let app = spawn_app().await;
    let (browser, _) = app.signed_in("leaver@example.com").await;
    let output = cli(
        &app,
        &["user", "disable", "--email", "leaver@example.com"],
        "",
    );
    assert!(output.status.success());
    // The CLI is another process: the server learns of it by polling the database.
    let revoked = eventually(Duration::from_secs(1), || async {
        browser.get("/api/me").await.status() == StatusCode::UNAUTHORIZED
    })
    .await;
    assert!(
        revoked,
        "the access token still works a second after disable"
    );
    browser.assert_session_revoked().await;
    let login = app.browser().login("leaver@example.com", PASSWORD).await;
    assert_eq!(error_code(login).await, "account_disabled");
}

#[tokio::test]
async fn an_operator_verifies_an_email_with_the_cli() {
    let app = spawn_app_with(&["--require-verified-email", "true"], |_| {}).await;
    let registered = app
        .browser()
        .register("offline@example.com", PASSWORD)
        .await;
    assert_eq!(registered.status(), StatusCode::CREATED);
    let refused = app.browser().login("offline@example.com", PASSWORD).await;
    assert_eq!(error_code(refused).await, "email_not_verified");

    let output = cli(
        &app,
        &["user", "verify-email", "--email", " Offline@Example.com"],
        "",
    );
    assert!(output.status.success(), "{output:?}");
    let login = app.browser().login("offline@example.com", PASSWORD).await;
    assert_eq!(login.status(), StatusCode::OK);
    let body: serde_json::Value = login.json().await.unwrap();
    assert_eq!(body["user"]["email_verified"], true);

    let output = cli(
        &app,
        &["user", "verify-email", "--email", "nobody@example.com"],
        "",
    );
    assert_one_line_failure(&output);
}
