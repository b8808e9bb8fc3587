//! The JSON body of every endpoint that takes one, through the real extractor
//! (`AppJson`: content type, object check, serde with unknown fields refused), then the
//! checks its handler makes before the database.
//!
//! The first byte picks the endpoint (its value modulo the number of endpoints, in the
//! order of [`ENDPOINTS`]); the rest is the body.
//!
//! Checked: nothing panics; a refused body gets a 4xx status with a code of the body
//! family (`invalid_body`, `payload_too_large`), never a 5xx; an accepted body's fields
//! go through the same checks as in its flow.

#![no_main]

use axum::body::Body;
use axum::extract::FromRequest;
use axum::http::{Request, header};
use axum::response::IntoResponse;
use backend::auth::accounts::{throttle_subject, validate_new_account};
use backend::auth::mfa::recovery_code_hash;
use backend::auth::passkeys::challenge_of;
use backend::crypto::is_token_shaped;
use backend::http::extract::AppJson;
use backend_fuzz::block_on;
use libfuzzer_sys::fuzz_target;
use serde::de::DeserializeOwned;
use serde_json::Value;
use shared::validation::normalize_password;
use shared::{
    Credentials, EmailVerification, ErrorCode, ForgotPassword, MfaCode, PasswordChange,
    PasswordReset,
};
use webauthn_rs_proto::{PublicKeyCredential, RegisterPublicKeyCredential};

/// The account whose password a signed-in user changes (the flows take it from the row).
const ACCOUNT_EMAIL: &str = "alice@example.com";

/// Paths, for the seeds' names and the reader; the first byte indexes this list.
const ENDPOINTS: [&str; 9] = [
    "/api/auth/register",
    "/api/auth/login",
    "/api/auth/password/change",
    "/api/auth/password/forgot",
    "/api/auth/password/reset",
    "/api/auth/email/verify",
    "/api/auth/mfa/verify (and totp/confirm, totp/disable)",
    "/api/auth/passkeys/register/finish",
    "/api/auth/passkeys/login/finish",
];

fuzz_target!(|data: &[u8]| {
    let Some((&which, body)) = data.split_first() else {
        return;
    };
    match usize::from(which) % ENDPOINTS.len() {
        0 => {
            if let Some(Credentials { email, password }) = extract(body) {
                let _ = validate_new_account(&email, &password);
            }
        }
        1 => {
            if let Some(Credentials { email, password }) = extract(body) {
                let _ = (throttle_subject(&email), normalize_password(&password));
            }
        }
        2 => {
            if let Some(change) = extract::<PasswordChange>(body) {
                let _ = validate_new_account(ACCOUNT_EMAIL, &change.new_password);
                let _ = normalize_password(&change.current_password);
            }
        }
        3 => {
            if let Some(ForgotPassword { email }) = extract(body) {
                let _ = throttle_subject(&email);
            }
        }
        4 => {
            if let Some(PasswordReset { token, password }) = extract(body)
                && is_token_shaped(&token)
            {
                let _ = validate_new_account(ACCOUNT_EMAIL, &password);
            }
        }
        5 => {
            if let Some(EmailVerification { token }) = extract(body) {
                let _ = is_token_shaped(&token);
            }
        }
        6 => {
            if let Some(MfaCode { code }) = extract(body) {
                assert_eq!(recovery_code_hash(&code).len(), 64);
            }
        }
        7 => {
            if let Some(body) = extract::<Value>(body) {
                let _ = body["name"].as_str().map(str::trim);
                if challenge_of(&body["credential"]).is_some() {
                    let _ = serde_json::from_value::<RegisterPublicKeyCredential>(
                        body["credential"].clone(),
                    );
                }
            }
        }
        _ => {
            if let Some(body) = extract::<Value>(body)
                && challenge_of(&body["credential"]).is_some()
            {
                let _ = serde_json::from_value::<PublicKeyCredential>(body["credential"].clone());
            }
        }
    }
});

/// The body as the handler's `AppJson<T>` gets it, or `None` when refused (as it must
/// be: with a 4xx status and a body-family code).
fn extract<T: DeserializeOwned>(body: &[u8]) -> Option<T> {
    let request = Request::post("/api/auth/fuzz")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_vec()))
        .expect("a request");
    match block_on(AppJson::<T>::from_request(request, &())) {
        Ok(AppJson(value)) => Some(value),
        Err(refused) => {
            let code = refused.code();
            let status = refused.into_response().status();
            assert!(status.is_client_error(), "{status} for a body");
            assert!(
                matches!(code, ErrorCode::InvalidBody | ErrorCode::PayloadTooLarge),
                "{code:?} for a body"
            );
            None
        }
    }
}
