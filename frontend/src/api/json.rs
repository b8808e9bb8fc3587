//! The API's JSON, parsed and written by the browser (`JSON.parse`, `JSON.stringify`) and
//! read field by field into the `shared` types.
//!
//! Not serde: a JSON parser in Rust and serde's derived decoders (with their error
//! messages) were a sixth of the download (27 KB of 148 KB gzip). The field names are
//! those of the `shared` types' serde form; the tests check each type against it.

use js_sys::{Array, JSON, Object, Reflect};
use shared::{
    AuthResponse, Credentials, EmailVerification, ErrorCode, ForgotPassword, MeResponse, MfaCode,
    MfaMethod, MfaRequired, PasskeyInfo, PasswordChange, PasswordReset, Product, RecoveryCodes,
    Registered, Role, SessionInfo, SessionView, TotpSetup, UserView, WireName,
};
use wasm_bindgen::{JsCast, JsValue};

use super::webauthn::{Credential, NewPasskey, Options};

/// Parses JSON text (`None` when it is not JSON).
pub fn parse(text: &str) -> Option<JsValue> {
    JSON::parse(text).ok()
}

/// An API type read from parsed JSON.
pub trait FromJson: Sized {
    /// Reads it; `None` when `value` does not have its shape.
    fn from_json(value: &JsValue) -> Option<Self>;
}

/// An API body written as JSON text.
pub trait ToJson {
    /// The JSON text.
    fn to_json(&self) -> String;
}

fn get(value: &JsValue, name: &str) -> JsValue {
    Reflect::get(value, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED)
}

fn string(value: &JsValue, name: &str) -> Option<String> {
    get(value, name).as_string()
}

/// A field read by `read`, or `null` (or absent).
fn optional<T>(
    value: &JsValue,
    name: &str,
    read: fn(&JsValue, &str) -> Option<T>,
) -> Option<Option<T>> {
    let field = get(value, name);
    if field.is_null() || field.is_undefined() {
        Some(None)
    } else {
        read(value, name).map(Some)
    }
}

/// A whole number (the API's times and ids fit in a JavaScript number exactly).
fn integer(value: &JsValue, name: &str) -> Option<i64> {
    let number = get(value, name).as_f64()?;
    (number.fract() == 0.0 && number.abs() <= 9_007_199_254_740_991.0).then_some(number as i64)
}

fn boolean(value: &JsValue, name: &str) -> Option<bool> {
    get(value, name).as_bool()
}

/// A unit enum by its name on the wire (`"admin"`, `"invalid_link"`) in the field `name`.
fn named<T: WireName>(value: &JsValue, name: &str) -> Option<T> {
    unit(&get(value, name))
}

/// A unit enum by its name on the wire, `value` itself.
fn unit<T: WireName>(value: &JsValue) -> Option<T> {
    T::from_wire_name(&value.as_string()?)
}

/// `{name: value, …}` for string fields.
fn object(fields: &[(&str, &str)]) -> String {
    let values: Vec<_> = fields
        .iter()
        .map(|&(name, value)| (name, JsValue::from_str(value)))
        .collect();
    object_of(&values)
}

/// `{name: value, …}`.
fn object_of(fields: &[(&str, JsValue)]) -> String {
    let object = Object::new();
    for (name, value) in fields {
        let _ = Reflect::set(&object, &JsValue::from_str(name), value);
    }
    JSON::stringify(&object)
        .map(String::from)
        .unwrap_or_default()
}

impl FromJson for UserView {
    fn from_json(value: &JsValue) -> Option<Self> {
        Some(Self {
            id: string(value, "id")?,
            email: string(value, "email")?,
            role: named::<Role>(value, "role")?,
            created_at: integer(value, "created_at")?,
            email_verified: boolean(value, "email_verified")?,
            mfa_enabled: boolean(value, "mfa_enabled")?,
        })
    }
}

impl FromJson for SessionView {
    fn from_json(value: &JsValue) -> Option<Self> {
        Some(Self {
            id: string(value, "id")?,
            access_expires_at: integer(value, "access_expires_at")?,
            refresh_expires_at: integer(value, "refresh_expires_at")?,
            server_time: integer(value, "server_time")?,
        })
    }
}

impl FromJson for AuthResponse {
    fn from_json(value: &JsValue) -> Option<Self> {
        Some(Self {
            user: UserView::from_json(&get(value, "user"))?,
            session: SessionView::from_json(&get(value, "session"))?,
        })
    }
}

impl FromJson for Registered {
    fn from_json(value: &JsValue) -> Option<Self> {
        let session = get(value, "session");
        Some(Self {
            user: UserView::from_json(&get(value, "user"))?,
            session: if session.is_null() || session.is_undefined() {
                None
            } else {
                Some(SessionView::from_json(&session)?)
            },
        })
    }
}

impl FromJson for MeResponse {
    fn from_json(value: &JsValue) -> Option<Self> {
        Some(Self {
            user: UserView::from_json(&get(value, "user"))?,
        })
    }
}

impl FromJson for Product {
    fn from_json(value: &JsValue) -> Option<Self> {
        Some(Self {
            id: integer(value, "id")?,
            name: string(value, "name")?,
            price_cents: integer(value, "price_cents")?,
        })
    }
}

impl FromJson for SessionInfo {
    fn from_json(value: &JsValue) -> Option<Self> {
        Some(Self {
            id: string(value, "id")?,
            created_at: integer(value, "created_at")?,
            last_used_at: integer(value, "last_used_at")?,
            expires_at: integer(value, "expires_at")?,
            user_agent: optional(value, "user_agent", string)?,
            ip: optional(value, "ip", string)?,
            current: boolean(value, "current")?,
        })
    }
}

impl FromJson for TotpSetup {
    fn from_json(value: &JsValue) -> Option<Self> {
        Some(Self {
            secret: string(value, "secret")?,
            otpauth_uri: string(value, "otpauth_uri")?,
            qr_svg: string(value, "qr_svg")?,
        })
    }
}

impl FromJson for RecoveryCodes {
    fn from_json(value: &JsValue) -> Option<Self> {
        Some(Self {
            recovery_codes: Vec::from_json(&get(value, "recovery_codes"))?,
        })
    }
}

impl FromJson for MfaRequired {
    fn from_json(value: &JsValue) -> Option<Self> {
        Some(Self {
            mfa_required: Vec::from_json(&get(value, "mfa_required"))?,
        })
    }
}

impl FromJson for MfaMethod {
    fn from_json(value: &JsValue) -> Option<Self> {
        unit(value)
    }
}

impl FromJson for PasskeyInfo {
    fn from_json(value: &JsValue) -> Option<Self> {
        Some(Self {
            id: string(value, "id")?,
            name: string(value, "name")?,
            created_at: integer(value, "created_at")?,
            last_used_at: optional(value, "last_used_at", integer)?,
        })
    }
}

/// A ceremony's options, `{publicKey: {…}}`: kept as sent, for the browser to read.
impl FromJson for Options {
    fn from_json(value: &JsValue) -> Option<Self> {
        let public_key = get(value, "publicKey");
        public_key.is_object().then_some(Self(public_key))
    }
}

impl FromJson for String {
    fn from_json(value: &JsValue) -> Option<Self> {
        value.as_string()
    }
}

/// The code of an error body (`{"error": {"code": …, "message": …}}`).
impl FromJson for ErrorCode {
    fn from_json(value: &JsValue) -> Option<Self> {
        named(&get(value, "error"), "code")
    }
}

impl<T: FromJson> FromJson for Vec<T> {
    fn from_json(value: &JsValue) -> Option<Self> {
        value
            .dyn_ref::<Array>()?
            .iter()
            .map(|item| T::from_json(&item))
            .collect()
    }
}

impl ToJson for Credentials {
    fn to_json(&self) -> String {
        object(&[("email", &self.email), ("password", &self.password)])
    }
}

impl ToJson for ForgotPassword {
    fn to_json(&self) -> String {
        object(&[("email", &self.email)])
    }
}

impl ToJson for PasswordReset {
    fn to_json(&self) -> String {
        object(&[("token", &self.token), ("password", &self.password)])
    }
}

impl ToJson for EmailVerification {
    fn to_json(&self) -> String {
        object(&[("token", &self.token)])
    }
}

impl ToJson for PasswordChange {
    fn to_json(&self) -> String {
        object(&[
            ("current_password", &self.current_password),
            ("new_password", &self.new_password),
        ])
    }
}

impl ToJson for MfaCode {
    fn to_json(&self) -> String {
        object(&[("code", &self.code)])
    }
}

impl ToJson for NewPasskey {
    fn to_json(&self) -> String {
        object_of(&[
            ("credential", self.credential.0.clone()),
            ("name", JsValue::from_str(&self.name)),
        ])
    }
}

/// The body of `passkeys/login/finish`, `{credential}`.
impl ToJson for Credential {
    fn to_json(&self) -> String {
        object_of(&[("credential", self.0.clone())])
    }
}
