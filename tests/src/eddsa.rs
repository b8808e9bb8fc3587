//! The backend signing with Ed25519 (`JWT_ALG=EdDSA`) on a SQLite file of its own: the
//! issuer that tests of services verifying its tokens from the JWKS alone run against.

use std::process::Command;

use reqwest::StatusCode;
use shared::Registered;
use shared::names::cookies;
use tempfile::TempDir;

use crate::process::{backend_bin, backend_command};
use crate::{BackendProcess, Browser, PASSWORD};

/// The secret that seals its private keys.
const SECRET: &str = "eddsa-issuer-secret-0123456789-abcdefghijklmnop";

/// A running backend with `JWT_ALG=EdDSA` and the directory holding its database.
pub struct EdDsaBackend {
    /// The server.
    pub process: BackendProcess,
    /// `DATABASE_URL`, `JWT_SECRET`, `JWT_ALG` and what the test added: what the command
    /// line needs to act on the same keys.
    env: Vec<(String, String)>,
    dir: TempDir,
}

impl EdDsaBackend {
    /// Starts one, with further environment variables (`KEY_PUBLISH_DELAY`,
    /// `ACCESS_TOKEN_TTL`, …).
    pub async fn start(extra: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let database = format!("sqlite://{}/app.db", dir.path().display());
        let mut env: Vec<(String, String)> = [
            ("DATABASE_URL", database.as_str()),
            ("JWT_SECRET", SECRET),
            ("JWT_ALG", "EdDSA"),
        ]
        .iter()
        .chain(extra)
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect();
        env.sort();
        let mut command = command(&dir, &env);
        command
            .env("BIND_ADDR", "127.0.0.1:0")
            .env("STATIC_DIR", dir.path());
        let process = BackendProcess::launch(command).await;
        Self { process, env, dir }
    }

    /// `http://host:port`: its `PUBLIC_URL` as far as a verifier is concerned.
    pub fn base_url(&self) -> String {
        self.process.base_url()
    }

    /// Its JWKS URL.
    pub fn jwks_url(&self) -> String {
        self.process.url(shared::names::paths::JWKS)
    }

    /// A new account, signed in.
    pub async fn signed_in(&self, email: &str) -> SignedIn {
        let browser = Browser::new(self.base_url());
        let response = browser.register(email, PASSWORD).await;
        assert_eq!(response.status(), StatusCode::CREATED, "register {email}");
        let registered: Registered = response.json().await.expect("a Registered body");
        let token = access_token(&browser);
        SignedIn {
            browser,
            token,
            user_id: registered.user.id,
        }
    }

    /// `backend keys rotate` on its database; returns what it printed.
    pub fn rotate_keys(&self) -> String {
        let output = command(&self.dir, &self.env)
            .args(["keys", "rotate"])
            .output()
            .expect("run backend keys rotate");
        assert!(output.status.success(), "keys rotate failed: {output:?}");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Stops the server (SIGTERM), asserting a clean exit; returns its log.
    pub fn stop(self) -> String {
        self.process.stop()
    }
}

/// A signed-in account.
pub struct SignedIn {
    /// Its browser profile (cookies: refresh with it for a new access token).
    pub browser: Browser,
    /// The access token it got at sign-in.
    pub token: String,
    /// Its user id, the tokens' `sub`.
    pub user_id: String,
}

/// The access token a browser profile holds now.
pub fn access_token(browser: &Browser) -> String {
    browser
        .cookie(cookies::ACCESS)
        .expect("an access token cookie")
}

fn command(dir: &TempDir, env: &[(String, String)]) -> Command {
    let mut command = backend_command(&backend_bin(), dir.path());
    command.envs(env.iter().map(|(name, value)| (name, value)));
    command
}
