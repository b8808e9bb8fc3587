//! Two-step sign-in — the code after the password on the login page, and setting up or
//! turning off an authenticator app on the security page — rendered as the whole app in
//! a real browser against a scripted `fetch`.

mod support;

use std::cell::RefCell;
use std::rc::Rc;

use frontend::api::browser::forget_csrf_token;
use frontend::pages::{SAVE_RECOVERY_CODES, TWO_STEP_OFF, TWO_STEP_ON};
use shared::ErrorCode;
use support::{
    FakeServer, Reply, address_bar, auth_json_for, error_json, fill, find, open_app,
    set_csrf_cookie, submit, text, until, user_json_with_mfa,
};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;
use web_sys::{BroadcastChannel, HtmlButtonElement, HtmlElement, HtmlInputElement, MessageEvent};

wasm_bindgen_test_configure!(run_in_browser);

/// The login's answer for an account with an authenticator app.
const SECOND_STEP: &str = r#"{"mfa_required":["totp","recovery_code"]}"#;

/// The session answer of a sign-in by a user with two-step sign-in on (or off).
fn auth(mfa_enabled: bool) -> String {
    auth_json_for(&user_json_with_mfa("user", true, mfa_enabled), 900)
}

/// Opens the login page signed out (`next` as given), sends a right password and waits
/// for the second step; `verify` answers the codes.
async fn at_second_step(
    next: &str,
    verify: impl Fn(&str) -> Reply + 'static,
) -> (HtmlElement, impl Drop, FakeServer) {
    forget_csrf_token();
    let server = FakeServer::install(move |call| match call.path.as_str() {
        "/api/auth/login" => Reply::Json(202, SECOND_STEP.into()),
        "/api/auth/mfa/verify" => verify(&call.body),
        _ => Reply::Json(200, "[]".into()),
    });
    let (root, app) = open_app(&format!("/login?next={next}"));
    fill(&root, "#email", "ann@example.com");
    fill(&root, "#password", "correct horse battery");
    find::<HtmlInputElement>(&root, "#password")
        .focus()
        .unwrap();
    submit(&root);
    assert!(
        until(|| root.query_selector("#code").unwrap().is_some()).await,
        "{}",
        root.inner_html()
    );
    (root, app, server)
}

/// The kinds of the messages the other tabs hear; the handle keeps listening.
fn listen_to_other_tabs() -> (Rc<RefCell<Vec<String>>>, impl Drop) {
    let heard = Rc::new(RefCell::new(Vec::new()));
    let sink = Rc::clone(&heard);
    let channel = BroadcastChannel::new("jwt-auth").unwrap();
    let on_message = Closure::<dyn Fn(MessageEvent)>::new(move |event: MessageEvent| {
        let kind = js_sys::Reflect::get(&event.data(), &"kind".into()).unwrap();
        sink.borrow_mut().push(kind.as_string().unwrap_or_default());
    });
    channel.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    struct Listening {
        channel: BroadcastChannel,
        _on_message: Closure<dyn Fn(MessageEvent)>,
    }
    impl Drop for Listening {
        fn drop(&mut self) {
            self.channel.close();
        }
    }
    let listening = Listening {
        channel,
        _on_message: on_message,
    };
    (heard, listening)
}

#[wasm_bindgen_test]
async fn a_right_password_asks_for_a_code_which_signs_in_tells_the_other_tabs_and_goes_on() {
    let (heard, _listening) = listen_to_other_tabs();
    let signed_in = auth(true);
    let (root, _app, server) =
        at_second_step("%2Fsessions", move |_| Reply::Json(200, signed_in.clone())).await;
    // Not signed in yet: still on the login page, the password form gone.
    assert_eq!(address_bar(), "/login?next=%2Fsessions");
    assert!(root.query_selector("#password").unwrap().is_none());
    assert!(text(&root, "label[for=code]").contains("or a recovery code"));
    let input: HtmlInputElement = find(&root, "#code");
    assert_eq!(input.type_(), "text");
    assert_eq!(input.autocomplete(), "one-time-code");
    assert_eq!(
        input.get_attribute("inputmode"),
        None,
        "recovery codes have letters"
    );
    let document = web_sys::window().unwrap().document().unwrap();
    let focused = || document.active_element().map(|e| e.id());
    assert!(
        until(|| focused().as_deref() == Some("code")).await,
        "the code field takes the focus from the password field: {:?}",
        focused()
    );

    fill(&root, "#code", " 3f2a1-0b9c4-77de0-12ab3 ");
    find::<HtmlButtonElement>(&root, "button[type=submit]").click();
    assert!(
        until(|| address_bar() == "/sessions").await,
        "{}",
        address_bar()
    );
    assert!(until(|| heard.borrow().iter().any(|kind| kind == "signed_in")).await);
    let verify = server.calls_to("/api/auth/mfa/verify");
    assert_eq!(verify.len(), 1, "{:?}", server.calls());
    assert_eq!(verify[0].method, "POST");
    assert_eq!(verify[0].body, r#"{"code":"3f2a1-0b9c4-77de0-12ab3"}"#);
    assert_eq!(
        server.calls_to("/api/auth/login")[0].body,
        r#"{"email":"ann@example.com","password":"correct horse battery"}"#
    );
}

#[wasm_bindgen_test]
async fn a_wrong_code_is_said_and_the_second_step_stays_for_another_try() {
    let (root, _app, server) =
        at_second_step("%2F", |_| Reply::Json(400, error_json("invalid_code"))).await;
    // An empty code is not sent: each code sent uses up one of the sign-in's tries.
    submit(&root);
    assert!(until(|| text(&root, "#code-error") == "Enter the code.").await);
    assert!(server.calls_to("/api/auth/mfa/verify").is_empty());

    fill(&root, "#code", "000000");
    submit(&root);
    assert!(
        until(|| text(&root, ".alert") == ErrorCode::InvalidCode.message()).await,
        "{}",
        root.inner_html()
    );
    assert_eq!(server.calls_to("/api/auth/mfa/verify").len(), 1);
    assert!(
        root.query_selector("#code").unwrap().is_some(),
        "still there"
    );
    assert!(!find::<HtmlButtonElement>(&root, "button[type=submit]").disabled());
    assert_eq!(address_bar(), "/login?next=%2F");
    assert!(server.calls_to("/api/auth/refresh").is_empty());
}

#[wasm_bindgen_test]
async fn an_expired_second_step_goes_back_to_the_password_with_its_reason_and_no_refresh() {
    let (root, _app, server) = at_second_step("%2F", |_| {
        Reply::Json(401, error_json("mfa_ticket_invalid"))
    })
    .await;
    fill(&root, "#code", "123456");
    submit(&root);
    assert!(
        until(|| root.query_selector("#password").unwrap().is_some()).await,
        "{}",
        root.inner_html()
    );
    assert!(root.query_selector("#code").unwrap().is_none());
    assert_eq!(
        text(&root, "#notice"),
        ErrorCode::MfaTicketInvalid.message()
    );
    assert_eq!(server.calls_to("/api/auth/mfa/verify").len(), 1, "one try");
    assert!(
        server.calls_to("/api/auth/refresh").is_empty(),
        "{:?}",
        server.calls()
    );
    assert_eq!(address_bar(), "/login?next=%2F");
}

#[wasm_bindgen_test]
async fn another_account_can_be_used_instead_of_typing_a_code() {
    let (root, _app, server) = at_second_step("%2F", |_| Reply::NetworkError).await;
    find::<HtmlElement>(&root, "#restart-sign-in").click();
    assert!(until(|| root.query_selector("#email").unwrap().is_some()).await);
    assert!(root.query_selector("#code").unwrap().is_none());
    // The login alone (besides the passkey options the form asks for in the background).
    let sent: Vec<_> = server
        .calls()
        .into_iter()
        .filter(|c| c.path != "/api/auth/passkeys/login/start")
        .collect();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].path, "/api/auth/login");
}

/// The server's answer to a set-up.
const SETUP: &str = r##"{"secret":"JBSWY3DPEHPK3PXP","otpauth_uri":"otpauth://totp/JWT%20Auth:ann%40example.com?secret=JBSWY3DPEHPK3PXP&issuer=JWT%20Auth","qr_svg":"<?xml version=\"1.0\" standalone=\"yes\"?><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"200\" height=\"200\"><rect width=\"200\" height=\"200\" fill=\"#fff\"/><path d=\"M0 0h8v8H0z\"/></svg>"}"##;

/// Opens the security page signed in as a user with two-step sign-in on (or off);
/// `mfa` answers the calls under `/api/auth/mfa/`.
async fn security_page(
    mfa_enabled: bool,
    mfa: impl Fn(&str, &str) -> Reply + 'static,
) -> (HtmlElement, impl Drop, FakeServer) {
    set_csrf_cookie("csrf-two-step");
    let signed_in = auth(mfa_enabled);
    let server = FakeServer::install(move |call| match call.path.as_str() {
        "/api/auth/refresh" => Reply::Json(200, signed_in.clone()),
        path if path.starts_with("/api/auth/mfa/") => mfa(path, &call.body),
        _ => Reply::Json(200, "[]".into()),
    });
    let (root, app) = open_app("/security");
    assert!(until(|| text(&root, "h2").contains("Change your password")).await);
    (root, app, server)
}

#[wasm_bindgen_test]
async fn setting_up_an_app_shows_its_qr_code_and_key_then_ten_recovery_codes_once() {
    let codes: Vec<String> = (0..10)
        .map(|i| format!("3f2a1-0b9c4-77de0-12ab{i}"))
        .collect();
    let confirmed = format!(r#"{{"recovery_codes":{codes:?}}}"#);
    let (root, _app, server) = security_page(false, move |path, body| match path {
        "/api/auth/mfa/totp/setup" => Reply::Json(200, SETUP.into()),
        _ if body.contains("000000") => Reply::Json(400, error_json("invalid_code")),
        _ => Reply::Json(200, confirmed.clone()),
    })
    .await;
    // The password form is as it was.
    find::<HtmlInputElement>(&root, "#current-password");
    find::<HtmlInputElement>(&root, "#new-password");

    find::<HtmlButtonElement>(&root, "#totp-setup").click();
    assert!(until(|| root.query_selector("#totp-qr").unwrap().is_some()).await);
    let qr: web_sys::HtmlImageElement = find(&root, "img#totp-qr");
    let (kind, data) = qr
        .src()
        .split_once(',')
        .map(|(k, d)| (k.to_owned(), d.to_owned()))
        .unwrap();
    assert_eq!(kind, "data:image/svg+xml");
    let svg = String::from(js_sys::decode_uri_component(&data).unwrap());
    assert!(
        svg.starts_with("<?xml") && svg.contains("<path d=\"M0 0h8v8H0z\"/>"),
        "{svg}"
    );
    assert!(!qr.alt().is_empty());
    assert!(
        until(|| qr.complete() && qr.natural_width() == 200).await,
        "the browser draws it"
    );
    assert!(
        root.query_selector("main svg").unwrap().is_none(),
        "no markup injected"
    );
    assert_eq!(text(&root, "#totp-secret"), "JBSWY3DPEHPK3PXP");
    let setup = server.calls_to("/api/auth/mfa/totp/setup");
    assert_eq!(setup.len(), 1);
    assert_eq!(setup[0].csrf.as_deref(), Some("csrf-two-step"));

    // A wrong code is said, and the set-up stays.
    fill(&root, "#totp-code", "000000");
    find::<HtmlButtonElement>(&root, "#totp-confirm").click();
    assert!(until(|| text(&root, ".alert") == ErrorCode::InvalidCode.message()).await);
    assert!(root.query_selector("#totp-qr").unwrap().is_some());

    fill(&root, "#totp-code", "123456");
    find::<HtmlButtonElement>(&root, "#totp-confirm").click();
    assert!(
        until(|| root
            .query_selector("#recovery-codes")
            .unwrap()
            .is_some_and(|list| list.child_element_count() == 10))
        .await,
        "{}",
        root.inner_html()
    );
    let shown: Vec<String> = (0..10)
        .map(|i| {
            text(
                &root,
                &format!("#recovery-codes li:nth-child({}) code", i + 1),
            )
        })
        .collect();
    assert_eq!(shown, codes);
    assert!(root.inner_html().contains(SAVE_RECOVERY_CODES));
    assert_eq!(text(&root, "#totp-notice"), TWO_STEP_ON);
    // Now on: no set-up any more, a way to turn it off instead.
    assert!(text(&root, "#totp-status").starts_with("Two-step sign-in is on"));
    assert!(root.query_selector("#totp-setup").unwrap().is_none());
    find::<HtmlInputElement>(&root, "#totp-disable-code");
    let confirm = server.calls_to("/api/auth/mfa/totp/confirm");
    assert_eq!(confirm.len(), 2);
    assert_eq!(confirm[1].body, r#"{"code":"123456"}"#);
    assert_eq!(confirm[1].csrf.as_deref(), Some("csrf-two-step"));
}

#[wasm_bindgen_test]
async fn turning_two_step_sign_in_off_sends_the_code_with_the_csrf_header() {
    let (root, _app, server) = security_page(true, |_, _| Reply::Json(204, String::new())).await;
    assert!(until(|| text(&root, "#totp-status").starts_with("Two-step sign-in is on")).await);
    assert!(root.query_selector("#totp-setup").unwrap().is_none());
    assert!(
        root.query_selector("#recovery-codes").unwrap().is_none(),
        "shown once only"
    );

    fill(&root, "#totp-disable-code", "3f2a1-0b9c4-77de0-12ab3");
    find::<HtmlButtonElement>(&root, "#totp-disable").click();
    assert!(
        until(|| root.query_selector("#totp-setup").unwrap().is_some()).await,
        "{}",
        root.inner_html()
    );
    assert_eq!(text(&root, "#totp-notice"), TWO_STEP_OFF);
    let disable = server.calls_to("/api/auth/mfa/totp/disable");
    assert_eq!(disable.len(), 1, "{:?}", server.calls());
    assert_eq!(disable[0].method, "POST");
    assert_eq!(disable[0].csrf.as_deref(), Some("csrf-two-step"));
    assert_eq!(disable[0].body, r#"{"code":"3f2a1-0b9c4-77de0-12ab3"}"#);
}

#[wasm_bindgen_test]
async fn a_set_up_refused_as_already_on_shows_two_step_sign_in_as_on() {
    let (root, _app, _server) = security_page(false, |_, _| {
        Reply::Json(409, error_json("mfa_already_enabled"))
    })
    .await;
    find::<HtmlButtonElement>(&root, "#totp-setup").click();
    assert!(until(|| root.query_selector("#totp-disable-code").unwrap().is_some()).await);
}
