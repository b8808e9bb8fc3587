//! TOTP state on `users`, the `recovery_codes` table and the `mfa_tickets` table.

use super::Store;
use super::sessions::{self, ActingSession};

/// What enabling TOTP writes.
#[derive(Debug, Clone, Copy)]
pub struct TotpConfirmation<'a> {
    /// The user.
    pub user_id: &'a str,
    /// The sealed secret that set-up stored and the first code was checked against.
    pub sealed_secret: &'a str,
    /// The 30-second step of that first code.
    pub step: i64,
    /// SHA-256 hashes of the new recovery codes.
    pub code_hashes: &'a [String],
    /// The session that confirms, which stays (and must have signed in recently).
    pub acting: ActingSession<'a>,
}

/// Why enabling TOTP changed nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotEnabled {
    /// TOTP was enabled, or set up again, meanwhile: the code was for another secret.
    SecretChanged,
    /// The confirming session ended, or signed in too long ago.
    SessionNotRecent,
}

/// A claimed try of a sign-in's second step.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TicketTry {
    /// Whose sign-in it is.
    pub user_id: String,
    /// The device cookie's device id the password step came with, if valid.
    pub device_id: Option<String>,
    /// SHA-256 of the password hash the password step checked.
    pub password_fingerprint: Option<String>,
    /// Unix ms.
    pub created_at: i64,
}

impl Store {
    /// Stores a new, not yet confirmed TOTP secret; false when TOTP is already on (or the
    /// account disabled or gone).
    pub async fn set_pending_totp(&self, user_id: &str, sealed_secret: &str) -> sqlx::Result<bool> {
        let done = sqlx::query(
            "UPDATE users SET totp_secret = $1, totp_last_step = NULL WHERE id = $2 \
             AND totp_enabled_at IS NULL AND disabled_at IS NULL",
        )
        .bind(sealed_secret)
        .bind(user_id)
        .execute(&self.writes)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Turns TOTP on: in one transaction, and only if the pending secret is still the one
    /// checked and the confirming session still live and recent, records the first code's
    /// step, replaces the recovery codes, and revokes every session of the user but the
    /// confirming one. Returns the revoked session ids, or why nothing changed.
    pub async fn enable_totp(
        &self,
        c: TotpConfirmation<'_>,
    ) -> sqlx::Result<Result<Vec<String>, NotEnabled>> {
        let user_id = c.acting.user_id;
        let mut tx = self.writes.begin().await?;
        let enabled = sqlx::query(
            "UPDATE users SET totp_enabled_at = $1, totp_last_step = $2 WHERE id = $3 \
             AND totp_secret = $4 AND totp_enabled_at IS NULL AND disabled_at IS NULL",
        )
        .bind(c.acting.now)
        .bind(c.step)
        .bind(user_id)
        .bind(c.sealed_secret)
        .execute(&mut *tx)
        .await?;
        let refused = if enabled.rows_affected() == 0 {
            Some(NotEnabled::SecretChanged)
        } else if !sessions::hold_session(&mut tx, c.acting).await? {
            Some(NotEnabled::SessionNotRecent)
        } else {
            None
        };
        if let Some(refused) = refused {
            tx.rollback().await?;
            return Ok(Err(refused));
        }
        replace_recovery_codes(&mut tx, user_id, c.code_hashes).await?;
        let ended = sessions::revoke_user_sessions(
            &mut tx,
            user_id,
            Some(c.acting.session_id),
            c.acting.now,
        )
        .await?;
        tx.commit().await?;
        Ok(Ok(ended))
    }

    /// Turns TOTP off and deletes the recovery codes, in one transaction, while the acting
    /// session is live and recent; false (nothing changed) when it is not.
    pub async fn disable_totp(&self, acting: ActingSession<'_>) -> sqlx::Result<bool> {
        let mut tx = self.writes.begin().await?;
        sqlx::query(
            "UPDATE users SET totp_secret = NULL, totp_enabled_at = NULL, totp_last_step = NULL \
             WHERE id = $1",
        )
        .bind(acting.user_id)
        .execute(&mut *tx)
        .await?;
        if !sessions::hold_session(&mut tx, acting).await? {
            tx.rollback().await?;
            return Ok(false);
        }
        replace_recovery_codes(&mut tx, acting.user_id, &[]).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Removes every second factor (TOTP, recovery codes, passkeys) of the user with this
    /// email, revokes all of their sessions and ends the account's streak of failed
    /// sign-ins (wrong codes from the lost phone's days must not delay the owner now), in
    /// one transaction (an operator's `user mfa-reset`, for a lost phone). Returns the user
    /// id, or `None` when there is no such user.
    pub async fn reset_mfa(&self, email: &str, now: i64) -> sqlx::Result<Option<String>> {
        let mut tx = self.writes.begin().await?;
        let id: Option<(String,)> = sqlx::query_as(
            "UPDATE users SET totp_secret = NULL, totp_enabled_at = NULL, totp_last_step = NULL \
             WHERE email = $1 RETURNING id",
        )
        .bind(email)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some((id,)) = &id {
            replace_recovery_codes(&mut tx, id, &[]).await?;
            sqlx::query("DELETE FROM passkeys WHERE user_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            sessions::revoke_user_sessions(&mut tx, id, None, now).await?;
            sqlx::query("DELETE FROM login_failures WHERE scope = 'account' AND subject = $1")
                .bind(email)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(id.map(|(id,)| id))
    }

    /// Accepts a TOTP code's step once: true when `step` is newer than every step accepted
    /// before for this user (one guarded `UPDATE`, so a code replayed in parallel is
    /// accepted at most once).
    pub async fn accept_totp_step(&self, user_id: &str, step: i64) -> sqlx::Result<bool> {
        let done = sqlx::query(
            "UPDATE users SET totp_last_step = $1 WHERE id = $2 AND totp_enabled_at IS NOT NULL \
             AND (totp_last_step IS NULL OR totp_last_step < $1)",
        )
        .bind(step)
        .bind(user_id)
        .execute(&self.writes)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Uses a recovery code once: true when it was the user's and unused.
    pub async fn use_recovery_code(
        &self,
        user_id: &str,
        code_hash: &str,
        now: i64,
    ) -> sqlx::Result<bool> {
        let done = sqlx::query(
            "UPDATE recovery_codes SET used_at = $1 WHERE user_id = $2 AND code_hash = $3 \
             AND used_at IS NULL",
        )
        .bind(now)
        .bind(user_id)
        .bind(code_hash)
        .execute(&self.writes)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Stores a new sign-in ticket's hash, with the fingerprint of the password hash its
    /// password step checked.
    pub async fn insert_mfa_ticket(
        &self,
        token_hash: &str,
        ticket: &TicketTry,
        expires_at: i64,
    ) -> sqlx::Result<()> {
        sqlx::query(
            "INSERT INTO mfa_tickets (token_hash, user_id, device_id, password_fingerprint, \
             created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(token_hash)
        .bind(&ticket.user_id)
        .bind(&ticket.device_id)
        .bind(&ticket.password_fingerprint)
        .bind(ticket.created_at)
        .bind(expires_at)
        .execute(&self.writes)
        .await
        .map(drop)
    }

    /// Counts one try of a ticket *before* its code is checked, if the ticket is unused,
    /// unexpired and has had fewer than `max_tries`: one guarded `UPDATE`, so parallel
    /// tries cannot exceed the limit. `None` when the ticket is not (or no longer) valid.
    pub async fn claim_mfa_try(
        &self,
        token_hash: &str,
        max_tries: i64,
        now: i64,
    ) -> sqlx::Result<Option<TicketTry>> {
        sqlx::query_as(
            "UPDATE mfa_tickets SET tries = tries + 1 WHERE token_hash = $1 AND used_at IS NULL \
             AND expires_at > $2 AND tries < $3 \
             RETURNING user_id, device_id, password_fingerprint, created_at",
        )
        .bind(token_hash)
        .bind(now)
        .bind(max_tries)
        .fetch_optional(&self.writes)
        .await
    }

    /// The user a ticket (by hash) was given to.
    pub async fn mfa_ticket_user(&self, token_hash: &str) -> sqlx::Result<Option<super::UserRow>> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT user_id FROM mfa_tickets WHERE token_hash = $1")
                .bind(token_hash)
                .fetch_optional(&self.reads)
                .await?;
        match row {
            Some((user_id,)) => self.user_by_id(&user_id).await,
            None => Ok(None),
        }
    }

    /// Uses a ticket up (its sign-in is complete); false when it already was.
    pub async fn use_mfa_ticket(&self, token_hash: &str, now: i64) -> sqlx::Result<bool> {
        let done = sqlx::query(
            "UPDATE mfa_tickets SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL",
        )
        .bind(now)
        .bind(token_hash)
        .execute(&self.writes)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Deletes tickets that expired before `before`.
    pub async fn delete_mfa_tickets_expired_before(&self, before: i64) -> sqlx::Result<u64> {
        let done = sqlx::query("DELETE FROM mfa_tickets WHERE expires_at < $1")
            .bind(before)
            .execute(&self.writes)
            .await?;
        Ok(done.rows_affected())
    }
}

/// Replaces a user's recovery codes with `code_hashes` (none: deletes them).
async fn replace_recovery_codes(
    conn: &mut sqlx::AnyConnection,
    user_id: &str,
    code_hashes: &[String],
) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    for hash in code_hashes {
        sqlx::query("INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)")
            .bind(user_id)
            .bind(hash)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}
