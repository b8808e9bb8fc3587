//! The error of every flow: a code from `shared`'s [`ErrorCode`], optionally how long to
//! wait before trying again, optionally an internal cause that is logged but never sent.
//! It knows nothing of HTTP: `http::error` gives each code its status and response.

use std::time::Duration;

use shared::ErrorCode;

use crate::clock::secs;

/// Why a flow failed.
#[derive(Debug)]
pub struct Error {
    code: ErrorCode,
    retry_after: Option<i64>,
    source: Option<anyhow::Error>,
}

impl Error {
    /// The error for a code.
    pub fn new(code: ErrorCode) -> Self {
        Self {
            code,
            retry_after: None,
            source: None,
        }
    }

    /// `too_many_attempts`, to try again after `retry_after_secs`.
    pub fn too_many_attempts(retry_after_secs: i64) -> Self {
        Self {
            retry_after: Some(retry_after_secs.max(1)),
            ..Self::new(ErrorCode::TooManyAttempts)
        }
    }

    /// `server_busy`, to try again after `retry_after`.
    pub fn server_busy(retry_after: Duration) -> Self {
        Self {
            retry_after: Some(secs(retry_after).max(1)),
            ..Self::new(ErrorCode::ServerBusy)
        }
    }

    /// `database_unavailable`, to try again after a second.
    pub fn database_unavailable() -> Self {
        Self {
            retry_after: Some(1),
            ..Self::new(ErrorCode::DatabaseUnavailable)
        }
    }

    /// `internal_error` with a cause for the log.
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

    /// Seconds the client should wait before trying again, if it should.
    pub fn retry_after(&self) -> Option<i64> {
        self.retry_after
    }

    /// The internal cause, for the log.
    pub fn cause(&self) -> Option<&anyhow::Error> {
        self.source.as_ref()
    }
}

impl From<sqlx::Error> for Error {
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
pub(crate) fn is_unavailable(error: &sqlx::Error) -> bool {
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
