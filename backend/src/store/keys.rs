//! The `signing_keys` table.

use super::Store;

/// A signing key as stored (its material sealed).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SigningKeyRow {
    /// Key id, the JWT header's `kid`.
    pub kid: String,
    /// `HS256` or `EdDSA`.
    pub alg: String,
    /// The sealed key material; `None`: `JWT_SECRET` itself.
    pub secret: Option<String>,
    /// An EdDSA key's public key, base64url.
    pub public_key: Option<String>,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms from which it signs.
    pub activates_at: i64,
}

const COLUMNS: &str = "kid, alg, secret, public_key, created_at, activates_at";

impl Store {
    /// Every signing key, in the order they activate.
    pub async fn signing_keys(&self) -> sqlx::Result<Vec<SigningKeyRow>> {
        sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM signing_keys ORDER BY activates_at, kid"
        ))
        .fetch_all(&self.reads)
        .await
    }

    /// Adds a key; with `only_if_none`, only while there is no key at all (the first key of
    /// a new database: of instances starting together, one adds it). False when nothing
    /// was added.
    pub async fn insert_signing_key(
        &self,
        key: &SigningKeyRow,
        only_if_none: bool,
    ) -> sqlx::Result<bool> {
        let mut tx = self.writes.begin().await?;
        if only_if_none && !self.is_sqlite {
            let (any,): (bool,) = sqlx::query_as("SELECT EXISTS (SELECT 1 FROM signing_keys)")
                .fetch_one(&mut *tx)
                .await?;
            if any {
                tx.rollback().await?;
                return Ok(false);
            }
            // Each of two instances starting together would see no key and add one (an
            // EdDSA key's id is random, so they do not conflict). This lock, taken only
            // while there is no key, conflicts with itself and with any insert: the second
            // waits for the first to commit, and its statement then sees that key. On
            // SQLite the statement runs under the database's write lock already.
            sqlx::query("LOCK TABLE signing_keys IN SHARE ROW EXCLUSIVE MODE")
                .execute(&mut *tx)
                .await?;
        }
        let done = sqlx::query(&format!(
            "INSERT INTO signing_keys ({COLUMNS}) SELECT $1, $2, $3, $4, $5, $6 \
             WHERE NOT $7 OR NOT EXISTS (SELECT 1 FROM signing_keys) \
             ON CONFLICT (kid) DO NOTHING"
        ))
        .bind(&key.kid)
        .bind(&key.alg)
        .bind(&key.secret)
        .bind(&key.public_key)
        .bind(key.created_at)
        .bind(key.activates_at)
        .bind(only_if_none)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(done.rows_affected() > 0)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::store::testing::{blocked_by, fresh_postgres};

    /// Of two instances adding the first key of an empty PostgreSQL database at once, one
    /// adds it; the other waits for it and adds none.
    #[tokio::test]
    async fn instances_starting_together_add_one_first_key() {
        let (_database, store, mut other) = fresh_postgres().await;
        // Another instance's first key, not yet committed.
        sqlx::query("BEGIN").execute(&mut other).await.unwrap();
        sqlx::query(&format!(
            "INSERT INTO signing_keys ({COLUMNS}) VALUES ('first', 'EdDSA', 's', 'p', 0, 0)"
        ))
        .execute(&mut other)
        .await
        .unwrap();
        let ours = SigningKeyRow {
            kid: "second".into(),
            alg: "EdDSA".into(),
            secret: Some("s".into()),
            public_key: Some("p".into()),
            created_at: 0,
            activates_at: 0,
        };
        let second = tokio::spawn({
            let store = store.clone();
            async move { store.insert_signing_key(&ours, true).await }
        });
        // It waits for the first; without the lock it would not, seeing no key committed.
        let settled = async {
            while !second.is_finished() && !blocked_by(&mut other).await {
                tokio::task::yield_now().await;
            }
        };
        tokio::time::timeout(Duration::from_secs(10), settled)
            .await
            .unwrap();
        sqlx::query("COMMIT").execute(&mut other).await.unwrap();
        assert!(
            !second.await.unwrap().unwrap(),
            "a second first key was added"
        );
        let kids: Vec<String> = store
            .signing_keys()
            .await
            .unwrap()
            .into_iter()
            .map(|key| key.kid)
            .collect();
        assert_eq!(kids, ["first"]);
        store.close().await;
    }
}
