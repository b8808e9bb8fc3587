//! The harness for tests that drive the real backend: a cookie-keeping browser-like HTTP
//! client, headless Chromium through WebDriver, a fresh database per test (SQLite or
//! PostgreSQL), backend processes (one signing with Ed25519, for services that verify its
//! tokens from the JWKS), a TCP proxy that can cut a process off from its
//! database, a local SMTP server, and a software passkey authenticator.

pub mod browser;
pub mod chrome;
pub mod database;
pub mod eddsa;
pub mod passkey;
pub mod process;
pub mod proxy;
pub mod smtp;

use std::future::Future;
use std::time::Duration;

pub use browser::Browser;
pub use chrome::Chrome;
pub use database::TestDatabase;
pub use eddsa::EdDsaBackend;
pub use process::BackendProcess;
pub use proxy::TcpProxy;
pub use smtp::{ReceivedMail, SmtpServer};

/// A password that passes the policy.
pub const PASSWORD: &str = "correct horse battery staple";

/// The error code of an API error response.
pub async fn error_code(response: reqwest::Response) -> String {
    let body: serde_json::Value = response.json().await.expect("a JSON error body");
    body["error"]["code"]
        .as_str()
        .expect("error.code is a string")
        .to_owned()
}

/// Every `Set-Cookie` line of a response.
pub fn set_cookies(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(str::to_owned)
        .collect()
}

/// The `Set-Cookie` line for one cookie.
pub fn set_cookie_line(response: &reqwest::Response, name: &str) -> String {
    set_cookies(response)
        .into_iter()
        .find(|line| line.starts_with(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no Set-Cookie for {name}"))
}

/// Polls `check` until it holds or `limit` passes: for effects that another process
/// brings about in its own time.
pub async fn eventually<F, Fut>(limit: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
