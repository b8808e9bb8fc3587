//! Account recovery over a real SMTP conversation: reset links (`password/forgot`,
//! `password/reset`), verification links (`email/verify`, `email/resend`) and
//! `REQUIRE_VERIFIED_EMAIL`. Every link is read from the message the SMTP server received.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use testkit::{ReceivedMail, SmtpServer};

use crate::helpers::*;

const NEW_PASSWORD: &str = "a whole new passphrase here";
const MAIL_WAIT: Duration = Duration::from_secs(10);
const RESET: &str = "Reset your password";
const VERIFY: &str = "Verify your email";

/// A server whose emails go to a fresh local SMTP server.
async fn spawn_with_smtp(flags: &[&str]) -> (TestApp, SmtpServer) {
    let smtp = SmtpServer::start();
    let url = smtp.mail_url();
    let mut all = vec!["--mail-url", url.as_str()];
    all.extend_from_slice(flags);
    (spawn_app_with(&all, |_| {}).await, smtp)
}

/// The token in a link's fragment.
fn token_of(link: &str) -> String {
    link.split_once("#token=")
        .unwrap_or_else(|| panic!("no #token= in {link}"))
        .1
        .to_owned()
}

async fn forgot(browser: &Browser, email: &str) -> reqwest::Response {
    browser
        .post_json("/api/auth/password/forgot", &json!({ "email": email }))
        .await
}

async fn reset(browser: &Browser, token: &str, password: &str) -> reqwest::Response {
    browser
        .post_json(
            "/api/auth/password/reset",
            &json!({ "token": token, "password": password }),
        )
        .await
}

async fn verify(browser: &Browser, token: &str) -> reqwest::Response {
    browser
        .post_json("/api/auth/email/verify", &json!({ "token": token }))
        .await
}

/// The emails to `to` with this subject, in the order they arrived.
fn mails(smtp: &SmtpServer, to: &str, subject: &str) -> Vec<ReceivedMail> {
    smtp.received()
        .into_iter()
        .filter(|mail| mail.to.iter().any(|t| t == to) && mail.subject() == subject)
        .collect()
}

/// Waits for the `n`th email to `to` with this subject and returns it.
async fn nth_mail(smtp: &SmtpServer, to: &str, subject: &str, n: usize) -> ReceivedMail {
    let arrived = eventually(MAIL_WAIT, || async { mails(smtp, to, subject).len() >= n }).await;
    assert!(
        arrived,
        "no email {n} {subject:?} to {to}: {} arrived",
        smtp.received().len()
    );
    mails(smtp, to, subject).swap_remove(n - 1)
}

/// The token of the `n`th verification email to `to`.
async fn verification_token(smtp: &SmtpServer, to: &str, n: usize) -> String {
    let mail = nth_mail(smtp, to, VERIFY, n).await;
    token_of(&mail.link("/verify-email#token="))
}

/// Asks for a reset link and returns its token, read from the email.
async fn reset_token(app: &TestApp, smtp: &SmtpServer, email: &str) -> String {
    let n = mails(smtp, email, RESET).len() + 1;
    assert_eq!(
        forgot(&app.browser(), email).await.status(),
        StatusCode::ACCEPTED
    );
    let mail = nth_mail(smtp, email, RESET, n).await;
    token_of(&mail.link("/reset-password#token="))
}

#[tokio::test]
async fn a_reset_link_is_emailed_for_a_known_address_and_nothing_for_an_unknown_one() {
    let (app, smtp) = spawn_with_smtp(&[]).await;
    app.signed_in("known@example.com").await;
    let browser = app.browser();

    let unknown = forgot(&browser, "nobody@example.com").await;
    assert_eq!(unknown.status(), StatusCode::ACCEPTED);
    let unknown_body = unknown.text().await.unwrap();
    let known = forgot(&browser, "Known@Example.com ").await;
    assert_eq!(known.status(), StatusCode::ACCEPTED);
    assert_eq!(known.text().await.unwrap(), unknown_body, "the same body");

    let mail = nth_mail(&smtp, "known@example.com", RESET, 1).await;
    assert_eq!(mail.subject(), "Reset your password");
    assert_eq!(mail.from, "no-reply@localhost");
    let link = mail.link("/reset-password#token=");
    assert!(
        link.starts_with("http://localhost:3000/reset-password#token="),
        "{link}"
    );
    assert_eq!(token_of(&link).len(), 43, "256 bits, base64url");
    assert!(mail.html().contains(&link.replace('&', "&amp;")));
    // The unknown address was asked for first; its (absent) email would be out by now.
    assert_eq!(smtp.count_to("nobody@example.com"), 0);
}

#[tokio::test]
async fn a_reset_sets_the_password_and_ends_every_session_and_the_link() {
    let (app, smtp) = spawn_with_smtp(&[]).await;
    let (here, _) = app.signed_in("reset@example.com").await;
    let elsewhere = app.browser();
    assert_eq!(
        elsewhere
            .login("reset@example.com", PASSWORD)
            .await
            .status(),
        StatusCode::OK
    );
    let token = reset_token(&app, &smtp, "reset@example.com").await;

    let reader = app.browser();
    assert_eq!(
        reset(&reader, &token, NEW_PASSWORD).await.status(),
        StatusCode::NO_CONTENT
    );
    // Every session ends, its access token at once.
    here.assert_session_revoked().await;
    elsewhere.assert_session_revoked().await;
    assert!(
        reader.cookie("access_token").is_none(),
        "a reset signs nobody in"
    );

    let old = app.browser().login("reset@example.com", PASSWORD).await;
    assert_eq!(old.status(), StatusCode::UNAUTHORIZED);
    let new = app.browser().login("reset@example.com", NEW_PASSWORD).await;
    assert_eq!(new.status(), StatusCode::OK);
    let body: serde_json::Value = new.json().await.unwrap();
    assert_eq!(
        body["user"]["email_verified"], true,
        "the link proved the address"
    );

    let again = reset(&app.browser(), &token, "yet another passphrase").await;
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(again).await, "invalid_link");
}

#[tokio::test]
async fn a_reset_ends_every_other_reset_link_and_a_password_change_ends_them_all() {
    let (app, smtp) = spawn_with_smtp(&[]).await;
    let (browser, _) = app.signed_in("links@example.com").await;
    let first = reset_token(&app, &smtp, "links@example.com").await;
    let second = reset_token(&app, &smtp, "links@example.com").await;
    assert_ne!(first, second);
    assert_eq!(
        reset(&app.browser(), &second, NEW_PASSWORD).await.status(),
        StatusCode::NO_CONTENT
    );
    let stale = reset(&app.browser(), &first, "yet another passphrase").await;
    assert_eq!(stale.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(stale).await, "invalid_link");

    // A password change ends outstanding links too.
    let browser = {
        drop(browser);
        let fresh = app.browser();
        assert_eq!(
            fresh
                .login("links@example.com", NEW_PASSWORD)
                .await
                .status(),
            StatusCode::OK
        );
        fresh
    };
    let third = reset_token(&app, &smtp, "links@example.com").await;
    let change = browser
        .post_json(
            "/api/auth/password/change",
            &json!({"current_password": NEW_PASSWORD, "new_password": "the third passphrase"}),
        )
        .await;
    assert_eq!(change.status(), StatusCode::NO_CONTENT);
    let after_change = reset(&app.browser(), &third, "yet another passphrase").await;
    assert_eq!(after_change.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(after_change).await, "invalid_link");
}

#[tokio::test]
async fn a_reset_link_expires_after_thirty_minutes() {
    let (app, smtp) = spawn_with_smtp(&[]).await;
    app.signed_in("late@example.com").await;
    let token = reset_token(&app, &smtp, "late@example.com").await;
    app.advance(Duration::from_secs(30 * 60));
    let late = reset(&app.browser(), &token, NEW_PASSWORD).await;
    assert_eq!(late.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(late).await, "invalid_link");
    let old = app.browser().login("late@example.com", PASSWORD).await;
    assert_eq!(old.status(), StatusCode::OK, "nothing changed");
}

#[tokio::test]
async fn unknown_malformed_and_verification_tokens_are_not_reset_links() {
    let (app, smtp) = spawn_with_smtp(&[]).await;
    app.signed_in("purpose@example.com").await;
    let verification = verification_token(&smtp, "purpose@example.com", 1).await;
    let unknown = "A".repeat(43);
    for token in [
        verification.as_str(),
        unknown.as_str(),
        "",
        "short",
        &"x".repeat(5000),
    ] {
        let response = reset(&app.browser(), token, NEW_PASSWORD).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{token:.20}");
        assert_eq!(error_code(response).await, "invalid_link");
    }
    let old = app.browser().login("purpose@example.com", PASSWORD).await;
    assert_eq!(old.status(), StatusCode::OK, "nothing changed");
}

#[tokio::test]
async fn a_token_resets_only_its_own_account() {
    let (app, smtp) = spawn_with_smtp(&[]).await;
    let (alice, _) = app.signed_in("alice@example.com").await;
    app.signed_in("bob@example.com").await;
    let bobs = reset_token(&app, &smtp, "bob@example.com").await;
    // Alice, signed in, posts Bob's token: Bob's password changes, not hers.
    assert_eq!(
        reset(&alice, &bobs, NEW_PASSWORD).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        alice.get("/api/me").await.status(),
        StatusCode::OK,
        "her session stays"
    );
    let hers = app.browser().login("alice@example.com", PASSWORD).await;
    assert_eq!(hers.status(), StatusCode::OK);
    let his = app.browser().login("bob@example.com", NEW_PASSWORD).await;
    assert_eq!(his.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_refused_new_password_keeps_the_link_usable() {
    let (app, smtp) = spawn_with_smtp(&[]).await;
    app.signed_in("weak@example.com").await;
    let token = reset_token(&app, &smtp, "weak@example.com").await;
    for (password, code) in [
        ("short", "weak_password"),
        ("password123", "weak_password"),
        ("weak-weak-weak", "weak_password"),
        (&*"x".repeat(129), "password_too_long"),
    ] {
        let response = reset(&app.browser(), &token, password).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{password:.20}"
        );
        assert_eq!(error_code(response).await, code);
    }
    assert_eq!(
        reset(&app.browser(), &token, NEW_PASSWORD).await.status(),
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn parallel_resets_with_one_link_succeed_once() {
    let (app, smtp) = spawn_with_smtp(&[]).await;
    app.signed_in("race@example.com").await;
    let token = reset_token(&app, &smtp, "race@example.com").await;
    let attempts = (0..8).map(|i| {
        let browser = app.browser();
        let token = token.clone();
        async move {
            reset(&browser, &token, &format!("racing passphrase number {i}"))
                .await
                .status()
        }
    });
    let statuses = futures::future::join_all(attempts).await;
    let won = statuses
        .iter()
        .filter(|s| **s == StatusCode::NO_CONTENT)
        .count();
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::BAD_REQUEST)
        .count();
    assert_eq!((won, refused), (1, 7), "{statuses:?}");
}

#[tokio::test]
async fn bad_bodies_are_refused_and_send_nothing() {
    let (app, smtp) = spawn_with_smtp(&[]).await;
    app.signed_in("body@example.com").await;
    let browser = app.browser();
    for (path, body) in [
        ("/api/auth/password/forgot", json!({})),
        ("/api/auth/password/forgot", json!({"email": 5})),
        (
            "/api/auth/password/forgot",
            json!({"email": "body@example.com", "role": "admin"}),
        ),
        ("/api/auth/password/forgot", json!(["body@example.com"])),
        ("/api/auth/password/reset", json!({"token": "x"})),
        (
            "/api/auth/password/reset",
            json!({"token": 1, "password": NEW_PASSWORD}),
        ),
        ("/api/auth/email/verify", json!({"token": null})),
        (
            "/api/auth/email/verify",
            json!({"token": "x", "extra": true}),
        ),
    ] {
        let response = browser.post_json(path, &body).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{path} {body}"
        );
        assert_eq!(error_code(response).await, "invalid_body");
    }
    let nested = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let response = browser
        .send(
            browser
                .request(reqwest::Method::POST, "/api/auth/password/forgot")
                .header("content-type", "application/json")
                .body(nested),
        )
        .await;
    assert!(response.status().is_client_error(), "{}", response.status());
    let huge = json!({"email": format!("{}@example.com", "a".repeat(20_000))});
    let response = browser.post_json("/api/auth/password/forgot", &huge).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // Only the verification email of the registration went out.
    assert_eq!(
        nth_mail(&smtp, "body@example.com", VERIFY, 1)
            .await
            .subject(),
        VERIFY
    );
    assert_eq!(smtp.count_to("body@example.com"), 1);
}

#[tokio::test]
async fn reset_requests_are_throttled_per_email_silently_and_per_ip_with_429() {
    let (app, smtp) = spawn_with_smtp(&[]).await;
    app.signed_in("flood@example.com").await;
    let browser = app.browser();
    for _ in 0..8 {
        assert_eq!(
            forgot(&browser, "flood@example.com").await.status(),
            StatusCode::ACCEPTED
        );
    }
    // Five reset emails (and the verification email): the rest were counted and dropped.
    assert!(
        eventually(MAIL_WAIT, || async {
            smtp.count_to("flood@example.com") >= 6
        })
        .await
    );
    // Another address from the same IP still gets its link.
    app.signed_in("other@example.com").await;
    reset_token(&app, &smtp, "other@example.com").await;
    assert_eq!(
        smtp.count_to("flood@example.com"),
        6,
        "1 verification + 5 reset emails"
    );

    // The IP: 100 requests in 15 minutes (9 made above), then 429.
    for i in 9..100 {
        let response = forgot(&browser, &format!("someone{i}@example.com")).await;
        assert_eq!(response.status(), StatusCode::ACCEPTED, "request {i}");
    }
    let refused = forgot(&browser, "one-more@example.com").await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers().contains_key("retry-after"));
    assert_eq!(error_code(refused).await, "too_many_attempts");
    // Sign-in from that IP is not affected: the counts are separate.
    let login = app.browser().login("other@example.com", PASSWORD).await;
    assert_eq!(login.status(), StatusCode::OK);
}

#[tokio::test]
async fn registration_emails_a_verification_link_that_verifies_once() {
    let (app, smtp) = spawn_with_smtp(&[]).await;
    let (browser, body) = app.signed_in("verify@example.com").await;
    let me: serde_json::Value = browser.get("/api/me").await.json().await.unwrap();
    assert_eq!(me["user"]["email_verified"], false);
    assert_eq!(me["user"]["mfa_enabled"], false);
    let _ = body;

    let mail = nth_mail(&smtp, "verify@example.com", VERIFY, 1).await;
    let token = token_of(&mail.link("http://localhost:3000/verify-email#token="));
    // Any browser may open the link: it needs no session.
    assert_eq!(
        verify(&app.browser(), &token).await.status(),
        StatusCode::NO_CONTENT
    );
    let me: serde_json::Value = browser.get("/api/me").await.json().await.unwrap();
    assert_eq!(me["user"]["email_verified"], true);

    let again = verify(&app.browser(), &token).await;
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(again).await, "invalid_link");
    for token in ["", "short", &"A".repeat(43)] {
        let response = verify(&app.browser(), token).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(error_code(response).await, "invalid_link");
    }
}

#[tokio::test]
async fn a_verification_link_expires_after_a_day() {
    let (app, smtp) = spawn_with_smtp(&[]).await;
    let (browser, _) = app.signed_in("slow@example.com").await;
    let token = verification_token(&smtp, "slow@example.com", 1).await;
    app.advance(Duration::from_secs(24 * 3600));
    let late = verify(&app.browser(), &token).await;
    assert_eq!(late.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(late).await, "invalid_link");
    let _ = browser;
}

#[tokio::test]
async fn resend_sends_at_most_one_link_a_minute_and_none_once_verified() {
    let (app, smtp) = spawn_with_smtp(&[]).await;
    let (browser, _) = app.signed_in("resend@example.com").await;
    verification_token(&smtp, "resend@example.com", 1).await;

    let soon = browser.post("/api/auth/email/resend").await;
    assert_eq!(soon.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: i64 = soon.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");

    app.advance(Duration::from_secs(60));
    let parallel = (0..5).map(|_| browser.post("/api/auth/email/resend"));
    let statuses: Vec<_> = futures::future::join_all(parallel)
        .await
        .iter()
        .map(reqwest::Response::status)
        .collect();
    let sent = statuses
        .iter()
        .filter(|s| **s == StatusCode::ACCEPTED)
        .count();
    assert_eq!(sent, 1, "one of parallel resends sends: {statuses:?}");
    assert!(
        eventually(MAIL_WAIT, || async {
            smtp.count_to("resend@example.com") == 2
        })
        .await
    );
    let token = verification_token(&smtp, "resend@example.com", 2).await;
    assert_eq!(
        verify(&browser, &token).await.status(),
        StatusCode::NO_CONTENT
    );

    app.advance(Duration::from_secs(61));
    assert_eq!(
        browser.post("/api/auth/email/resend").await.status(),
        StatusCode::ACCEPTED
    );
    // Once verified, nothing more is sent; and without a session, resend is refused.
    assert_eq!(smtp.count_to("resend@example.com"), 2);
    let anonymous = app.browser().post("/api/auth/email/resend").await;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn with_verified_emails_required_sign_in_waits_for_the_link() {
    let (app, smtp) = spawn_with_smtp(&["--require-verified-email", "true"]).await;
    let browser = app.browser();
    let registered = browser.register("strict@example.com", PASSWORD).await;
    assert_eq!(registered.status(), StatusCode::CREATED);
    assert!(set_cookies(&registered).is_empty(), "no session cookies");
    let body: serde_json::Value = registered.json().await.unwrap();
    assert_eq!(body["user"]["email"], "strict@example.com");
    assert_eq!(body["user"]["email_verified"], false);
    assert!(body.get("session").is_none(), "{body}");
    assert_eq!(
        browser.get("/api/me").await.status(),
        StatusCode::UNAUTHORIZED
    );

    // A wrong password says only that; the right one says the email is not verified.
    let wrong = app
        .browser()
        .login("strict@example.com", "not the password")
        .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(wrong).await, "invalid_credentials");
    let unverified = app.browser().login("strict@example.com", PASSWORD).await;
    assert_eq!(unverified.status(), StatusCode::FORBIDDEN);
    assert!(set_cookies(&unverified).is_empty());
    assert_eq!(error_code(unverified).await, "email_not_verified");

    let token = verification_token(&smtp, "strict@example.com", 1).await;
    assert_eq!(
        verify(&app.browser(), &token).await.status(),
        StatusCode::NO_CONTENT
    );
    let signed_in = app.browser().login("strict@example.com", PASSWORD).await;
    assert_eq!(signed_in.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_refused_sign_in_sends_a_new_verification_link_at_most_once_a_minute() {
    let (app, smtp) = spawn_with_smtp(&["--require-verified-email", "true"]).await;
    app.browser().register("lost@example.com", PASSWORD).await;
    verification_token(&smtp, "lost@example.com", 1).await;
    app.advance(Duration::from_secs(60));
    for _ in 0..3 {
        let response = app.browser().login("lost@example.com", PASSWORD).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
    }
    assert!(
        eventually(MAIL_WAIT, || async {
            smtp.count_to("lost@example.com") == 2
        })
        .await
    );
    // Both links work until one is used.
    let token = verification_token(&smtp, "lost@example.com", 2).await;
    assert_eq!(
        verify(&app.browser(), &token).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(smtp.count_to("lost@example.com"), 2);
}

#[tokio::test]
async fn a_failed_send_is_retried() {
    // A listener that takes the first connection and hangs up, as a mail server that is
    // down would; then the real server starts on that port.
    let refusing = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = refusing.local_addr().unwrap();
    let url = format!("smtp://{addr}?tls=none");
    let app = spawn_app_with(&["--mail-url", &url], |config| {
        config.mail_retry_delays = vec![Duration::from_millis(200); 20];
    })
    .await;
    let registered = app.browser().register("retry@example.com", PASSWORD).await;
    assert_eq!(registered.status(), StatusCode::CREATED);
    let (first, _) = tokio::time::timeout(MAIL_WAIT, refusing.accept())
        .await
        .expect("the backend tries to send")
        .unwrap();
    drop(first);
    drop(refusing);
    let smtp = SmtpServer::start_on(addr);
    let mail = smtp.wait_for("retry@example.com", MAIL_WAIT).await;
    assert_eq!(mail.subject(), "Verify your email");
}

#[tokio::test]
async fn emails_in_a_folder_are_eml_files_with_the_link() {
    let app = spawn_app().await;
    app.signed_in("folder@example.com").await;
    let dir = app.mail_dir.path().to_owned();
    let found = eventually(MAIL_WAIT, || {
        let dir = dir.clone();
        async move {
            std::fs::read_dir(&dir)
                .map(|entries| {
                    entries
                        .flatten()
                        .any(|e| e.path().extension().is_some_and(|x| x == "eml"))
                })
                .unwrap_or(false)
        }
    })
    .await;
    assert!(found, "an .eml file in {}", dir.display());
    let eml = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .find(|e| e.path().extension().is_some_and(|x| x == "eml"))
        .unwrap();
    let raw = std::fs::read_to_string(eml.path()).unwrap();
    assert!(raw.contains("To: folder@example.com"), "{raw}");
    assert!(raw.contains("Subject: Verify your email"), "{raw}");
    let unfolded = raw.replace("=\r\n", "").replace("=\n", "");
    assert!(
        unfolded.contains("http://localhost:3000/verify-email#token="),
        "{raw}"
    );
}

#[tokio::test]
async fn addresses_refused_for_good_are_not_retried_and_hold_up_no_other_mail() {
    let (app, smtp) = spawn_with_smtp(&[]).await;
    smtp.refuse_recipients_containing("gone");
    smtp.defer_recipients_containing("busy");
    // Many more than the outbox sends at once; the deferred ones wait to retry (after
    // 5 s, then 30 s, …) without holding a sending slot.
    for i in 0..12 {
        app.signed_in(&format!("gone{i}@example.com")).await;
        app.signed_in(&format!("busy{i}@example.com")).await;
    }
    app.signed_in("fine@example.com").await;
    let mail = nth_mail(&smtp, "fine@example.com", VERIFY, 1).await;
    assert_eq!(mail.subject(), VERIFY);
    assert!(smtp.received().iter().all(|m| m.to == ["fine@example.com"]));
}

#[tokio::test]
async fn a_refusal_for_good_ends_the_letter_at_once() {
    let smtp = SmtpServer::start();
    smtp.refuse_recipients_containing("gone");
    let url = smtp.mail_url();
    let app = spawn_app_with(&["--mail-url", &url], |config| {
        config.mail_retry_delays = vec![Duration::from_secs(30)];
    })
    .await;
    app.signed_in("gone@example.com").await;
    // Retried, it would still be waiting for its 30 s delay.
    let left = app
        .state
        .recovery
        .outbox
        .drain(Duration::from_secs(5))
        .await;
    assert_eq!(left, 0, "the letter is given up, not retried");
}

#[tokio::test]
async fn smtp_without_options_sends_nothing_to_a_server_without_starttls() {
    let smtp = SmtpServer::start();
    let url = format!("smtp://{}", smtp.addr());
    let app = spawn_app_with(&["--mail-url", &url], |config| {
        config.mail_retry_delays = Vec::new();
    })
    .await;
    app.signed_in("clear-text@example.com").await;
    let left = app.state.recovery.outbox.drain(MAIL_WAIT).await;
    assert_eq!(left, 0, "the one attempt is over");
    assert!(smtp.received().is_empty(), "nothing was sent in clear text");
}

#[tokio::test]
async fn a_reset_lets_the_owner_in_past_an_attackers_guesses() {
    let (app, smtp) = spawn_with_smtp(&[]).await;
    let (owner, _) = app.signed_in("besieged@example.com").await;
    for _ in 0..8 {
        app.browser()
            .login("besieged@example.com", "a wrong guess")
            .await;
    }
    let stranger = app.browser().login("besieged@example.com", PASSWORD).await;
    assert_eq!(stranger.status(), StatusCode::TOO_MANY_REQUESTS);
    let token = reset_token(&app, &smtp, "besieged@example.com").await;
    let response = reset(&owner, &token, NEW_PASSWORD).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    set_cookie_line(&response, "device");
    let after = owner.login("besieged@example.com", NEW_PASSWORD).await;
    assert_eq!(
        after.status(),
        StatusCode::OK,
        "the owner signs in with the new password"
    );
}

#[tokio::test]
async fn a_disabled_account_gets_no_reset_link_and_its_links_stop_working() {
    let (app, smtp) = spawn_with_smtp(&[]).await;
    app.signed_in("quitter@example.com").await;
    app.signed_in("stayer@example.com").await;
    let token = reset_token(&app, &smtp, "quitter@example.com").await;
    let now = app.clock_now_ms();
    app.state
        .store
        .disable_user("quitter@example.com", now)
        .await
        .unwrap();
    let used = reset(&app.browser(), &token, NEW_PASSWORD).await;
    assert_eq!(used.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(used).await, "invalid_link");

    assert_eq!(
        forgot(&app.browser(), "quitter@example.com").await.status(),
        StatusCode::ACCEPTED
    );
    // Asked after it, another account's link arrives; the disabled one's never does.
    reset_token(&app, &smtp, "stayer@example.com").await;
    app.state.recovery.outbox.drain(MAIL_WAIT).await;
    assert_eq!(mails(&smtp, "quitter@example.com", RESET).len(), 1);
}

#[tokio::test]
async fn links_work_until_the_last_second_of_their_lifetime() {
    let (app, smtp) = spawn_with_smtp(&[]).await;
    app.signed_in("punctual@example.com").await;
    let verification = verification_token(&smtp, "punctual@example.com", 1).await;
    let token = reset_token(&app, &smtp, "punctual@example.com").await;
    app.advance(Duration::from_millis(30 * 60 * 1000 - 1000));
    assert_eq!(
        reset(&app.browser(), &token, NEW_PASSWORD).await.status(),
        StatusCode::NO_CONTENT
    );
    app.advance(Duration::from_millis(24 * 3600 * 1000 - 30 * 60 * 1000));
    assert_eq!(
        verify(&app.browser(), &verification).await.status(),
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn resend_needs_the_csrf_header_and_the_others_need_json() {
    let (app, _smtp) = spawn_with_smtp(&[]).await;
    let (browser, _) = app.signed_in("forms@example.com").await;
    app.advance(Duration::from_secs(61));
    let without = browser
        .send(browser.request_without_csrf(reqwest::Method::POST, "/api/auth/email/resend"))
        .await;
    assert_eq!(without.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(without).await, "csrf_rejected");
    for path in [
        "/api/auth/password/forgot",
        "/api/auth/password/reset",
        "/api/auth/email/verify",
    ] {
        let form = browser
            .send(
                browser
                    .request(reqwest::Method::POST, path)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body("email=forms%40example.com"),
            )
            .await;
        assert_eq!(form.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE, "{path}");
        let cross_site = browser
            .send(
                browser
                    .request(reqwest::Method::POST, path)
                    .header("sec-fetch-site", "cross-site")
                    .json(&json!({"email": "forms@example.com"})),
            )
            .await;
        assert_eq!(cross_site.status(), StatusCode::FORBIDDEN, "{path}");
    }
}

#[tokio::test]
async fn a_reset_racing_a_password_change_leaves_one_of_them_in_force() {
    let (app, smtp) = spawn_with_smtp(&[]).await;
    let (changer, _) = app.signed_in("racing@example.com").await;
    let token = reset_token(&app, &smtp, "racing@example.com").await;
    let resetter = app.browser();
    let change = json!({"current_password": PASSWORD, "new_password": "the changed passphrase"});
    let (reset_response, change_response) = tokio::join!(
        reset(&resetter, &token, "the reset passphrase"),
        changer.post_json("/api/auth/password/change", &change),
    );
    let (reset_status, change_status) = (reset_response.status(), change_response.status());
    let login = |password: &'static str| {
        let browser = app.browser();
        async move { browser.login("racing@example.com", password).await.status() }
    };
    if reset_status == StatusCode::NO_CONTENT {
        assert!(!change_status.is_success(), "both won: {change_status}");
        assert_eq!(login("the reset passphrase").await, StatusCode::OK);
        changer.assert_session_revoked().await;
    } else {
        assert_eq!(
            reset_status,
            StatusCode::BAD_REQUEST,
            "the change ended the link"
        );
        assert_eq!(change_status, StatusCode::NO_CONTENT);
        assert_eq!(login("the changed passphrase").await, StatusCode::OK);
        assert_eq!(changer.get("/api/me").await.status(), StatusCode::OK);
    }
}

#[tokio::test]
async fn the_answer_to_a_reset_request_waits_for_nothing_about_the_account() {
    let (app, smtp) = spawn_with_smtp(&[]).await;
    // PostgreSQL can lock the tables the lookup reads and writes while leaving the
    // throttle's free; SQLite's one writer would block the throttle too.
    if !app.db.url().starts_with("postgres") {
        return;
    }
    app.signed_in("patient@example.com").await;
    use sqlx::{Connection, Executor};
    let mut locker = sqlx::PgConnection::connect(app.db.url()).await.unwrap();
    locker.execute("BEGIN").await.unwrap();
    locker
        .execute("LOCK TABLE users, account_tokens IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    let answered = tokio::time::timeout(
        Duration::from_secs(2),
        forgot(&app.browser(), "patient@example.com"),
    )
    .await
    .expect("answered while the account's tables are locked");
    assert_eq!(answered.status(), StatusCode::ACCEPTED);
    locker.execute("ROLLBACK").await.unwrap();
    nth_mail(&smtp, "patient@example.com", RESET, 1).await;
}
