//! The HTTP face of errors: each [`ErrorCode`] gets its status, its JSON body and, where
//! it applies, `Retry-After` and `WWW-Authenticate`. 5xx causes are logged, never sent.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use shared::{ErrorBody, ErrorCode};

use crate::error::Error;

/// An error answered over HTTP: a flow's [`Error`] and its status.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    error: Error,
}

impl ApiError {
    /// The error for a code, with the code's usual status.
    pub fn new(code: ErrorCode) -> Self {
        Error::new(code).into()
    }

    /// The same error with another status (for example 400 for a JSON syntax error).
    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    /// The code.
    pub fn code(&self) -> ErrorCode {
        self.error.code()
    }
}

impl From<Error> for ApiError {
    fn from(error: Error) -> Self {
        Self {
            status: status_of(error.code()),
            error,
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        Error::from(error).into()
    }
}

/// The usual HTTP status of each code.
pub fn status_of(code: ErrorCode) -> StatusCode {
    use ErrorCode as C;
    match code {
        C::InvalidBody | C::InvalidEmail | C::WeakPassword | C::PasswordTooLong => {
            StatusCode::UNPROCESSABLE_ENTITY
        }
        C::EmailTaken | C::MfaAlreadyEnabled => StatusCode::CONFLICT,
        C::InvalidCredentials
        | C::InvalidRefreshToken
        | C::MissingToken
        | C::TokenExpired
        | C::InvalidToken
        | C::SessionRevoked
        | C::MfaTicketInvalid => StatusCode::UNAUTHORIZED,
        C::InvalidLink | C::InvalidCode | C::InvalidPasskey => StatusCode::BAD_REQUEST,
        C::AccountDisabled
        | C::EmailNotVerified
        | C::ReauthenticationRequired
        | C::Forbidden
        | C::CsrfRejected => StatusCode::FORBIDDEN,
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
pub(crate) fn is_access_token_error(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::MissingToken
            | ErrorCode::TokenExpired
            | ErrorCode::InvalidToken
            | ErrorCode::SessionRevoked
    )
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = self.error.code();
        if self.status.is_server_error() {
            match self.error.cause() {
                Some(cause) => {
                    tracing::error!(%code, error = %format!("{cause:#}"), "request failed");
                }
                None => tracing::warn!(%code, "request refused"),
            }
        }
        let mut response = (self.status, axum::Json(ErrorBody::from(code))).into_response();
        let headers = response.headers_mut();
        if let Some(seconds) = self.error.retry_after() {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if is_access_token_error(code) {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer error=\"invalid_token\""),
            );
        }
        response
    }
}
