//! What can go wrong with an API call, in words a person can read.

use shared::ErrorCode;
use wasm_bindgen::JsValue;

use super::json::FromJson;

/// A failed API call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientError {
    /// The server answered with one of the API's errors.
    Api {
        /// HTTP status.
        status: u16,
        /// The error code.
        code: ErrorCode,
        /// `Retry-After`, in seconds, when the server sent one.
        retry_after: Option<u64>,
    },
    /// The server answered something that is not the API's JSON (an HTML error page from
    /// a proxy, garbage, an empty body).
    BadResponse {
        /// HTTP status.
        status: u16,
    },
    /// No answer at all (offline, server down, connection cut).
    Network,
    /// The browser's passkey request did not complete: the user cancelled it, it timed
    /// out, or the device could not.
    Passkey,
}

impl ClientError {
    /// Reads an error response (its body parsed, if it was JSON): the API's error body,
    /// or [`ClientError::BadResponse`].
    pub fn from_response(status: u16, body: Option<&JsValue>, retry_after: Option<u64>) -> Self {
        match body.and_then(ErrorCode::from_json) {
            Some(code) => Self::Api {
                status,
                code,
                retry_after,
            },
            None => Self::BadResponse { status },
        }
    }

    /// The error code, when the server sent one.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            Self::Api { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// A sentence to show to the user.
    pub fn message(&self) -> String {
        match self {
            Self::Api {
                code: ErrorCode::TooManyAttempts,
                retry_after: Some(seconds),
                ..
            } => format!(
                "Too many sign-in attempts. Try again in {}.",
                wait_words(*seconds)
            ),
            Self::Api {
                code: ErrorCode::ServerBusy,
                retry_after: Some(seconds),
                ..
            } => format!("The server is busy. Try again in {}.", wait_words(*seconds)),
            Self::Api { code, .. } => code.message().to_owned(),
            Self::BadResponse { status } => format!(
                "The server sent an unexpected answer (status {status}). Please try again later."
            ),
            Self::Network => {
                "Cannot reach the server. Check your connection and try again.".to_owned()
            }
            Self::Passkey => "The passkey request was cancelled or did not complete.".to_owned(),
        }
    }
}

/// "45 seconds", "2 minutes".
fn wait_words(seconds: u64) -> String {
    match seconds {
        1 => "1 second".to_owned(),
        s if s < 90 => format!("{s} seconds"),
        s => format!("{} minutes", s.div_ceil(60)),
    }
}
