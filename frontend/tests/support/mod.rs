//! A scripted stand-in for the server at the browser boundary (`window.fetch`), and
//! helpers to wait for the DOM.

// Each test binary uses part of this module.
#![allow(dead_code)]

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Promise, Reflect};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{JsFuture, future_to_promise};
use web_sys::{Request, Response, ResponseInit};

/// One request the app made.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    pub path: String,
    /// The whole URL it went to.
    pub url: String,
    pub csrf: Option<String>,
    /// The request body (empty when none).
    pub body: String,
    /// The address bar when the request was made.
    pub address: String,
}

/// What the fake server answers.
pub enum Reply {
    /// A JSON body with a status.
    Json(u16, String),
    /// The same, after `ms` milliseconds.
    Later(u32, u16, String),
    /// A proxy's HTML error page.
    Html(u16),
    /// No answer: the connection failed.
    NetworkError,
    /// An answer that never comes.
    Never,
}

/// The calls seen so far; the fake stays installed until the next `install`.
pub struct FakeServer {
    calls: Rc<RefCell<Vec<Call>>>,
    _fetch: Closure<dyn FnMut(Request) -> Promise>,
}

impl FakeServer {
    /// Replaces `window.fetch` with `handler`, which sees each call once its body is read.
    pub fn install(handler: impl FnMut(&Call) -> Reply + 'static) -> Self {
        let calls = Rc::new(RefCell::new(Vec::new()));
        let log = Rc::clone(&calls);
        let handler = Rc::new(RefCell::new(handler));
        let fetch = Closure::<dyn FnMut(Request) -> Promise>::new(move |request: Request| {
            let address = window().location().href().unwrap();
            let log = Rc::clone(&log);
            let handler = Rc::clone(&handler);
            future_to_promise(async move {
                let body = JsFuture::from(request.text().unwrap()).await.unwrap();
                let url = request.url();
                let call = Call {
                    method: request.method(),
                    path: web_sys::Url::new(&url).unwrap().pathname(),
                    url,
                    csrf: request.headers().get("x-csrf-token").unwrap(),
                    body: body.as_string().unwrap_or_default(),
                    address,
                };
                log.borrow_mut().push(call.clone());
                let reply = (handler.borrow_mut())(&call);
                match reply {
                    Reply::Json(status, body) => Ok(json(status, &body)),
                    Reply::Later(ms, status, body) => {
                        JsFuture::from(after(ms, &json(status, &body))).await
                    }
                    Reply::Html(status) => Ok(html(status)),
                    Reply::NetworkError => Err(js_sys::TypeError::new("Failed to fetch").into()),
                    Reply::Never => std::future::pending().await,
                }
            })
        });
        Reflect::set(&window(), &"fetch".into(), fetch.as_ref()).unwrap();
        Self {
            calls,
            _fetch: fetch,
        }
    }

    /// Calls to `path` so far.
    pub fn calls_to(&self, path: &str) -> Vec<Call> {
        self.calls
            .borrow()
            .iter()
            .filter(|c| c.path == path)
            .cloned()
            .collect()
    }

    /// Every call so far.
    pub fn calls(&self) -> Vec<Call> {
        self.calls.borrow().clone()
    }
}

fn window() -> web_sys::Window {
    web_sys::window().unwrap()
}

fn json(status: u16, body: &str) -> JsValue {
    let init = ResponseInit::new();
    init.set_status(status);
    let headers = web_sys::Headers::new().unwrap();
    headers.set("content-type", "application/json").unwrap();
    if status == 429 {
        headers.set("retry-after", "42").unwrap();
    }
    init.set_headers(&headers);
    Response::new_with_opt_str_and_init(if status == 204 { None } else { Some(body) }, &init)
        .unwrap()
        .into()
}

fn html(status: u16) -> JsValue {
    let init = ResponseInit::new();
    init.set_status(status);
    Response::new_with_opt_str_and_init(
        Some("<html><body><h1>502 Bad Gateway</h1></body></html>"),
        &init,
    )
    .unwrap()
    .into()
}

fn after(ms: u32, value: &JsValue) -> Promise {
    Promise::new(&mut |resolve: js_sys::Function, _| {
        let value = value.clone();
        let callback = Closure::once_into_js(move || {
            let _ = resolve.call1(&JsValue::NULL, &value);
        });
        window()
            .set_timeout_with_callback_and_timeout_and_arguments_0(
                callback.unchecked_ref(),
                ms as i32,
            )
            .unwrap();
    })
}

/// Waits (up to two seconds) until `condition` holds.
pub async fn until(condition: impl FnMut() -> bool) -> bool {
    until_within(2_000, condition).await
}

/// Waits (up to `ms` milliseconds) until `condition` holds.
pub async fn until_within(ms: u32, mut condition: impl FnMut() -> bool) -> bool {
    for _ in 0..ms.div_ceil(10) {
        if condition() {
            return true;
        }
        gloo_timers::future::TimeoutFuture::new(10).await;
    }
    condition()
}

/// Waits (up to two seconds) until `selector` matches something under `root`.
pub async fn appears(root: &web_sys::HtmlElement, selector: &str) -> bool {
    until(|| root.query_selector(selector).unwrap().is_some()).await
}

/// A user as the server would send it.
pub fn user_json(role: &str, email_verified: bool) -> String {
    user_json_with_mfa(role, email_verified, false)
}

/// [`user_json`] with two-step sign-in on or off.
pub fn user_json_with_mfa(role: &str, email_verified: bool, mfa_enabled: bool) -> String {
    format!(
        r#"{{"id":"u1","email":"ann@example.com","role":"{role}","created_at":1,"email_verified":{email_verified},"mfa_enabled":{mfa_enabled}}}"#
    )
}

/// `GET /api/me` as the server would answer it.
pub fn me_json(email_verified: bool) -> String {
    format!(r#"{{"user":{}}}"#, user_json("user", email_verified))
}

/// A user, a session and times, as the server would send them.
pub fn auth_json(role: &str, lifetime_secs: i64) -> String {
    auth_json_for(&user_json(role, true), lifetime_secs)
}

/// [`auth_json`] for the user `user` (JSON).
pub fn auth_json_for(user: &str, lifetime_secs: i64) -> String {
    format!(
        r#"{{"user":{user},
            "session":{{"id":"s1","access_expires_at":{},"refresh_expires_at":9999999999,"server_time":1000}}}}"#,
        1000 + lifetime_secs
    )
}

/// An API error body.
pub fn error_json(code: &str) -> String {
    format!(r#"{{"error":{{"code":"{code}","message":"m"}}}}"#)
}

/// Sets the readable CSRF cookie (as the server would).
pub fn set_csrf_cookie(value: &str) {
    let document: web_sys::HtmlDocument = window().document().unwrap().unchecked_into();
    document
        .set_cookie(&format!("csrf_token={value}; path=/"))
        .unwrap();
}

/// Puts `address` (a path on this site, perhaps with a fragment) in the address bar
/// without loading it, as if the app had been opened there.
pub fn open_at(address: &str) {
    window()
        .history()
        .unwrap()
        .replace_state_with_url(&JsValue::NULL, "", Some(address))
        .unwrap();
}

/// Starts the whole app as if the browser had opened `address`; the handle keeps it
/// mounted.
pub fn open_app(address: &str) -> (web_sys::HtmlElement, impl Drop + use<>) {
    open_at(address);
    let root = container();
    let handle = leptos::mount::mount_to(root.clone(), frontend::App);
    (root, handle)
}

/// The address bar: path, query and fragment.
pub fn address_bar() -> String {
    let location = window().location();
    format!(
        "{}{}{}",
        location.pathname().unwrap(),
        location.search().unwrap(),
        location.hash().unwrap()
    )
}

/// A fresh container in the page; the caller mounts into it.
pub fn container() -> web_sys::HtmlElement {
    let document = window().document().unwrap();
    let container: web_sys::HtmlElement = document.create_element("div").unwrap().unchecked_into();
    document.body().unwrap().append_child(&container).unwrap();
    container
}

/// The element at `selector` under `root`.
pub fn find<T: JsCast>(root: &web_sys::HtmlElement, selector: &str) -> T {
    root.query_selector(selector)
        .unwrap()
        .unwrap_or_else(|| panic!("no {selector} in {}", root.inner_html()))
        .unchecked_into()
}

/// The text at `selector` under `root` (empty when there is no such element).
pub fn text(root: &web_sys::HtmlElement, selector: &str) -> String {
    root.query_selector(selector)
        .unwrap()
        .and_then(|e| e.text_content())
        .unwrap_or_default()
}

/// Types `value` into the input at `selector`, as a person would.
pub fn fill(root: &web_sys::HtmlElement, selector: &str, value: &str) {
    let input: web_sys::HtmlInputElement = find(root, selector);
    input.set_value(value);
    input
        .dispatch_event(&web_sys::Event::new("input").unwrap())
        .unwrap();
}

/// Submits the (first) form under `root`, as Enter or its button would.
pub fn submit(root: &web_sys::HtmlElement) {
    find::<web_sys::HtmlFormElement>(root, "form")
        .request_submit()
        .unwrap();
}

/// What the scripted authenticator of [`fake_passkeys`] does when asked.
#[derive(Debug, Clone, Copy)]
pub enum Authenticator {
    /// Makes or uses a credential.
    Agrees,
    /// The user cancels (`NotAllowedError`).
    Cancels,
}

/// The server's options for a ceremony (what the browser is given is checked, not their
/// content).
pub const PASSKEY_OPTIONS: &str = r#"{"publicKey":{"challenge":"Y2hhbGxlbmdl"}}"#;

/// The options as the scripted browser parsed them.
pub const PARSED_OPTIONS: &str = r#"{"parsed":{"challenge":"Y2hhbGxlbmdl"}}"#;

/// The JSON form (`toJSON()`) of every credential the scripted authenticator gives.
pub const CREDENTIAL_JSON: &str =
    r#"{"id":"cred-1","rawId":"cred-1","type":"public-key","response":{"clientDataJSON":"e30"}}"#;

/// Replaces the browser's passkey calls with a script: `parse…OptionsFromJSON` wrap the
/// server's options as `{parsed: options}`; `navigator.credentials.create` and `get` note
/// what they were given (see [`passkey_calls`]) and answer as `authenticator` says; a
/// conditional `get` waits until its signal aborts, or until [`pick_autofill_passkey`].
/// `isConditionalMediationAvailable` answers `autofill`.
pub fn fake_passkeys(authenticator: Authenticator, autofill: bool) {
    let agrees = matches!(authenticator, Authenticator::Agrees);
    let script = format!(
        r#"
        const calls = window.passkeyCalls = [];
        const credential = {{ toJSON: () => ({CREDENTIAL_JSON}) }};
        PublicKeyCredential.parseCreationOptionsFromJSON = o => ({{ parsed: o }});
        PublicKeyCredential.parseRequestOptionsFromJSON = o => ({{ parsed: o }});
        PublicKeyCredential.isConditionalMediationAvailable = () => Promise.resolve({autofill});
        const ceremony = kind => options => {{
            const call = {{ kind, options, aborted: false }};
            calls.push(call);
            if (options.mediation === "conditional") {{
                return new Promise((resolve, reject) => {{
                    call.pick = () => resolve(credential);
                    options.signal.addEventListener("abort", () => {{
                        call.aborted = true;
                        reject(new DOMException("aborted", "AbortError"));
                    }});
                }});
            }}
            return {agrees}
                ? Promise.resolve(credential)
                : Promise.reject(new DOMException("cancelled", "NotAllowedError"));
        }};
        navigator.credentials.create = ceremony("create");
        navigator.credentials.get = ceremony("get");
        "#
    );
    js_sys::Function::new_no_args(&script)
        .call0(&JsValue::NULL)
        .unwrap();
}

/// One call to the scripted authenticator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyCall {
    /// `create` or `get`.
    pub kind: String,
    /// `mediation`, when given.
    pub mediation: Option<String>,
    /// Whether its signal aborted it.
    pub aborted: bool,
    /// Its `publicKey` option, as JSON.
    pub public_key: String,
}

/// The calls to the scripted authenticator so far.
pub fn passkey_calls() -> Vec<PasskeyCall> {
    let calls = Reflect::get(&window(), &"passkeyCalls".into()).unwrap();
    js_sys::Array::from(&calls)
        .iter()
        .map(|call| {
            let field = |name: &str| Reflect::get(&call, &name.into()).unwrap();
            let options = field("options");
            let public_key = Reflect::get(&options, &"publicKey".into()).unwrap();
            PasskeyCall {
                kind: field("kind").as_string().unwrap(),
                mediation: Reflect::get(&options, &"mediation".into())
                    .unwrap()
                    .as_string(),
                aborted: field("aborted").as_bool().unwrap(),
                public_key: js_sys::JSON::stringify(&public_key).unwrap().into(),
            }
        })
        .collect()
}

/// The user picks the passkey the email field's autofill offers (the newest conditional
/// request gets it).
pub fn pick_autofill_passkey() {
    js_sys::Function::new_no_args(
        "window.passkeyCalls.filter(c => c.pick && !c.aborted).pop().pick()",
    )
    .call0(&JsValue::NULL)
    .unwrap();
}
