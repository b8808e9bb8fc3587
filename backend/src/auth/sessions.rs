//! Sessions: starting one at login, rotating its refresh token, ending it.

use shared::ErrorCode;

use super::refresh_token;
use crate::clock::{millis, secs};
use crate::crypto::is_token_shaped;
use crate::error::Error;
use std::sync::Arc;
use std::time::Duration;

use super::audit::{Action, Audit, Event};
use super::jwt::JwtKeys;
use super::refresh_token::RefreshTokens;
use super::revocation::RevokedSessions;
use crate::clock::Clock;
use crate::store::{ActingSession, SessionRow, Store, UserRow};

pub use crate::store::Proof;

/// Who is signing in from where, recorded on the session.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    /// Client address (after trusted-proxy resolution).
    pub ip: String,
    /// `User-Agent`, truncated.
    pub user_agent: Option<String>,
}

/// Everything a successful login or refresh hands back to the client.
pub struct IssuedTokens {
    /// The signed-in user.
    pub user: UserRow,
    /// The session.
    pub session: SessionRow,
    /// The JWT.
    pub access_token: String,
    /// `exp` of the JWT (Unix seconds): never after the session's end.
    pub access_expires_at: i64,
    /// The refresh token value (only ever sent in a cookie).
    pub refresh_token: String,
    /// Server time of issue (Unix ms).
    pub now_ms: i64,
}

/// How recent a session's sign-in must be for it to change how the account signs in
/// (turn TOTP on or off, add or remove a passkey): a session stolen later, or left open
/// on a shared computer, cannot add its own way in.
pub const REAUTH_WINDOW_MS: i64 = 10 * 60 * 1000;

/// `session_id` of `user_id` changing how the account signs in at `now`: it must have
/// signed in within [`REAUTH_WINDOW_MS`].
pub fn recently_signed_in<'a>(
    user_id: &'a str,
    session_id: &'a str,
    now: i64,
) -> ActingSession<'a> {
    ActingSession {
        user_id,
        session_id,
        signed_in_since: now - REAUTH_WINDOW_MS,
        now,
    }
}

/// 403 `reauthentication_required` unless `acting`'s session is live and recent enough.
/// An early answer, before any work: the change itself checks again in its transaction.
pub async fn require_recent_sign_in(store: &Store, acting: ActingSession<'_>) -> Result<(), Error> {
    if store.is_acting_session(acting).await? {
        Ok(())
    } else {
        Err(Error::new(ErrorCode::ReauthenticationRequired))
    }
}

/// Most live sessions one user may have; a new sign-in ends the least recently used.
pub const MAX_LIVE_SESSIONS: i64 = 100;
/// How long past the end of its access tokens' lifetime a revoked session is remembered
/// in memory, for tokens issued by instances whose clocks were still being aligned.
const REVOKED_MARGIN_MS: i64 = 5_000;

/// How long things live (from the configuration).
#[derive(Debug, Clone, Copy)]
pub struct Lifetimes {
    /// Access tokens (`ACCESS_TOKEN_TTL`).
    pub access: Duration,
    /// A session, from sign-in (`REFRESH_TOKEN_TTL`).
    pub session: Duration,
    /// How long the refresh token just rotated away may be replayed (`REFRESH_REUSE_GRACE`).
    pub reuse_grace: Duration,
}

/// The session flows, over what they use (cheap to clone).
#[derive(Clone)]
pub struct Sessions {
    /// The database.
    pub store: Store,
    /// Signs access tokens.
    pub jwt: Arc<JwtKeys>,
    /// Makes refresh tokens and their successors.
    pub refresh_tokens: Arc<RefreshTokens>,
    /// Sessions whose access tokens are refused.
    pub revoked: RevokedSessions,
    /// The source of "now".
    pub clock: Arc<dyn Clock>,
    /// Token and session lifetimes.
    pub lifetimes: Lifetimes,
    /// Records refresh-token reuse.
    pub audit: Audit,
}

impl Sessions {
    /// Starts a session for a user who just proved who they are, and records the sign-in.
    pub async fn start(
        &self,
        user: UserRow,
        client: ClientInfo,
        proof: Proof,
    ) -> Result<IssuedTokens, Error> {
        let now = self.clock.now_ms();
        let refresh_token = self.refresh_tokens.generate();
        let session = SessionRow {
            id: uuid::Uuid::new_v4().to_string(),
            user_id: user.id.clone(),
            created_at: now,
            last_used_at: now,
            expires_at: now + millis(self.lifetimes.session),
            revoked_at: None,
            user_agent: client.user_agent.clone(),
            ip: Some(client.ip.clone()),
        };
        // Conditional on the account still being enabled, its password still the one
        // checked, for a password alone TOTP still off, for a second factor TOTP still on,
        // and for a passkey the passkey still there: a sign-in racing `user disable`, a
        // password change, TOTP being turned on or `user mfa-reset` cannot leave a live
        // session behind, nor one with a passkey whose removal committed first.
        let Some(ended) = self
            .store
            .create_session(
                &session,
                &user.password_hash,
                &proof,
                &refresh_token::hash(&refresh_token),
                MAX_LIVE_SESSIONS,
            )
            .await?
        else {
            let disabled = self
                .store
                .user_by_id(&user.id)
                .await?
                .is_none_or(|u| u.disabled_at.is_some());
            return Err(Error::new(if disabled {
                ErrorCode::AccountDisabled
            } else {
                ErrorCode::InvalidCredentials
            }));
        };
        self.reject(ended);
        let event = Event::new(Action::SignIn, &user.id, &client).detail(proof.as_str());
        self.audit.record(event).await;
        self.issue(user, session, refresh_token, now)
    }

    /// Exchanges a refresh token for a new access token and the rotated refresh token.
    ///
    /// - The current token rotates: its successor becomes current, it stops working.
    /// - The token rotated away last, replayed within the grace window (two tabs racing),
    ///   gets the same successor the rotation issued; the session does not fork.
    /// - Any other replay of a rotated token is theft or a bug: the whole session is revoked.
    pub async fn refresh(
        &self,
        presented: &str,
        client: &ClientInfo,
    ) -> Result<IssuedTokens, Error> {
        let invalid = || Error::new(ErrorCode::InvalidRefreshToken);
        if !is_token_shaped(presented) {
            return Err(invalid());
        }
        let now = self.clock.now_ms();
        let old_hash = refresh_token::hash(presented);
        let successor = self.refresh_tokens.successor(presented);
        let successor_hash = refresh_token::hash(&successor);

        if let Some((session, user)) = self
            .store
            .rotate_refresh_token(&old_hash, &successor_hash, now)
            .await?
        {
            return self.issue_for_user(session, user, successor, now).await;
        }

        let Some(known) = self.store.refresh_token_state(&old_hash).await? else {
            return Err(invalid());
        };
        let Some(rotated_at) = known.rotated_at else {
            // The current token of a revoked or expired session.
            return Err(invalid());
        };
        if known.revoked_at.is_some() || known.expires_at <= now {
            return Err(invalid());
        }
        // Exact to the millisecond, and a grace of 0 forgives nothing.
        let grace = millis(self.lifetimes.reuse_grace);
        if grace > 0
            && now - rotated_at <= grace
            && let Some(session) = self
                .store
                .live_session_with_current_token(&known.session_id, &successor_hash, now)
                .await?
        {
            return self.issue_for_session(session, successor, now).await;
        }
        tracing::warn!(
            session_id = %known.session_id,
            "refresh token reuse detected; revoking the session"
        );
        self.revoke(&known.session_id, None).await?;
        let event = Event::new(Action::RefreshTokenReuse, &known.user_id, client);
        self.audit.record(event.detail(&known.session_id)).await;
        Err(invalid())
    }

    async fn issue_for_session(
        &self,
        session: SessionRow,
        refresh_token: String,
        now: i64,
    ) -> Result<IssuedTokens, Error> {
        // Role and disabled state are read fresh, so a role change applies at this refresh.
        let user = self.store.user_by_id(&session.user_id).await?;
        self.issue_for_user(session, user, refresh_token, now).await
    }

    /// Tokens for `session` of `user`, unless the account is gone or disabled: then the
    /// session is revoked.
    async fn issue_for_user(
        &self,
        session: SessionRow,
        user: Option<UserRow>,
        refresh_token: String,
        now: i64,
    ) -> Result<IssuedTokens, Error> {
        match user {
            Some(user) if user.disabled_at.is_none() => {
                self.issue(user, session, refresh_token, now)
            }
            _ => {
                self.revoke(&session.id, None).await?;
                Err(Error::new(ErrorCode::InvalidRefreshToken))
            }
        }
    }

    fn issue(
        &self,
        user: UserRow,
        session: SessionRow,
        refresh_token: String,
        now: i64,
    ) -> Result<IssuedTokens, Error> {
        let role = user.role;
        let now_secs = now.div_euclid(1000);
        // A token never outlives its session.
        let expires_at =
            (now_secs + secs(self.lifetimes.access)).min(session.expires_at.div_euclid(1000));
        let access_token = self
            .jwt
            .issue(&user.id, &session.id, role, now, expires_at)
            .map_err(Error::internal)?;
        Ok(IssuedTokens {
            user,
            session,
            access_token,
            access_expires_at: expires_at,
            refresh_token,
            now_ms: now,
        })
    }

    /// Revokes a session (only if it belongs to `user_id`, when given) and rejects its access
    /// tokens on this instance at once. True when a live session was revoked.
    ///
    /// A session past its end is revoked too (and its tokens rejected), though it does not
    /// count as live: nothing that names it should work again.
    pub async fn revoke(&self, session_id: &str, user_id: Option<&str>) -> Result<bool, Error> {
        let now = self.clock.now_ms();
        let Some(expires_at) = self.store.revoke_session(session_id, user_id, now).await? else {
            return Ok(false);
        };
        self.reject([session_id.to_owned()]);
        Ok(expires_at > now)
    }

    /// Revokes every session of a user, but `except` when given; returns how many ended.
    pub async fn revoke_all(&self, user_id: &str, except: Option<&str>) -> Result<usize, Error> {
        let now = self.clock.now_ms();
        let ended = self
            .store
            .revoke_user_sessions(user_id, except, now)
            .await?;
        let count = ended.len();
        self.reject(ended);
        Ok(count)
    }

    /// Ends the session behind whichever of the two tokens is presented. Never fails on
    /// missing, stale or foreign tokens: logout is idempotent. Returns whether a live
    /// session ended, and the user of the refresh token's session when it named one.
    pub async fn logout(
        &self,
        refresh: Option<&str>,
        access_session_id: Option<&str>,
    ) -> Result<(bool, Option<String>), Error> {
        let mut user_id = None;
        let mut ended = false;
        let mut session_ids: Vec<String> =
            access_session_id.map(str::to_owned).into_iter().collect();
        // Refused here at once, even if the database cannot be reached to end the session.
        self.reject(session_ids.clone());
        if let Some(token) = refresh.filter(|t| is_token_shaped(t))
            && let Some(known) = self
                .store
                .refresh_token_state(&refresh_token::hash(token))
                .await?
        {
            user_id = Some(known.user_id);
            if !session_ids.contains(&known.session_id) {
                session_ids.push(known.session_id);
            }
        }
        for session_id in session_ids {
            ended |= self.revoke(&session_id, None).await?;
        }
        Ok((ended, user_id))
    }

    /// Rejects the access tokens of sessions just revoked, on this instance at once, until
    /// every token they could have has expired (other instances learn of them by polling).
    pub fn reject(&self, session_ids: impl IntoIterator<Item = String>) {
        let forget_after = self.clock.now_ms() + millis(self.lifetimes.access) + REVOKED_MARGIN_MS;
        for session_id in session_ids {
            self.revoked.insert(session_id, forget_after);
        }
    }
}
