//! The SPA reads and writes the API's JSON field by field, without serde: each type is
//! checked here against its serde form in `shared`, so a renamed field cannot slip by.

use frontend::api::json::{FromJson, ToJson};
use frontend::api::webauthn::Options;
use js_sys::JSON;
use serde::Serialize;
use serde_json::Value;
use shared::{
    AuthResponse, Credentials, EmailVerification, ErrorBody, ErrorCode, ForgotPassword, MeResponse,
    MfaCode, MfaMethod, MfaRequired, PasskeyInfo, PasswordChange, PasswordReset, Product,
    RecoveryCodes, Registered, Role, SessionInfo, SessionView, TotpSetup, UserView,
};
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// `value` as the server sends it, parsed by the browser.
fn sent<T: Serialize>(value: &T) -> JsValue {
    JSON::parse(&serde_json::to_string(value).unwrap()).unwrap()
}

/// `value` read back after the server sent it.
fn round_trip<T: Serialize + FromJson>(value: &T) -> Option<T> {
    T::from_json(&sent(value))
}

fn user(role: Role) -> UserView {
    UserView {
        id: "u1".into(),
        email: "ann@example.com".into(),
        role,
        created_at: 1_700_000_000,
        email_verified: false,
        mfa_enabled: true,
    }
}

fn session() -> SessionView {
    SessionView {
        id: "s1".into(),
        access_expires_at: 1_700_000_900,
        refresh_expires_at: 1_700_604_800,
        server_time: 1_700_000_000,
    }
}

#[wasm_bindgen_test]
fn every_answer_reads_back_what_the_server_writes() {
    for role in [Role::User, Role::Admin] {
        assert_eq!(round_trip(&user(role)), Some(user(role)));
    }
    assert_eq!(round_trip(&session()), Some(session()));
    let auth = AuthResponse {
        user: user(Role::User),
        session: session(),
    };
    assert_eq!(round_trip(&auth), Some(auth));
    for session in [Some(session()), None] {
        let registered = Registered {
            user: user(Role::User),
            session,
        };
        assert_eq!(round_trip(&registered), Some(registered));
    }
    let me = MeResponse {
        user: user(Role::Admin),
    };
    assert_eq!(round_trip(&me), Some(me));
    let products = vec![Product {
        id: 7,
        name: "Lamp".into(),
        price_cents: 1299,
    }];
    assert_eq!(round_trip(&products), Some(products));
    let sessions: Vec<SessionInfo> = [(Some("Firefox"), Some("10.0.0.1")), (None, None)]
        .into_iter()
        .map(|(agent, ip)| SessionInfo {
            id: "s2".into(),
            created_at: 1,
            last_used_at: 2,
            expires_at: 3,
            user_agent: agent.map(Into::into),
            ip: ip.map(Into::into),
            current: agent.is_some(),
        })
        .collect();
    assert_eq!(round_trip(&sessions), Some(sessions));
    assert_eq!(
        round_trip(&vec![user(Role::User)]),
        Some(vec![user(Role::User)])
    );
}

#[wasm_bindgen_test]
fn every_second_factor_answer_reads_back_what_the_server_writes() {
    let setup = TotpSetup {
        secret: "JBSWY3DPEHPK3PXP".into(),
        otpauth_uri: "otpauth://totp/JWT%20Auth:ann%40example.com?secret=JBSWY3DPEHPK3PXP".into(),
        qr_svg: r##"<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><rect fill="#fff"/></svg>"##
            .into(),
    };
    assert_eq!(round_trip(&setup), Some(setup));
    let codes = RecoveryCodes {
        recovery_codes: (0..10)
            .map(|i| format!("3f2a1-0b9c4-77de0-12ab{i}"))
            .collect(),
    };
    // No Debug for secrets: compared, not printed.
    assert!(round_trip(&codes) == Some(codes));
    for methods in [
        vec![MfaMethod::Totp, MfaMethod::RecoveryCode],
        vec![MfaMethod::Passkey],
        vec![],
    ] {
        let required = MfaRequired {
            mfa_required: methods,
        };
        assert_eq!(round_trip(&required), Some(required));
    }
    // A method or a code of another shape.
    let parse = |text: &str| JSON::parse(text).unwrap();
    assert_eq!(
        MfaRequired::from_json(&parse(r#"{"mfa_required":["sms"]}"#)),
        None
    );
    assert!(RecoveryCodes::from_json(&parse(r#"{"recovery_codes":["a",1]}"#)).is_none());
}

#[wasm_bindgen_test]
fn passkey_answers_read_back_what_the_server_writes() {
    let passkeys: Vec<PasskeyInfo> = [None, Some(1_700_000_100)]
        .into_iter()
        .map(|last_used_at| PasskeyInfo {
            id: "pk1".into(),
            name: "Laptop \"work\" ünïcödé".into(),
            created_at: 1_700_000_000,
            last_used_at,
        })
        .collect();
    assert_eq!(round_trip(&passkeys), Some(passkeys));
    let parse = |text: &str| JSON::parse(text).unwrap();
    assert_eq!(
        PasskeyInfo::from_json(&parse(
            r#"{"id":"pk1","name":"Laptop","created_at":1,"last_used_at":"yesterday"}"#
        )),
        None
    );
    // A ceremony's options are kept for the browser; only their shape is checked.
    assert!(Options::from_json(&parse(r#"{"publicKey":{"challenge":"abc"}}"#)).is_some());
    for other in [
        r#"{"challenge":"abc"}"#,
        r#"{"publicKey":"abc"}"#,
        "[]",
        "null",
    ] {
        assert!(Options::from_json(&parse(other)).is_none(), "{other}");
    }
}

#[wasm_bindgen_test]
fn error_codes_read_back_from_an_error_body() {
    // The codes the SPA acts on; the rest are read the same way.
    for code in [
        ErrorCode::TokenExpired,
        ErrorCode::SessionRevoked,
        ErrorCode::InvalidRefreshToken,
        ErrorCode::InvalidLink,
        ErrorCode::WeakPassword,
        ErrorCode::InvalidCode,
        ErrorCode::MfaTicketInvalid,
        ErrorCode::ReauthenticationRequired,
        ErrorCode::InvalidPasskey,
    ] {
        assert_eq!(
            ErrorCode::from_json(&sent(&ErrorBody::from(code))),
            Some(code)
        );
    }
}

#[wasm_bindgen_test]
fn answers_of_another_shape_are_not_read() {
    let parse = |text: &str| JSON::parse(text).unwrap();
    // A field missing, of the wrong type, or a number that is not whole.
    assert_eq!(
        SessionView::from_json(&parse(
            r#"{"id":"s1","access_expires_at":1,"server_time":1}"#
        )),
        None
    );
    assert_eq!(
        Product::from_json(&parse(r#"{"id":"7","name":"Lamp","price_cents":1299}"#)),
        None
    );
    assert_eq!(
        Product::from_json(&parse(r#"{"id":7,"name":"Lamp","price_cents":12.5}"#)),
        None
    );
    // An unknown role or code, an item of a list, not an object at all.
    let mut unknown_role = serde_json::to_value(user(Role::User)).unwrap();
    unknown_role["role"] = "root".into();
    assert_eq!(UserView::from_json(&sent(&unknown_role)), None);
    assert_eq!(
        ErrorCode::from_json(&parse(r#"{"error":{"code":"no_such_code","message":"m"}}"#)),
        None
    );
    assert_eq!(Vec::<Product>::from_json(&parse(r#"[{"id":1}]"#)), None);
    assert_eq!(Vec::<Product>::from_json(&parse(r#"{"id":1}"#)), None);
    assert_eq!(AuthResponse::from_json(&parse("null")), None);
    // Fields the SPA does not know are no reason to refuse an answer.
    let mut more = serde_json::to_value(session()).unwrap();
    more["later_field"] = true.into();
    assert_eq!(SessionView::from_json(&sent(&more)), Some(session()));
}

/// `body` as the SPA writes it equals `body` as serde writes it.
fn writes_as_serde<T: Serialize + ToJson>(body: &T) {
    let ours: Value = serde_json::from_str(&body.to_json()).unwrap();
    assert_eq!(ours, serde_json::to_value(body).unwrap());
}

#[wasm_bindgen_test]
fn every_request_body_is_written_as_the_server_reads_it() {
    writes_as_serde(&Credentials {
        email: "ann@example.com".into(),
        password: "quote \" backslash \\ and ünïcödé".into(),
    });
    writes_as_serde(&ForgotPassword {
        email: "ann@example.com".into(),
    });
    writes_as_serde(&PasswordReset {
        token: "t0k3n".into(),
        password: "a new passphrase".into(),
    });
    writes_as_serde(&EmailVerification {
        token: "t0k3n".into(),
    });
    writes_as_serde(&PasswordChange {
        current_password: "old passphrase".into(),
        new_password: "new passphrase".into(),
    });
    writes_as_serde(&MfaCode {
        code: "3f2a1-0b9c4-77de0-12ab3".into(),
    });
}
