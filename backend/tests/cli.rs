//! The `backend` binary as an operator runs it: start-up rules for the secret, the
//! development secret file, `secret generate`, and logs free of credentials.

use std::path::Path;
use std::process::{Command, Output};

use std::time::Duration;

use serde_json::json;
use testkit::process::{BackendProcess, backend_command};
use testkit::{Browser, SmtpServer};

const BIN: &str = env!("CARGO_BIN_EXE_backend");

fn backend(cwd: &Path) -> Command {
    backend_command(Path::new(BIN), cwd)
}

fn run(command: &mut Command) -> Output {
    command.output().unwrap()
}

fn one_line_error(output: &Output) -> String {
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    stderr
}

#[test]
fn production_refuses_to_start_without_a_secret() {
    let dir = tempfile::tempdir().unwrap();
    let output = run(backend(dir.path())
        .arg("serve")
        .env("APP_ENV", "production"));
    let stderr = one_line_error(&output);
    assert!(stderr.contains("JWT_SECRET"), "{stderr}");
    assert!(
        !dir.path().join("data/jwt-secret").exists(),
        "no secret is invented in production"
    );
}

/// A key must be published long enough for every instance to read it before it signs:
/// the server does not start, and the `keys` commands refuse, with less than 2 s.
#[test]
fn a_signing_key_published_too_briefly_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    for command in [&["serve"][..], &["keys", "rotate"], &["keys", "list"]] {
        let output = run(backend(dir.path())
            .args(command)
            .env(
                "JWT_SECRET",
                "dev-secret-0123456789-abcdefghijklmnopqrstuvwxyz",
            )
            .env("KEY_PUBLISH_DELAY", "1s")
            // Refused too, but only once the configuration has passed: without the
            // check this would be the error (and `serve` does not start either way).
            .env("DATABASE_URL", "sqlite::memory:"));
        let stderr = one_line_error(&output);
        assert!(
            stderr.contains("KEY_PUBLISH_DELAY must be at least 2s"),
            "{stderr}"
        );
    }
}

#[test]
fn production_refuses_a_weak_secret_without_printing_it() {
    let dir = tempfile::tempdir().unwrap();
    let short = "Sh0rt-but-Distinctive-Value-123";
    let uniform = "z".repeat(40);
    for secret in [short, uniform.as_str()] {
        let output = run(backend(dir.path())
            .env("APP_ENV", "production")
            .env("JWT_SECRET", secret));
        let stderr = one_line_error(&output);
        assert!(!stderr.contains(secret), "{stderr}");
        assert!(stderr.contains("JWT secret"), "{stderr}");
    }
    let file = dir.path().join("secret");
    std::fs::write(&file, format!("{short}\n")).unwrap();
    let output = run(backend(dir.path())
        .env("APP_ENV", "production")
        .env("JWT_SECRET_FILE", &file));
    let stderr = one_line_error(&output);
    assert!(!stderr.contains(short), "{stderr}");
}

#[test]
fn production_needs_the_public_url_and_where_mail_goes() {
    let dir = tempfile::tempdir().unwrap();
    let secret = "prod-secret-0123456789-abcdefghijklmnopqrstuvwxyz";
    let output = run(backend(dir.path())
        .env("APP_ENV", "production")
        .env("JWT_SECRET", secret)
        .env("MAIL_URL", "smtp://mail.example.com"));
    let stderr = one_line_error(&output);
    assert!(stderr.contains("PUBLIC_URL"), "{stderr}");
    let output = run(backend(dir.path())
        .env("APP_ENV", "production")
        .env("JWT_SECRET", secret)
        .env("PUBLIC_URL", "https://app.example.com"));
    let stderr = one_line_error(&output);
    assert!(stderr.contains("MAIL_URL"), "{stderr}");
    let output = run(backend(dir.path())
        .env("APP_ENV", "production")
        .env("JWT_SECRET", secret)
        .env("PUBLIC_URL", "https://app.example.com")
        .env(
            "MAIL_URL",
            "smtp://app:Hunter2-Mail-Pass@mail.example.com?tls=maybe",
        ));
    let stderr = one_line_error(&output);
    assert!(stderr.contains("MAIL_URL"), "{stderr}");
    assert!(!stderr.contains("Hunter2-Mail-Pass"), "{stderr}");
    for bad in [
        "app.example.com",
        "https://app.example.com/path",
        "http://app.example.com",
    ] {
        let output = run(backend(dir.path())
            .env("APP_ENV", "production")
            .env("JWT_SECRET", secret)
            .env("PUBLIC_URL", bad)
            .env("MAIL_URL", "smtp://mail.example.com"));
        let stderr = one_line_error(&output);
        assert!(stderr.contains("PUBLIC_URL"), "{stderr}");
    }
}

#[test]
fn development_creates_a_private_secret_once_and_reuses_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = backend(dir.path());
    command.env("BIND_ADDR", ":0");
    BackendProcess::start(command).stop();
    let path = dir.path().join("data/jwt-secret");
    let first = std::fs::read(&path).unwrap();
    assert!(first.len() >= 32);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert!(dir.path().join("data/app.db").exists());

    let mut command = backend(dir.path());
    command.args(["serve", "--bind-addr", "127.0.0.1:0"]);
    BackendProcess::start(command).stop();
    assert_eq!(std::fs::read(&path).unwrap(), first);
}

#[test]
fn secret_generate_prints_only_a_fresh_strong_secret() {
    let dir = tempfile::tempdir().unwrap();
    let a = run(backend(dir.path()).args(["secret", "generate"]));
    let b = run(backend(dir.path()).args(["secret", "generate"]));
    assert!(a.status.success() && b.status.success());
    let a = String::from_utf8(a.stdout).unwrap();
    let b = String::from_utf8(b.stdout).unwrap();
    assert_eq!(a.lines().count(), 1);
    assert_ne!(a, b);
    let secret = a.trim_end();
    backend::config::check_secret_strength(secret.as_bytes()).unwrap();
    assert!(secret.len() >= 64);
}

#[test]
fn migrate_applies_the_schema_and_exits() {
    let dir = tempfile::tempdir().unwrap();
    let output = run(backend(dir.path()).arg("migrate"));
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(dir.path().join("data/app.db").exists());
    let output = run(backend(dir.path()).args(["migrate", "--database-url", "mysql://nope"]));
    one_line_error(&output);
}

#[tokio::test]
async fn logs_never_contain_passwords_tokens_or_the_secret() {
    let dir = tempfile::tempdir().unwrap();
    let secret = "log-test-secret-9f8e7d6c5b4a3210-ZYXWVUTSRQPONM";
    let password = "Unique-Passw0rd-For-Log-Scan";
    let wrong = "Wrong-Passw0rd-Scan";
    let smtp = SmtpServer::start();
    let mut command = backend(dir.path());
    command
        .env("BIND_ADDR", "127.0.0.1:0")
        .env("JWT_SECRET", secret)
        .env("MAIL_URL", smtp.mail_url())
        .env("RUST_LOG", "trace");
    let server = BackendProcess::launch(command).await;
    let browser = Browser::new(server.base_url());
    let email = "logscan@example.com";
    let mut issued: Vec<String> = Vec::new();
    let mut remember = |browser: &Browser| {
        for name in ["access_token", "refresh_token", "csrf_token"] {
            issued.extend(browser.cookie(name));
        }
    };

    assert_eq!(browser.register(email, password).await.status(), 201);
    remember(&browser);
    assert_eq!(browser.login(email, wrong).await.status(), 401);
    assert_eq!(browser.login(email, password).await.status(), 200);
    remember(&browser);
    assert_eq!(browser.get("/api/me").await.status(), 200);
    let bearer = browser.cookie("access_token").unwrap();
    let by_bearer = reqwest::Client::new()
        .get(server.url("/api/sessions"))
        .bearer_auth(&bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(by_bearer.status(), 200);
    assert_eq!(browser.refresh().await.status(), 200);
    remember(&browser);
    assert_eq!(browser.post("/api/auth/logout").await.status(), 204);
    assert_eq!(browser.login(email, password).await.status(), 200);
    remember(&browser);
    assert_eq!(browser.post("/api/auth/logout-all").await.status(), 204);

    // Emailed links: their tokens never reach the log, nor does the new password.
    let new_password = "Another-Unique-Passw0rd-Scan";
    let verify_link = smtp
        .wait_for(email, Duration::from_secs(10))
        .await
        .link("/verify-email#token=");
    let forgot = browser
        .post_json("/api/auth/password/forgot", &json!({ "email": email }))
        .await;
    assert_eq!(forgot.status(), 202);
    let sent = testkit::eventually(Duration::from_secs(10), || async {
        smtp.count_to(email) == 2
    })
    .await;
    assert!(sent, "the reset email arrives");
    let reset_link = smtp
        .received()
        .into_iter()
        .find(|mail| mail.subject() == "Reset your password")
        .unwrap()
        .link("/reset-password#token=");
    let token = |link: &str| link.split_once("#token=").unwrap().1.to_owned();
    let reset = browser
        .post_json(
            "/api/auth/password/reset",
            &json!({ "token": token(&reset_link), "password": new_password }),
        )
        .await;
    assert_eq!(reset.status(), 204);
    let verify = browser
        .post_json(
            "/api/auth/email/verify",
            &json!({ "token": token(&verify_link) }),
        )
        .await;
    assert_eq!(verify.status(), 204);
    issued.extend([token(&reset_link), token(&verify_link)]);

    let log = server.stop();
    assert!(log.contains("email sent"), "sending is logged: {log:.400}");
    assert!(
        log.contains("/api/auth/refresh"),
        "the log was captured: {log:.400}"
    );
    for needle in [secret, password, wrong, new_password] {
        assert!(!log.contains(needle), "log contains {needle}");
    }
    assert!(issued.len() >= 14, "tokens were issued");
    for value in issued {
        assert!(
            !log.contains(&value),
            "log contains a cookie value {value:.20}…"
        );
    }
}
