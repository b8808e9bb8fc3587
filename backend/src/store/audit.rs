//! The `audit_events` table.

use super::Store;

/// One event of the audit log, as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AuditRow {
    /// A random id.
    pub id: String,
    /// Unix ms.
    pub at: i64,
    /// What happened (`sign_in`, `totp_enabled`, …).
    pub action: String,
    /// Whose account it concerns, when known.
    pub user_id: Option<String>,
    /// The client's address (none for the command line).
    pub ip: Option<String>,
    /// The client's `User-Agent`, truncated.
    pub user_agent: Option<String>,
    /// More about it: how a sign-in was made, a passkey's name, who acted.
    pub detail: Option<String>,
}

const COLUMNS: &str = "id, at, action, user_id, ip, user_agent, detail";

impl Store {
    /// Appends an event.
    pub async fn insert_audit_event(&self, event: &AuditRow) -> sqlx::Result<()> {
        sqlx::query(&format!(
            "INSERT INTO audit_events ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
        ))
        .bind(&event.id)
        .bind(event.at)
        .bind(&event.action)
        .bind(&event.user_id)
        .bind(&event.ip)
        .bind(&event.user_agent)
        .bind(&event.detail)
        .execute(&self.writes)
        .await
        .map(drop)
    }

    /// The newest `limit` events, of one user when given, newest first (two statements,
    /// so that each has a plan that uses its index).
    pub async fn audit_events(
        &self,
        user_id: Option<&str>,
        limit: i64,
    ) -> sqlx::Result<Vec<AuditRow>> {
        let order = "ORDER BY at DESC, id DESC";
        match user_id {
            Some(user_id) => {
                sqlx::query_as(&format!(
                    "SELECT {COLUMNS} FROM audit_events WHERE user_id = $1 {order} LIMIT $2"
                ))
                .bind(user_id)
                .bind(limit)
                .fetch_all(&self.reads)
                .await
            }
            None => {
                sqlx::query_as(&format!(
                    "SELECT {COLUMNS} FROM audit_events {order} LIMIT $1"
                ))
                .bind(limit)
                .fetch_all(&self.reads)
                .await
            }
        }
    }

    /// Deletes events older than `before`.
    pub async fn delete_audit_events_before(&self, before: i64) -> sqlx::Result<u64> {
        let done = sqlx::query("DELETE FROM audit_events WHERE at < $1")
            .bind(before)
            .execute(&self.writes)
            .await?;
        Ok(done.rows_affected())
    }
}
