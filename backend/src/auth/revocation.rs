//! Revoked sessions, kept in memory so that checking an access token needs no database
//! read.
//!
//! A session id stays in the set until every access token that could carry it has
//! expired. Revocations made here are added at once; those made by other instances (or by
//! the CLI) are picked up by [`sync`], which polls the database for recent revocations.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use crate::clock::Clock;
use crate::store::Store;

/// How far back each poll looks before the previous one, to absorb clock skew between
/// instances and transactions that committed late.
const POLL_OVERLAP_SECS: i64 = 10;

/// Session ids whose access tokens must be refused, with when they may be forgotten.
#[derive(Clone, Default)]
pub struct RevokedSessions {
    inner: Arc<RwLock<HashMap<String, i64>>>,
}

impl RevokedSessions {
    /// Marks a session revoked until `forget_after` (Unix seconds).
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

    /// Loads revocations at or after `since`; returns how many rows were read.
    pub async fn load(
        &self,
        store: &Store,
        since: i64,
        access_ttl_secs: i64,
    ) -> sqlx::Result<usize> {
        let rows = store.revoked_since(since).await?;
        let count = rows.len();
        for (id, revoked_at) in rows {
            self.insert(id, revoked_at + access_ttl_secs);
        }
        Ok(count)
    }
}

/// Keeps `revoked` in step with the database until the task is dropped.
pub async fn sync(
    revoked: RevokedSessions,
    store: Store,
    clock: Arc<dyn Clock>,
    access_ttl_secs: i64,
    interval: Duration,
) {
    let mut since = clock.now() - access_ttl_secs - POLL_OVERLAP_SECS;
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let now = clock.now();
        match revoked.load(&store, since, access_ttl_secs).await {
            // After an outage `since` has not moved, so the next success catches up.
            Ok(_) => since = since.max(now - POLL_OVERLAP_SECS),
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
}
