//! The one error body every API error uses, and the codes it can carry.

use serde::{Deserialize, Serialize};

use crate::validation::password_rules;

/// Every error code the API can answer with; serialised in `snake_case`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The body is not the JSON the endpoint expects (types, missing or unknown fields).
    InvalidBody,
    /// The email is not a syntactically valid address.
    InvalidEmail,
    /// The password is too short, too common, or contains the email's local part.
    WeakPassword,
    /// The password is longer than the maximum.
    PasswordTooLong,
    /// An account with this (canonical) email already exists.
    EmailTaken,
    /// Unknown email or wrong password; deliberately indistinguishable.
    InvalidCredentials,
    /// The password was right but the account is disabled.
    AccountDisabled,
    /// The password was right but the account must verify its email first.
    EmailNotVerified,
    /// A reset or verification link is unknown, used or expired.
    InvalidLink,
    /// A second-factor code (TOTP or recovery code) is wrong, used or malformed.
    InvalidCode,
    /// TOTP is already on for this account.
    MfaAlreadyEnabled,
    /// The second step of a sign-in has no valid ticket (missing, expired, used up).
    MfaTicketInvalid,
    /// A passkey registration did not verify (wrong ceremony, origin, signature, or a
    /// credential registered already).
    InvalidPasskey,
    /// Changing how the account signs in (a second factor, a passkey) needs a sign-in
    /// within the last few minutes; sign in again, then retry.
    ReauthenticationRequired,
    /// Login throttled; see `Retry-After`.
    TooManyAttempts,
    /// The refresh token is missing, unknown, expired, rotated or revoked.
    InvalidRefreshToken,
    /// No access token was sent.
    MissingToken,
    /// The access token has expired.
    TokenExpired,
    /// The access token is malformed, forged or otherwise unacceptable.
    InvalidToken,
    /// The access token's session has been revoked.
    SessionRevoked,
    /// No such resource (or not yours).
    NotFound,
    /// Authenticated, but not allowed.
    Forbidden,
    /// A state-changing request failed the CSRF checks.
    CsrfRejected,
    /// The request body is larger than the endpoint accepts.
    PayloadTooLarge,
    /// The endpoint only accepts `application/json`.
    UnsupportedMediaType,
    /// The path exists but not with this method.
    MethodNotAllowed,
    /// The password hashing pool is saturated; retry after `Retry-After`.
    ServerBusy,
    /// The service cannot reach its database.
    NotReady,
    /// The database is unavailable; retry later.
    DatabaseUnavailable,
    /// The request took too long.
    Timeout,
    /// An unexpected server fault; details are only in the server log.
    InternalError,
}

impl ErrorCode {
    /// The `snake_case` name used on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidBody => "invalid_body",
            Self::InvalidEmail => "invalid_email",
            Self::WeakPassword => "weak_password",
            Self::PasswordTooLong => "password_too_long",
            Self::EmailTaken => "email_taken",
            Self::InvalidCredentials => "invalid_credentials",
            Self::AccountDisabled => "account_disabled",
            Self::EmailNotVerified => "email_not_verified",
            Self::InvalidLink => "invalid_link",
            Self::InvalidCode => "invalid_code",
            Self::MfaAlreadyEnabled => "mfa_already_enabled",
            Self::MfaTicketInvalid => "mfa_ticket_invalid",
            Self::InvalidPasskey => "invalid_passkey",
            Self::ReauthenticationRequired => "reauthentication_required",
            Self::TooManyAttempts => "too_many_attempts",
            Self::InvalidRefreshToken => "invalid_refresh_token",
            Self::MissingToken => "missing_token",
            Self::TokenExpired => "token_expired",
            Self::InvalidToken => "invalid_token",
            Self::SessionRevoked => "session_revoked",
            Self::NotFound => "not_found",
            Self::Forbidden => "forbidden",
            Self::CsrfRejected => "csrf_rejected",
            Self::PayloadTooLarge => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::ServerBusy => "server_busy",
            Self::NotReady => "not_ready",
            Self::DatabaseUnavailable => "database_unavailable",
            Self::Timeout => "timeout",
            Self::InternalError => "internal_error",
        }
    }

    /// A plain sentence for people; the same for every occurrence of the code.
    ///
    /// `const` so that the SPA can name a message as a constant of its own.
    pub const fn message(self) -> &'static str {
        match self {
            Self::InvalidBody => "The request body is not valid for this endpoint.",
            Self::InvalidEmail => "Enter a valid email address.",
            Self::WeakPassword => {
                concat!("Choose a stronger password: ", password_rules!(), ".")
            }
            Self::PasswordTooLong => "Passwords can be at most 128 characters long.",
            Self::EmailTaken => "An account with this email already exists.",
            Self::InvalidCredentials => "The email or password is incorrect.",
            Self::AccountDisabled => "This account has been disabled.",
            Self::InvalidCode => "That code is not valid. Check it and try again.",
            Self::MfaAlreadyEnabled => "Two-step sign-in is already on.",
            Self::InvalidPasskey => "The passkey could not be added. Try again.",
            Self::ReauthenticationRequired => {
                "For your security, sign in again before changing how you sign in."
            }
            Self::MfaTicketInvalid => "This sign-in has expired. Start again with your password.",
            Self::EmailNotVerified => {
                "Please verify your email first: we have sent you a new link."
            }
            Self::InvalidLink => {
                "This link is not valid any more: it was used, it expired, or it is incomplete."
            }
            Self::TooManyAttempts => "Too many sign-in attempts. Wait a moment and try again.",
            Self::InvalidRefreshToken => "Your session has expired. Please sign in again.",
            Self::MissingToken => "You need to sign in.",
            Self::TokenExpired => "Your access has expired.",
            Self::InvalidToken => "Your access token is not valid.",
            Self::SessionRevoked => "This session has been signed out.",
            Self::NotFound => "Not found.",
            Self::Forbidden => "You are not allowed to do this.",
            Self::CsrfRejected => "The request was refused by cross-site request protection.",
            Self::PayloadTooLarge => "The request body is too large.",
            Self::UnsupportedMediaType => "The request body must be JSON (application/json).",
            Self::MethodNotAllowed => "This method is not allowed here.",
            Self::ServerBusy => "The server is busy. Try again in a few seconds.",
            Self::NotReady => "The service is not ready.",
            Self::DatabaseUnavailable => {
                "The service is temporarily unavailable. Try again shortly."
            }
            Self::Timeout => "The request took too long.",
            Self::InternalError => "Something went wrong on our side.",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `{"error": {"code": …, "message": …}}`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The error itself.
    pub error: ErrorDetail,
}

/// The inside of [`ErrorBody`].
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// Machine-readable code.
    pub code: ErrorCode,
    /// Human sentence.
    pub message: String,
}

impl From<ErrorCode> for ErrorBody {
    fn from(code: ErrorCode) -> Self {
        Self {
            error: ErrorDetail {
                code,
                message: code.message().to_owned(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_weak_password_message_states_the_password_rules() {
        assert_eq!(
            ErrorCode::WeakPassword.message(),
            format!(
                "Choose a stronger password: {}.",
                crate::validation::PASSWORD_RULES
            )
        );
    }
}
