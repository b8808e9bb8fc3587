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
//!
//! An attempt is counted as a failure *before* its password is checked, atomically with
//! the check of the delays ([`admit`]), and taken back if the password was right
//! ([`settle`]). So N parallel guesses get at most the free attempts through, on one
//! instance or several. A browser with a valid device cookie for the account is counted
//! as its own subject instead of the account (see `auth::device`), so an attacker who
//! keeps the account's delay armed does not lock its owner out.

use crate::error::Error;
use crate::store::{FailureScope, Store, Subject};

/// The counting window, and the quiet time that ends an account's streak (ms).
pub const WINDOW_MS: i64 = 15 * 60 * 1000;
/// Failures an account (or device) may have before attempts are delayed.
pub const ACCOUNT_FREE_FAILURES: i64 = 5;
/// Failures an IP may have in the window before its attempts are refused.
pub const IP_MAX_FAILURES: i64 = 100;
/// The first delay, after the free failures (ms).
pub const FIRST_DELAY_MS: i64 = 30 * 1000;
/// The longest delay (ms).
pub const MAX_DELAY_MS: i64 = 15 * 60 * 1000;
/// How long failures are kept (ms); housekeeping deletes nothing younger, so it never
/// shortens a streak (a streak longer than this is at the cap anyway).
pub const RETENTION_MS: i64 = 24 * 3600 * 1000;
/// Failures read per account or device: enough to reach the cap.
const STREAK_READ_LIMIT: i64 = 32;

/// How long an account with `failures` failures in its streak must wait after the last.
pub fn account_delay_ms(failures: i64) -> i64 {
    if failures < ACCOUNT_FREE_FAILURES {
        return 0;
    }
    let doublings = (failures - ACCOUNT_FREE_FAILURES).min(16) as u32;
    (FIRST_DELAY_MS << doublings).min(MAX_DELAY_MS)
}

/// Milliseconds an account must still wait, given its failure times (newest first).
pub fn account_wait_ms(failures_newest_first: &[i64], now: i64) -> i64 {
    let Some(&newest) = failures_newest_first.first() else {
        return 0;
    };
    if now - newest > WINDOW_MS {
        return 0;
    }
    let streak = failures_newest_first
        .windows(2)
        .take_while(|pair| pair[0] - pair[1] <= WINDOW_MS)
        .count() as i64
        + 1;
    (newest + account_delay_ms(streak) - now).max(0)
}

/// Milliseconds an IP must still wait, given its failure times in the window (newest first).
fn ip_wait_ms(failures_newest_first: &[i64], now: i64) -> i64 {
    match failures_newest_first.get(IP_MAX_FAILURES as usize - 1) {
        Some(&oldest_counted) => (oldest_counted + WINDOW_MS - now).max(1),
        None => 0,
    }
}

/// Counts a sign-in attempt against `owner` (an account's email, or a device) and `ip`
/// before its password is checked, or refuses it with 429 and `Retry-After` when either
/// must wait. If the attempt cannot be counted, the error (503) refuses it too: a guess
/// is never checked without being counted. Settle it with [`settle`].
pub async fn admit(
    store: &Store,
    owner: (FailureScope, &str),
    ip: &str,
    attempt: &str,
    now: i64,
) -> Result<(), Error> {
    let ip = ip_subject(ip);
    let subjects = [
        Subject {
            scope: owner.0,
            subject: owner.1,
            since: now - RETENTION_MS,
            limit: STREAK_READ_LIMIT,
        },
        ip_window(&ip, now),
    ];
    let decided = store
        .admit_attempt(&subjects, attempt, now, |subject, times| {
            match subject.scope {
                FailureScope::Ip => ip_wait_ms(times, now),
                FailureScope::Account | FailureScope::Device => account_wait_ms(times, now),
            }
        })
        .await?;
    decided.map_err(refusal)
}

/// Counts a request for a password-reset email against the email and the client's IP
/// (each as its own subject, prefixed `reset:` so it never mixes with sign-in failures),
/// with the same limits as sign-in attempts. Every request counts: there is no success to
/// take one back. Returns whether the email may be sent; refuses with 429 only for the
/// IP, since a refusal for the email (counted alike whether or not an account has it)
/// keeps the usual 202 answer and just sends nothing.
pub async fn admit_reset_request(
    store: &Store,
    email: &str,
    ip: &str,
    now: i64,
) -> Result<bool, Error> {
    let ip = format!("reset:{}", ip_subject(ip));
    let email = format!("reset:{email}");
    let ip = [ip_window(&ip, now)];
    let email = [Subject {
        scope: FailureScope::Account,
        subject: &email,
        since: now - RETENTION_MS,
        limit: STREAK_READ_LIMIT,
    }];
    let id = uuid::Uuid::new_v4().to_string();
    store
        .admit_attempt(&ip, &id, now, |_, times| ip_wait_ms(times, now))
        .await?
        .map_err(refusal)?;
    let admitted = store
        .admit_attempt(&email, &id, now, |_, times| account_wait_ms(times, now))
        .await?;
    Ok(admitted.is_ok())
}

/// Counts the start of a passkey sign-in against the client's IP (a subject prefixed
/// `passkey:`, apart from sign-in failures), with the IP limit of sign-ins: 100 in 15
/// minutes, then 429. A sign-in that completes takes its start back (in the transaction
/// that starts its session, `Store::create_session`), as does one refused only because
/// the account is disabled, so only abandoned or failed ceremonies add up.
pub async fn admit_passkey_start(
    store: &Store,
    ip: &str,
    attempt: &str,
    now: i64,
) -> Result<(), Error> {
    let ip = format!("passkey:{}", ip_subject(ip));
    let subjects = [ip_window(&ip, now)];
    store
        .admit_attempt(&subjects, attempt, now, |_, times| ip_wait_ms(times, now))
        .await?
        .map_err(refusal)
}

/// An IP's subject as the throttle reads it: its failures in the sliding window.
fn ip_window(subject: &str, now: i64) -> Subject<'_> {
    Subject {
        scope: FailureScope::Ip,
        subject,
        since: now - WINDOW_MS + 1,
        limit: IP_MAX_FAILURES,
    }
}

/// The 429 for an attempt that must wait `wait_ms`.
fn refusal(wait_ms: i64) -> Error {
    Error::too_many_attempts((wait_ms + 999) / 1000)
}

/// What an IP's failures are counted against: the address, or for IPv6 its /64, since
/// one client commonly holds a whole /64.
fn ip_subject(ip: &str) -> String {
    match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) => {
            let net = ipnet::Ipv6Net::new(v6, 64).map(|net| net.trunc());
            net.map_or_else(|_| ip.to_owned(), |net| net.to_string())
        }
        _ => ip.to_owned(),
    }
}

/// How an admitted attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The password was wrong: the attempt stays counted.
    Failed,
    /// The password was right: the attempt is taken back and the owner's streak ends.
    Succeeded,
    /// The password was not checked, or the attempt is not held against anyone (a right
    /// password for a disabled account): the attempt is taken back.
    NotCounted,
}

/// Records how an attempt admitted by [`admit`] ended.
pub async fn settle(
    store: &Store,
    owner: (FailureScope, &str),
    attempt: &str,
    outcome: Outcome,
) -> Result<(), Error> {
    match outcome {
        Outcome::Failed => Ok(()),
        Outcome::Succeeded => Ok(store.settle_attempt(attempt, Some(owner)).await?),
        Outcome::NotCounted => Ok(store.settle_attempt(attempt, None).await?),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delay_grows_with_each_failure_and_is_capped() {
        assert_eq!(account_delay_ms(4), 0);
        assert_eq!(account_delay_ms(5), 30_000);
        assert_eq!(account_delay_ms(6), 60_000);
        assert_eq!(account_delay_ms(7), 120_000);
        assert_eq!(account_delay_ms(10), 900_000);
        assert_eq!(account_delay_ms(1_000), 900_000);
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64() {
        assert_eq!(ip_subject("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(ip_subject("2001:db8:1:2:bbbb::9"), "2001:db8:1:2::/64");
        assert_eq!(ip_subject("203.0.113.7"), "203.0.113.7");
        assert_eq!(ip_subject("unknown"), "unknown");
    }

    #[test]
    fn an_ip_waits_once_it_has_the_maximum_in_the_window() {
        let times: Vec<i64> = (0..100).rev().collect();
        assert_eq!(ip_wait_ms(&times[..99], 100), 0);
        assert_eq!(ip_wait_ms(&times, 100), WINDOW_MS - 100);
    }

    #[test]
    fn a_streak_survives_waiting_out_each_delay() {
        // Five quick failures, then one failure each time the delay has passed.
        let mut failures = vec![0, 0, 0, 0, 0];
        let mut now = 0;
        for expected in [30_000, 60_000, 120_000, 240_000, 480_000, 900_000, 900_000] {
            failures.sort_unstable_by(|a, b| b.cmp(a));
            assert_eq!(account_wait_ms(&failures, now), expected);
            now += expected;
            failures.push(now);
        }
    }

    #[test]
    fn fifteen_quiet_minutes_end_the_streak() {
        let failures = [100, 90, 80, 70, 60];
        assert_eq!(account_wait_ms(&failures, 100), 30_000);
        assert_eq!(account_wait_ms(&failures, 100 + WINDOW_MS + 1), 0);
        // An old streak does not count towards a new one.
        let failures = [5_000_000, 10, 9, 8, 7, 6];
        assert_eq!(account_wait_ms(&failures, 5_000_000), 0);
    }
}
