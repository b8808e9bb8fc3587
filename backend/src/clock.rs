//! The source of "now", injectable so that tests can move time instead of sleeping.
//!
//! Every time that decides something (token expiry, rotation grace, throttle delays, the
//! order of revocations between instances) is Unix **milliseconds** from one [`Clock`].
//! A server runs on a [`DatabaseClock`]: the system clock corrected, continuously, to the
//! database server's clock, so instances (and the CLI) whose own clocks disagree still
//! agree on every time they write and compare, with no database read per request.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Tells the current time.
pub trait Clock: Send + Sync + 'static {
    /// Now, in Unix milliseconds.
    fn now_ms(&self) -> i64;

    /// Now, in whole Unix seconds (JWT claims and the API's times).
    fn now_secs(&self) -> i64 {
        self.now_ms().div_euclid(1000)
    }

    /// Moves this clock onto a reference clock that read `reference_ms` when this one read
    /// `local_ms`. Clocks that tests drive ignore it.
    fn align(&self, reference_ms: i64, local_ms: i64) {
        let _ = (reference_ms, local_ms);
    }
}

/// The system's wall clock, in Unix milliseconds.
pub fn system_now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The system clock, corrected to the database's clock by [`Clock::align`].
#[derive(Debug, Default)]
pub struct DatabaseClock {
    /// Added to the system clock; set by `align`.
    offset_ms: AtomicI64,
    /// A fixed error added to the system clock's reading (see [`Self::skewed`]).
    skew_ms: i64,
}

impl DatabaseClock {
    /// A clock that starts as the system clock.
    pub fn new() -> Self {
        Self::default()
    }

    /// A clock whose system reading is off by `skew_ms`, as on a host whose clock is
    /// wrong. Only `TEST_CLOCK_SKEW` uses it, to show that alignment makes this harmless.
    pub fn skewed(skew_ms: i64) -> Self {
        Self {
            offset_ms: AtomicI64::new(0),
            skew_ms,
        }
    }
}

impl Clock for DatabaseClock {
    fn now_ms(&self) -> i64 {
        system_now_ms() + self.skew_ms + self.offset_ms.load(Ordering::Relaxed)
    }

    fn align(&self, reference_ms: i64, local_ms: i64) {
        self.offset_ms
            .fetch_add(reference_ms - local_ms, Ordering::Relaxed);
    }
}

/// A clock that only moves when told to (for tests).
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    /// Starts at the system's current time.
    pub fn starting_now() -> Self {
        Self(Arc::new(AtomicI64::new(system_now_ms())))
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        self.0.fetch_add(millis(by), Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// A duration in whole seconds, rounded up, saturating.
pub fn secs(duration: Duration) -> i64 {
    let whole = duration.as_secs() + u64::from(duration.subsec_nanos() > 0);
    i64::try_from(whole).unwrap_or(i64::MAX)
}

/// A duration in whole milliseconds, rounded up, saturating.
pub fn millis(duration: Duration) -> i64 {
    let whole =
        duration.as_millis() + u128::from(!duration.subsec_nanos().is_multiple_of(1_000_000));
    i64::try_from(whole).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alignment_moves_a_wrong_clock_onto_the_reference() {
        let clock = DatabaseClock::skewed(-60_000);
        let reference = system_now_ms();
        clock.align(reference, clock.now_ms());
        assert!((clock.now_ms() - system_now_ms()).abs() < 1_000);
    }

    #[test]
    fn durations_round_up() {
        assert_eq!(millis(Duration::from_micros(1_500)), 2);
        assert_eq!(millis(Duration::from_secs(2)), 2_000);
        assert_eq!(secs(Duration::from_millis(1_001)), 2);
    }
}
