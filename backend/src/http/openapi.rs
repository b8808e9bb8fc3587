//! `GET /api/openapi.json`: the OpenAPI 3.1 document of the API, generated from the route
//! table itself (each feature's router registers its handlers with `routes!`, which also
//! files their `#[utoipa::path]` description), so a route cannot exist undocumented.
//!
//! A handler's annotation says what the handler answers; [`document`] then adds what the
//! layers in front of every handler answer, by the same rules those layers follow: the
//! CSRF check on unsafe methods, the JSON body extractor, the body limit under
//! `/api/auth`, the access-token extractor, the database and the time limit. Every error
//! response lists exactly the codes it can carry, and each code's status comes from
//! [`status_of`], the table the server answers by.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Map, Value, json};
use shared::names::{CSRF_HEADER, paths};
use shared::{ErrorBody, ErrorCode, WireName};
use utoipa::openapi::RefOr;
use utoipa::openapi::response::Response as ResponseDoc;
use utoipa::{OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::HttpState;
use super::cookies::{ACCESS, CookiePolicy, MFA_TICKET, REFRESH};
use super::error::{is_access_token_error, status_of};

/// Security scheme: the access token in its cookie (state-changing requests add
/// [`CSRF`]).
pub const ACCESS_COOKIE: &str = "access_cookie";
/// Security scheme: the access token as `Authorization: Bearer` (no CSRF header needed).
pub const BEARER: &str = "bearer";
/// Security scheme: the refresh token's cookie.
pub const REFRESH_COOKIE: &str = "refresh_cookie";
/// Security scheme: the ticket cookie of a sign-in waiting for its second step.
pub const MFA_TICKET_COOKIE: &str = "mfa_ticket_cookie";
/// Security scheme: the double-submit header, equal to the `csrf_token` cookie.
pub const CSRF: &str = "csrf_header";

/// The document's frame: what no handler says.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Auth API",
        description = "JWT access tokens and rotating refresh tokens in HttpOnly cookies, \
                       with CSRF protection, throttling, TOTP, passkeys and account recovery.\n\n\
                       Every error body is `ErrorBody`; each error response lists the codes \
                       it can carry. A browser sends its cookies by itself; an unsafe request \
                       that carries a session cookie must also send `X-CSRF-Token` equal to \
                       the `csrf_token` cookie. Non-browser clients may send the access token \
                       as `Authorization: Bearer` instead, and then need no CSRF header."
    ),
    components(schemas(ErrorBody)),
    tags(
        (name = "auth", description = "Signing in and out, sessions' tokens, passwords"),
        (name = "recovery", description = "Password reset and email verification"),
        (name = "mfa", description = "TOTP and the second step of a sign-in"),
        (name = "passkeys", description = "WebAuthn passkeys"),
        (name = "account", description = "The signed-in user, their sessions, admin views"),
        (name = "operations", description = "Health, readiness, keys and this document")
    )
)]
struct Frame;

/// The body of a 202 that has nothing to say: `{}`.
#[derive(Serialize, ToSchema)]
pub struct Accepted {}

/// The route of this document.
pub fn router() -> OpenApiRouter<HttpState> {
    OpenApiRouter::new().routes(routes!(serve))
}

/// This document (OpenAPI 3.1), with this deployment's cookie names.
#[utoipa::path(
    get,
    path = paths::OPENAPI,
    tag = "operations",
    responses((status = 200, description = "The OpenAPI document of this API.", body = Object))
)]
async fn serve(State(state): State<HttpState>) -> Response {
    static PLAIN: OnceLock<String> = OnceLock::new();
    static SECURE: OnceLock<String> = OnceLock::new();
    let policy = state.cookies;
    let cell = if policy.is_secure() { &SECURE } else { &PLAIN };
    let body: &'static str = cell.get_or_init(|| document(policy).to_string());
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// The whole document, for a deployment whose cookies follow `policy`.
pub fn document(policy: CookiePolicy) -> Value {
    let mut doc = super::documented_routes().into_openapi();
    let frame = Frame::openapi();
    doc.info = frame.info;
    doc.tags = frame.tags;
    if let Some(components) = frame.components {
        doc.components
            .get_or_insert_with(Default::default)
            .schemas
            .extend(components.schemas);
    }
    let mut doc = serde_json::to_value(doc).expect("the document serialises");
    add_security_schemes(&mut doc, policy);
    close_response_objects(&mut doc);
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for (path, item) in paths.iter_mut() {
            let Some(item) = item.as_object_mut() else {
                continue;
            };
            for (method, operation) in item.iter_mut() {
                for (status, code) in layer_errors(path, method, operation) {
                    add_error(operation, status, code);
                }
            }
        }
    }
    doc
}

/// What the layers in front of a handler may answer instead of it.
fn layer_errors(path: &str, method: &str, operation: &Value) -> Vec<(StatusCode, ErrorCode)> {
    let with_status = |code| (status_of(code), code);
    // The time limit covers every route.
    let mut errors = vec![with_status(ErrorCode::Timeout)];
    let under_api = path.starts_with(&format!("{}/", paths::API_PREFIX));
    if under_api && method != "get" {
        errors.push(with_status(ErrorCode::CsrfRejected));
    }
    if operation.get("requestBody").is_some() {
        errors.extend([
            with_status(ErrorCode::UnsupportedMediaType),
            with_status(ErrorCode::InvalidBody),
            // JSON that does not parse is 400 with the same code.
            (StatusCode::BAD_REQUEST, ErrorCode::InvalidBody),
        ]);
    }
    // The body limit is a layer over all of `/api/auth`, whatever the method.
    if path.starts_with("/api/auth/") {
        errors.push(with_status(ErrorCode::PayloadTooLarge));
    }
    if needs_access_token(operation) {
        errors.extend(
            ErrorCode::ALL
                .iter()
                .copied()
                .filter(|code| is_access_token_error(*code))
                .map(with_status),
        );
    }
    // Everything under /api but liveness and this document reads the database, or the
    // in-memory revocation set that the database keeps fresh.
    if under_api && ![paths::HEALTH, paths::READY, paths::OPENAPI].contains(&path) {
        errors.push(with_status(ErrorCode::DatabaseUnavailable));
    }
    errors
}

/// Whether every way to call the operation includes the access token.
fn needs_access_token(operation: &Value) -> bool {
    let Some(requirements) = operation.get("security").and_then(Value::as_array) else {
        return false;
    };
    !requirements.is_empty()
        && requirements.iter().all(|requirement| {
            requirement.get(ACCESS_COOKIE).is_some() || requirement.get(BEARER).is_some()
        })
}

/// The error responses of a handler, by code: each under its code's usual status.
pub fn error_responses(codes: &[ErrorCode]) -> BTreeMap<String, RefOr<ResponseDoc>> {
    let mut by_status: BTreeMap<u16, Vec<ErrorCode>> = BTreeMap::new();
    for &code in codes {
        by_status
            .entry(status_of(code).as_u16())
            .or_default()
            .push(code);
    }
    by_status
        .into_iter()
        .map(|(status, codes)| {
            let response = serde_json::from_value(error_response(&codes))
                .expect("an error response is a valid response object");
            (status.to_string(), response)
        })
        .collect()
}

/// Declares a type that documents a handler's error responses, by their codes:
/// `errors!(RegisterErrors: EmailTaken, WeakPassword)`, then
/// `responses(..., RegisterErrors)` in the handler's `#[utoipa::path]`.
macro_rules! errors {
    ($name:ident: $($code:ident),+ $(,)?) => {
        #[doc = concat!("The error codes of a handler: ", $("`", stringify!($code), "` "),+)]
        pub struct $name;

        impl utoipa::IntoResponses for $name {
            fn responses() -> std::collections::BTreeMap<
                String,
                utoipa::openapi::RefOr<utoipa::openapi::response::Response>,
            > {
                $crate::http::openapi::error_responses(&[$(shared::ErrorCode::$code),+])
            }
        }
    };
}
pub(crate) use errors;

/// Adds `code` to the operation's error response with `status`, creating it if needed.
fn add_error(operation: &mut Value, status: StatusCode, code: ErrorCode) {
    let responses = operation
        .as_object_mut()
        .expect("an operation is an object")
        .entry("responses")
        .or_insert_with(|| json!({}));
    let key = status.as_u16().to_string();
    let mut codes = responses.get(&key).map(codes_of).unwrap_or_default();
    if !codes.contains(&code) {
        codes.push(code);
    }
    responses[key] = error_response(&codes);
}

/// The codes an error response made by [`error_response`] lists.
fn codes_of(response: &Value) -> Vec<ErrorCode> {
    response
        .pointer("/content/application~1json/schema/properties/error/properties/code/enum")
        .and_then(Value::as_array)
        .expect("a status that carries errors carries only errors")
        .iter()
        .filter_map(Value::as_str)
        .filter_map(ErrorCode::from_wire_name)
        .collect()
}

/// An error response that carries one of `codes`: `ErrorBody` narrowed to them, with the
/// headers they come with.
fn error_response(codes: &[ErrorCode]) -> Value {
    let description = codes
        .iter()
        .map(|code| format!("`{code}`: {}", code.message()))
        .collect::<Vec<_>>()
        .join("\n\n");
    let mut headers = Map::new();
    if codes.iter().any(|code| {
        matches!(
            code,
            ErrorCode::TooManyAttempts | ErrorCode::ServerBusy | ErrorCode::DatabaseUnavailable
        )
    }) {
        headers.insert(
            header::RETRY_AFTER.to_string(),
            json!({
                "description": "Seconds to wait before trying again.",
                "schema": {"type": "integer", "minimum": 1},
            }),
        );
    }
    if codes.iter().any(|code| is_access_token_error(*code)) {
        headers.insert(
            header::WWW_AUTHENTICATE.to_string(),
            json!({
                "description": "`Bearer error=\"invalid_token\"`.",
                "schema": {"type": "string"},
            }),
        );
    }
    let codes: Vec<&str> = codes.iter().map(|code| code.wire_name()).collect();
    let mut response = json!({
        "description": description,
        "content": {"application/json": {"schema": {
            "title": "ErrorBody",
            "type": "object",
            "required": ["error"],
            "additionalProperties": false,
            "properties": {"error": {
                "type": "object",
                "required": ["code", "message"],
                "additionalProperties": false,
                "properties": {
                    "code": {"type": "string", "enum": codes},
                    "message": {"type": "string"},
                },
            }},
        }}},
    });
    if !headers.is_empty() {
        response["headers"] = Value::Object(headers);
    }
    response
}

/// The cookies and the header that authenticate requests, named as this deployment
/// names them.
fn add_security_schemes(doc: &mut Value, policy: CookiePolicy) {
    let cookie = |name: &'static str, description: &str| {
        json!({"type": "apiKey", "in": "cookie", "name": policy.name(name),
               "description": description})
    };
    doc["components"]["securitySchemes"] = json!({
        ACCESS_COOKIE: cookie(ACCESS, "The access token (a JWT), set by every sign-in and \
            refresh; HttpOnly, `Path=/api`."),
        BEARER: {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                 "description": "The access token for clients that are not browsers."},
        REFRESH_COOKIE: cookie(REFRESH, "The refresh token; HttpOnly, `Path=/api/auth`, \
            rotated by each refresh."),
        MFA_TICKET_COOKIE: cookie(MFA_TICKET, "The ticket of a sign-in whose password was \
            right on an account with a second factor; `Path=/api/auth/mfa`, 5 minutes."),
        CSRF: {"type": "apiKey", "in": "header", "name": CSRF_HEADER,
               "description": "Must equal the `csrf_token` cookie on state-changing requests \
                   that carry a session cookie."},
    });
}

/// The API sends exactly the fields its types have: every object schema with named
/// fields that does not say otherwise is closed, so an extra field is a failed check.
fn close_response_objects(doc: &mut Value) {
    let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    for schema in schemas.values_mut() {
        if let Some(schema) = schema.as_object_mut()
            && (schema.contains_key("properties") || schema.get("type") == Some(&json!("object")))
        {
            schema
                .entry("additionalProperties")
                .or_insert(Value::Bool(false));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> Value {
        document(CookiePolicy::new(false))
    }

    #[test]
    fn each_error_response_lists_only_codes_the_server_answers_with_its_status() {
        let doc = doc();
        let mut checked = 0;
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                for (status, response) in operation["responses"].as_object().unwrap() {
                    let status: u16 = status.parse().unwrap();
                    if status < 400 {
                        continue;
                    }
                    for code in codes_of(response) {
                        let json_syntax = status == 400 && code == ErrorCode::InvalidBody;
                        assert!(
                            json_syntax || status_of(code).as_u16() == status,
                            "{method} {path}: {code} under {status}"
                        );
                        checked += 1;
                    }
                }
            }
        }
        assert!(checked > 100, "{checked}");
    }

    #[test]
    fn a_handlers_codes_and_the_layers_codes_share_one_response_per_status() {
        let doc = doc();
        let register = &doc["paths"][paths::REGISTER]["post"]["responses"];
        let mut codes: Vec<&str> = codes_of(&register["422"])
            .into_iter()
            .map(ErrorCode::wire_name)
            .collect();
        codes.sort_unstable();
        let expected = [
            "invalid_body",
            "invalid_email",
            "password_too_long",
            "weak_password",
        ];
        assert_eq!(codes, expected);
        assert_eq!(codes_of(&register["403"]), [ErrorCode::CsrfRejected]);
        assert!(register["429"].is_null(), "register is not throttled");
        let login = &doc["paths"][paths::LOGIN]["post"]["responses"];
        assert!(login["429"]["headers"]["retry-after"].is_object());
    }

    #[test]
    fn only_state_changing_api_requests_document_the_csrf_refusal() {
        let doc = doc();
        let refused = |path: &str, method: &str| {
            doc["paths"][path][method]["responses"]["403"]
                .get("content")
                .is_some_and(|_| {
                    codes_of(&doc["paths"][path][method]["responses"]["403"])
                        .contains(&ErrorCode::CsrfRejected)
                })
        };
        assert!(refused(paths::LOGOUT, "post"));
        assert!(refused(paths::SESSION, "delete"));
        assert!(!refused(paths::ME, "get"));
        assert!(!refused(paths::JWKS, "get"));
    }

    #[test]
    fn every_object_schema_is_closed() {
        let doc = doc();
        for (name, schema) in doc["components"]["schemas"].as_object().unwrap() {
            if schema["type"] == "object" {
                assert_eq!(schema["additionalProperties"], false, "{name}");
            }
        }
    }
}
