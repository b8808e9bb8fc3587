//! Passkeys with a software authenticator: adding, listing and removing them, signing in
//! with one (no email, no password), and the ways a ceremony or an assertion is refused.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use testkit::passkey::SoftAuthenticator;

use backend::auth::sessions::Proof;

use crate::helpers::*;

/// The origin the server's relying party is (`PUBLIC_URL`'s default in development).
const ORIGIN: &str = "http://localhost:3000";

/// The passkeys the browser's user has, as listed.
async fn listed(browser: &Browser) -> Value {
    browser
        .get("/api/auth/passkeys")
        .await
        .json()
        .await
        .unwrap()
}

/// Request options for a passkey sign-in, asked for in `browser`.
async fn start_login(browser: &Browser) -> Value {
    browser
        .post("/api/auth/passkeys/login/start")
        .await
        .json()
        .await
        .unwrap()
}

/// Posts an assertion (or anything in its place) to finish a passkey sign-in in `browser`.
async fn finish_login_in(browser: &Browser, credential: &Value) -> reqwest::Response {
    browser
        .post_json(
            "/api/auth/passkeys/login/finish",
            &json!({ "credential": credential }),
        )
        .await
}

/// Request options for a passkey sign-in, in a browser of its own.
async fn login_options(app: &TestApp) -> Value {
    start_login(&app.browser()).await
}

/// Finishes a passkey sign-in in a browser of its own.
async fn finish_login(app: &TestApp, credential: &Value) -> reqwest::Response {
    finish_login_in(&app.browser(), credential).await
}

/// Creation options for a new passkey of the browser's user.
async fn register_options(browser: &Browser) -> Value {
    browser
        .post("/api/auth/passkeys/register/start")
        .await
        .json()
        .await
        .unwrap()
}

/// Posts a new credential and its name.
async fn finish_register(browser: &Browser, credential: &Value, name: &str) -> reqwest::Response {
    browser
        .post_json(
            "/api/auth/passkeys/register/finish",
            &json!({ "credential": credential, "name": name }),
        )
        .await
}

/// Checks that the IP has exactly `left` passkey sign-in starts left in the window: that
/// many are answered, the next is refused (429); returns the refusal.
async fn assert_starts_left(app: &TestApp, left: usize) -> reqwest::Response {
    for i in 0..left {
        let start = app.browser().post("/api/auth/passkeys/login/start").await;
        assert_eq!(start.status(), StatusCode::OK, "start {i} of {left}");
    }
    let refused = app.browser().post("/api/auth/passkeys/login/start").await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    refused
}

/// Signs in with `authenticator` (its newest credential for the site) in `browser`.
async fn passkey_login(
    browser: &Browser,
    authenticator: &mut SoftAuthenticator,
) -> reqwest::Response {
    let options = start_login(browser).await;
    let credential = authenticator.get(&options, None).unwrap();
    finish_login_in(browser, &credential).await
}

#[tokio::test]
async fn passkeys_are_added_listed_and_sign_in_without_email_or_password() {
    let app = spawn_app().await;
    let (browser, _) = app.signed_in("keys@example.com").await;
    let elsewhere = app.browser();
    assert_eq!(
        elsewhere.login("keys@example.com", PASSWORD).await.status(),
        StatusCode::OK
    );
    let mut laptop = SoftAuthenticator::new(ORIGIN);
    let added = add_passkey(&browser, &mut laptop, "Laptop").await;
    assert_eq!(added.status(), StatusCode::CREATED);
    let body: Value = added.json().await.unwrap();
    assert_eq!(body["name"], "Laptop");
    assert!(body["last_used_at"].is_null());
    // The first passkey ends the other sessions; this one stays.
    elsewhere.assert_session_revoked().await;
    assert_eq!(browser.get("/api/me").await.status(), StatusCode::OK);

    app.advance(Duration::from_secs(1));
    let mut phone = SoftAuthenticator::new(ORIGIN);
    assert_eq!(
        add_passkey(&browser, &mut phone, "Phone").await.status(),
        StatusCode::CREATED
    );
    let list = listed(&browser).await;
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Laptop", "Phone"]);

    for authenticator in [&mut laptop, &mut phone] {
        let fresh = app.browser();
        let signed_in = passkey_login(&fresh, authenticator).await;
        assert_eq!(signed_in.status(), StatusCode::OK);
        set_cookie_line(&signed_in, "device");
        let body: Value = signed_in.json().await.unwrap();
        assert_eq!(body["user"]["email"], "keys@example.com");
        assert_eq!(fresh.get("/api/me").await.status(), StatusCode::OK);
    }
    let list = listed(&browser).await;
    assert!(list[0]["last_used_at"].is_i64());
}

#[tokio::test]
async fn a_passkey_satisfies_the_second_factor() {
    let app = spawn_app().await;
    let (browser, _) = app.signed_in("both@example.com").await;
    let mut key = SoftAuthenticator::new(ORIGIN);
    assert_eq!(
        add_passkey(&browser, &mut key, "Key").await.status(),
        StatusCode::CREATED
    );
    // TOTP on too: a password now needs a code, a passkey does not.
    let setup: Value = browser
        .post("/api/auth/mfa/totp/setup")
        .await
        .json()
        .await
        .unwrap();
    let secret = totp_rs::Secret::try_from_base32(setup["secret"].as_str().unwrap())
        .unwrap()
        .as_bytes()
        .to_vec();
    let totp = totp_rs::Builder::new().with_secret(secret).build().unwrap();
    let code = totp
        .generate(u64::try_from(app.clock_now()).unwrap())
        .to_string();
    let confirmed = browser
        .post_json("/api/auth/mfa/totp/confirm", &json!({ "code": code }))
        .await;
    assert_eq!(confirmed.status(), StatusCode::OK);
    assert_eq!(
        app.browser()
            .login("both@example.com", PASSWORD)
            .await
            .status(),
        StatusCode::ACCEPTED
    );
    assert_eq!(
        passkey_login(&app.browser(), &mut key).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn replayed_forged_and_foreign_assertions_are_refused() {
    let app = spawn_app().await;
    let (browser, _) = app.signed_in("guarded@example.com").await;
    let mut key = SoftAuthenticator::new(ORIGIN);
    add_passkey(&browser, &mut key, "Key").await;

    // One assertion, sent twice: the ceremony is finished once.
    let options = login_options(&app).await;
    let credential = key.get(&options, None).unwrap();
    let body = json!({ "credential": credential });
    assert_eq!(
        app.browser()
            .post_json("/api/auth/passkeys/login/finish", &body)
            .await
            .status(),
        StatusCode::OK
    );
    let replay = app
        .browser()
        .post_json("/api/auth/passkeys/login/finish", &body)
        .await;
    assert_eq!(replay.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(replay).await, "invalid_credentials");

    // A clone of the authenticator, behind on its counter.
    let mut clone = key.clone();
    assert_eq!(
        passkey_login(&app.browser(), &mut key).await.status(),
        StatusCode::OK
    );
    let cloned = passkey_login(&app.browser(), &mut clone).await;
    assert_eq!(cloned.status(), StatusCode::UNAUTHORIZED);

    // Another site's origin.
    let mut phishing = key.clone();
    phishing.origin = "http://localhost:4000".into();
    assert_eq!(
        passkey_login(&app.browser(), &mut phishing).await.status(),
        StatusCode::UNAUTHORIZED
    );

    // A tampered signature, and an expired ceremony.
    let options = login_options(&app).await;
    let mut credential = key.get(&options, None).unwrap();
    credential["response"]["signature"] = json!("MEUCIQDfake");
    let forged = finish_login(&app, &credential).await;
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
    let options = login_options(&app).await;
    let credential = key.get(&options, None).unwrap();
    app.advance(Duration::from_secs(5 * 60));
    let late = finish_login(&app, &credential).await;
    assert_eq!(late.status(), StatusCode::UNAUTHORIZED);
    for junk in [
        json!({}),
        json!({"response": {"clientDataJSON": "not base64!"}}),
        json!("x"),
    ] {
        let response = app
            .browser()
            .post_json(
                "/api/auth/passkeys/login/finish",
                &json!({ "credential": junk }),
            )
            .await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{junk}");
    }
}

#[tokio::test]
async fn a_credential_signs_in_only_its_owner_and_a_disabled_one_not_at_all() {
    let app = spawn_app().await;
    let (alice, _) = app.signed_in("alice@example.com").await;
    let (bob, _) = app.signed_in("bob@example.com").await;
    let mut alices = SoftAuthenticator::new(ORIGIN);
    let mut bobs = SoftAuthenticator::new(ORIGIN);
    add_passkey(&alice, &mut alices, "A").await;
    add_passkey(&bob, &mut bobs, "B").await;
    // Alice's credential presenting Bob's user handle.
    let options = login_options(&app).await;
    alices.credentials[0].user_handle = bobs.credentials[0].user_handle.clone();
    let credential = alices.get(&options, None).unwrap();
    let swapped = finish_login(&app, &credential).await;
    assert_eq!(swapped.status(), StatusCode::UNAUTHORIZED);

    let now = app.clock_now_ms();
    app.state
        .store
        .disable_user("bob@example.com", now)
        .await
        .unwrap();
    let disabled = passkey_login(&app.browser(), &mut bobs).await;
    assert_eq!(disabled.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(disabled).await, "account_disabled");
    // The swapped handle counts against the IP; the disabled account's proven passkey
    // does not, as a right password on a disabled account does not.
    assert_starts_left(&app, 99).await;
}

#[tokio::test]
async fn registration_is_refused_when_replayed_from_elsewhere_or_misnamed() {
    let app = spawn_app().await;
    let (browser, _) = app.signed_in("adder@example.com").await;
    let (other, _) = app.signed_in("other@example.com").await;
    let mut key = SoftAuthenticator::new(ORIGIN);
    let options = register_options(&browser).await;
    let credential = key.create(&options).unwrap();
    // Another user cannot finish this user's ceremony.
    let stolen = finish_register(&other, &credential, "x").await;
    assert_eq!(stolen.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(stolen).await, "invalid_passkey");

    for name in ["", "   ", &"n".repeat(65)] {
        let options = register_options(&browser).await;
        let credential = SoftAuthenticator::new(ORIGIN).create(&options).unwrap();
        let response = finish_register(&browser, &credential, name).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{name:?}"
        );
    }
    let mut wrong_site = SoftAuthenticator::new("http://localhost:4000");
    let options = register_options(&browser).await;
    let credential = wrong_site.create(&options).unwrap();
    let refused = finish_register(&browser, &credential, "x").await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let list = listed(&browser).await;
    assert_eq!(list, json!([]));
}

#[tokio::test]
async fn a_passkey_is_removed_by_its_owner_only_and_then_signs_in_no_more() {
    let app = spawn_app().await;
    let (browser, _) = app.signed_in("remover@example.com").await;
    let (other, _) = app.signed_in("neighbour@example.com").await;
    let mut key = SoftAuthenticator::new(ORIGIN);
    let added: Value = add_passkey(&browser, &mut key, "Old key")
        .await
        .json()
        .await
        .unwrap();
    let id = added["id"].as_str().unwrap();
    let path = format!("/api/auth/passkeys/{id}");
    assert_eq!(other.delete(&path).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        browser.delete("/api/auth/passkeys/nope").await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(browser.delete(&path).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(browser.delete(&path).await.status(), StatusCode::NOT_FOUND);
    let gone = passkey_login(&app.browser(), &mut key).await;
    assert_eq!(gone.status(), StatusCode::UNAUTHORIZED);
    let anonymous = app.browser().get("/api/auth/passkeys").await;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn abandoned_passkey_sign_ins_are_limited_per_ip_and_completed_ones_are_not() {
    let app = spawn_app().await;
    let (browser, _) = app.signed_in("often@example.com").await;
    let mut key = SoftAuthenticator::new(ORIGIN);
    add_passkey(&browser, &mut key, "Key").await;
    // Completed sign-ins take their start back.
    for _ in 0..3 {
        assert_eq!(
            passkey_login(&app.browser(), &mut key).await.status(),
            StatusCode::OK
        );
    }
    let refused = assert_starts_left(&app, 100).await;
    assert!(refused.headers().contains_key("retry-after"));
    // Password sign-ins from that IP are counted apart.
    assert_eq!(
        app.browser()
            .login("often@example.com", PASSWORD)
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_session_signed_in_long_ago_cannot_add_or_remove_passkeys() {
    let app = spawn_app().await;
    let (browser, _) = app.signed_in("left-open@example.com").await;
    let mut laptop = SoftAuthenticator::new(ORIGIN);
    let added: Value = add_passkey(&browser, &mut laptop, "Laptop")
        .await
        .json()
        .await
        .unwrap();
    let path = format!("/api/auth/passkeys/{}", added["id"].as_str().unwrap());

    // A ceremony started within the window and finished after it.
    app.advance(Duration::from_secs(6 * 60));
    let options = register_options(&browser).await;
    let mut thief = SoftAuthenticator::new(ORIGIN);
    let credential = thief.create(&options).unwrap();
    app.advance(Duration::from_secs(4 * 60 + 1));
    assert_eq!(browser.refresh().await.status(), StatusCode::OK);
    let late = finish_register(&browser, &credential, "Thief").await;
    assert_eq!(late.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(late).await, "reauthentication_required");

    let start = browser.post("/api/auth/passkeys/register/start").await;
    assert_eq!(start.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(start).await, "reauthentication_required");
    let remove = browser.delete(&path).await;
    assert_eq!(remove.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(remove).await, "reauthentication_required");
    let list = listed(&browser).await;
    assert_eq!(list.as_array().unwrap().len(), 1, "nothing changed");
    // Listing needs no recent sign-in, and neither does signing in with the passkey.
    let fresh = app.browser();
    assert_eq!(
        passkey_login(&fresh, &mut laptop).await.status(),
        StatusCode::OK
    );
    assert_eq!(fresh.delete(&path).await.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn a_session_ended_while_adding_a_passkey_adds_none() {
    let app = spawn_app().await;
    let (browser, auth) = app.signed_in("ended@example.com").await;
    let options = register_options(&browser).await;
    let mut key = SoftAuthenticator::new(ORIGIN);
    let credential = key.create(&options).unwrap();
    // "Sign out everywhere" commits after this request's access token was checked.
    app.state
        .store
        .revoke_session(&auth.session.id, None, app.clock_now_ms())
        .await
        .unwrap();
    let added = app
        .state
        .passkeys
        .register_finish(&auth.user.id, &auth.session.id, &credential, "Key")
        .await;
    assert_eq!(
        added.err().map(|error| error.code()),
        Some(shared::ErrorCode::ReauthenticationRequired)
    );
    let stored = app.state.store.passkeys_of(&auth.user.id).await.unwrap();
    assert!(stored.is_empty(), "no passkey was stored");
}

/// Of two sign-ins with the same counter value, one gets in; the other is refused and its
/// ceremony's start stays counted against the IP, as an abandoned one's does.
#[tokio::test]
async fn a_cloned_authenticator_racing_itself_signs_in_once_per_counter_value() {
    let app = spawn_app().await;
    let (browser, _) = app.signed_in("cloned@example.com").await;
    let mut original = SoftAuthenticator::new(ORIGIN);
    assert_eq!(
        add_passkey(&browser, &mut original, "Key").await.status(),
        StatusCode::CREATED
    );
    for round in 1..=8 {
        let mut clone = original.clone();
        let (first, second) = tokio::join!(login_options(&app), login_options(&app));
        let a = original.get(&first, None).unwrap();
        let b = clone.get(&second, None).unwrap();
        let (a, b) = tokio::join!(finish_login(&app, &a), finish_login(&app, &b));
        let signed_in = [a.status(), b.status()]
            .iter()
            .filter(|status| **status == StatusCode::OK)
            .count();
        assert_eq!(
            signed_in, 1,
            "round {round}: one counter value, {signed_in} sign-ins"
        );
    }
    // The 8 refused sign-ins still count against the IP (the 8 completed ones do not).
    assert_starts_left(&app, 92).await;
}

/// A passkey sign-in whose assertion was verified just before an operator's `mfa-reset`
/// (or the owner's removal of the passkey) committed gets no session: the passkey's use is
/// recorded in the transaction that creates the session, which finds it gone.
#[tokio::test]
async fn a_passkey_removed_while_it_signs_in_starts_no_session() {
    let app = spawn_app().await;
    let email = "lost-phone@example.com";
    let (browser, _) = app.signed_in(email).await;
    let mut key = SoftAuthenticator::new(ORIGIN);
    assert_eq!(
        add_passkey(&browser, &mut key, "Lost phone").await.status(),
        StatusCode::CREATED
    );
    let options = login_options(&app).await;
    let credential = key.get(&options, None).unwrap();
    let (user, used) = app.state.passkeys.login_finish(&credential).await.unwrap();
    let reset = app.state.store.reset_mfa(email, app.clock_now_ms()).await;
    assert!(reset.unwrap().is_some());

    let client = direct_client();
    let late = app
        .state
        .sessions
        .start(user, client, Proof::Passkey(used))
        .await;
    assert!(
        late.is_err(),
        "a passkey removed by mfa-reset started a session"
    );
    let user = app.state.store.user_by_email(email).await.unwrap().unwrap();
    assert!(app.live_sessions(&user.id).await.is_empty());
    // The refused sign-in's start still counts against the IP.
    assert_starts_left(&app, 99).await;
}
