//! Revoked sessions, kept in memory so that checking an access token needs no database
//! read.
//!
//! A session id stays in the set until every access token that could carry it has
//! expired. Revocations made here are added at once; those made by other instances (or by
//! the CLI) are picked up by [`sync`], which polls the database for recent revocations.
//!
//! Revocation times are written from each writer's clock, which [`sync`] keeps aligned
//! with the database's (see `clock`), so they agree across instances within
//! milliseconds. Each poll looks back [`POLL_OVERLAP_MS`] before the previous one for
//! writes that committed late; PostgreSQL's statement, lock and idle-transaction timeouts
//! (see `store`) keep every write well inside that.
//!
//! The set fails closed: when it has not been synced for `REVOCATION_MAX_STALENESS`
//! (the database is unreachable), access tokens are refused with 503 rather than trusted
//! against a copy that may be missing revocations.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use crate::clock::Clock;
use crate::store::Store;

/// How far back each poll looks before the previous one, for transactions that committed
/// late: well past the longest a write can take between reading the clock and committing
/// (a 3 s wait for a connection, then PostgreSQL's statement and lock timeouts).
pub const POLL_OVERLAP_MS: i64 = 30_000;
/// A clock reading whose round trip took longer than this is too imprecise to align on.
const MAX_ALIGN_ROUND_TRIP_MS: i64 = 1_000;

/// Session ids whose access tokens must be refused, with when they may be forgotten.
#[derive(Clone)]
pub struct RevokedSessions {
    inner: Arc<RwLock<HashMap<String, i64>>>,
    /// When the set last matched the database.
    synced: Arc<SyncedAt>,
}

/// A monotonic instant that any thread reads without a lock (every authenticated request
/// reads it): nanoseconds after `start`, measuring how long this process has gone without
/// hearing from the database.
struct SyncedAt {
    start: Instant,
    nanos: AtomicU64,
}

impl SyncedAt {
    /// Synced at `start`.
    fn new(start: Instant) -> Self {
        Self {
            start,
            nanos: AtomicU64::new(0),
        }
    }

    /// Now, in nanoseconds after `start`.
    fn now(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// Synced as of `at` (from [`Self::now`]); an earlier mark than the last changes nothing.
    fn mark(&self, at: u64) {
        self.nanos.fetch_max(at, Ordering::Release);
    }

    fn elapsed(&self) -> Duration {
        let synced = self.nanos.load(Ordering::Acquire);
        Duration::from_nanos(self.now().saturating_sub(synced))
    }
}

impl Default for RevokedSessions {
    fn default() -> Self {
        Self {
            inner: Arc::default(),
            synced: Arc::new(SyncedAt::new(Instant::now())),
        }
    }
}

impl RevokedSessions {
    /// Whether the set matched the database within `max_staleness` (zero: always).
    pub fn is_fresh(&self, max_staleness: Duration) -> bool {
        max_staleness.is_zero() || self.synced.elapsed() <= max_staleness
    }

    /// Marks a session revoked until `forget_after` (Unix ms).
    pub fn insert(&self, session_id: String, forget_after: i64) {
        let mut map = self.inner.write().unwrap_or_else(|e| e.into_inner());
        let entry = map.entry(session_id).or_insert(forget_after);
        *entry = (*entry).max(forget_after);
    }

    /// Whether the session is revoked.
    pub fn contains(&self, session_id: &str) -> bool {
        self.inner
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .contains_key(session_id)
    }

    /// Forgets sessions whose tokens have all expired.
    pub fn prune(&self, now: i64) {
        self.inner
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|_, forget_after| *forget_after >= now);
    }

    /// Loads revocations at or after `since` (Unix ms), keeping each until
    /// `keep_ms` after it; returns how many rows were read.
    pub async fn load(&self, store: &Store, since: i64, keep_ms: i64) -> sqlx::Result<usize> {
        // The set is as fresh as when the query was sent, not when its answer came (which
        // may be seconds later, after waiting for a connection).
        let asked = self.synced.now();
        let rows = store.revoked_since(since).await?;
        let count = rows.len();
        for (id, revoked_at) in rows {
            self.insert(id, revoked_at + keep_ms);
        }
        self.synced.mark(asked);
        Ok(count)
    }
}

/// Aligns `clock` with the database's clock (a no-op for clocks that tests drive); false
/// when the round trip was too slow to align on.
pub async fn align_clock(store: &Store, clock: &dyn Clock) -> sqlx::Result<bool> {
    let before = clock.now_ms();
    let database = store.database_time_ms().await?;
    let after = clock.now_ms();
    let precise = after - before <= MAX_ALIGN_ROUND_TRIP_MS;
    if precise {
        clock.align(database, before + (after - before) / 2);
    }
    Ok(precise)
}

/// Keeps `revoked` (and `clock`) in step with the database until the task is dropped.
/// `keep_ms` is how long a revoked session is remembered: its access tokens' lifetime
/// and a margin.
pub async fn sync(
    revoked: RevokedSessions,
    store: Store,
    clock: Arc<dyn Clock>,
    keep_ms: i64,
    interval: Duration,
) {
    let mut since = clock.now_ms() - keep_ms - POLL_OVERLAP_MS;
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        if let Err(error) = align_clock(&store, clock.as_ref()).await {
            tracing::warn!(%error, "cannot read the database clock; will retry");
        }
        let now = clock.now_ms();
        match revoked.load(&store, since, keep_ms).await {
            // After an outage `since` has not moved, so the next success catches up.
            Ok(_) => since = since.max(now - POLL_OVERLAP_MS),
            Err(error) => tracing::warn!(%error, "cannot poll revoked sessions; will retry"),
        }
        revoked.prune(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_are_forgotten_only_after_their_tokens_expire() {
        let revoked = RevokedSessions::default();
        revoked.insert("s1".into(), 100);
        revoked.insert("s1".into(), 50);
        revoked.prune(100);
        assert!(revoked.contains("s1"));
        revoked.prune(101);
        assert!(!revoked.contains("s1"));
    }

    #[test]
    fn the_set_is_fresh_only_within_the_staleness_bound_of_its_last_sync() {
        let long_ago = Instant::now()
            .checked_sub(Duration::from_secs(60))
            .expect("the monotonic clock is past a minute");
        let revoked = RevokedSessions {
            inner: Arc::default(),
            synced: Arc::new(SyncedAt::new(long_ago)),
        };
        assert!(!revoked.is_fresh(Duration::from_secs(30)));
        assert!(revoked.is_fresh(Duration::ZERO), "zero: always fresh");
        revoked.synced.mark(revoked.synced.now());
        assert!(revoked.is_fresh(Duration::from_secs(30)));
        revoked.synced.mark(0);
        assert!(
            revoked.is_fresh(Duration::from_secs(30)),
            "a mark never goes back"
        );
        assert!(revoked.synced.elapsed() < Duration::from_secs(30));
    }

    /// A poll whose answer comes late (here: it waits for its connection) leaves the set
    /// as fresh as when the query was sent, not as when the answer came: the answer may
    /// miss revocations committed after the query read the table, and when that was is
    /// unknown, so the moment it was sent is the only safe mark.
    #[tokio::test]
    async fn the_set_is_as_fresh_as_when_its_query_was_sent() {
        let (_dir, store) = crate::store::testing::fresh_store().await;
        let revoked = RevokedSessions::default();
        let held = crate::store::testing::hold_poller(&store).await;
        let sent_from = revoked.synced.now();
        let load = revoked.load(&store, 0, 0);
        tokio::pin!(load);
        assert!(
            futures::poll!(&mut load).is_pending(),
            "the query waits for its connection"
        );
        let answerable_from = revoked.synced.now();
        drop(held);
        load.await.unwrap();
        let marked = revoked.synced.nanos.load(Ordering::Acquire);
        assert!(
            (sent_from..=answerable_from).contains(&marked),
            "marked at {marked} ns, not between the query's sending ({sent_from} ns) and \
             its connection coming free ({answerable_from} ns)"
        );
        store.close().await;
    }
}
