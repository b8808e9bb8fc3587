//! Brute-force throttling of logins, per account and per client IP.
//!
//! Failures are stored in the database so the limits hold across instances.
//!
//! An account's failures form a streak that only 15 quiet minutes end. Five failures are
//! free; after that each attempt must wait a delay that doubles with every further failure
//! (30 s, 1 min, 2 min, …), capped at 15 minutes. Counting a streak rather than a sliding
//! window matters: with a plain window, old failures would drop out while the attacker
//! waits and the delay would shrink again. A right password after the delay works, so
//! nobody can lock a user out for good.
//!
//! An IP gets 100 failures in a sliding 15-minute window, across all accounts.

use crate::error::ApiError;
use crate::store::{FailureScope, Store};

/// The counting window, and the quiet time that ends an account's streak.
pub const WINDOW_SECS: i64 = 15 * 60;
/// Failures an account may have before attempts are delayed.
pub const ACCOUNT_FREE_FAILURES: i64 = 5;
/// Failures an IP may have in the window before its attempts are refused.
pub const IP_MAX_FAILURES: i64 = 100;
/// The first delay, after the free failures.
pub const FIRST_DELAY_SECS: i64 = 30;
/// The longest delay.
pub const MAX_DELAY_SECS: i64 = 15 * 60;
/// How long failures are kept (a streak longer than this is capped anyway).
pub const RETENTION_SECS: i64 = 24 * 3600;
/// Failures read per account: enough to reach the cap.
const STREAK_READ_LIMIT: i64 = 32;

/// How long an account with `failures` failures in its streak must wait after the last.
pub fn account_delay_secs(failures: i64) -> i64 {
    if failures < ACCOUNT_FREE_FAILURES {
        return 0;
    }
    let doublings = (failures - ACCOUNT_FREE_FAILURES).min(16) as u32;
    (FIRST_DELAY_SECS << doublings).min(MAX_DELAY_SECS)
}

/// Seconds an account must still wait, given its failure times (newest first).
pub fn account_wait_secs(failures_newest_first: &[i64], now: i64) -> i64 {
    let Some(&newest) = failures_newest_first.first() else {
        return 0;
    };
    if now - newest > WINDOW_SECS {
        return 0;
    }
    let streak = failures_newest_first
        .windows(2)
        .take_while(|pair| pair[0] - pair[1] <= WINDOW_SECS)
        .count() as i64
        + 1;
    (newest + account_delay_secs(streak) - now).max(0)
}

/// Refuses the attempt with 429 and `Retry-After` when the account or IP must wait.
pub async fn check(store: &Store, account: &str, ip: &str, now: i64) -> Result<(), ApiError> {
    let by_ip = store
        .failure_stats(FailureScope::Ip, ip, now - WINDOW_SECS)
        .await?;
    if by_ip.count >= IP_MAX_FAILURES {
        let oldest = by_ip.oldest.unwrap_or(now);
        return Err(ApiError::too_many_attempts(oldest + WINDOW_SECS - now));
    }
    let failures = store
        .recent_failures(
            FailureScope::Account,
            account,
            now - RETENTION_SECS,
            STREAK_READ_LIMIT,
        )
        .await?;
    match account_wait_secs(&failures, now) {
        0 => Ok(()),
        wait => Err(ApiError::too_many_attempts(wait)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delay_grows_with_each_failure_and_is_capped() {
        assert_eq!(account_delay_secs(4), 0);
        assert_eq!(account_delay_secs(5), 30);
        assert_eq!(account_delay_secs(6), 60);
        assert_eq!(account_delay_secs(7), 120);
        assert_eq!(account_delay_secs(10), 900);
        assert_eq!(account_delay_secs(1_000), 900);
    }

    #[test]
    fn a_streak_survives_waiting_out_each_delay() {
        // Five quick failures, then one failure each time the delay has passed.
        let mut failures = vec![0, 0, 0, 0, 0];
        let mut now = 0;
        for expected in [30, 60, 120, 240, 480, 900, 900] {
            failures.sort_unstable_by(|a, b| b.cmp(a));
            assert_eq!(account_wait_secs(&failures, now), expected);
            now += expected;
            failures.push(now);
        }
    }

    #[test]
    fn fifteen_quiet_minutes_end_the_streak() {
        let failures = [100, 90, 80, 70, 60];
        assert_eq!(account_wait_secs(&failures, 100), 30);
        assert_eq!(account_wait_secs(&failures, 100 + WINDOW_SECS + 1), 0);
        // An old streak does not count towards a new one.
        let failures = [5000, 10, 9, 8, 7, 6];
        assert_eq!(account_wait_secs(&failures, 5000), 0);
    }
}
