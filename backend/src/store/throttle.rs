//! The `login_failures` and `throttle_locks` tables.

use super::Store;

/// What a failure is counted against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureScope {
    /// A canonical email, whether or not an account has it.
    Account,
    /// A browser holding a valid device cookie for the account (its device id).
    Device,
    /// A client IP address.
    Ip,
}

impl FailureScope {
    fn as_str(self) -> &'static str {
        match self {
            Self::Account => "account",
            Self::Device => "device",
            Self::Ip => "ip",
        }
    }
}

/// One subject an attempt is counted against, and how much of its history the throttle
/// reads to decide.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    /// What kind of subject.
    pub scope: FailureScope,
    /// The email, device id or IP.
    pub subject: &'a str,
    /// Failures before this (Unix ms) are not read.
    pub since: i64,
    /// At most this many of the newest failures are read.
    pub limit: i64,
}

impl Store {
    /// Counts a sign-in attempt as a failure of each subject *before* its password is
    /// checked, unless `wait_ms` (given each subject and its failure times, newest first)
    /// says one of them must wait: then nothing is written and the longest wait is returned.
    ///
    /// Locking each subject's `throttle_locks` row first makes read-decide-write one step
    /// for concurrent attempts (SQLite's single writer; PostgreSQL's row lock, after which
    /// each statement sees what the previous holder committed). Subjects are locked in the
    /// order given, which callers keep the same (account or device, then IP), so two
    /// attempts cannot deadlock.
    pub async fn admit_attempt(
        &self,
        subjects: &[Subject<'_>],
        attempt: &str,
        now: i64,
        wait_ms: impl Fn(&Subject<'_>, &[i64]) -> i64,
    ) -> sqlx::Result<Result<(), i64>> {
        // An attempt that must wait already is refused on a plain read, so a flood of them
        // takes no write lock (the locked read below decides the rest).
        let waiting = {
            let mut conn = self.reads.acquire().await?;
            longest_wait(&mut conn, subjects, &wait_ms).await?
        };
        if waiting > 0 {
            return Ok(Err(waiting));
        }
        let mut tx = self.writes.begin().await?;
        for subject in subjects {
            sqlx::query(
                "INSERT INTO throttle_locks (scope, subject, touched_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (scope, subject) DO UPDATE SET touched_at = excluded.touched_at",
            )
            .bind(subject.scope.as_str())
            .bind(subject.subject)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        let longest_wait = longest_wait(&mut tx, subjects, &wait_ms).await?;
        if longest_wait > 0 {
            tx.rollback().await?;
            return Ok(Err(longest_wait));
        }
        for subject in subjects {
            sqlx::query(
                "INSERT INTO login_failures (scope, subject, failed_at, attempt) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(subject.scope.as_str())
            .bind(subject.subject)
            .bind(now)
            .bind(attempt)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(Ok(()))
    }

    /// Takes back what [`Store::admit_attempt`] counted for `attempt` (the password was
    /// right, or was never checked) and, with `clear`, forgets that subject's streak.
    pub async fn settle_attempt(
        &self,
        attempt: &str,
        clear: Option<(FailureScope, &str)>,
    ) -> sqlx::Result<()> {
        let (scope, subject) = clear.map_or((None, None), |(scope, subject)| {
            (Some(scope.as_str()), Some(subject))
        });
        sqlx::query(
            "DELETE FROM login_failures WHERE attempt = $1 \
             OR (scope = $2 AND subject = $3)",
        )
        .bind(attempt)
        .bind(scope)
        .bind(subject)
        .execute(&self.writes)
        .await
        .map(drop)
    }

    /// Deletes failures, and the lock rows of subjects untouched, since before `before`.
    pub async fn delete_failures_before(&self, before: i64) -> sqlx::Result<u64> {
        let mut tx = self.writes.begin().await?;
        let done = sqlx::query("DELETE FROM login_failures WHERE failed_at < $1")
            .bind(before)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM throttle_locks WHERE touched_at < $1")
            .bind(before)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected())
    }
}

/// The longest of `wait_ms` over the subjects' failure times (newest first).
async fn longest_wait(
    conn: &mut sqlx::AnyConnection,
    subjects: &[Subject<'_>],
    wait_ms: &impl Fn(&Subject<'_>, &[i64]) -> i64,
) -> sqlx::Result<i64> {
    let mut longest = 0;
    for subject in subjects {
        let rows: Vec<(i64,)> = sqlx::query_as(
            "SELECT failed_at FROM login_failures WHERE scope = $1 AND subject = $2 \
             AND failed_at >= $3 ORDER BY failed_at DESC LIMIT $4",
        )
        .bind(subject.scope.as_str())
        .bind(subject.subject)
        .bind(subject.since)
        .bind(subject.limit)
        .fetch_all(&mut *conn)
        .await?;
        let times: Vec<i64> = rows.into_iter().map(|(t,)| t).collect();
        longest = longest.max(wait_ms(subject, &times));
    }
    Ok(longest)
}
