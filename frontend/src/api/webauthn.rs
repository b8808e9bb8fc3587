//! The browser's passkey ceremonies (`navigator.credentials.create` and `get`) in the JSON
//! forms the server speaks: its options go through
//! `PublicKeyCredential.parse…OptionsFromJSON`, and the credential goes back as its
//! `toJSON()`, so the SPA itself handles no base64 or CBOR. Imported by hand: `web-sys`
//! has no binding for the JSON forms.

use std::cell::RefCell;

use js_sys::{Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortController, AbortSignal};

use super::error::ClientError;

#[wasm_bindgen]
extern "C" {
    /// A `PublicKeyCredential` the browser made or used.
    type PublicKeyCredential;

    #[wasm_bindgen(method, js_name = toJSON, catch)]
    fn to_json(this: &PublicKeyCredential) -> Result<JsValue, JsValue>;

    #[wasm_bindgen(static_method_of = PublicKeyCredential, js_name = parseCreationOptionsFromJSON, catch)]
    fn parse_creation_options(json: &JsValue) -> Result<JsValue, JsValue>;

    #[wasm_bindgen(static_method_of = PublicKeyCredential, js_name = parseRequestOptionsFromJSON, catch)]
    fn parse_request_options(json: &JsValue) -> Result<JsValue, JsValue>;

    #[wasm_bindgen(static_method_of = PublicKeyCredential, js_name = isConditionalMediationAvailable, catch)]
    fn conditional_mediation_available() -> Result<Promise, JsValue>;

    #[wasm_bindgen(js_namespace = ["navigator", "credentials"], js_name = create, catch)]
    fn create_credential(options: &Object) -> Result<Promise, JsValue>;

    #[wasm_bindgen(js_namespace = ["navigator", "credentials"], js_name = get, catch)]
    fn get_credential(options: &Object) -> Result<Promise, JsValue>;
}

/// The server's options for one ceremony: the `publicKey` member of its answer.
#[derive(Debug)]
pub struct Options(pub(super) JsValue);

/// A credential in its JSON form, as the server reads it.
#[derive(Debug)]
pub struct Credential(pub(super) JsValue);

/// The body of `passkeys/register/finish`: a new credential and the name the user chose.
#[derive(Debug)]
pub struct NewPasskey {
    /// The credential the browser made.
    pub credential: Credential,
    /// Its name in the list.
    pub name: String,
}

thread_local! {
    /// What aborts the passkey request waiting in the background for the email field's
    /// autofill, if one does: the browser runs one passkey request at a time.
    static AUTOFILL: RefCell<Option<AbortController>> = RefCell::default();
}

/// The signal of a new background request for the email field's autofill, which replaces
/// (aborts) any earlier one.
pub fn autofill_signal() -> Option<AbortSignal> {
    abort_autofill();
    let controller = AbortController::new().ok()?;
    let signal = controller.signal();
    AUTOFILL.with(|slot| slot.replace(Some(controller)));
    Some(signal)
}

/// Aborts the background request for the email field's autofill, if there is one.
pub fn abort_autofill() {
    if let Some(controller) = AUTOFILL.with(RefCell::take) {
        controller.abort();
    }
}

/// Whether this browser has passkeys with their JSON forms (on a secure page).
pub fn supported() -> bool {
    let class = web_sys::window()
        .and_then(|window| Reflect::get(&window, &"PublicKeyCredential".into()).ok())
        .unwrap_or_default();
    Reflect::get(&class, &"parseRequestOptionsFromJSON".into()).is_ok_and(|f| f.is_function())
}

/// Whether the browser offers passkeys in the autofill of a field marked `webauthn`.
pub async fn autofill_available() -> bool {
    let Ok(promise) = PublicKeyCredential::conditional_mediation_available() else {
        return false;
    };
    JsFuture::from(promise)
        .await
        .is_ok_and(|answer| answer.is_truthy())
}

/// Makes a new passkey; the browser asks the user where to keep it.
pub async fn create(options: &Options) -> Result<Credential, ClientError> {
    let public_key = PublicKeyCredential::parse_creation_options(&options.0)
        .map_err(|_| ClientError::Passkey)?;
    ceremony(create_credential(&request(&public_key))).await
}

/// Signs in with a passkey of this site that the user picks: in the browser's dialog (in
/// place of any background request), or with an [`autofill_signal`], from the email
/// field's autofill until the signal aborts.
pub async fn get(
    options: &Options,
    autofill: Option<&AbortSignal>,
) -> Result<Credential, ClientError> {
    let public_key =
        PublicKeyCredential::parse_request_options(&options.0).map_err(|_| ClientError::Passkey)?;
    let request = request(&public_key);
    match autofill {
        Some(signal) => {
            let _ = Reflect::set(&request, &"mediation".into(), &"conditional".into());
            let _ = Reflect::set(&request, &"signal".into(), signal);
        }
        None => abort_autofill(),
    }
    ceremony(get_credential(&request)).await
}

/// `{publicKey}`.
fn request(public_key: &JsValue) -> Object {
    let request = Object::new();
    let _ = Reflect::set(&request, &"publicKey".into(), public_key);
    request
}

/// The credential a ceremony gives, in its JSON form; a ceremony that did not complete
/// (cancelled, timed out, aborted, refused) is [`ClientError::Passkey`].
async fn ceremony(started: Result<Promise, JsValue>) -> Result<Credential, ClientError> {
    let promise = started.map_err(|_| ClientError::Passkey)?;
    let credential = JsFuture::from(promise)
        .await
        .map_err(|_| ClientError::Passkey)?;
    credential
        .unchecked_into::<PublicKeyCredential>()
        .to_json()
        .map(Credential)
        .map_err(|_| ClientError::Passkey)
}
