//! The whole journey in real headless Chromium, against the real backend serving the
//! real release build of the SPA (`dist/`, built by scripts/test) on a fresh SQLite
//! database. Access tokens live 2 or 4 s where a journey needs them to expire, so expiry
//! happens during the test: time here is the browser's and the server's own, which no
//! test can move, so those journeys wait for it.
//!
//! Every journey ends with a screenshot under `target/e2e/`, and with no console errors
//! and no request to another origin.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use fantoccini::cookies::Cookie;
use fantoccini::key::Key;
use fantoccini::wd::WindowHandle;
use tempfile::TempDir;
use testkit::process::{backend_bin, backend_command};
use testkit::{BackendProcess, Chrome, PASSWORD, SmtpServer, TestDatabase, eventually};

const SECRET: &str = "browser-journeys-secret-0123456789-abcdefghijk";

/// The backend serving the built SPA, with its database and working folder.
struct App {
    server: BackendProcess,
    db: TestDatabase,
    /// Where the browser opens the app.
    base: String,
    _cwd: TempDir,
}

fn dist() -> PathBuf {
    let dist = Path::new(env!("CARGO_MANIFEST_DIR")).join("../dist");
    assert!(
        dist.join("index.html").exists(),
        "dist/ has no build of the SPA: run scripts/build-spa first (scripts/test does)"
    );
    dist.canonicalize().unwrap()
}

async fn app(access_ttl: &str) -> App {
    app_with(&[("ACCESS_TOKEN_TTL", access_ttl)]).await
}

/// A free port, chosen before the server starts, for `PUBLIC_URL` to name.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The app with its emails going to `smtp`, and `PUBLIC_URL` its own address, so the
/// links in them open the app the browser is signed in to.
async fn app_with_mail(smtp: &SmtpServer) -> App {
    let bind = format!("127.0.0.1:{}", free_port());
    let public = format!("http://{bind}");
    app_with(&[
        ("BIND_ADDR", &bind),
        ("PUBLIC_URL", &public),
        ("MAIL_URL", &smtp.mail_url()),
    ])
    .await
}

/// The app with passkeys on: browsers refuse an IP address as a WebAuthn relying party, so
/// `PUBLIC_URL` and the browser name it `localhost`.
async fn app_on_localhost() -> App {
    let port = free_port();
    let public = format!("http://localhost:{port}");
    let mut app = app_with(&[
        ("BIND_ADDR", &format!("127.0.0.1:{port}")),
        ("PUBLIC_URL", &public),
    ])
    .await;
    app.base = public;
    app
}

/// The app with further environment variables.
async fn app_with(env: &[(&str, &str)]) -> App {
    let db = TestDatabase::sqlite();
    let cwd = tempfile::tempdir().unwrap();
    let mut command = backend_command(&backend_bin(), cwd.path());
    command
        .env("BIND_ADDR", "127.0.0.1:0")
        .env("DATABASE_URL", db.url())
        .env("JWT_SECRET", SECRET)
        .env("STATIC_DIR", dist());
    for (name, value) in env {
        command.env(name, value);
    }
    let server = BackendProcess::launch(command).await;
    App {
        base: server.base_url(),
        server,
        db,
        _cwd: cwd,
    }
}

impl App {
    async fn browser(&self) -> Chrome {
        Chrome::start(&self.base).await
    }

    /// How many refreshes the server has answered.
    fn refreshes(&self) -> usize {
        self.answered("/api/auth/refresh")
    }

    /// How many requests to `path` the server has answered.
    fn answered(&self, path: &str) -> usize {
        self.server
            .log()
            .lines()
            .filter(|l| l.contains(&format!("uri={path}")) && l.contains("finished processing"))
            .count()
    }

    fn create_admin(&self, email: &str) {
        let mut command = backend_command(&backend_bin(), Path::new("/"));
        command
            .args([
                "user",
                "create",
                "--admin",
                "--password-stdin",
                "--email",
                email,
            ])
            .env("DATABASE_URL", self.db.url())
            .stdin(Stdio::piped());
        let mut child = command.spawn().unwrap();
        writeln!(child.stdin.take().unwrap(), "{PASSWORD}").unwrap();
        assert!(child.wait().unwrap().success());
    }
}

async fn register(chrome: &Chrome, email: &str) {
    chrome.open("/register").await;
    chrome.fill("#email", email).await;
    chrome.fill("#password", PASSWORD).await;
    // Enter submits: the form works from the keyboard.
    chrome
        .element("#password")
        .await
        .send_keys(&Key::Enter.to_string())
        .await
        .unwrap();
    chrome.wait_for_text("#user-email", email).await;
    chrome.wait_for_path("/").await;
}

async fn login(chrome: &Chrome, email: &str, password: &str) {
    chrome.open("/login").await;
    chrome.fill("#email", email).await;
    chrome.fill("#password", password).await;
    chrome.click("button[type=submit]").await;
}

/// Opens a second tab of the same browser (same cookies); returns both tabs' handles.
async fn open_second_tab(chrome: &Chrome) -> (WindowHandle, WindowHandle) {
    let first = chrome.client.window().await.unwrap();
    let second = chrome.client.new_window(true).await.unwrap().handle;
    (first, second)
}

async fn assert_products_shown(chrome: &Chrome) {
    chrome
        .wait_for_text("#products", "Mechanical keyboard")
        .await;
    assert!(!chrome.has(".alert").await, "{}", chrome.page_text().await);
}

/// Waits for the `n`th email to `to` with this subject and returns its link to `page`.
async fn emailed_link(smtp: &SmtpServer, to: &str, subject: &str, n: usize, page: &str) -> String {
    let matching = || {
        smtp.received()
            .into_iter()
            .filter(|mail| mail.to.iter().any(|t| t == to) && mail.subject() == subject)
            .collect::<Vec<_>>()
    };
    let arrived = eventually(Duration::from_secs(10), || async { matching().len() >= n }).await;
    assert!(arrived, "no email {subject:?} number {n} to {to}");
    matching()[n - 1].link(&format!("{page}#token="))
}

/// Waits until an access token issued now, living `seconds`, would have expired.
async fn outlive_access_token(seconds: u64) {
    tokio::time::sleep(Duration::from_millis(seconds * 1000 + 300)).await;
}

#[tokio::test]
async fn register_lands_home_and_a_reload_stays_signed_in() {
    let app = app("15m").await;
    let chrome = app.browser().await;
    register(&chrome, "newcomer@example.com").await;
    chrome.wait_for_text("#user-role", "user").await;
    assert_products_shown(&chrome).await;

    chrome.client.refresh().await.unwrap();
    chrome
        .wait_for_text("#user-email", "newcomer@example.com")
        .await;
    assert_products_shown(&chrome).await;
    assert_eq!(chrome.path().await, "/");
    chrome.finish("register-and-reload").await;
}

#[tokio::test]
async fn after_the_access_token_expires_work_goes_on_after_one_refresh() {
    // 4 s tokens: the app refreshes them after 3 s and again after 6 s, so the count
    // below, taken around 4.5 s, is not raced by the next proactive refresh.
    let app = app("4s").await;
    let chrome = app.browser().await;
    register(&chrome, "worker@example.com").await;
    assert_products_shown(&chrome).await;
    assert_eq!(app.refreshes(), 0);

    outlive_access_token(4).await;
    chrome.click("#reload-products").await;
    assert_products_shown(&chrome).await;
    assert_eq!(chrome.path().await, "/", "no detour to the login page");
    assert_eq!(app.refreshes(), 1, "exactly one refresh since sign-in");
    chrome.finish("expired-access-token").await;
}

#[tokio::test]
async fn two_tabs_past_expiry_act_at_once_and_both_keep_working() {
    let app = app("2s").await;
    let chrome = app.browser().await;
    register(&chrome, "tabs@example.com").await;
    let (first, second) = open_second_tab(&chrome).await;
    chrome
        .client
        .switch_to_window(second.clone())
        .await
        .unwrap();
    chrome.open("/").await;
    assert_products_shown(&chrome).await;

    outlive_access_token(2).await;
    // Both tabs ask for data at the same moment, each through the app's own client.
    for tab in [&first, &second] {
        chrome.client.switch_to_window(tab.clone()).await.unwrap();
        chrome
            .client
            .execute("document.getElementById('reload-products').click()", vec![])
            .await
            .unwrap();
    }
    for tab in [&first, &second] {
        chrome.client.switch_to_window(tab.clone()).await.unwrap();
        assert_products_shown(&chrome).await;
        assert_eq!(chrome.path().await, "/");
    }
    // No reuse false alarm: had the server taken the two tabs' refreshes for a replay, it
    // would have revoked the session. Reloaded, each tab starts afresh by refreshing with
    // the token the browser now holds, and must still be signed in.
    for tab in [&first, &second] {
        chrome.client.switch_to_window(tab.clone()).await.unwrap();
        chrome.client.refresh().await.unwrap();
        chrome
            .wait_for_text("#user-email", "tabs@example.com")
            .await;
        assert_products_shown(&chrome).await;
        assert_eq!(chrome.path().await, "/");
    }
    // Nor was the session forked: this device is still its only session.
    chrome.open("/sessions").await;
    chrome.wait_for_text("#sessions", "This device").await;
    assert!(
        !chrome.has("#sessions .revoke").await,
        "{}",
        chrome.page_text().await
    );
    chrome.finish("two-tabs").await;
}

#[tokio::test]
async fn signing_out_in_one_tab_signs_out_the_other_and_back_shows_nothing() {
    let app = app("15m").await;
    let chrome = app.browser().await;
    register(&chrome, "leaving@example.com").await;
    // Browse to a second protected page, so that Back has protected pages to return to.
    chrome.click("nav a[href='/sessions']").await;
    chrome.wait_for_text("#sessions", "This device").await;
    let (first, second) = open_second_tab(&chrome).await;
    chrome.client.switch_to_window(second).await.unwrap();
    chrome.open("/sessions").await;
    chrome.wait_for_text("#sessions", "This device").await;
    chrome.click("#sign-out").await;
    chrome.wait_for_path("/login?next=%2Fsessions").await;

    // The first tab follows by itself, without a reload.
    chrome.client.switch_to_window(first).await.unwrap();
    chrome.wait_for_path("/login?next=%2Fsessions").await;
    assert!(!chrome.has("#sessions").await);

    // Back returns to the home page's history entry: it must show nothing protected.
    chrome.client.back().await.unwrap();
    chrome.wait_for_path("/login?next=%2F").await;
    assert!(
        !chrome.has("#products").await,
        "{}",
        chrome.page_text().await
    );
    assert!(!chrome.has("#user-email").await);
    chrome.finish("sign-out-other-tab").await;
}

#[tokio::test]
async fn signing_in_in_one_tab_signs_in_the_other() {
    let app = app("15m").await;
    let chrome = app.browser().await;
    register(&chrome, "returning@example.com").await;
    chrome.click("#sign-out").await;
    chrome.wait_for_path("/login?next=%2F").await;
    let (first, second) = open_second_tab(&chrome).await;
    chrome.client.switch_to_window(second).await.unwrap();
    login(&chrome, "returning@example.com", PASSWORD).await;
    chrome
        .wait_for_text("#user-email", "returning@example.com")
        .await;

    // The first tab, left on the login page, moves on by itself.
    chrome.client.switch_to_window(first).await.unwrap();
    chrome.wait_for_path("/").await;
    chrome
        .wait_for_text("#user-email", "returning@example.com")
        .await;
    chrome.finish("sign-in-other-tab").await;
}

#[tokio::test]
async fn a_session_revoked_from_another_browser_ends_with_the_expired_notice() {
    let app = app("15m").await;
    let laptop = app.browser().await;
    register(&laptop, "two-devices@example.com").await;

    let phone = app.browser().await;
    login(&phone, "two-devices@example.com", PASSWORD).await;
    phone
        .wait_for_text("#user-email", "two-devices@example.com")
        .await;
    phone.open("/sessions").await;
    phone.wait_for_text("#sessions", "This device").await;
    phone.click("#sessions .revoke").await;
    // Only this device is left once the list has reloaded.
    phone.wait_until_gone("#sessions .revoke").await;
    phone.wait_for_text("#sessions", "This device").await;
    phone.finish("revoke-other-device").await;

    laptop.click("#reload-products").await;
    laptop
        .wait_for_text("#notice", "Your session has expired")
        .await;
    assert!(laptop.path().await.starts_with("/login"));
    assert!(!laptop.has("#products").await);
    laptop.finish("revoked-session-expired-notice").await;
}

#[tokio::test]
async fn signing_out_everywhere_else_ends_the_other_device_and_keeps_this_one() {
    let app = app("15m").await;
    let laptop = app.browser().await;
    register(&laptop, "everywhere-else@example.com").await;
    let phone = app.browser().await;
    login(&phone, "everywhere-else@example.com", PASSWORD).await;
    phone
        .wait_for_text("#user-email", "everywhere-else@example.com")
        .await;

    laptop.open("/sessions").await;
    laptop.wait_for_text("#sessions", "This device").await;
    laptop.element("#sessions .revoke").await;
    laptop.click("#sign-out-others").await;
    laptop.wait_until_gone("#sessions .revoke").await;
    laptop.wait_for_text("#sessions", "This device").await;

    phone.click("#reload-products").await;
    phone
        .wait_for_text("#notice", "Your session has expired")
        .await;
    assert!(phone.path().await.starts_with("/login"));
    phone.finish("signed-out-by-another-device").await;
    // This device is still signed in.
    laptop.open("/").await;
    assert_products_shown(&laptop).await;
    laptop.finish("signed-out-everywhere-else").await;
}

#[tokio::test]
async fn a_wrong_password_is_explained_and_five_failures_bring_a_wait() {
    let app = app("15m").await;
    let chrome = app.browser().await;
    register(&chrome, "forgetful@example.com").await;
    chrome.click("#sign-out").await;
    chrome.wait_for_path("/login?next=%2F").await;

    for attempt in 1..=5 {
        chrome.fill("#email", "forgetful@example.com").await;
        chrome
            .fill("#password", &format!("wrong password {attempt}"))
            .await;
        chrome.click("button[type=submit]").await;
        chrome
            .wait_for_text(".alert", "The email or password is incorrect.")
            .await;
        assert!(chrome.path().await.starts_with("/login"), "no navigation");
        // The next attempt must not read this attempt's message.
        chrome.client.refresh().await.unwrap();
    }
    chrome.fill("#email", "forgetful@example.com").await;
    chrome.fill("#password", PASSWORD).await;
    chrome.click("button[type=submit]").await;
    chrome
        .wait_for_text(".alert", "Too many sign-in attempts. Try again in")
        .await;
    // The wait counts down in real time: 30 seconds, or 29 if a second has passed.
    let alert = chrome.element(".alert").await.text().await.unwrap();
    let seconds: u32 = alert
        .split_whitespace()
        .find_map(|word| word.parse().ok())
        .unwrap_or_else(|| panic!("no wait in {alert:?}"));
    assert!((25..=30).contains(&seconds), "{alert}");
    chrome.finish("throttled-login").await;
}

#[tokio::test]
async fn admins_see_the_user_list_and_others_are_told_it_is_not_for_them() {
    let app = app("15m").await;
    let chrome = app.browser().await;
    register(&chrome, "regular@example.com").await;
    assert!(
        !chrome.has("nav a[href='/admin']").await,
        "no admin link for users"
    );
    chrome.open("/admin").await;
    chrome
        .wait_for_text("#not-allowed", "administrators only")
        .await;
    chrome.screenshot("admin-not-allowed").await;
    chrome.click("#sign-out").await;

    app.create_admin("boss@example.com");
    login(&chrome, "boss@example.com", PASSWORD).await;
    chrome.wait_for_text("#user-role", "admin").await;
    chrome.open("/admin").await;
    chrome.wait_for_text("#users", "regular@example.com").await;
    chrome.wait_for_text("#users", "boss@example.com").await;
    chrome.finish("admin-user-list").await;
}

/// A cookie replacing one of the server's: same name, path and attributes.
fn session_cookie(name: &'static str, value: &'static str) -> Cookie<'static> {
    let mut cookie = Cookie::new(name, value);
    cookie.set_path(if name == "refresh_token" {
        "/api/auth"
    } else {
        "/api"
    });
    cookie.set_domain("127.0.0.1");
    cookie.set_http_only(true);
    cookie.set_secure(false);
    cookie.set_same_site(cookie::SameSite::Strict);
    cookie
}

#[tokio::test]
async fn a_forged_access_cookie_is_refused_and_the_app_recovers() {
    let app = app("15m").await;
    let chrome = app.browser().await;
    register(&chrome, "forged@example.com").await;
    let forged = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";
    chrome
        .client
        .add_cookie(session_cookie("access_token", forged))
        .await
        .unwrap();

    chrome.click("#reload-products").await;
    assert_products_shown(&chrome).await;
    assert_eq!(app.refreshes(), 1, "recovered through one refresh");

    // With the refresh token forged too, the app falls back to the login page.
    for name in ["access_token", "refresh_token"] {
        chrome
            .client
            .add_cookie(session_cookie(name, "forged"))
            .await
            .unwrap();
    }
    chrome.click("#reload-products").await;
    chrome
        .wait_for_text("#notice", "Your session has expired")
        .await;
    assert!(chrome.path().await.starts_with("/login"));
    chrome.finish("forged-cookie").await;
}

#[tokio::test]
async fn a_forgotten_password_is_reset_through_the_emailed_link() {
    let smtp = SmtpServer::start();
    let app = app_with_mail(&smtp).await;
    let email = "forgot-it@example.com";
    let new_password = "a fresh start passphrase";
    let laptop = app.browser().await;
    register(&laptop, email).await;

    // Signed out, on another browser: the login page's link to the reset form.
    let chrome = app.browser().await;
    chrome.open("/login").await;
    chrome.click("a[href='/forgot-password']").await;
    chrome.wait_for_path("/forgot-password").await;
    chrome.fill("#email", email).await;
    chrome.click("button[type=submit]").await;
    chrome
        .wait_for_text("#notice", "If an account exists")
        .await;

    let link = emailed_link(&smtp, email, "Reset your password", 1, "/reset-password").await;
    chrome.client.goto(&link).await.unwrap();
    chrome.element("#password").await;
    let address = chrome.client.current_url().await.unwrap();
    assert!(
        address.fragment().is_none() && !address.as_str().contains("token"),
        "the token is gone from the address bar: {address}"
    );
    chrome.fill("#password", new_password).await;
    chrome.click("button[type=submit]").await;
    chrome
        .wait_for_text("#notice", "Your password has been changed")
        .await;
    assert!(chrome.path().await.starts_with("/login"));

    // The old password is refused, the new one signs in.
    chrome.fill("#email", email).await;
    chrome.fill("#password", PASSWORD).await;
    chrome.click("button[type=submit]").await;
    chrome
        .wait_for_text(".alert", "The email or password is incorrect.")
        .await;
    chrome.client.refresh().await.unwrap();
    login(&chrome, email, new_password).await;
    chrome.wait_for_text("#user-email", email).await;
    assert_products_shown(&chrome).await;
    chrome.finish("password-reset").await;

    // The laptop's session ended with the reset.
    laptop.click("#reload-products").await;
    laptop
        .wait_for_text("#notice", "Your session has expired")
        .await;
    assert!(laptop.path().await.starts_with("/login"));
    laptop.finish("password-reset-other-device").await;
}

#[tokio::test]
async fn the_emailed_link_verifies_the_address_and_the_banner_goes() {
    let smtp = SmtpServer::start();
    let app = app_with_mail(&smtp).await;
    let email = "verify-me@example.com";
    let chrome = app.browser().await;
    register(&chrome, email).await;
    chrome
        .wait_for_text("#verify-banner", "Please verify your email")
        .await;

    // A new link, then the newest one is opened.
    chrome.click("#resend-verification").await;
    chrome.wait_for_text("#verify-banner", "Too many").await;
    let link = emailed_link(&smtp, email, "Verify your email", 1, "/verify-email").await;
    chrome.client.goto(&link).await.unwrap();
    chrome
        .wait_for_text("#verify-result", "Your email is verified")
        .await;
    let address = chrome.client.current_url().await.unwrap();
    assert!(address.fragment().is_none(), "{address}");
    chrome.open("/").await;
    assert_products_shown(&chrome).await;
    assert!(
        !chrome.has("#verify-banner").await,
        "{}",
        chrome.page_text().await
    );

    // Used once: opening it again says the link is no longer valid.
    chrome.client.goto(&link).await.unwrap();
    chrome
        .wait_for_text("#verify-result", "This link is not valid any more")
        .await;
    chrome.finish("email-verified").await;
}

/// The code an authenticator app shows for `secret` (base32) at this moment plus `ahead`.
fn authenticator_code(secret: &str, ahead: Duration) -> String {
    let bytes = totp_rs::Secret::try_from_base32(secret.trim())
        .expect("a base32 secret")
        .as_bytes()
        .to_vec();
    let totp = totp_rs::Builder::new()
        .with_algorithm(totp_rs::Algorithm::SHA1)
        .with_digits(6)
        .with_step_duration(30)
        .with_secret(bytes)
        .build()
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        + ahead;
    totp.generate(now.as_secs()).to_string()
}

/// Turns two-step sign-in on at /security with the code of the moment; returns the
/// secret and the ten recovery codes.
async fn turn_on_two_step_sign_in(chrome: &Chrome) -> (String, Vec<String>) {
    chrome.open("/security").await;
    chrome.click("#totp-setup").await;
    chrome.element("#totp-qr").await;
    let secret = chrome.element("#totp-secret").await.text().await.unwrap();
    chrome
        .fill("#totp-code", &authenticator_code(&secret, Duration::ZERO))
        .await;
    chrome.click("#totp-confirm").await;
    chrome.wait_for_text("#recovery-codes", "-").await;
    let codes_text = chrome
        .element("#recovery-codes")
        .await
        .text()
        .await
        .unwrap();
    let codes: Vec<String> = codes_text
        .split_whitespace()
        .filter(|word| word.len() == 23 && word.matches('-').count() == 3)
        .map(str::to_owned)
        .collect();
    assert_eq!(codes.len(), 10, "{codes_text}");
    (secret, codes)
}

#[tokio::test]
async fn two_step_sign_in_with_the_app_then_with_a_recovery_code() {
    let app = app("15m").await;
    let chrome = app.browser().await;
    let email = "two-steps@example.com";
    register(&chrome, email).await;
    let (secret, codes) = turn_on_two_step_sign_in(&chrome).await;
    chrome.screenshot("totp-recovery-codes").await;
    chrome.open("/").await;
    assert_products_shown(&chrome).await;

    // Signed out, the password alone is not enough: the app asks for a code. The code of
    // the next 30 seconds is accepted (one step of skew) and is newer than the one that
    // confirmed the set-up, which cannot be used twice.
    chrome.click("#sign-out").await;
    chrome.wait_for_path("/login?next=%2F").await;
    login(&chrome, email, PASSWORD).await;
    chrome.element("#code").await;
    chrome
        .fill(
            "#code",
            &authenticator_code(&secret, Duration::from_secs(30)),
        )
        .await;
    chrome.click("button[type=submit]").await;
    chrome.wait_for_text("#user-email", email).await;
    assert_products_shown(&chrome).await;

    // Then with a recovery code instead of the app.
    chrome.click("#sign-out").await;
    chrome.wait_for_path("/login?next=%2F").await;
    login(&chrome, email, PASSWORD).await;
    chrome.element("#code").await;
    chrome.fill("#code", &codes[0]).await;
    chrome.click("button[type=submit]").await;
    chrome.wait_for_text("#user-email", email).await;
    chrome.finish("two-step-sign-in").await;
}

/// Waits until `email` is signed in on the home page, with the products shown.
async fn signed_in_at_home(chrome: &Chrome, email: &str) {
    chrome.wait_for_text("#user-email", email).await;
    chrome.wait_for_path("/").await;
    assert_products_shown(chrome).await;
}

/// The app on localhost and a browser with a virtual authenticator, signed in as a new
/// user `email` who has added a passkey (named "Laptop") at /security. Unless `autofill`,
/// the browser's pages find no passkeys in autofill, so that the buttons can be tested.
async fn passkey_holder(email: &str, autofill: bool) -> (App, Chrome) {
    let app = app_on_localhost().await;
    let chrome = app.browser().await;
    let authenticator = chrome.add_virtual_authenticator().await;
    if !autofill {
        chrome.without_passkey_autofill().await;
    }
    register(&chrome, email).await;
    chrome.open("/security").await;
    chrome.fill("#passkey-name", "Laptop").await;
    chrome.click("#passkey-add").await;
    chrome.wait_for_text("#passkeys li.passkey", "Laptop").await;
    chrome
        .wait_for_text("#passkeys li.passkey", "never used")
        .await;
    assert_eq!(chrome.virtual_credentials(&authenticator).await, 1);
    (app, chrome)
}

#[tokio::test]
async fn a_passkey_added_on_the_security_page_signs_in_alone_and_can_be_removed() {
    let email = "passkey-holder@example.com";
    let (_app, chrome) = passkey_holder(email, false).await;
    chrome.screenshot("passkey-added").await;

    // Signed out, the login page's button signs in with no email and no password.
    chrome.click("#sign-out").await;
    chrome.wait_for_path("/login?next=%2Fsecurity").await;
    chrome.open("/login").await;
    chrome.element("#passkey-sign-in").await;
    chrome.screenshot("login-with-a-passkey").await;
    chrome.click("#passkey-sign-in").await;
    signed_in_at_home(&chrome, email).await;

    // The list says when it was last used; removing it takes it off the list.
    chrome.open("/security").await;
    chrome
        .wait_for_text("#passkeys li.passkey", "last used")
        .await;
    chrome.click("#passkeys button.passkey-remove").await;
    chrome.wait_until_gone("#passkeys li.passkey").await;
    // Gone on the server too.
    chrome.client.refresh().await.unwrap();
    chrome.element("#passkey-list").await;
    assert!(!chrome.has("#passkeys li.passkey").await);
    chrome.finish("passkey-sign-in").await;
}

#[tokio::test]
async fn the_login_page_offers_a_passkey_in_the_email_autofill() {
    let email = "passkey-autofill@example.com";
    let (app, chrome) = passkey_holder(email, true).await;
    chrome.open("/").await;
    assert_products_shown(&chrome).await;

    // Signed out, the login page asks in the background for a passkey from the email
    // field's autofill; the virtual authenticator answers as a user who picks it would:
    // signed in, with nothing typed and no button pressed.
    // The page was already signed in at home, so the sign-out, then the passkey's
    // sign-in, are awaited in the server's log before the page is looked at again (the
    // page alone would pass before either happened).
    chrome.click("#sign-out").await;
    let finish = "/api/auth/passkeys/login/finish";
    let signed_out_then_in = eventually(Duration::from_secs(10), || async {
        app.answered("/api/auth/logout") == 1 && app.answered(finish) >= 1
    })
    .await;
    assert!(
        signed_out_then_in,
        "no sign-out, or no passkey sign-in after it"
    );
    signed_in_at_home(&chrome, email).await;
    assert_eq!(app.answered(finish), 1);
    chrome.finish("passkey-autofill").await;
}

#[tokio::test]
async fn with_two_step_sign_in_on_a_passkey_completes_the_second_step() {
    let email = "two-steps-passkey@example.com";
    let (_app, chrome) = passkey_holder(email, false).await;
    turn_on_two_step_sign_in(&chrome).await;

    chrome.click("#sign-out").await;
    chrome.wait_for_path("/login?next=%2Fsecurity").await;
    login(&chrome, email, PASSWORD).await;
    // The second step offers the code and the passkey.
    chrome.element("#code").await;
    chrome.click("#passkey-second-step").await;
    signed_in_at_home(&chrome, email).await;
    chrome.finish("two-step-with-a-passkey").await;
}

#[tokio::test]
async fn where_passkeys_are_off_the_login_page_offers_none() {
    // An IP address cannot be a relying party: the server turns passkeys off (404).
    let bind = format!("127.0.0.1:{}", free_port());
    let app = app_with(&[
        ("BIND_ADDR", &bind),
        ("PUBLIC_URL", &format!("http://{bind}")),
    ])
    .await;
    let chrome = app.browser().await;
    chrome.open("/login").await;
    chrome.element("#email").await;
    // The background autofill request finds out by itself; the button, where a browser
    // makes none, at its first press.
    chrome
        .client
        .execute(
            "document.getElementById('passkey-sign-in')?.click()",
            vec![],
        )
        .await
        .unwrap();
    chrome.wait_until_gone("#passkey-sign-in").await;
    assert!(!chrome.has(".alert").await, "{}", chrome.page_text().await);
    login(&chrome, "nobody@example.com", PASSWORD).await;
    chrome
        .wait_for_text(".alert", "The email or password is incorrect.")
        .await;
    chrome.finish("passkeys-off").await;
}

/// Notes the time, since navigation started, when the login form's email field is first
/// there and enabled: the SPA has mounted and the page can be used.
const NOTE_WHEN_INTERACTIVE: &str = "new MutationObserver((_, observer) => {
    const email = document.getElementById('email');
    if (email && !email.disabled) {
        window.interactiveAt = performance.now();
        observer.disconnect();
    }
}).observe(document, {childList: true, subtree: true, attributes: true});";

/// The login page's timings and the SPA's files as the page downloaded them.
const LOAD_REPORT: &str = "const [nav] = performance.getEntriesByType('navigation');
return {
    interactive: window.interactiveAt ?? null,
    html: nav.responseEnd,
    files: performance.getEntriesByType('resource')
        .map(e => ({path: new URL(e.name).pathname, entry: e}))
        .filter(({path}) => /\\.(wasm|js)$/.test(path))
        .map(({path, entry}) => ({
            path,
            end: entry.responseEnd,
            transfer: entry.transferSize,
            encoded: entry.encodedBodySize,
            decoded: entry.decodedBodySize,
            encoding: entry.contentEncoding ?? null,
        })),
};";

/// A network slower than loopback for the second measurement: 100 ms more per round trip
/// and 4 Mbit/s each way.
const SLOW_NETWORK: (u32, u32) = (100, 500_000);

#[tokio::test]
async fn the_login_page_becomes_interactive_and_downloads_the_spa_in_brotli() {
    let app = app("15m").await;
    for network in [None, Some(SLOW_NETWORK)] {
        // A fresh profile each time: nothing cached.
        let chrome = app.browser().await;
        let (label, screenshot) = match network {
            None => ("loopback".to_owned(), "login-interactive"),
            Some((latency, bytes_per_second)) => {
                chrome.emulate_network(latency, bytes_per_second).await;
                let mbits = bytes_per_second * 8 / 1_000_000;
                (
                    format!("+{latency} ms, {mbits} Mbit/s"),
                    "login-interactive-slow-network",
                )
            }
        };
        let report = load_login_page(&chrome).await;
        let ms = |value: &serde_json::Value| value.as_f64().expect("a time in ms");
        println!(
            "time to interactive login page ({label}): {:.0} ms (HTML received at {:.0} ms)",
            ms(&report["interactive"]),
            ms(&report["html"])
        );
        // Each file came as its precompressed Brotli copy and was decoded to the built file.
        let files = report["files"].as_array().expect("resource entries");
        for extension in [".wasm", ".js"] {
            let file = files
                .iter()
                .find(|f| f["path"].as_str().is_some_and(|p| p.ends_with(extension)))
                .unwrap_or_else(|| panic!("no {extension} was downloaded: {report}"));
            let path = file["path"].as_str().unwrap().trim_start_matches('/');
            let size = |suffix: &str| {
                std::fs::metadata(dist().join(format!("{path}{suffix}")))
                    .unwrap()
                    .len()
            };
            println!(
                "  {path}: {} bytes transferred, body {} bytes {}, {} decoded \
                 (Brotli file {}, gzip file {}), done at {:.0} ms",
                file["transfer"],
                file["encoded"],
                file["encoding"]
                    .as_str()
                    .unwrap_or("(encoding not reported)"),
                file["decoded"],
                size(".br"),
                size(".gz"),
                ms(&file["end"]),
            );
            assert_eq!(file["decoded"].as_u64(), Some(size("")), "{file}");
            assert_eq!(file["encoded"].as_u64(), Some(size(".br")), "{file}");
        }
        chrome.finish(screenshot).await;
    }
}

/// Opens the login page and waits until it can be used; then its timings and the SPA's
/// files as the page downloaded them.
async fn load_login_page(chrome: &Chrome) -> serde_json::Value {
    chrome.run_on_every_new_page(NOTE_WHEN_INTERACTIVE).await;
    chrome.open("/login").await;
    chrome.element("#email").await;
    let report = || async {
        chrome
            .client
            .execute(LOAD_REPORT, vec![])
            .await
            .expect("the page's timings")
    };
    assert!(
        eventually(Duration::from_secs(10), || async {
            report().await["interactive"].is_number()
        })
        .await,
        "the login form never became usable"
    );
    report().await
}
