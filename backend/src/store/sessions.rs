//! The `sessions` and `refresh_tokens` tables.

use super::passkeys::{self, PasskeyUse};
use super::{Store, UserRow, account_tokens};

/// What a new session was earned with, which [`Store::create_session`] checks again in
/// the transaction that creates it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Proof {
    /// A password (or a new account): not enough for an account with TOTP on.
    Password,
    /// A password and a second factor (a TOTP or recovery code).
    SecondFactor,
    /// A passkey, which counts as both; its use is recorded with the session.
    Passkey(PasskeyUse),
}

impl Proof {
    /// Its name in the audit log.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Password => "password",
            Self::SecondFactor => "second_factor",
            Self::Passkey(_) => "passkey",
        }
    }
}

/// A session as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionRow {
    /// Session id.
    pub id: String,
    /// Owner.
    pub user_id: String,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms of the last refresh (or the login).
    pub last_used_at: i64,
    /// Unix ms; fixed at login.
    pub expires_at: i64,
    /// Unix ms, when revoked.
    pub revoked_at: Option<i64>,
    /// `User-Agent` at login.
    pub user_agent: Option<String>,
    /// Client address at login.
    pub ip: Option<String>,
}

/// What the database knows about a presented refresh token that could not be rotated.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RefreshTokenState {
    /// The session the token belongs to.
    pub session_id: String,
    /// Whose session it is.
    pub user_id: String,
    /// When the token was rotated away (Unix ms; `None`: it is the current one).
    pub rotated_at: Option<i64>,
    /// When the session was revoked (Unix ms).
    pub revoked_at: Option<i64>,
    /// When the session ends (Unix ms).
    pub expires_at: i64,
}

/// The session asking to change how its account signs in (a password, a second factor, a
/// passkey): the change happens only while this session is the user's, live, and signed
/// in at or after `signed_in_since`, checked inside the change's own transaction.
#[derive(Debug, Clone, Copy)]
pub struct ActingSession<'a> {
    /// The user.
    pub user_id: &'a str,
    /// Their session making the change.
    pub session_id: &'a str,
    /// Unix ms: the session's sign-in must be this recent (`i64::MIN`: any).
    pub signed_in_since: i64,
    /// Unix ms.
    pub now: i64,
}

const HELD_SESSION: &str = "WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL \
     AND expires_at > $3 AND created_at >= $4";

/// The columns of a [`SessionRow`].
pub(super) const COLUMNS: &str =
    "id, user_id, created_at, last_used_at, expires_at, revoked_at, user_agent, ip";

impl Store {
    /// Creates a session with its first refresh token (by hash), if its user exists, is
    /// enabled, still has the password hash `password_hash` (the one the sign-in checked)
    /// and still accepts `proof` (a password alone: TOTP off; a second factor: TOTP on; a
    /// passkey: recorded, see [`passkeys::record_use`]), and ends the user's least
    /// recently used live sessions beyond `max_live`. Returns the ids of the sessions it
    /// ended, or `None` (and creates nothing, records nothing) when the user is disabled,
    /// gone, changed their password meanwhile, or the proof no longer holds.
    ///
    /// The first statement writes the user's row (changing nothing), which takes its lock
    /// until commit: a concurrent `disable_user` or `reset_mfa` then either sees this
    /// session (and revokes it) or commits first and this finds what it changed; the
    /// removal of a passkey (which ends no session) either comes after this sign-in or
    /// leaves it nothing to record; and concurrent sign-ins of one user count each other's
    /// sessions.
    pub async fn create_session(
        &self,
        session: &SessionRow,
        password_hash: &str,
        proof: &Proof,
        token_hash: &str,
        max_live: i64,
    ) -> sqlx::Result<Option<Vec<String>>> {
        let mut tx = self.writes.begin().await?;
        // A password alone needs TOTP off, a second factor needs it on (an `mfa-reset`
        // took it away), a passkey either.
        let enabled = sqlx::query(
            "UPDATE users SET disabled_at = NULL WHERE id = $1 AND disabled_at IS NULL \
             AND password_hash = $2 AND ($3 OR (totp_enabled_at IS NULL) = $4)",
        )
        .bind(&session.user_id)
        .bind(password_hash)
        .bind(matches!(proof, Proof::Passkey(_)))
        .bind(*proof == Proof::Password)
        .execute(&mut *tx)
        .await?;
        let proven = match proof {
            Proof::Passkey(used) => {
                used.user_id == session.user_id
                    && passkeys::record_use(&mut tx, used, session.created_at).await?
            }
            Proof::Password | Proof::SecondFactor => true,
        };
        if enabled.rows_affected() == 0 || !proven {
            tx.rollback().await?;
            return Ok(None);
        }
        sqlx::query(&format!(
            "INSERT INTO sessions ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        ))
        .bind(&session.id)
        .bind(&session.user_id)
        .bind(session.created_at)
        .bind(session.last_used_at)
        .bind(session.expires_at)
        .bind(session.revoked_at)
        .bind(&session.user_agent)
        .bind(&session.ip)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, session_id, issued_at) VALUES ($1, $2, $3)",
        )
        .bind(token_hash)
        .bind(&session.id)
        .bind(session.created_at)
        .execute(&mut *tx)
        .await?;
        let ended: Vec<(String,)> = sqlx::query_as(
            "UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL \
             AND expires_at > $1 AND id <> $3 AND id NOT IN \
               (SELECT id FROM sessions WHERE user_id = $2 AND revoked_at IS NULL \
                AND expires_at > $1 AND id <> $3 ORDER BY last_used_at DESC, id LIMIT $4) \
             RETURNING id",
        )
        .bind(session.created_at)
        .bind(&session.user_id)
        .bind(&session.id)
        .bind(max_live - 1)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(ended.into_iter().map(|(id,)| id).collect()))
    }

    /// Replaces a user's password hash, if it is still `old_hash` and the account enabled,
    /// ends the user's outstanding reset links, and revokes every session of the user but
    /// `keep`, which must still be live: all in
    /// one transaction, so the password never changes while the other sessions live on.
    /// Locks the user's row first, like sign-in and `disable_user`. Returns the revoked
    /// session ids, or `None` (nothing changed) when a condition failed.
    pub async fn change_password(
        &self,
        user_id: &str,
        old_hash: &str,
        new_hash: &str,
        keep: &str,
        now: i64,
    ) -> sqlx::Result<Option<Vec<String>>> {
        let mut tx = self.writes.begin().await?;
        let changed = sqlx::query(
            "UPDATE users SET password_hash = $1 WHERE id = $2 AND password_hash = $3 \
             AND disabled_at IS NULL",
        )
        .bind(new_hash)
        .bind(user_id)
        .bind(old_hash)
        .execute(&mut *tx)
        .await?;
        let acting = ActingSession {
            user_id,
            session_id: keep,
            signed_in_since: i64::MIN,
            now,
        };
        let kept = hold_session(&mut tx, acting).await?;
        if changed.rows_affected() == 0 || !kept {
            tx.rollback().await?;
            return Ok(None);
        }
        let ended = revoke_user_sessions(&mut tx, user_id, Some(keep), now).await?;
        account_tokens::end_reset_tokens(&mut tx, user_id, now).await?;
        tx.commit().await?;
        Ok(Some(ended))
    }

    /// Atomically replaces the session's current refresh token `old_hash` by `new_hash`.
    ///
    /// Of any number of concurrent calls with the same token, exactly one finds it current
    /// and gets the session; the others get `None`. The session must be live and
    /// unexpired, also when a revocation commits while this runs. Returns the session and
    /// its user as of the rotation. Rotations waiting for the database run together in one
    /// transaction (`store::rotations`).
    pub async fn rotate_refresh_token(
        &self,
        old_hash: &str,
        new_hash: &str,
        now: i64,
    ) -> sqlx::Result<Option<(SessionRow, Option<UserRow>)>> {
        self.rotations.rotate(old_hash, new_hash, now).await
    }

    /// Looks up any refresh token ever issued, by hash.
    pub async fn refresh_token_state(
        &self,
        token_hash: &str,
    ) -> sqlx::Result<Option<RefreshTokenState>> {
        sqlx::query_as(
            "SELECT t.session_id, s.user_id, t.rotated_at, s.revoked_at, s.expires_at \
             FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id \
             WHERE t.token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&self.reads)
        .await
    }

    /// The session `session_id`, if it is live and `token_hash` is its current token.
    pub async fn live_session_with_current_token(
        &self,
        session_id: &str,
        token_hash: &str,
        now: i64,
    ) -> sqlx::Result<Option<SessionRow>> {
        sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM sessions WHERE id = $1 AND revoked_at IS NULL \
             AND expires_at > $2 AND EXISTS (SELECT 1 FROM refresh_tokens \
               WHERE token_hash = $3 AND session_id = $1 AND rotated_at IS NULL)"
        ))
        .bind(session_id)
        .bind(now)
        .bind(token_hash)
        .fetch_optional(&self.reads)
        .await
    }

    /// Revokes one session not yet revoked (with `user_id`, only theirs), whether or not
    /// it has ended; returns its `expires_at` when it did.
    pub async fn revoke_session(
        &self,
        session_id: &str,
        user_id: Option<&str>,
        now: i64,
    ) -> sqlx::Result<Option<i64>> {
        let row: Option<(i64,)> = sqlx::query_as(
            "UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL \
             AND ($3 IS NULL OR user_id = $3) RETURNING expires_at",
        )
        .bind(now)
        .bind(session_id)
        .bind(user_id)
        .fetch_optional(&self.writes)
        .await?;
        Ok(row.map(|(expires_at,)| expires_at))
    }

    /// Revokes every session of a user not yet revoked, but `except` when given; returns
    /// their ids.
    pub async fn revoke_user_sessions(
        &self,
        user_id: &str,
        except: Option<&str>,
        now: i64,
    ) -> sqlx::Result<Vec<String>> {
        let mut conn = self.writes.acquire().await?;
        revoke_user_sessions(&mut conn, user_id, except, now).await
    }

    /// A user's live sessions, most recently used first.
    pub async fn active_sessions(&self, user_id: &str, now: i64) -> sqlx::Result<Vec<SessionRow>> {
        sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM sessions WHERE user_id = $1 AND revoked_at IS NULL \
             AND expires_at > $2 ORDER BY last_used_at DESC, id"
        ))
        .bind(user_id)
        .bind(now)
        .fetch_all(&self.reads)
        .await
    }

    /// Sessions revoked at or after `since`, as `(id, revoked_at)`.
    pub async fn revoked_since(&self, since: i64) -> sqlx::Result<Vec<(String, i64)>> {
        sqlx::query_as("SELECT id, revoked_at FROM sessions WHERE revoked_at >= $1")
            .bind(since)
            .fetch_all(&self.poller)
            .await
    }

    /// Whether `acting`'s session is the user's, live, and signed in recently enough (a
    /// read: the change itself checks again with [`hold_session`]).
    pub async fn is_acting_session(&self, acting: ActingSession<'_>) -> sqlx::Result<bool> {
        let row: Option<(i64,)> =
            sqlx::query_as(&format!("SELECT created_at FROM sessions {HELD_SESSION}"))
                .bind(acting.session_id)
                .bind(acting.user_id)
                .bind(acting.now)
                .bind(acting.signed_in_since)
                .fetch_optional(&self.reads)
                .await?;
        Ok(row.is_some())
    }

    /// Deletes sessions (and their token hashes) that ended before `before`.
    pub async fn delete_sessions_ended_before(&self, before: i64) -> sqlx::Result<u64> {
        let done = sqlx::query("DELETE FROM sessions WHERE expires_at < $1 OR revoked_at < $1")
            .bind(before)
            .execute(&self.writes)
            .await?;
        Ok(done.rows_affected())
    }
}

/// Revokes every session of a user not yet revoked, but `except` when given, on `conn`
/// (which may be inside a transaction); returns their ids. The one statement that ends a
/// user's sessions, for logout-all, password change and disabling alike.
pub(super) async fn revoke_user_sessions(
    conn: &mut sqlx::AnyConnection,
    user_id: &str,
    except: Option<&str>,
    now: i64,
) -> sqlx::Result<Vec<String>> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL \
         AND ($3 IS NULL OR id <> $3) RETURNING id",
    )
    .bind(now)
    .bind(user_id)
    .bind(except)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

/// Inside a change of the user's sign-in methods: writes `acting`'s session row (changing
/// nothing), so that it cannot be revoked until the change commits, and answers whether
/// it is the user's, live, and signed in recently enough. A session revoked just before
/// (sign out everywhere, a reset) therefore cannot go on to change the account.
pub(super) async fn hold_session(
    conn: &mut sqlx::AnyConnection,
    acting: ActingSession<'_>,
) -> sqlx::Result<bool> {
    let held = sqlx::query(&format!(
        "UPDATE sessions SET last_used_at = last_used_at {HELD_SESSION}"
    ))
    .bind(acting.session_id)
    .bind(acting.user_id)
    .bind(acting.now)
    .bind(acting.signed_in_since)
    .execute(&mut *conn)
    .await?;
    Ok(held.rows_affected() > 0)
}
