//! The one error type of the HTTP API: a [`ErrorCode`] from `shared`, its status, and
//! an internal cause that is logged but never sent.

use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use shared::{ErrorBody, ErrorCode};

use crate::clock::secs;

/// An API error: status + code, optionally `Retry-After`, optionally a logged cause.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: ErrorCode,
    retry_after: Option<i64>,
    source: Option<anyhow::Error>,
}

impl ApiError {
    /// The error for a code, with the code's usual status.
    pub fn new(code: ErrorCode) -> Self {
        Self {
            status: status_of(code),
            code,
            retry_after: None,
            source: None,
        }
    }

    /// The same error with another status (for example 400 for a JSON syntax error).
    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    /// 429 `too_many_attempts` with `Retry-After`.
    pub fn too_many_attempts(retry_after_secs: i64) -> Self {
        Self {
            retry_after: Some(retry_after_secs.max(1)),
            ..Self::new(ErrorCode::TooManyAttempts)
        }
    }

    /// 503 `server_busy` with `Retry-After`.
    pub fn server_busy(retry_after: Duration) -> Self {
        Self {
            retry_after: Some(secs(retry_after).max(1)),
            ..Self::new(ErrorCode::ServerBusy)
        }
    }

    /// 503 `database_unavailable` with `Retry-After: 1`.
    pub fn database_unavailable() -> Self {
        Self {
            retry_after: Some(1),
            ..Self::new(ErrorCode::DatabaseUnavailable)
        }
    }

    /// 500 with a cause for the log.
    pub fn internal(cause: impl Into<anyhow::Error>) -> Self {
        Self {
            source: Some(cause.into()),
            ..Self::new(ErrorCode::InternalError)
        }
    }

    /// The code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }
}

/// The usual HTTP status of each code.
pub fn status_of(code: ErrorCode) -> StatusCode {
    use ErrorCode as C;
    match code {
        C::InvalidBody | C::InvalidEmail | C::WeakPassword | C::PasswordTooLong => {
            StatusCode::UNPROCESSABLE_ENTITY
        }
        C::EmailTaken => StatusCode::CONFLICT,
        C::InvalidCredentials
        | C::InvalidRefreshToken
        | C::MissingToken
        | C::TokenExpired
        | C::InvalidToken
        | C::SessionRevoked => StatusCode::UNAUTHORIZED,
        C::AccountDisabled | C::Forbidden | C::CsrfRejected => StatusCode::FORBIDDEN,
        C::TooManyAttempts => StatusCode::TOO_MANY_REQUESTS,
        C::NotFound => StatusCode::NOT_FOUND,
        C::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        C::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        C::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        C::Timeout => StatusCode::REQUEST_TIMEOUT,
        C::ServerBusy | C::NotReady | C::DatabaseUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        C::InternalError => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// Whether a 401 with this code is about the access token (and gets `WWW-Authenticate`).
fn is_access_token_error(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::MissingToken
            | ErrorCode::TokenExpired
            | ErrorCode::InvalidToken
            | ErrorCode::SessionRevoked
    )
}

impl From<ErrorCode> for ApiError {
    fn from(code: ErrorCode) -> Self {
        Self::new(code)
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        if is_unavailable(&error) {
            Self {
                source: Some(error.into()),
                ..Self::database_unavailable()
            }
        } else {
            Self::internal(error)
        }
    }
}

/// Errors that mean "the database cannot be reached right now", as opposed to bugs.
fn is_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| is_unavailable_code(&code)),
        _ => false,
    }
}

/// Database error codes that mean "busy or unreachable, try again", not "bug".
fn is_unavailable_code(code: &str) -> bool {
    // PostgreSQL: connection exceptions, shutdowns, too many connections, serialization
    // failures, deadlocks, statement and lock timeouts.
    const POSTGRES: [&str; 5] = ["53300", "40001", "40P01", "57014", "55P03"];
    // SQLite primary and extended result codes: BUSY (5, 261 recovery, 517 snapshot,
    // 773 timeout) and LOCKED (6, 262 shared cache, 518 virtual table).
    const SQLITE: [&str; 7] = ["5", "261", "517", "773", "6", "262", "518"];
    code.starts_with("08")
        || code.starts_with("57P")
        || POSTGRES.contains(&code)
        || SQLITE.contains(&code)
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            match &self.source {
                Some(cause) => {
                    tracing::error!(code = %self.code, error = %format!("{cause:#}"), "request failed");
                }
                None => tracing::warn!(code = %self.code, "request refused"),
            }
        }
        let mut response = (self.status, axum::Json(ErrorBody::from(self.code))).into_response();
        let headers = response.headers_mut();
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if is_access_token_error(self.code) {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer error=\"invalid_token\""),
            );
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_locked_and_timed_out_databases_are_unavailable_not_bugs() {
        for code in [
            "5", "6", "261", "262", "517", "773", "08006", "57P01", "53300", "40001", "40P01",
            "57014", "55P03",
        ] {
            assert!(is_unavailable_code(code), "{code}");
        }
        for code in ["23505", "19", "2067", "42P01"] {
            assert!(!is_unavailable_code(code), "{code}");
        }
    }
}
