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
    /// a new database; instances starting together may each add one, which is harmless:
    /// the same one signs everywhere and the others retire). False when nothing was added.
    pub async fn insert_signing_key(
        &self,
        key: &SigningKeyRow,
        only_if_none: bool,
    ) -> sqlx::Result<bool> {
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
        .execute(&self.writes)
        .await?;
        Ok(done.rows_affected() > 0)
    }
}
