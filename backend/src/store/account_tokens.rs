//! The `account_tokens` table: the hashed one-time tokens of reset and verification links,
//! and the changes that using one makes.

use super::{Store, sessions};

/// What a link's token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenPurpose {
    /// Setting a new password (`/reset-password#token=…`).
    ResetPassword,
    /// Proving the email is the user's (`/verify-email#token=…`).
    VerifyEmail,
}

impl TokenPurpose {
    fn as_str(self) -> &'static str {
        match self {
            Self::ResetPassword => "reset_password",
            Self::VerifyEmail => "verify_email",
        }
    }
}

/// A new token's row.
#[derive(Debug, Clone, Copy)]
pub struct NewAccountToken<'a> {
    /// SHA-256 of the token.
    pub token_hash: &'a str,
    /// Whose it is.
    pub user_id: &'a str,
    /// What it is for.
    pub purpose: TokenPurpose,
    /// Unix ms.
    pub now: i64,
    /// Unix ms.
    pub expires_at: i64,
}

/// Whether a verification email may be sent now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerificationSlot {
    /// Yes: the time of this one is recorded.
    Taken,
    /// Not yet: the last one was sent this many ms too recently.
    TooSoon(i64),
    /// No: the email is verified, the account disabled or gone.
    NotNeeded,
}

impl Store {
    /// Stores a token's hash, if the user's account is still enabled and its password
    /// still `password_hash`; false (nothing stored) otherwise. Locks the user's row first,
    /// like a password change, so a link asked for just before a change or a reset cannot
    /// be stored after it and outlive it.
    pub async fn insert_account_token(
        &self,
        token: NewAccountToken<'_>,
        password_hash: &str,
    ) -> sqlx::Result<bool> {
        let mut tx = self.writes.begin().await?;
        let current = sqlx::query(
            "UPDATE users SET password_hash = password_hash WHERE id = $1 \
             AND password_hash = $2 AND disabled_at IS NULL",
        )
        .bind(token.user_id)
        .bind(password_hash)
        .execute(&mut *tx)
        .await?;
        if current.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO account_tokens (token_hash, user_id, purpose, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token.token_hash)
        .bind(token.user_id)
        .bind(token.purpose.as_str())
        .bind(token.now)
        .bind(token.expires_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The user of an unused, unexpired token of an enabled account, without using it.
    pub async fn account_token_user(
        &self,
        token_hash: &str,
        purpose: TokenPurpose,
        now: i64,
    ) -> sqlx::Result<Option<String>> {
        let row: Option<(String,)> = sqlx::query_as(
            "SELECT t.user_id FROM account_tokens t JOIN users u ON u.id = t.user_id \
             WHERE t.token_hash = $1 AND t.purpose = $2 AND t.used_at IS NULL \
             AND t.expires_at > $3 AND u.disabled_at IS NULL",
        )
        .bind(token_hash)
        .bind(purpose.as_str())
        .bind(now)
        .fetch_optional(&self.reads)
        .await?;
        Ok(row.map(|(user_id,)| user_id))
    }

    /// Uses a reset token of `user_id`: in one transaction, replaces the password, marks
    /// the email verified (the link proved it), uses up this and every other reset token of
    /// the user, revokes every session of the user, and ends the account's streak of failed
    /// sign-ins (the owner proved the mailbox is theirs, and an attacker's guesses must not
    /// keep them out now that the new password withdrew their device cookies) unless TOTP
    /// is on: then the streak also counts wrong codes, which the mailbox must not forgive. Locks the
    /// user's row first, like sign-in and password change. Returns the revoked session ids, or `None` (nothing
    /// changed) when the token is no longer usable or the account was disabled.
    pub async fn reset_password(
        &self,
        token_hash: &str,
        user_id: &str,
        new_hash: &str,
        now: i64,
    ) -> sqlx::Result<Option<Vec<String>>> {
        let mut tx = self.writes.begin().await?;
        let changed = sqlx::query(
            "UPDATE users SET password_hash = $1, \
             email_verified_at = COALESCE(email_verified_at, $2) \
             WHERE id = $3 AND disabled_at IS NULL",
        )
        .bind(new_hash)
        .bind(now)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
        let used = use_token(
            &mut tx,
            token_hash,
            user_id,
            TokenPurpose::ResetPassword,
            now,
        )
        .await?;
        if changed.rows_affected() == 0 || !used {
            tx.rollback().await?;
            return Ok(None);
        }
        end_reset_tokens(&mut tx, user_id, now).await?;
        sqlx::query(
            "DELETE FROM login_failures WHERE scope = 'account' \
             AND subject = (SELECT email FROM users WHERE id = $1 \
               AND totp_enabled_at IS NULL)",
        )
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
        let ended = sessions::revoke_user_sessions(&mut tx, user_id, None, now).await?;
        tx.commit().await?;
        Ok(Some(ended))
    }

    /// Uses a verification token and marks its user's email verified, in one transaction.
    /// Returns the user id, or `None` when the token is unknown, used or expired.
    pub async fn verify_email(&self, token_hash: &str, now: i64) -> sqlx::Result<Option<String>> {
        let mut tx = self.writes.begin().await?;
        let user: Option<(String,)> = sqlx::query_as(
            "UPDATE account_tokens SET used_at = $1 WHERE token_hash = $2 AND purpose = $3 \
             AND used_at IS NULL AND expires_at > $1 RETURNING user_id",
        )
        .bind(now)
        .bind(token_hash)
        .bind(TokenPurpose::VerifyEmail.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        let Some((user_id,)) = user else {
            tx.rollback().await?;
            return Ok(None);
        };
        sqlx::query(
            "UPDATE users SET email_verified_at = COALESCE(email_verified_at, $1) WHERE id = $2",
        )
        .bind(now)
        .bind(&user_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(user_id))
    }

    /// Marks a user's email verified (the operator's `user verify-email`); false when
    /// there is no such user.
    pub async fn mark_email_verified(&self, email: &str, now: i64) -> sqlx::Result<bool> {
        let done = sqlx::query(
            "UPDATE users SET email_verified_at = COALESCE(email_verified_at, $1) WHERE email = $2",
        )
        .bind(now)
        .bind(email)
        .execute(&self.writes)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Records that a verification email is sent now, unless one was sent less than
    /// `min_interval_ms` ago or none is needed. One conditional `UPDATE` decides, so two
    /// concurrent requests cannot both send.
    pub async fn take_verification_slot(
        &self,
        user_id: &str,
        now: i64,
        min_interval_ms: i64,
    ) -> sqlx::Result<VerificationSlot> {
        let taken = sqlx::query(
            "UPDATE users SET verification_sent_at = $1 WHERE id = $2 \
             AND email_verified_at IS NULL AND disabled_at IS NULL \
             AND (verification_sent_at IS NULL OR verification_sent_at <= $3)",
        )
        .bind(now)
        .bind(user_id)
        .bind(now - min_interval_ms)
        .execute(&self.writes)
        .await?;
        if taken.rows_affected() > 0 {
            return Ok(VerificationSlot::Taken);
        }
        let row: Option<(Option<i64>, Option<i64>, Option<i64>)> = sqlx::query_as(
            "SELECT email_verified_at, disabled_at, verification_sent_at FROM users WHERE id = $1",
        )
        .bind(user_id)
        .fetch_optional(&self.reads)
        .await?;
        Ok(match row {
            Some((None, None, Some(sent_at))) => {
                VerificationSlot::TooSoon((sent_at + min_interval_ms - now).max(1))
            }
            _ => VerificationSlot::NotNeeded,
        })
    }

    /// Deletes tokens that expired before `before`.
    pub async fn delete_account_tokens_expired_before(&self, before: i64) -> sqlx::Result<u64> {
        let done = sqlx::query("DELETE FROM account_tokens WHERE expires_at < $1")
            .bind(before)
            .execute(&self.writes)
            .await?;
        Ok(done.rows_affected())
    }
}

/// Uses a token: one guarded `UPDATE`, so of concurrent uses exactly one succeeds.
async fn use_token(
    conn: &mut sqlx::AnyConnection,
    token_hash: &str,
    user_id: &str,
    purpose: TokenPurpose,
    now: i64,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE account_tokens SET used_at = $1 WHERE token_hash = $2 AND user_id = $3 \
         AND purpose = $4 AND used_at IS NULL AND expires_at > $1",
    )
    .bind(now)
    .bind(token_hash)
    .bind(user_id)
    .bind(purpose.as_str())
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Uses up every outstanding reset token of a user (after a reset or a password change).
pub(super) async fn end_reset_tokens(
    conn: &mut sqlx::AnyConnection,
    user_id: &str,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE account_tokens SET used_at = $1 WHERE user_id = $2 AND purpose = $3 \
         AND used_at IS NULL",
    )
    .bind(now)
    .bind(user_id)
    .bind(TokenPurpose::ResetPassword.as_str())
    .execute(&mut *conn)
    .await
    .map(drop)
}
