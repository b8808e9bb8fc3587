//! The source of "now", injectable so that tests move time instead of sleeping.

use std::time::{SystemTime, UNIX_EPOCH};

/// Tells the current time. One clock decides everything: token expiry and not-before,
/// how long the JWKS is cached, and when another fetch may be made.
pub trait Clock: Send + Sync + 'static {
    /// Now, in Unix milliseconds.
    fn now_ms(&self) -> i64;
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
    }
}
