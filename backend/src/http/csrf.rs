//! Cross-site request forgery protection for state-changing `/api` requests.
//!
//! Two layers: fetch metadata and `Origin` refuse cross-site requests outright, and a
//! double-submit token (`X-CSRF-Token` must equal the `csrf_token` cookie) covers every
//! cookie-authenticated request except login and register, which have no session yet.
//! Requests with no session cookie at all carry no ambient credentials: they cannot act on
//! anyone's behalf, so they need no token (this keeps logout idempotent for a client with
//! no cookies). Nor do requests authenticated by an `Authorization` header, except on the
//! endpoints that act on the refresh cookie whatever the header says.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use shared::ErrorCode;
use shared::names::{CSRF_HEADER, paths};

use super::HttpState;
use super::cookies;
use super::error::ApiError;
use crate::crypto::secure_eq;

/// Paths that need the origin checks but not the double-submit token: they act on
/// credentials in their body (a password, a code, a passkey's signature, a link's token),
/// never on the session cookies.
const TOKENLESS_PATHS: [&str; 8] = [
    paths::LOGIN,
    paths::MFA_VERIFY,
    paths::PASSKEY_LOGIN_START,
    paths::PASSKEY_LOGIN_FINISH,
    paths::REGISTER,
    paths::PASSWORD_FORGOT,
    paths::PASSWORD_RESET,
    paths::EMAIL_VERIFY,
];
/// Paths that act on the refresh cookie, so an `Authorization` header does not exempt them.
const REFRESH_COOKIE_PATHS: [&str; 2] = [paths::REFRESH, paths::LOGOUT];

/// Middleware: refuses forged state-changing requests with 403 `csrf_rejected`.
pub async fn protect(State(state): State<HttpState>, request: Request, next: Next) -> Response {
    let unsafe_method = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    );
    if unsafe_method
        && request.uri().path().starts_with(paths::API_PREFIX)
        && !allowed(&state, &request)
    {
        return ApiError::new(ErrorCode::CsrfRejected).into_response();
    }
    next.run(request).await
}

fn allowed(state: &HttpState, request: &Request) -> bool {
    let headers = request.headers();
    if matches!(
        headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()),
        Some("cross-site" | "same-site")
    ) {
        return false;
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let Ok(origin) = origin.to_str() else {
            return false;
        };
        let origin = origin.to_ascii_lowercase();
        let own = own_origin(state, request);
        if own.as_deref() != Some(origin.as_str())
            && !state.config.allowed_origins.contains(&origin)
        {
            return false;
        }
    }
    let path = request.uri().path();
    let has_session_cookie = [cookies::ACCESS, cookies::REFRESH]
        .into_iter()
        .any(|name| state.cookies.find(headers, name).is_some());
    TOKENLESS_PATHS.contains(&path)
        || (headers.contains_key(header::AUTHORIZATION) && !REFRESH_COOKIE_PATHS.contains(&path))
        || !has_session_cookie
        || double_submit_matches(state, headers)
}

/// `scheme://host` of the request itself, as a browser on this site would send it.
fn own_origin(state: &HttpState, request: &Request) -> Option<String> {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| request.uri().authority().map(|a| a.as_str()))?;
    let scheme = if state.config.cookie_secure {
        "https"
    } else {
        "http"
    };
    Some(format!("{scheme}://{}", host.to_ascii_lowercase()))
}

fn double_submit_matches(state: &HttpState, headers: &HeaderMap) -> bool {
    let sent = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
    let cookie = state.cookies.find(headers, cookies::CSRF);
    match (sent, cookie) {
        (Some(sent), Some(cookie)) => !cookie.is_empty() && secure_eq(sent, &cookie),
        _ => false,
    }
}
