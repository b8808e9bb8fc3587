//! The security page's passkeys — the list, adding one through the browser, removing one —
//! and its answer to a server that wants a recent sign-in before such a change, rendered
//! as the whole app in a real browser against a scripted `fetch` and a scripted
//! authenticator.

mod support;

use std::cell::Cell;
use std::rc::Rc;

use frontend::api::ClientError;
use frontend::pages::DEFAULT_PASSKEY_NAME;
use shared::ErrorCode;
use support::{
    Authenticator, CREDENTIAL_JSON, FakeServer, PARSED_OPTIONS, PASSKEY_OPTIONS, Reply,
    address_bar, appears, auth_json, error_json, fake_passkeys, fill, find, open_app,
    passkey_calls, set_csrf_cookie, text, until,
};
use wasm_bindgen_test::*;
use web_sys::{HtmlButtonElement, HtmlElement, HtmlInputElement};

wasm_bindgen_test_configure!(run_in_browser);

/// A passkey as the server lists it.
fn passkey_json(id: &str, name: &str, last_used_at: Option<i64>) -> String {
    let last = last_used_at.map_or("null".to_owned(), |t| t.to_string());
    format!(r#"{{"id":"{id}","name":"{name}","created_at":1700000000,"last_used_at":{last}}}"#)
}

/// Opens the security page signed in; `passkeys` answers the calls under
/// `/api/auth/passkeys` (`method path`); those under `/api/auth/mfa/` want a recent sign-in.
async fn security_page(
    passkeys: impl Fn(&str) -> Reply + 'static,
) -> (HtmlElement, impl Drop, FakeServer) {
    set_csrf_cookie("csrf-passkeys");
    let server = FakeServer::install(move |call| match call.path.as_str() {
        "/api/auth/refresh" => Reply::Json(200, auth_json("user", 900)),
        "/api/auth/logout" => Reply::Json(204, String::new()),
        path if path.starts_with("/api/auth/passkeys") => {
            passkeys(&format!("{} {path}", call.method))
        }
        path if path.starts_with("/api/auth/mfa/") => {
            Reply::Json(403, error_json("reauthentication_required"))
        }
        _ => Reply::Json(200, "[]".into()),
    });
    let (root, app) = open_app("/security");
    assert!(appears(&root, "#passkeys").await);
    (root, app, server)
}

/// Waits until the list shows `count` passkeys.
async fn until_listed(root: &HtmlElement, count: usize) {
    assert!(
        until(|| listed(root).len() == count).await,
        "{}",
        root.inner_html()
    );
}

/// The names in the passkey list.
fn listed(root: &HtmlElement) -> Vec<String> {
    let items = root.query_selector_all("#passkeys li.passkey").unwrap();
    (0..items.length())
        .filter_map(|i| items.item(i)?.text_content())
        .collect()
}

#[wasm_bindgen_test]
async fn a_passkey_is_added_under_its_name_through_the_browser_and_appears_in_the_list() {
    fake_passkeys(Authenticator::Agrees, false);
    let added = passkey_json("pk1", "Laptop", None);
    let finished = Rc::new(Cell::new(false));
    let flag = Rc::clone(&finished);
    let (root, _app, server) = security_page(move |call| match call {
        "POST /api/auth/passkeys/register/start" => Reply::Json(200, PASSKEY_OPTIONS.into()),
        "POST /api/auth/passkeys/register/finish" => {
            flag.set(true);
            Reply::Json(201, added.clone())
        }
        _ if flag.get() => Reply::Json(200, format!("[{added}]")),
        _ => Reply::Json(200, "[]".into()),
    })
    .await;
    assert!(until(|| server.calls_to("/api/auth/passkeys").len() == 1).await);
    let name: HtmlInputElement = find(&root, "#passkey-name");
    assert_eq!(name.value(), DEFAULT_PASSKEY_NAME);

    fill(&root, "#passkey-name", "  Laptop ");
    find::<HtmlButtonElement>(&root, "#passkey-add").click();
    until_listed(&root, 1).await;
    assert!(listed(&root)[0].contains("Laptop"));
    assert!(
        listed(&root)[0].contains("never used"),
        "{:?}",
        listed(&root)
    );
    assert_eq!(name.value(), DEFAULT_PASSKEY_NAME, "ready for the next one");

    let start = server.calls_to("/api/auth/passkeys/register/start");
    assert_eq!(start.len(), 1, "{:?}", server.calls());
    assert_eq!(start[0].csrf.as_deref(), Some("csrf-passkeys"));
    let calls = passkey_calls();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0].kind, "create");
    assert_eq!(calls[0].public_key, PARSED_OPTIONS);
    let finish = server.calls_to("/api/auth/passkeys/register/finish");
    assert_eq!(finish.len(), 1);
    assert_eq!(finish[0].csrf.as_deref(), Some("csrf-passkeys"));
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&finish[0].body).unwrap(),
        serde_json::json!({
            "credential": serde_json::from_str::<serde_json::Value>(CREDENTIAL_JSON).unwrap(),
            "name": "Laptop",
        })
    );
}

#[wasm_bindgen_test]
async fn a_cancelled_ceremony_says_so_plainly_and_changes_nothing() {
    fake_passkeys(Authenticator::Cancels, false);
    let (root, _app, server) = security_page(|call| match call {
        "POST /api/auth/passkeys/register/start" => Reply::Json(200, PASSKEY_OPTIONS.into()),
        _ => Reply::Json(200, format!("[{}]", passkey_json("pk1", "Phone", Some(1)))),
    })
    .await;
    until_listed(&root, 1).await;
    // An empty name is not sent.
    fill(&root, "#passkey-name", " ");
    find::<HtmlButtonElement>(&root, "#passkey-add").click();
    assert!(until(|| !text(&root, "#passkey-name-error").is_empty()).await);
    assert!(
        server
            .calls_to("/api/auth/passkeys/register/start")
            .is_empty()
    );

    fill(&root, "#passkey-name", "Laptop");
    find::<HtmlButtonElement>(&root, "#passkey-add").click();
    assert!(
        until(|| text(&root, "#passkeys .alert") == ClientError::Passkey.message()).await,
        "{}",
        root.inner_html()
    );
    assert!(
        server
            .calls_to("/api/auth/passkeys/register/finish")
            .is_empty()
    );
    assert_eq!(server.calls_to("/api/auth/passkeys").len(), 1, "no reload");
    assert!(listed(&root)[0].contains("Phone"));
    assert!(!find::<HtmlButtonElement>(&root, "#passkey-add").disabled());
}

#[wasm_bindgen_test]
async fn removing_a_passkey_deletes_it_on_the_server_and_reloads_the_list() {
    let two = format!(
        "[{},{}]",
        passkey_json("pk1", "Laptop", Some(1_700_000_100)),
        passkey_json("pk2", "Phone", None)
    );
    let one = format!("[{}]", passkey_json("pk2", "Phone", None));
    let removed = Rc::new(Cell::new(false));
    let flag = Rc::clone(&removed);
    let (root, _app, server) = security_page(move |call| match call {
        "DELETE /api/auth/passkeys/pk1" => {
            flag.set(true);
            Reply::Json(204, String::new())
        }
        _ if flag.get() => Reply::Json(200, one.clone()),
        _ => Reply::Json(200, two.clone()),
    })
    .await;
    until_listed(&root, 2).await;
    assert!(listed(&root)[0].contains("last used"));
    find::<HtmlButtonElement>(&root, "#passkeys li.passkey button.passkey-remove").click();
    until_listed(&root, 1).await;
    assert!(listed(&root)[0].contains("Phone"));
    let delete = server.calls_to("/api/auth/passkeys/pk1");
    assert_eq!(delete.len(), 1, "{:?}", server.calls());
    assert_eq!(delete[0].method, "DELETE");
    assert_eq!(delete[0].csrf.as_deref(), Some("csrf-passkeys"));
}

#[wasm_bindgen_test]
async fn a_change_that_needs_a_recent_sign_in_offers_to_sign_in_again_and_comes_back() {
    fake_passkeys(Authenticator::Agrees, false);
    let (root, _app, server) = security_page(|call| match call {
        "GET /api/auth/passkeys" => Reply::Json(200, "[]".into()),
        _ => Reply::Json(403, error_json("reauthentication_required")),
    })
    .await;
    let message = ErrorCode::ReauthenticationRequired.message();
    find::<HtmlButtonElement>(&root, "#passkey-add").click();
    assert!(
        until(|| text(&root, "#passkeys .alert").starts_with(message)).await,
        "{}",
        root.inner_html()
    );
    assert_eq!(
        text(&root, "#passkeys .alert .sign-in-again"),
        "Sign in again"
    );
    assert!(passkey_calls().is_empty(), "no ceremony");
    // The two-step section says the same where it is refused.
    find::<HtmlButtonElement>(&root, "#totp-setup").click();
    assert!(
        until(|| root
            .query_selector_all(".alert .sign-in-again")
            .unwrap()
            .length()
            == 2)
        .await
    );
    assert!(root.query_selector("#totp-qr").unwrap().is_none());

    find::<HtmlButtonElement>(&root, "#passkeys .sign-in-again").click();
    assert!(
        until(|| address_bar() == "/login?next=%2Fsecurity").await,
        "{}",
        address_bar()
    );
    assert_eq!(server.calls_to("/api/auth/logout").len(), 1);
    assert!(until(|| text(&root, "#notice") == message).await);
}

#[wasm_bindgen_test]
async fn a_two_step_change_that_needs_a_recent_sign_in_offers_to_sign_in_again() {
    set_csrf_cookie("csrf-passkeys");
    let user = support::user_json_with_mfa("user", true, true);
    let signed_in = support::auth_json_for(&user, 900);
    let _server = FakeServer::install(move |call| match call.path.as_str() {
        "/api/auth/refresh" => Reply::Json(200, signed_in.clone()),
        "/api/auth/mfa/totp/disable" => Reply::Json(403, error_json("reauthentication_required")),
        _ => Reply::Json(200, "[]".into()),
    });
    let (root, _app) = open_app("/security");
    assert!(appears(&root, "#totp-disable-code").await);
    fill(&root, "#totp-disable-code", "123456");
    find::<HtmlButtonElement>(&root, "#totp-disable").click();
    assert!(appears(&root, ".alert .sign-in-again").await);
    assert!(text(&root, ".alert").starts_with(ErrorCode::ReauthenticationRequired.message()));
    assert!(
        text(&root, "#totp-status").starts_with("Two-step sign-in is on"),
        "still on"
    );
}
