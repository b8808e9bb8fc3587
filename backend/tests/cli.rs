//! The `backend` binary as an operator runs it: start-up rules for the secret, the
//! development secret file, `secret generate`, and logs free of credentials.

use std::path::Path;
use std::process::{Command, Output};

use e2e::process::{BackendProcess, backend_command};
use serde_json::json;

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

fn cookie_values(response: &reqwest::blocking::Response) -> Vec<(String, String)> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok()?.split(';').next()?.split_once('='))
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .filter(|(_, value)| !value.is_empty())
        .collect()
}

#[test]
fn logs_never_contain_passwords_tokens_or_the_secret() {
    let dir = tempfile::tempdir().unwrap();
    let secret = "log-test-secret-9f8e7d6c5b4a3210-ZYXWVUTSRQPONM";
    let password = "Unique-Passw0rd-For-Log-Scan";
    let mut command = backend(dir.path());
    command
        .env("BIND_ADDR", "127.0.0.1:0")
        .env("JWT_SECRET", secret)
        .env("RUST_LOG", "trace");
    let server = BackendProcess::start(command);
    let http = reqwest::blocking::Client::new();
    let credentials = json!({"email": "logscan@example.com", "password": password});
    let mut seen: Vec<String> = Vec::new();
    let mut jar: Vec<(String, String)> = Vec::new();
    let mut send = |request: reqwest::blocking::RequestBuilder, jar: &mut Vec<(String, String)>| {
        let cookie = jar
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let csrf = jar
            .iter()
            .find(|(n, _)| n == "csrf_token")
            .map(|(_, v)| v.clone());
        let mut request = request.header("cookie", cookie);
        if let Some(csrf) = csrf {
            request = request.header("x-csrf-token", csrf);
        }
        let response = request.send().unwrap();
        for (name, value) in cookie_values(&response) {
            seen.push(value.clone());
            jar.retain(|(n, _)| *n != name);
            jar.push((name, value));
        }
        response.status().as_u16()
    };

    assert_eq!(
        send(
            http.post(server.url("/api/auth/register"))
                .json(&credentials),
            &mut jar
        ),
        201
    );
    let wrong = json!({"email": "logscan@example.com", "password": "Wrong-Passw0rd-Scan"});
    assert_eq!(
        send(
            http.post(server.url("/api/auth/login")).json(&wrong),
            &mut jar
        ),
        401
    );
    assert_eq!(
        send(
            http.post(server.url("/api/auth/login")).json(&credentials),
            &mut jar
        ),
        200
    );
    assert_eq!(send(http.get(server.url("/api/me")), &mut jar), 200);
    let bearer = jar
        .iter()
        .find(|(n, _)| n == "access_token")
        .unwrap()
        .1
        .clone();
    assert_eq!(
        send(
            http.get(server.url("/api/sessions")).bearer_auth(&bearer),
            &mut jar
        ),
        200
    );
    assert_eq!(
        send(http.post(server.url("/api/auth/refresh")), &mut jar),
        200
    );
    assert_eq!(
        send(http.post(server.url("/api/auth/logout")), &mut jar),
        204
    );
    assert_eq!(
        send(
            http.post(server.url("/api/auth/login")).json(&credentials),
            &mut jar
        ),
        200
    );
    assert_eq!(
        send(http.post(server.url("/api/auth/logout-all")), &mut jar),
        204
    );

    let log = server.stop();
    assert!(
        log.contains("/api/auth/refresh"),
        "the log was captured: {log:.400}"
    );
    for needle in [secret, password, "Wrong-Passw0rd-Scan"] {
        assert!(!log.contains(needle), "log contains {needle}");
    }
    assert!(seen.len() >= 9, "tokens were issued");
    for value in seen {
        assert!(
            !log.contains(&value),
            "log contains a cookie value {value:.20}…"
        );
    }
}
