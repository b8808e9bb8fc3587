//! A real server on a free port with its own SQLite file and a manual clock, and a
//! cookie-keeping HTTP client that behaves like one browser profile.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use backend::app::Application;
use backend::cli::{Cli, Command};
use backend::clock::ManualClock;
use backend::config::Config;
use backend::state::AppState;
use clap::Parser;
use reqwest::header::{HeaderMap, SET_COOKIE};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};
use shared::AuthResponse;
use tempfile::TempDir;

/// A secret used by every in-process test server.
pub const SECRET: &str = "test-secret-0123456789-abcdefghijklmnopqrstuvwxyz";
/// A password that passes the policy.
pub const PASSWORD: &str = "correct horse battery staple";

/// A running server.
pub struct TestApp {
    pub addr: SocketAddr,
    pub clock: ManualClock,
    pub state: AppState,
    pub database_url: String,
    pub dir: TempDir,
}

/// Starts a server with the default test configuration.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[], |_| {}).await
}

/// Starts a server with extra `serve` flags and a last chance to adjust the config.
pub async fn spawn_app_with(flags: &[&str], tweak: impl FnOnce(&mut Config)) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let database_url = format!("sqlite://{}/app.db", dir.path().display());
    let static_dir = dir.path().join("dist");
    std::fs::create_dir_all(&static_dir).unwrap();
    std::fs::write(
        static_dir.join("index.html"),
        "<!doctype html><title>app</title><p>spa</p>",
    )
    .unwrap();
    let static_dir = static_dir.display().to_string();
    let mut argv = vec![
        "backend",
        "serve",
        "--bind-addr",
        "127.0.0.1:0",
        "--database-url",
        &database_url,
        "--jwt-secret",
        SECRET,
        "--static-dir",
        &static_dir,
    ];
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
        database_url,
        dir,
    }
}

impl TestApp {
    /// `http://127.0.0.1:port`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// A new browser profile with no cookies.
    pub fn browser(&self) -> Browser {
        Browser {
            base: self.url(""),
            http: reqwest::Client::new(),
            jar: Arc::default(),
        }
    }

    /// A browser signed in as a freshly registered user.
    pub async fn signed_in(&self, email: &str) -> (Browser, AuthResponse) {
        let browser = self.browser();
        let response = browser.register(email, PASSWORD).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let body = response.json().await.unwrap();
        (browser, body)
    }

    /// The server's clock.
    pub fn clock_now(&self) -> i64 {
        use backend::clock::Clock;
        self.clock.now()
    }

    /// Moves the server's clock.
    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }
}

/// One browser profile: keeps cookies like a browser and echoes the CSRF cookie in
/// `X-CSRF-Token` on unsafe methods, as the SPA does.
#[derive(Clone)]
pub struct Browser {
    base: String,
    http: reqwest::Client,
    jar: Arc<Mutex<HashMap<String, String>>>,
}

impl Browser {
    /// A request with this profile's cookies and, on unsafe methods, the CSRF header.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let unsafe_method = !matches!(method, Method::GET | Method::HEAD);
        let builder = self.request_without_csrf(method, path);
        match self.cookie("csrf_token") {
            Some(csrf) if unsafe_method => builder.header("x-csrf-token", csrf),
            _ => builder,
        }
    }

    /// A request with this profile's cookies only (what a forged cross-site request has).
    pub fn request_without_csrf(&self, method: Method, path: &str) -> RequestBuilder {
        let builder = self.http.request(method, format!("{}{path}", self.base));
        let cookies = self.cookie_header();
        if cookies.is_empty() {
            builder
        } else {
            builder.header("cookie", cookies)
        }
    }

    /// Sends, then stores the cookies the response sets or clears.
    pub async fn send(&self, builder: RequestBuilder) -> Response {
        let response = builder.send().await.expect("request failed");
        self.store_cookies(response.headers());
        response
    }

    pub async fn get(&self, path: &str) -> Response {
        self.send(self.request(Method::GET, path)).await
    }

    pub async fn post(&self, path: &str) -> Response {
        self.send(self.request(Method::POST, path)).await
    }

    pub async fn delete(&self, path: &str) -> Response {
        self.send(self.request(Method::DELETE, path)).await
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        self.send(self.request(Method::POST, path).json(body)).await
    }

    pub async fn register(&self, email: &str, password: &str) -> Response {
        self.post_json(
            "/api/auth/register",
            &json!({"email": email, "password": password}),
        )
        .await
    }

    pub async fn login(&self, email: &str, password: &str) -> Response {
        self.post_json(
            "/api/auth/login",
            &json!({"email": email, "password": password}),
        )
        .await
    }

    pub async fn refresh(&self) -> Response {
        self.post("/api/auth/refresh").await
    }

    /// A cookie's current value.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.jar.lock().unwrap().get(name).cloned()
    }

    /// Sets or replaces a cookie by hand (a forged or stale value).
    pub fn set_cookie(&self, name: &str, value: &str) {
        self.jar
            .lock()
            .unwrap()
            .insert(name.to_owned(), value.to_owned());
    }

    /// A second profile holding a copy of this one's cookies (another tab, or a thief).
    pub fn fork(&self) -> Browser {
        Browser {
            base: self.base.clone(),
            http: self.http.clone(),
            jar: Arc::new(Mutex::new(self.jar.lock().unwrap().clone())),
        }
    }

    fn cookie_header(&self) -> String {
        self.jar
            .lock()
            .unwrap()
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn store_cookies(&self, headers: &HeaderMap) {
        let mut jar = self.jar.lock().unwrap();
        for header in headers.get_all(SET_COOKIE) {
            let line = header.to_str().unwrap();
            let (pair, attributes) = line.split_once(';').unwrap_or((line, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if attributes.contains("Max-Age=0") {
                jar.remove(name);
            } else {
                jar.insert(name.to_owned(), value.to_owned());
            }
        }
    }
}

/// The error code of an API error response.
pub async fn error_code(response: Response) -> String {
    let body: Value = response.json().await.expect("a JSON error body");
    body["error"]["code"]
        .as_str()
        .expect("error.code is a string")
        .to_owned()
}

/// The browser's session is over: its access token is refused as revoked and its
/// refresh token no longer works.
pub async fn assert_session_revoked(browser: &Browser) {
    let me = browser.get("/api/me").await;
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(me).await, "session_revoked");
    let refresh = browser.refresh().await;
    assert_eq!(refresh.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(refresh).await, "invalid_refresh_token");
}

/// Every `Set-Cookie` line of a response.
pub fn set_cookies(response: &Response) -> Vec<String> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

/// The `Set-Cookie` line for one cookie.
pub fn set_cookie_line(response: &Response, name: &str) -> String {
    set_cookies(response)
        .into_iter()
        .find(|line| line.starts_with(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no Set-Cookie for {name}"))
}

/// Polls `check` until it holds or `limit` passes (for effects of another process).
pub async fn eventually<F, Fut>(limit: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
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
