//! Headless Chromium driven through WebDriver (Debian's chromedriver), one fresh profile
//! per instance, so two instances are two separate browsers.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::elements::Element;
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use tempfile::TempDir;

/// How long a wait for the page may take before the test fails.
const WAIT: Duration = Duration::from_secs(10);

/// One browser (profile), with its chromedriver.
pub struct Chrome {
    /// The WebDriver session.
    pub client: Client,
    base: String,
    driver: Child,
    profile: TempDir,
}

impl Chrome {
    /// Starts a browser that will visit `base` (`http://127.0.0.1:port`).
    pub async fn start(base: &str) -> Self {
        let port = free_port();
        let chromedriver = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
        let driver = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver (scripts/test installs it)");
        let profile = tempfile::tempdir().expect("profile dir");
        let capabilities = json!({
            "goog:chromeOptions": {
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update",
                    "--no-first-run", "--disable-sync", "--window-size=1000,760",
                    format!("--user-data-dir={}", profile.path().display()),
                ]
            },
            "goog:loggingPrefs": { "browser": "ALL" }
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!()
        };
        let webdriver = format!("http://127.0.0.1:{port}");
        let mut client = None;
        for _ in 0..100 {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            if let Ok(c) = ClientBuilder::new(connector)
                .capabilities(capabilities.clone())
                .connect(&webdriver)
                .await
            {
                client = Some(c);
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Self {
            client: client.expect("chromedriver did not start a session"),
            base: base.to_owned(),
            driver,
            profile,
        }
    }

    /// Opens a path of the app.
    pub async fn open(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .expect("navigate");
    }

    /// The element matching `css`, once it exists.
    pub async fn element(&self, css: &str) -> Element {
        self.client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|_| panic!("no {css} within {WAIT:?}"))
    }

    /// Whether `css` matches something right now.
    pub async fn has(&self, css: &str) -> bool {
        self.client.find(Locator::Css(css)).await.is_ok()
    }

    /// Waits until the text of `css` contains `text`; panics with the page's text if not.
    pub async fn wait_for_text(&self, css: &str, text: &str) {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if let Ok(element) = self.client.find(Locator::Css(css)).await
                && element.text().await.is_ok_and(|t| t.contains(text))
            {
                return;
            }
            if tokio::time::Instant::now() > deadline {
                panic!(
                    "{css} never contained {text:?}; page: {}",
                    self.page_text().await
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until nothing matches `css`.
    pub async fn wait_until_gone(&self, css: &str) {
        let deadline = tokio::time::Instant::now() + WAIT;
        while self.has(css).await {
            if tokio::time::Instant::now() > deadline {
                panic!(
                    "{css} still there after {WAIT:?}; page: {}",
                    self.page_text().await
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until the address is `path_and_query` (the app navigates by itself).
    pub async fn wait_for_path(&self, path_and_query: &str) {
        let deadline = tokio::time::Instant::now() + WAIT;
        while self.path().await != path_and_query {
            if tokio::time::Instant::now() > deadline {
                panic!("never reached {path_and_query}, at {}", self.path().await);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The address's path and query.
    pub async fn path(&self) -> String {
        let url = self.client.current_url().await.expect("current url");
        match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        }
    }

    /// The visible text of the page.
    pub async fn page_text(&self) -> String {
        match self.client.find(Locator::Css("body")).await {
            Ok(body) => body.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// Types into an input, replacing what it held.
    pub async fn fill(&self, css: &str, value: &str) {
        let input = self.element(css).await;
        input.clear().await.expect("clear");
        input.send_keys(value).await.expect("type");
    }

    /// Clicks an element once it exists.
    pub async fn click(&self, css: &str) {
        self.element(css).await.click().await.expect("click");
    }

    /// The console's errors so far. Chrome also reports every HTTP error response as a
    /// console error ("Failed to load resource"); the app answers 401s by refreshing, so
    /// those are expected and left out. Anything else (a script error, a CSP violation,
    /// a failed load of the app's own files) counts.
    pub async fn console_errors(&self) -> Vec<String> {
        let entries = self
            .client
            .issue_cmd(BrowserLog)
            .await
            .expect("browser log");
        entries
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["level"] == "SEVERE")
            .filter_map(|e| e["message"].as_str())
            .filter(|m| {
                !(m.contains("/api/")
                    && m.contains("Failed to load resource")
                    && m.contains("status of 4"))
            })
            .map(str::to_owned)
            .collect()
    }

    /// Gives this browser a virtual passkey authenticator (WebDriver's WebAuthn extension):
    /// built in, keeping discoverable credentials, and consenting and verifying the user
    /// at once, as a fingerprint reader that always says yes. Returns its id.
    pub async fn add_virtual_authenticator(&self) -> String {
        let options = json!({
            "protocol": "ctap2",
            "transport": "internal",
            "hasResidentKey": true,
            "hasUserVerification": true,
            "isUserConsenting": true,
            "isUserVerified": true,
        });
        let answer = self
            .client
            .issue_cmd(SessionCommand {
                method: http::Method::POST,
                path: "webauthn/authenticator".into(),
                body: Some(options),
            })
            .await
            .expect("a virtual authenticator");
        answer
            .as_str()
            .or_else(|| answer["authenticatorId"].as_str())
            .unwrap_or_else(|| panic!("no authenticator id in {answer}"))
            .to_owned()
    }

    /// Makes every page opened from now on find no passkeys in autofill
    /// (`PublicKeyCredential.isConditionalMediationAvailable()` answers false), as in a
    /// browser without that feature. A virtual authenticator answers a page's background
    /// autofill request at once, as if the user had picked the passkey, so a test of the
    /// passkey buttons turns autofill off first.
    pub async fn without_passkey_autofill(&self) {
        self.run_on_every_new_page(
            "PublicKeyCredential.isConditionalMediationAvailable = \
             () => Promise.resolve(false);",
        )
        .await;
    }

    /// Runs `script` in every page opened from now on, before the page's own scripts
    /// (DevTools' `Page.addScriptToEvaluateOnNewDocument`, which the page's CSP does not
    /// govern).
    pub async fn run_on_every_new_page(&self, script: &str) {
        self.devtools(
            "Page.addScriptToEvaluateOnNewDocument",
            json!({"source": script}),
        )
        .await;
    }

    /// Makes this tab's network slower: `latency_ms` more per round trip, and
    /// `bytes_per_second` each way.
    pub async fn emulate_network(&self, latency_ms: u32, bytes_per_second: u32) {
        self.devtools("Network.enable", json!({})).await;
        self.devtools(
            "Network.emulateNetworkConditions",
            json!({
                "offline": false,
                "latency": latency_ms,
                "downloadThroughput": bytes_per_second,
                "uploadThroughput": bytes_per_second,
            }),
        )
        .await;
    }

    /// A DevTools protocol command on this tab.
    async fn devtools(&self, command: &str, params: Value) -> Value {
        self.client
            .issue_cmd(SessionCommand {
                method: http::Method::POST,
                path: "goog/cdp/execute".into(),
                body: Some(json!({"cmd": command, "params": params})),
            })
            .await
            .unwrap_or_else(|error| panic!("DevTools {command}: {error}"))
    }

    /// How many credentials the virtual authenticator `id` holds.
    pub async fn virtual_credentials(&self, id: &str) -> usize {
        let answer = self
            .client
            .issue_cmd(SessionCommand {
                method: http::Method::GET,
                path: format!("webauthn/authenticator/{id}/credentials"),
                body: None,
            })
            .await
            .expect("the virtual authenticator's credentials");
        answer.as_array().map_or(0, Vec::len)
    }

    /// Every request the page made to another origin.
    pub async fn foreign_requests(&self) -> Vec<String> {
        let names = self
            .client
            .execute(
                "return performance.getEntriesByType('resource').map(e => e.name)",
                vec![],
            )
            .await
            .expect("performance entries");
        names
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter(|url| !url.starts_with(&self.base) && !url.starts_with("data:"))
            .map(str::to_owned)
            .collect()
    }

    /// Saves a screenshot as `target/e2e/<name>.png` and prints where.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/e2e");
        std::fs::create_dir_all(&dir).expect("screenshot dir");
        let path = dir.join(format!("{name}.png"));
        let png = self.client.screenshot().await.expect("screenshot");
        std::fs::write(&path, png).expect("write screenshot");
        let path = path.canonicalize().unwrap_or(path);
        println!("screenshot: {}", path.display());
        path
    }

    /// Ends a journey: screenshot, then no console errors and no foreign requests.
    pub async fn finish(self, name: &str) {
        self.screenshot(name).await;
        assert_eq!(
            self.console_errors().await,
            Vec::<String>::new(),
            "console errors"
        );
        assert_eq!(
            self.foreign_requests().await,
            Vec::<String>::new(),
            "foreign requests"
        );
        let _ = self.client.clone().close().await;
    }
}

impl Drop for Chrome {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        // A browser whose driver died (a failed test) must not linger.
        let _ = Command::new("pkill")
            .args(["-f", &self.profile.path().display().to_string()])
            .status();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// chromedriver's `POST /session/{id}/se/log` for the browser console.
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/se/log", session.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(r#"{"type":"browser"}"#.to_owned()))
    }
}

/// A command of a WebDriver extension on this session: `method /session/{id}/{path}`,
/// with a JSON body.
#[derive(Debug)]
struct SessionCommand {
    method: http::Method,
    path: String,
    body: Option<Value>,
}

impl WebDriverCompatibleCommand for SessionCommand {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!(
            "session/{}/{}",
            session.unwrap_or_default(),
            self.path
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (
            self.method.clone(),
            self.body.as_ref().map(Value::to_string),
        )
    }
}
