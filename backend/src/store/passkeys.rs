//! The `passkeys` and `webauthn_ceremonies` tables, and `users.webauthn_user_id`.

use super::sessions::{self, ActingSession};
use super::{InsertError, Store};

/// A passkey as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PasskeyRow {
    /// Our id (the API's).
    pub id: String,
    /// Whose it is.
    pub user_id: String,
    /// The WebAuthn credential id, base64url.
    pub credential_id: String,
    /// The name the user gave it.
    pub name: String,
    /// The credential as webauthn-rs serialises it (public key, counter).
    pub credential: String,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms of the last sign-in with it.
    pub last_used_at: Option<i64>,
}

/// What a sign-in with a passkey records of it: the signature counter the assertion
/// carried and, when the authenticator changed it, the updated credential. It is recorded
/// in the transaction that starts the session ([`Store::create_session`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyUse {
    /// Our id of the passkey.
    pub id: String,
    /// Whose it is.
    pub user_id: String,
    /// The assertion's signature counter.
    pub counter: u32,
    /// The credential as webauthn-rs serialises it after the sign-in, when it changed.
    pub credential: Option<String>,
    /// The challenge of the sign-in's ceremony, whose start counts against the client's
    /// IP until the sign-in completes: taken back with the use recorded.
    pub ceremony: String,
}

/// Records a sign-in with a passkey in `tx`, and takes back the count of its ceremony's
/// start: only if the passkey is still its user's and its counter rises (or the
/// authenticator keeps none: 0, as synced passkeys do). False (nothing recorded, the start
/// still counted) when the passkey is gone (removed, or an `mfa-reset`) or another sign-in
/// already used this counter value or a higher one: the signal of a cloned authenticator.
pub(super) async fn record_use(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    used: &PasskeyUse,
    now: i64,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE passkeys SET last_used_at = $1, sign_count = $2, \
         credential = COALESCE($3, credential) WHERE id = $4 AND user_id = $5 \
         AND (sign_count < $2 OR (sign_count = 0 AND $2 = 0))",
    )
    .bind(now)
    .bind(i64::from(used.counter))
    .bind(used.credential.as_deref())
    .bind(&used.id)
    .bind(&used.user_id)
    .execute(&mut **tx)
    .await?;
    if done.rows_affected() == 0 {
        return Ok(false);
    }
    sqlx::query("DELETE FROM login_failures WHERE attempt = $1")
        .bind(&used.ceremony)
        .execute(&mut **tx)
        .await?;
    Ok(true)
}

/// A new passkey.
#[derive(Debug, Clone, Copy)]
pub struct NewPasskey<'a> {
    /// Whose it is.
    pub user_id: &'a str,
    /// The WebAuthn credential id, base64url.
    pub credential_id: &'a str,
    /// Its name.
    pub name: &'a str,
    /// The credential as webauthn-rs serialises it.
    pub credential: &'a str,
    /// Unix ms.
    pub now: i64,
}

/// The constraint that makes credential ids unique.
const CREDENTIAL_ID: super::UniqueConstraint = super::UniqueConstraint {
    postgres: "passkeys_credential_id_key",
    sqlite: "passkeys.credential_id",
};

const COLUMNS: &str = "id, user_id, credential_id, name, credential, created_at, last_used_at";

impl Store {
    /// The user's passkey user handle, given now (`candidate`) if they had none.
    pub async fn webauthn_user_id(&self, user_id: &str, candidate: &str) -> sqlx::Result<String> {
        sqlx::query(
            "UPDATE users SET webauthn_user_id = $1 WHERE id = $2 AND webauthn_user_id IS NULL",
        )
        .bind(candidate)
        .bind(user_id)
        .execute(&self.writes)
        .await?;
        let (handle,): (String,) =
            sqlx::query_as("SELECT webauthn_user_id FROM users WHERE id = $1")
                .bind(user_id)
                .fetch_one(&self.reads)
                .await?;
        Ok(handle)
    }

    /// The user whose passkeys carry this user handle.
    pub async fn user_id_by_webauthn_handle(&self, handle: &str) -> sqlx::Result<Option<String>> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT id FROM users WHERE webauthn_user_id = $1")
                .bind(handle)
                .fetch_optional(&self.reads)
                .await?;
        Ok(row.map(|(id,)| id))
    }

    /// Stores a ceremony's state under its challenge.
    pub async fn insert_ceremony(
        &self,
        challenge: &str,
        kind: &str,
        user_id: Option<&str>,
        state: &str,
        expires_at: i64,
    ) -> sqlx::Result<()> {
        sqlx::query(
            "INSERT INTO webauthn_ceremonies (challenge, kind, user_id, state, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(challenge)
        .bind(kind)
        .bind(user_id)
        .bind(state)
        .bind(expires_at)
        .execute(&self.writes)
        .await
        .map(drop)
    }

    /// Takes a ceremony's state (at most once): the state, if the challenge is one of this
    /// kind, for this user (or for nobody), and unexpired.
    pub async fn take_ceremony(
        &self,
        challenge: &str,
        kind: &str,
        user_id: Option<&str>,
        now: i64,
    ) -> sqlx::Result<Option<String>> {
        let row: Option<(String, Option<String>, i64)> = sqlx::query_as(
            "DELETE FROM webauthn_ceremonies WHERE challenge = $1 AND kind = $2 \
             RETURNING state, user_id, expires_at",
        )
        .bind(challenge)
        .bind(kind)
        .fetch_optional(&self.writes)
        .await?;
        Ok(row.and_then(|(state, owner, expires_at)| {
            (owner.as_deref() == user_id && expires_at > now).then_some(state)
        }))
    }

    /// Stores a new passkey while the acting session is live and recent; when it is the
    /// user's first, revokes every other session of the user in the same transaction.
    /// Returns the row and the revoked session ids, or `None` (nothing stored) when the
    /// session is not; [`InsertError::Conflict`] when the credential is registered already.
    pub async fn insert_passkey(
        &self,
        passkey: NewPasskey<'_>,
        acting: ActingSession<'_>,
    ) -> Result<Option<(PasskeyRow, Vec<String>)>, InsertError> {
        let mut tx = self.writes.begin().await?;
        // The user's row first, as every change of the user's credentials does.
        sqlx::query("UPDATE users SET webauthn_user_id = webauthn_user_id WHERE id = $1")
            .bind(passkey.user_id)
            .execute(&mut *tx)
            .await?;
        if !sessions::hold_session(&mut tx, acting).await? {
            tx.rollback().await?;
            return Ok(None);
        }
        let (before,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM passkeys WHERE user_id = $1")
            .bind(passkey.user_id)
            .fetch_one(&mut *tx)
            .await?;
        let row: PasskeyRow = sqlx::query_as(&format!(
            "INSERT INTO passkeys (id, user_id, credential_id, name, credential, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING {COLUMNS}"
        ))
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(passkey.user_id)
        .bind(passkey.credential_id)
        .bind(passkey.name)
        .bind(passkey.credential)
        .bind(passkey.now)
        .fetch_one(&mut *tx)
        .await
        .map_err(|error| super::on_constraint(error, &CREDENTIAL_ID))?;
        let ended = if before == 0 {
            let keep = Some(acting.session_id);
            sessions::revoke_user_sessions(&mut tx, passkey.user_id, keep, passkey.now).await?
        } else {
            Vec::new()
        };
        tx.commit().await?;
        Ok(Some((row, ended)))
    }

    /// The user's passkeys, oldest first.
    pub async fn passkeys_of(&self, user_id: &str) -> sqlx::Result<Vec<PasskeyRow>> {
        sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM passkeys WHERE user_id = $1 ORDER BY created_at, id"
        ))
        .bind(user_id)
        .fetch_all(&self.reads)
        .await
    }

    /// The passkey with this credential id.
    pub async fn passkey_by_credential(
        &self,
        credential_id: &str,
    ) -> sqlx::Result<Option<PasskeyRow>> {
        sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM passkeys WHERE credential_id = $1"
        ))
        .bind(credential_id)
        .fetch_optional(&self.reads)
        .await
    }

    /// Deletes one of the user's passkeys while the acting session is live and recent:
    /// `Some(false)` when the user has no such passkey, `None` (nothing deleted) when the
    /// session is not.
    pub async fn delete_passkey(
        &self,
        acting: ActingSession<'_>,
        id: &str,
    ) -> sqlx::Result<Option<bool>> {
        let mut tx = self.writes.begin().await?;
        sqlx::query("UPDATE users SET webauthn_user_id = webauthn_user_id WHERE id = $1")
            .bind(acting.user_id)
            .execute(&mut *tx)
            .await?;
        if !sessions::hold_session(&mut tx, acting).await? {
            tx.rollback().await?;
            return Ok(None);
        }
        let done = sqlx::query("DELETE FROM passkeys WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(acting.user_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(done.rows_affected() > 0))
    }

    /// Deletes ceremonies that expired before `before`.
    pub async fn delete_ceremonies_expired_before(&self, before: i64) -> sqlx::Result<u64> {
        let done = sqlx::query("DELETE FROM webauthn_ceremonies WHERE expires_at < $1")
            .bind(before)
            .execute(&self.writes)
            .await?;
        Ok(done.rows_affected())
    }
}
