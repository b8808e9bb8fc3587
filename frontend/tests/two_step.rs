//! Two-step sign-in — the code after the password on the login page — rendered as the
//! whole app in a real browser against a scripted `fetch`.

mod support;

use std::cell::RefCell;
use std::rc::Rc;

use frontend::api::browser::forget_csrf_token;
use shared::ErrorCode;
use support::{
    FakeServer, Reply, address_bar, auth_json_for, error_json, fill, find, open_app, submit, text,
    until, user_json_with_mfa,
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
    assert_eq!(
        server.calls().len(),
        1,
        "the login alone: {:?}",
        server.calls()
    );
}
