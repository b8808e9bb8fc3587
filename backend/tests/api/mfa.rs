//! TOTP as a second factor: set-up, confirmation with recovery codes, the 202 login and its
//! ticket, codes accepted once, the throttle, and turning it off.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use totp_rs::{Algorithm, Builder, Secret};

use backend::auth::sessions::Proof;

use crate::helpers::*;

/// The code an authenticator app shows for `secret` (base32) at `unix_secs`.
pub(crate) fn code_at(secret: &str, unix_secs: i64) -> String {
    let bytes = Secret::try_from_base32(secret).unwrap().as_bytes().to_vec();
    let totp = Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_step_duration(30)
        .with_secret(bytes)
        .build()
        .unwrap();
    totp.generate(u64::try_from(unix_secs).unwrap()).to_string()
}

/// A signed-in user with TOTP on: their browser, the secret and the recovery codes.
pub(crate) async fn with_totp(app: &TestApp, email: &str) -> (Browser, String, Vec<String>) {
    let (browser, _) = app.signed_in(email).await;
    let secret = new_secret(&browser).await;
    let code = code_at(&secret, app.clock_now());
    let confirmed = send_code(&browser, CONFIRM, &code).await;
    assert_eq!(confirmed.status(), StatusCode::OK);
    let body: Value = confirmed.json().await.unwrap();
    let codes = body["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    // The next code is another step's: the confirming one is used.
    app.advance(Duration::from_secs(30));
    (browser, secret, codes)
}

const CONFIRM: &str = "/api/auth/mfa/totp/confirm";
const DISABLE: &str = "/api/auth/mfa/totp/disable";

/// Posts `{code}` to `path`.
async fn send_code(browser: &Browser, path: &str, code: &str) -> reqwest::Response {
    browser.post_json(path, &json!({ "code": code })).await
}

/// The second step of a sign-in.
pub(crate) async fn verify(browser: &Browser, code: &str) -> reqwest::Response {
    send_code(browser, "/api/auth/mfa/verify", code).await
}

/// Sets TOTP up for the browser's user; returns the new secret (base32).
async fn new_secret(browser: &Browser) -> String {
    let setup: Value = browser
        .post("/api/auth/mfa/totp/setup")
        .await
        .json()
        .await
        .unwrap();
    setup["secret"].as_str().unwrap().to_owned()
}

/// A password login that must answer 202; returns the browser holding the ticket.
pub(crate) async fn first_step(app: &TestApp, email: &str) -> Browser {
    let browser = app.browser();
    let response = browser.login(email, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    browser
}

#[tokio::test]
async fn setup_gives_the_secret_uri_and_qr_code_and_changes_nothing_yet() {
    let app = spawn_app().await;
    let (browser, _) = app.signed_in("setup@example.com").await;
    let response = browser.post("/api/auth/mfa/totp/setup").await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let secret = body["secret"].as_str().unwrap();
    assert_eq!(
        Secret::try_from_base32(secret).unwrap().as_bytes().len(),
        20
    );
    let uri = body["otpauth_uri"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/"), "{uri}");
    assert!(uri.contains(&format!("secret={secret}")), "{uri}");
    assert!(uri.contains("issuer=localhost"), "{uri}");
    assert!(body["qr_svg"].as_str().unwrap().contains("<svg"));
    // Stored sealed, never as the secret itself.
    let stored = app
        .state
        .store
        .user_by_email("setup@example.com")
        .await
        .unwrap()
        .unwrap();
    let sealed = stored.totp_secret.unwrap();
    assert!(!sealed.contains(secret) && sealed.len() > 40);
    // Not required until confirmed.
    let login = app.browser().login("setup@example.com", PASSWORD).await;
    assert_eq!(login.status(), StatusCode::OK);
    let me: Value = browser.get("/api/me").await.json().await.unwrap();
    assert_eq!(me["user"]["mfa_enabled"], false);
}

#[tokio::test]
async fn confirming_turns_it_on_gives_ten_codes_and_ends_other_sessions() {
    let app = spawn_app().await;
    let (browser, _) = app.signed_in("confirm@example.com").await;
    let other = app.browser();
    assert_eq!(
        other.login("confirm@example.com", PASSWORD).await.status(),
        StatusCode::OK
    );
    let secret = &new_secret(&browser).await;
    let wrong = send_code(&browser, CONFIRM, "000000").await;
    assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(wrong).await, "invalid_code");
    let code = code_at(secret, app.clock_now());
    let right = send_code(&browser, CONFIRM, &code).await;
    assert_eq!(right.status(), StatusCode::OK);
    let body: Value = right.json().await.unwrap();
    let codes = body["recovery_codes"].as_array().unwrap();
    assert_eq!(codes.len(), 10);
    let distinct: std::collections::HashSet<_> = codes.iter().collect();
    assert_eq!(distinct.len(), 10);

    other.assert_session_revoked().await;
    let me: Value = browser.get("/api/me").await.json().await.unwrap();
    assert_eq!(me["user"]["mfa_enabled"], true, "this session stays");
    let again = browser.post("/api/auth/mfa/totp/setup").await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    assert_eq!(error_code(again).await, "mfa_already_enabled");
}

#[tokio::test]
async fn a_right_password_gets_a_ticket_and_a_code_completes_the_sign_in() {
    let app = spawn_app().await;
    let (_, secret, _) = with_totp(&app, "second@example.com").await;
    let browser = app.browser();
    let response = browser.login("second@example.com", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let ticket = set_cookie_line(&response, "mfa_ticket");
    for attribute in [
        "HttpOnly",
        "SameSite=Strict",
        "Path=/api/auth/mfa",
        "Max-Age=300",
    ] {
        assert!(ticket.contains(attribute), "{ticket}");
    }
    assert!(
        set_cookies(&response)
            .iter()
            .all(|line| !line.starts_with("access_token") && !line.starts_with("refresh_token"))
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({"mfa_required": ["totp", "recovery_code"]}));
    assert_eq!(
        browser.get("/api/me").await.status(),
        StatusCode::UNAUTHORIZED
    );

    let code = code_at(&secret, app.clock_now());
    let done = verify(&browser, &code).await;
    assert_eq!(done.status(), StatusCode::OK);
    assert!(set_cookie_line(&done, "mfa_ticket").contains("Max-Age=0"));
    let body: Value = done.json().await.unwrap();
    assert_eq!(body["user"]["mfa_enabled"], true);
    assert_eq!(browser.get("/api/me").await.status(), StatusCode::OK);

    // The same code, on another sign-in in the same 30 seconds: refused.
    let replay = first_step(&app, "second@example.com").await;
    let refused = verify(&replay, &code).await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(refused).await, "invalid_code");
    app.advance(Duration::from_secs(30));
    let next = code_at(&secret, app.clock_now());
    assert_eq!(verify(&replay, &next).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_code_replayed_in_parallel_signs_in_once() {
    let app = spawn_app().await;
    let (_, secret, _) = with_totp(&app, "parallel@example.com").await;
    let mut browsers = Vec::new();
    for _ in 0..4 {
        browsers.push(first_step(&app, "parallel@example.com").await);
    }
    let code = code_at(&secret, app.clock_now());
    let statuses: Vec<StatusCode> = futures::future::join_all(
        browsers
            .iter()
            .map(|browser| async { verify(browser, &code).await.status() }),
    )
    .await;
    let ok = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    assert_eq!(ok, 1, "{statuses:?}");
}

#[tokio::test]
async fn recovery_codes_work_once_in_any_case_and_spacing() {
    let app = spawn_app().await;
    let (_, _, codes) = with_totp(&app, "recover@example.com").await;
    let browser = first_step(&app, "recover@example.com").await;
    let typed = codes[3].to_uppercase().replace('-', " ");
    assert_eq!(verify(&browser, &typed).await.status(), StatusCode::OK);
    let again = first_step(&app, "recover@example.com").await;
    let used = verify(&again, &codes[3]).await;
    assert_eq!(used.status(), StatusCode::BAD_REQUEST);
    assert_eq!(verify(&again, &codes[4]).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_ticket_takes_five_tries_lives_five_minutes_and_cannot_be_forged() {
    let app = spawn_app().await;
    let (_, secret, _) = with_totp(&app, "tries@example.com").await;
    let browser = first_step(&app, "tries@example.com").await;
    for _ in 0..5 {
        let wrong = verify(&browser, "123456").await;
        assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
    }
    let right = code_at(&secret, app.clock_now());
    let spent = verify(&browser, &right).await;
    assert_eq!(spent.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(spent).await, "mfa_ticket_invalid");

    // Expired (another account: this one must now wait out its five failures).
    let (_, late_secret, _) = with_totp(&app, "late@example.com").await;
    let late = first_step(&app, "late@example.com").await;
    app.advance(Duration::from_secs(5 * 60));
    let expired = verify(&late, &code_at(&late_secret, app.clock_now())).await;
    assert_eq!(expired.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(expired).await, "mfa_ticket_invalid");

    let none = app.browser();
    let missing = verify(&none, "123456").await;
    assert_eq!(error_code(missing).await, "mfa_ticket_invalid");
    none.set_cookie("mfa_ticket", &"A".repeat(43));
    let forged = verify(&none, "123456").await;
    assert_eq!(error_code(forged).await, "mfa_ticket_invalid");
}

#[tokio::test]
async fn parallel_tries_on_one_ticket_get_at_most_five_checks() {
    let app = spawn_app().await;
    with_totp(&app, "flood@example.com").await;
    let browser = first_step(&app, "flood@example.com").await;
    let statuses: Vec<StatusCode> = futures::future::join_all(
        (0..12).map(|_| async { verify(&browser, "654321").await.status() }),
    )
    .await;
    let checked = statuses
        .iter()
        .filter(|s| **s == StatusCode::BAD_REQUEST)
        .count();
    assert!(checked <= 5, "{statuses:?}");
    assert!(
        statuses.iter().all(|s| [
            StatusCode::BAD_REQUEST,
            StatusCode::UNAUTHORIZED,
            StatusCode::TOO_MANY_REQUESTS
        ]
        .contains(s)),
        "{statuses:?}"
    );
}

#[tokio::test]
async fn wrong_codes_count_like_failed_sign_ins_and_a_right_password_does_not_forgive_them() {
    let app = spawn_app().await;
    with_totp(&app, "guessed@example.com").await;
    // A thief with the password but no phone (and no device cookie of the owner's).
    for _ in 0..4 {
        let thief = first_step(&app, "guessed@example.com").await;
        assert_eq!(
            verify(&thief, "111111").await.status(),
            StatusCode::BAD_REQUEST
        );
    }
    let thief = first_step(&app, "guessed@example.com").await;
    assert_eq!(
        verify(&thief, "222222").await.status(),
        StatusCode::BAD_REQUEST
    );
    // Five wrong codes: the account is delayed, for passwords and codes alike.
    let delayed = app.browser().login("guessed@example.com", PASSWORD).await;
    assert_eq!(delayed.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(delayed.headers().contains_key("retry-after"));
}

#[tokio::test]
async fn turning_it_off_needs_a_code() {
    let app = spawn_app().await;
    let (browser, secret, codes) = with_totp(&app, "off@example.com").await;
    let wrong = send_code(&browser, DISABLE, "999999").await;
    assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(wrong).await, "invalid_code");
    let code = code_at(&secret, app.clock_now());
    let off = send_code(&browser, DISABLE, &code).await;
    assert_eq!(off.status(), StatusCode::NO_CONTENT);
    let me: Value = browser.get("/api/me").await.json().await.unwrap();
    assert_eq!(me["user"]["mfa_enabled"], false);
    let login = app.browser().login("off@example.com", PASSWORD).await;
    assert_eq!(
        login.status(),
        StatusCode::OK,
        "a password alone signs in again"
    );
    // Its recovery codes went with it.
    let again = send_code(&browser, DISABLE, &codes[0]).await;
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn mfa_endpoints_refuse_bad_bodies_and_strangers() {
    let app = spawn_app().await;
    let (browser, _) = app.signed_in("bodies@example.com").await;
    for path in [
        "/api/auth/mfa/totp/confirm",
        "/api/auth/mfa/totp/disable",
        "/api/auth/mfa/verify",
    ] {
        for body in [
            json!({}),
            json!({"code": 123456}),
            json!({"code": "1", "x": 1}),
        ] {
            let response = browser.post_json(path, &body).await;
            assert_eq!(
                response.status(),
                StatusCode::UNPROCESSABLE_ENTITY,
                "{path} {body}"
            );
        }
    }
    let stranger = app.browser();
    for path in [
        "/api/auth/mfa/totp/setup",
        "/api/auth/mfa/totp/confirm",
        "/api/auth/mfa/totp/disable",
    ] {
        let response = stranger.post_json(path, &json!({"code": "123456"})).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
    let cross = browser
        .send(
            browser
                .request(reqwest::Method::POST, "/api/auth/mfa/verify")
                .header("sec-fetch-site", "cross-site")
                .json(&json!({"code": "123456"})),
        )
        .await;
    assert_eq!(cross.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn an_operator_removes_the_second_factor_of_a_user_who_lost_their_phone() {
    let app = spawn_app().await;
    let (browser, _, _) = with_totp(&app, "lost-phone@example.com").await;
    let mut phone = testkit::passkey::SoftAuthenticator::new("http://localhost:3000");
    let added = add_passkey(&browser, &mut phone, "Phone").await;
    assert_eq!(added.status(), StatusCode::CREATED);
    // Codes the owner guessed without the phone have the account delayed.
    for _ in 0..5 {
        let guess = first_step(&app, "lost-phone@example.com").await;
        assert_eq!(
            verify(&guess, "000000").await.status(),
            StatusCode::BAD_REQUEST
        );
    }
    let delayed = app
        .browser()
        .login("lost-phone@example.com", PASSWORD)
        .await;
    assert_eq!(delayed.status(), StatusCode::TOO_MANY_REQUESTS);
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_backend"))
        .args(["user", "mfa-reset", "--email", "Lost-Phone@example.com"])
        .env("DATABASE_URL", app.db.url())
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    // The CLI is another process: the server learns of the revocation by polling.
    let revoked = eventually(Duration::from_secs(1), || async {
        browser.get("/api/me").await.status() == StatusCode::UNAUTHORIZED
    })
    .await;
    assert!(revoked, "the sessions end");
    let login = app
        .browser()
        .login("lost-phone@example.com", PASSWORD)
        .await;
    assert_eq!(
        login.status(),
        StatusCode::OK,
        "a password alone signs in again, at once"
    );
    let unknown = std::process::Command::new(env!("CARGO_BIN_EXE_backend"))
        .args(["user", "mfa-reset", "--email", "nobody@example.com"])
        .env("DATABASE_URL", app.db.url())
        .output()
        .unwrap();
    assert!(!unknown.status.success());
}

#[tokio::test]
async fn a_password_sign_in_racing_the_confirmation_gets_no_session() {
    let app = spawn_app().await;
    app.signed_in("racer@example.com").await;
    // The row a password sign-in read before TOTP was turned on, its hash already checked.
    let before = app
        .state
        .store
        .user_by_email("racer@example.com")
        .await
        .unwrap()
        .unwrap();
    // Turn TOTP on for the first user through the API.
    let owner = app.browser();
    assert_eq!(
        owner.login("racer@example.com", PASSWORD).await.status(),
        StatusCode::OK
    );
    let secret = new_secret(&owner).await;
    let code = code_at(&secret, app.clock_now());
    let confirmed = send_code(&owner, CONFIRM, &code).await;
    assert_eq!(confirmed.status(), StatusCode::OK);
    let client = direct_client();
    let late = app
        .state
        .sessions
        .start(before.clone(), client.clone(), Proof::Password)
        .await;
    assert!(
        late.is_err(),
        "a password alone started a session on a TOTP account"
    );
    assert!(
        app.live_sessions(&before.id).await.len() == 1,
        "only the owner's"
    );
    let with_code = app
        .state
        .sessions
        .start(before, client, Proof::SecondFactor)
        .await;
    assert!(with_code.is_ok());
}

/// A second step whose code was accepted just before an operator's `mfa-reset` committed
/// gets no session: the reset revokes every session of the account, and none may start
/// after it on the strength of a factor it removed.
#[tokio::test]
async fn a_second_step_racing_an_mfa_reset_gets_no_session() {
    let app = spawn_app().await;
    let email = "reset-racer@example.com";
    with_totp(&app, email).await;
    // The row the second step read, its password and code already checked.
    let before = app.state.store.user_by_email(email).await.unwrap().unwrap();
    let reset = app.state.store.reset_mfa(email, app.clock_now_ms()).await;
    assert!(reset.unwrap().is_some());
    let late = app
        .state
        .sessions
        .start(before.clone(), direct_client(), Proof::SecondFactor)
        .await;
    assert!(late.is_err(), "a removed second factor started a session");
    assert!(app.live_sessions(&before.id).await.is_empty());
}

#[tokio::test]
async fn turning_it_off_is_throttled_like_a_sign_in() {
    let app = spawn_app().await;
    let (browser, secret, _) = with_totp(&app, "stolen-session@example.com").await;
    for _ in 0..5 {
        let wrong = send_code(&browser, DISABLE, "000000").await;
        assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
    }
    let code = code_at(&secret, app.clock_now());
    let delayed = send_code(&browser, DISABLE, &code).await;
    assert_eq!(delayed.status(), StatusCode::TOO_MANY_REQUESTS);
    let me: Value = browser.get("/api/me").await.json().await.unwrap();
    assert_eq!(me["user"]["mfa_enabled"], true);
}

#[tokio::test]
async fn a_password_reset_does_not_forgive_wrong_codes() {
    let app = spawn_app().await;
    with_totp(&app, "mailbox-thief@example.com").await;
    for _ in 0..5 {
        let thief = first_step(&app, "mailbox-thief@example.com").await;
        assert_eq!(
            verify(&thief, "111111").await.status(),
            StatusCode::BAD_REQUEST
        );
    }
    // Whoever holds the mailbox resets the password.
    let user = app
        .state
        .store
        .user_by_email("mailbox-thief@example.com")
        .await
        .unwrap()
        .unwrap();
    let token = "R".repeat(43);
    let now = app.clock_now_ms();
    let stored = app
        .state
        .store
        .insert_account_token(
            backend::store::NewAccountToken {
                token_hash: &backend::crypto::sha256_hex(&token),
                user_id: &user.id,
                purpose: backend::store::TokenPurpose::ResetPassword,
                now,
                expires_at: now + 60_000,
            },
            &user.password_hash,
        )
        .await
        .unwrap();
    assert!(stored);
    let reset = app
        .browser()
        .post_json(
            "/api/auth/password/reset",
            &json!({"token": token, "password": "the thief's passphrase"}),
        )
        .await;
    assert_eq!(reset.status(), StatusCode::NO_CONTENT);
    let next = app
        .browser()
        .login("mailbox-thief@example.com", "the thief's passphrase")
        .await;
    assert_eq!(
        next.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "the wrong codes still count"
    );
}

#[tokio::test]
async fn a_session_signed_in_long_ago_cannot_turn_it_on_or_off() {
    let app = spawn_app().await;
    // Set up at sign-in, confirmed after the window: refused, nothing on.
    let (late, _) = app.signed_in("slow@example.com").await;
    let secret = new_secret(&late).await;
    app.advance(Duration::from_secs(10 * 60 + 1));
    assert_eq!(late.refresh().await.status(), StatusCode::OK);
    let code = code_at(&secret, app.clock_now());
    let confirmed = send_code(&late, CONFIRM, &code).await;
    assert_eq!(confirmed.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(confirmed).await, "reauthentication_required");
    let again = late.post("/api/auth/mfa/totp/setup").await;
    assert_eq!(again.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(again).await, "reauthentication_required");
    let me: Value = late.get("/api/me").await.json().await.unwrap();
    assert_eq!(me["user"]["mfa_enabled"], false);

    // On, then a right code from a session that signed in long ago: still on.
    let (old, secret, codes) = with_totp(&app, "left-open@example.com").await;
    app.advance(Duration::from_secs(10 * 60));
    assert_eq!(old.refresh().await.status(), StatusCode::OK);
    let code = code_at(&secret, app.clock_now());
    let off = send_code(&old, DISABLE, &code).await;
    assert_eq!(off.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(off).await, "reauthentication_required");
    let me: Value = old.get("/api/me").await.json().await.unwrap();
    assert_eq!(me["user"]["mfa_enabled"], true);

    // Signing in again (password and code) is what it takes.
    let fresh = first_step(&app, "left-open@example.com").await;
    assert_eq!(verify(&fresh, &codes[0]).await.status(), StatusCode::OK);
    let off = send_code(&fresh, DISABLE, &codes[1]).await;
    assert_eq!(off.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn a_session_ended_while_confirming_does_not_turn_it_on() {
    let app = spawn_app().await;
    let (browser, auth) = app.signed_in("ended@example.com").await;
    let secret = new_secret(&browser).await;
    // "Sign out everywhere" from another device commits after this request's access token
    // was checked: the confirmation itself must see it.
    app.state
        .store
        .revoke_session(&auth.session.id, None, app.clock_now_ms())
        .await
        .unwrap();
    let code = code_at(&secret, app.clock_now());
    let confirmed = app
        .state
        .mfa
        .confirm(&auth.user.id, &auth.session.id, &code)
        .await;
    assert_eq!(
        confirmed.err().map(|error| error.code()),
        Some(shared::ErrorCode::ReauthenticationRequired)
    );
    let user = app.user(&auth.user.id).await;
    assert!(user.totp_enabled_at.is_none(), "TOTP stayed off");
}

#[tokio::test]
async fn a_ticket_ends_when_its_password_changes_or_totp_is_turned_off() {
    let app = spawn_app().await;
    let (owner, secret, _) = with_totp(&app, "ticket@example.com").await;
    // A thief's password step, then the owner changes the password.
    let thief = first_step(&app, "ticket@example.com").await;
    let changed = owner
        .post_json(
            "/api/auth/password/change",
            &json!({"current_password": PASSWORD, "new_password": "a new long passphrase"}),
        )
        .await;
    assert_eq!(changed.status(), StatusCode::NO_CONTENT);
    let late = verify(&thief, &code_at(&secret, app.clock_now())).await;
    assert_eq!(late.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(late).await, "mfa_ticket_invalid");

    // A ticket from before TOTP was turned off and on again is no good either.
    let (owner, secret, codes) = with_totp(&app, "cycle@example.com").await;
    let waiting = first_step(&app, "cycle@example.com").await;
    let off = send_code(&owner, DISABLE, &codes[0]).await;
    assert_eq!(off.status(), StatusCode::NO_CONTENT);
    app.advance(Duration::from_millis(1));
    let renewed = new_secret(&owner).await;
    assert_ne!(renewed, secret);
    let on = send_code(&owner, CONFIRM, &code_at(&renewed, app.clock_now())).await;
    assert_eq!(on.status(), StatusCode::OK);
    app.advance(Duration::from_secs(30));
    let stale = verify(&waiting, &code_at(&renewed, app.clock_now())).await;
    assert_eq!(stale.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(stale).await, "mfa_ticket_invalid");
}
