//! The `login_failures` table.

use super::Store;

/// What a failure is counted against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureScope {
    /// A canonical email, whether or not an account has it.
    Account,
    /// A client IP address.
    Ip,
}

impl FailureScope {
    fn as_str(self) -> &'static str {
        match self {
            Self::Account => "account",
            Self::Ip => "ip",
        }
    }
}

/// Failures of one subject within a window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct FailureStats {
    /// How many.
    pub count: i64,
    /// The oldest, Unix seconds.
    pub oldest: Option<i64>,
}

impl Store {
    /// Failures of `subject` at or after `since`.
    pub async fn failure_stats(
        &self,
        scope: FailureScope,
        subject: &str,
        since: i64,
    ) -> sqlx::Result<FailureStats> {
        sqlx::query_as(
            "SELECT COUNT(*) AS count, MIN(failed_at) AS oldest \
             FROM login_failures WHERE scope = $1 AND subject = $2 AND failed_at >= $3",
        )
        .bind(scope.as_str())
        .bind(subject)
        .bind(since)
        .fetch_one(&self.pool)
        .await
    }

    /// The newest `limit` failure times of `subject` at or after `since`, newest first.
    pub async fn recent_failures(
        &self,
        scope: FailureScope,
        subject: &str,
        since: i64,
        limit: i64,
    ) -> sqlx::Result<Vec<i64>> {
        let rows: Vec<(i64,)> = sqlx::query_as(
            "SELECT failed_at FROM login_failures WHERE scope = $1 AND subject = $2 \
             AND failed_at >= $3 ORDER BY failed_at DESC LIMIT $4",
        )
        .bind(scope.as_str())
        .bind(subject)
        .bind(since)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|(t,)| t).collect())
    }

    /// Records one failed login against an account and an IP.
    pub async fn record_failure(&self, account: &str, ip: &str, now: i64) -> sqlx::Result<()> {
        sqlx::query(
            "INSERT INTO login_failures (scope, subject, failed_at) VALUES ($1, $2, $5), ($3, $4, $5)",
        )
        .bind(FailureScope::Account.as_str())
        .bind(account)
        .bind(FailureScope::Ip.as_str())
        .bind(ip)
        .bind(now)
        .execute(&self.pool)
        .await
        .map(drop)
    }

    /// Forgets an account's failures (after a successful login).
    pub async fn clear_failures(&self, scope: FailureScope, subject: &str) -> sqlx::Result<()> {
        sqlx::query("DELETE FROM login_failures WHERE scope = $1 AND subject = $2")
            .bind(scope.as_str())
            .bind(subject)
            .execute(&self.pool)
            .await
            .map(drop)
    }

    /// Deletes failures older than `before`.
    pub async fn delete_failures_before(&self, before: i64) -> sqlx::Result<u64> {
        let done = sqlx::query("DELETE FROM login_failures WHERE failed_at < $1")
            .bind(before)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}
