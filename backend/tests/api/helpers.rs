//! The in-process server for API tests: a real server on a free port, a fresh database
//! (SQLite, or PostgreSQL with `TEST_DATABASE=postgres`), HS256 signing keys (Ed25519
//! with `TEST_JWT_ALG=EdDSA`) and a manual clock.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use backend::app::Application;
use backend::cli::{Cli, Command};
use backend::clock::{Clock, ManualClock};
use backend::config::Config;
use backend::state::AppState;
use backend::store::{SessionRow, UserRow};
use clap::Parser;
use reqwest::StatusCode;
use shared::AuthResponse;
use tempfile::TempDir;

pub use testkit::{
    Browser, PASSWORD, TestDatabase, error_code, eventually, set_cookie_line, set_cookies,
};

/// A secret used by every in-process test server.
pub const SECRET: &str = "test-secret-0123456789-abcdefghijklmnopqrstuvwxyz";

/// A running server.
pub struct TestApp {
    pub addr: SocketAddr,
    pub clock: ManualClock,
    pub state: AppState,
    pub db: TestDatabase,
    pub static_dir: TempDir,
    /// Where emails go as `.eml` files, unless the test gave `--mail-url`.
    pub mail_dir: TempDir,
}

/// Starts a server with the default test configuration.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[], |_| {}).await
}

/// Starts a server with extra `serve` flags and a last chance to adjust the config.
pub async fn spawn_app_with(flags: &[&str], tweak: impl FnOnce(&mut Config)) -> TestApp {
    spawn_app_on(TestDatabase::fresh().await, flags, tweak).await
}

/// With `TEST_LOG` set (to a filter such as `debug`, or `1` for `info`), the servers' logs
/// go to the test output; without it tests run quiet.
fn init_test_log() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let Ok(filter) = std::env::var("TEST_LOG") else {
            return;
        };
        let filter = if filter == "1" {
            "info".to_owned()
        } else {
            filter
        };
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_test_writer()
            .try_init();
    });
}

/// Starts a server on a database the test has already prepared.
pub async fn spawn_app_on(
    db: TestDatabase,
    flags: &[&str],
    tweak: impl FnOnce(&mut Config),
) -> TestApp {
    init_test_log();
    let static_dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        static_dir.path().join("index.html"),
        "<!doctype html><title>app</title><p>spa</p>",
    )
    .unwrap();
    let static_path = static_dir.path().display().to_string();
    let mut argv = vec![
        "backend",
        "serve",
        "--bind-addr",
        "127.0.0.1:0",
        "--database-url",
        db.url(),
        "--jwt-secret",
        SECRET,
        "--static-dir",
        &static_path,
    ];
    let mail_dir = tempfile::tempdir().expect("temp dir");
    let mail_url = format!("file://{}", mail_dir.path().display());
    if !flags.contains(&"--mail-url") {
        argv.extend_from_slice(&["--mail-url", &mail_url]);
    }
    // `TEST_JWT_ALG=EdDSA` runs the whole suite with Ed25519 signing keys.
    let alg = std::env::var("TEST_JWT_ALG").unwrap_or_else(|_| "HS256".to_owned());
    if !flags.contains(&"--jwt-alg") {
        argv.extend_from_slice(&["--jwt-alg", &alg]);
    }
    argv.extend_from_slice(flags);
    let Some(Command::Serve(args)) = Cli::try_parse_from(argv).unwrap().command else {
        unreachable!("serve was given")
    };
    let mut config = Config::from_args(args).unwrap();
    tweak(&mut config);
    let clock = ManualClock::starting_now();
    let app = Application::build(config, Arc::new(clock.clone()))
        .await
        .unwrap();
    let addr = app.local_addr();
    let state = app.state().clone();
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    TestApp {
        addr,
        clock,
        state,
        db,
        static_dir,
        mail_dir,
    }
}

impl TestApp {
    /// `http://127.0.0.1:port{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// A new browser profile with no cookies.
    pub fn browser(&self) -> Browser {
        Browser::new(self.url(""))
    }

    /// A browser signed in as a freshly registered user.
    pub async fn signed_in(&self, email: &str) -> (Browser, AuthResponse) {
        let browser = self.browser();
        let response = browser.register(email, PASSWORD).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let body = response.json().await.unwrap();
        (browser, body)
    }

    /// The server's clock, Unix seconds (as the API and JWT claims give times).
    pub fn clock_now(&self) -> i64 {
        self.clock.now_secs()
    }

    /// The server's clock, Unix ms (as the store keeps times).
    pub fn clock_now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// The user with this id, as stored.
    pub async fn user(&self, id: &str) -> UserRow {
        let user = self.state.store.user_by_id(id).await.unwrap();
        user.expect("the user exists")
    }

    /// The user's live sessions, as stored.
    pub async fn live_sessions(&self, user_id: &str) -> Vec<SessionRow> {
        self.state
            .store
            .active_sessions(user_id, self.clock_now_ms())
            .await
            .unwrap()
    }

    /// A session row as a sign-in would store it now: live for an hour.
    pub fn session_row(&self, id: &str, user_id: &str) -> SessionRow {
        let now = self.clock_now_ms();
        SessionRow {
            id: id.to_owned(),
            user_id: user_id.to_owned(),
            created_at: now,
            last_used_at: now,
            expires_at: now + 3_600_000,
            revoked_at: None,
            user_agent: None,
            ip: None,
        }
    }

    /// Moves the server's clock.
    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }
}

/// Adds a passkey named `name` from `authenticator`; returns the answer.
pub async fn add_passkey(
    browser: &Browser,
    authenticator: &mut testkit::passkey::SoftAuthenticator,
    name: &str,
) -> reqwest::Response {
    let options: serde_json::Value = browser
        .post("/api/auth/passkeys/register/start")
        .await
        .json()
        .await
        .unwrap();
    let credential = authenticator.create(&options).unwrap();
    browser
        .post_json(
            "/api/auth/passkeys/register/finish",
            &serde_json::json!({ "credential": credential, "name": name }),
        )
        .await
}

/// The client of a sign-in a test starts through the application's state, not over HTTP.
pub fn direct_client() -> backend::auth::sessions::ClientInfo {
    backend::auth::sessions::ClientInfo {
        user_agent: None,
        ip: "203.0.113.9".into(),
    }
}
