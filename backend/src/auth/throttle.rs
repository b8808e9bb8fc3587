//! Brute-force throttling of logins, per account and per client IP.
//!
//! Failures are stored in the database so the limits hold across instances. An account
//! gets five free failures in a 15-minute window; after that each further attempt must
//! wait a delay that doubles with every failure, capped at 15 minutes. A right password
//! after the delay works: nobody can lock a user out for good. An IP gets 100 failures in
//! the window, across all accounts.

use crate::error::ApiError;
use crate::store::{FailureScope, Store};

/// The counting window.
pub const WINDOW_SECS: i64 = 15 * 60;
/// Failures an account may have in the window before attempts are delayed.
pub const ACCOUNT_FREE_FAILURES: i64 = 5;
/// Failures an IP may have in the window before its attempts are refused.
pub const IP_MAX_FAILURES: i64 = 100;
/// The first delay, after the free failures.
pub const FIRST_DELAY_SECS: i64 = 30;
/// The longest delay.
pub const MAX_DELAY_SECS: i64 = 15 * 60;

/// How long an account with `failures` failures must wait after its last one.
pub fn account_delay_secs(failures: i64) -> i64 {
    if failures < ACCOUNT_FREE_FAILURES {
        return 0;
    }
    let doublings = (failures - ACCOUNT_FREE_FAILURES).min(16) as u32;
    (FIRST_DELAY_SECS << doublings).min(MAX_DELAY_SECS)
}

/// Refuses the attempt with 429 and `Retry-After` when the account or IP must wait.
pub async fn check(store: &Store, account: &str, ip: &str, now: i64) -> Result<(), ApiError> {
    let since = now - WINDOW_SECS;
    let by_ip = store.failure_stats(FailureScope::Ip, ip, since).await?;
    if by_ip.count >= IP_MAX_FAILURES {
        let oldest = by_ip.oldest.unwrap_or(now);
        return Err(ApiError::too_many_attempts(oldest + WINDOW_SECS - now));
    }
    let by_account = store
        .failure_stats(FailureScope::Account, account, since)
        .await?;
    let delay = account_delay_secs(by_account.count);
    if delay > 0 {
        let until = by_account.newest.unwrap_or(now) + delay;
        if now < until {
            return Err(ApiError::too_many_attempts(until - now));
        }
    }
    Ok(())
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
}
