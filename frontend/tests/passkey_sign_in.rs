//! Signing in with a passkey — the login page's button, the email field's autofill, and
//! the second step — rendered as the whole app in a real browser against a scripted
//! `fetch` and a scripted authenticator.

mod support;

use frontend::api::ClientError;
use frontend::api::browser::forget_csrf_token;
use frontend::pages::PASSKEY_REFUSED;
use support::{
    Authenticator, CREDENTIAL_JSON, FakeServer, PARSED_OPTIONS, PASSKEY_OPTIONS, Reply,
    address_bar, appears, auth_json, error_json, fake_passkeys, fill, find, open_app,
    passkey_calls, pick_autofill_passkey, submit, text, until,
};
use wasm_bindgen_test::*;
use web_sys::{HtmlButtonElement, HtmlElement, HtmlInputElement};

wasm_bindgen_test_configure!(run_in_browser);

/// Opens the login page signed out, with `next`; `passkeys` answers the sign-in calls.
fn login_page(
    next: &str,
    passkeys: impl Fn(&str) -> Reply + 'static,
) -> (HtmlElement, impl Drop, FakeServer) {
    forget_csrf_token();
    let server = FakeServer::install(move |call| match call.path.as_str() {
        path if path.starts_with("/api/auth/passkeys/login/") => passkeys(path),
        "/api/auth/login" => Reply::Json(
            202,
            r#"{"mfa_required":["totp","recovery_code","passkey"]}"#.into(),
        ),
        _ => Reply::Json(200, "[]".into()),
    });
    let (root, app) = open_app(&format!("/login?next={next}"));
    (root, app, server)
}

/// A passkey sign-in the server accepts.
fn accepted(path: &str) -> Reply {
    match path {
        "/api/auth/passkeys/login/start" => Reply::Json(200, PASSKEY_OPTIONS.into()),
        _ => Reply::Json(200, auth_json("user", 900)),
    }
}

#[wasm_bindgen_test]
async fn the_passkey_button_signs_in_with_no_email_and_goes_on() {
    fake_passkeys(Authenticator::Agrees, false);
    let (root, _app, server) = login_page("%2Fsessions", accepted);
    let email: HtmlInputElement = find(&root, "#email");
    assert_eq!(email.autocomplete(), "username webauthn");
    find::<HtmlButtonElement>(&root, "#passkey-sign-in").click();
    assert!(
        until(|| address_bar() == "/sessions").await,
        "{}",
        root.inner_html()
    );
    let calls = passkey_calls();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(
        (calls[0].kind.as_str(), calls[0].mediation.as_deref()),
        ("get", None)
    );
    assert_eq!(calls[0].public_key, PARSED_OPTIONS);
    let finish = server.calls_to("/api/auth/passkeys/login/finish");
    assert_eq!(finish.len(), 1, "{:?}", server.calls());
    assert_eq!(
        finish[0].body,
        format!(r#"{{"credential":{CREDENTIAL_JSON}}}"#)
    );
    assert!(server.calls_to("/api/auth/login").is_empty());
}

#[wasm_bindgen_test]
async fn a_refused_or_cancelled_passkey_is_said_plainly_on_the_login_page() {
    fake_passkeys(Authenticator::Cancels, false);
    let (root, _app, server) = login_page("%2F", accepted);
    find::<HtmlButtonElement>(&root, "#passkey-sign-in").click();
    assert!(until(|| text(&root, ".alert") == ClientError::Passkey.message()).await);
    assert!(
        server
            .calls_to("/api/auth/passkeys/login/finish")
            .is_empty()
    );

    fake_passkeys(Authenticator::Agrees, false);
    let _server = FakeServer::install(|call| match call.path.as_str() {
        "/api/auth/passkeys/login/start" => Reply::Json(200, PASSKEY_OPTIONS.into()),
        _ => Reply::Json(401, error_json("invalid_credentials")),
    });
    find::<HtmlButtonElement>(&root, "#passkey-sign-in").click();
    assert!(until(|| text(&root, ".alert") == PASSKEY_REFUSED).await);
    assert!(address_bar().starts_with("/login"));
}

#[wasm_bindgen_test]
async fn autofill_waits_for_a_passkey_in_the_background_and_signs_in_when_one_is_picked() {
    fake_passkeys(Authenticator::Agrees, true);
    let (root, _app, server) = login_page("%2Fsessions", accepted);
    assert!(until(|| passkey_calls().len() == 1).await);
    let waiting = &passkey_calls()[0];
    assert_eq!(waiting.mediation.as_deref(), Some("conditional"));
    assert_eq!(waiting.public_key, PARSED_OPTIONS);
    assert!(!waiting.aborted);
    assert!(
        server
            .calls_to("/api/auth/passkeys/login/finish")
            .is_empty()
    );

    pick_autofill_passkey();
    assert!(
        until(|| address_bar() == "/sessions").await,
        "{}",
        root.inner_html()
    );
    assert_eq!(server.calls_to("/api/auth/passkeys/login/finish").len(), 1);
}

#[wasm_bindgen_test]
async fn the_button_and_leaving_the_page_abort_the_autofill_request() {
    fake_passkeys(Authenticator::Cancels, true);
    let (root, app, _server) = login_page("%2F", accepted);
    assert!(until(|| passkey_calls().len() == 1).await);
    find::<HtmlButtonElement>(&root, "#passkey-sign-in").click();
    assert!(until(|| passkey_calls().len() == 2).await);
    let calls = passkey_calls();
    assert!(calls[0].aborted, "{calls:?}");
    assert_eq!(calls[1].mediation, None);
    // Only the button's own failure is said, once.
    assert!(until(|| text(&root, ".alert") == ClientError::Passkey.message()).await);
    assert_eq!(root.query_selector_all(".alert").unwrap().length(), 1);
    drop(app);

    fake_passkeys(Authenticator::Cancels, true);
    let (_root, app, _server) = login_page("%2F", accepted);
    assert!(until(|| passkey_calls().len() == 1).await);
    drop(app);
    assert!(until(|| passkey_calls()[0].aborted).await, "left the page");
}

#[wasm_bindgen_test]
async fn the_background_request_fails_quietly_and_passkeys_off_on_the_server_hide_the_button() {
    fake_passkeys(Authenticator::Agrees, true);
    let (root, app, server) =
        login_page("%2F", |_| Reply::Json(429, error_json("too_many_attempts")));
    find::<HtmlButtonElement>(&root, "#passkey-sign-in");
    assert!(until(|| server.calls_to("/api/auth/passkeys/login/start").len() == 1).await);
    gloo_timers::future::TimeoutFuture::new(50).await;
    assert!(
        root.query_selector(".alert").unwrap().is_none(),
        "{}",
        root.inner_html()
    );
    drop(app);

    let (root, _app, _server) = login_page("%2F", |_| Reply::Json(404, error_json("not_found")));
    assert!(
        until(|| root.query_selector("#passkey-sign-in").unwrap().is_none()).await,
        "{}",
        root.inner_html()
    );
    assert!(root.query_selector(".alert").unwrap().is_none());
    assert!(passkey_calls().is_empty(), "no ceremony without options");
}

#[wasm_bindgen_test]
async fn a_second_step_may_be_completed_with_a_passkey() {
    fake_passkeys(Authenticator::Agrees, false);
    let (root, _app, server) = login_page("%2Fsessions", accepted);
    fill(&root, "#email", "ann@example.com");
    fill(&root, "#password", "correct horse battery");
    submit(&root);
    assert!(appears(&root, "#passkey-second-step").await);
    find::<HtmlInputElement>(&root, "#code");
    assert_eq!(text(&root, "#passkey-second-step"), "Use a passkey");
    find::<HtmlElement>(&root, "#passkey-second-step").click();
    assert!(
        until(|| address_bar() == "/sessions").await,
        "{}",
        root.inner_html()
    );
    assert_eq!(server.calls_to("/api/auth/passkeys/login/finish").len(), 1);
    assert!(server.calls_to("/api/auth/mfa/verify").is_empty());
}
