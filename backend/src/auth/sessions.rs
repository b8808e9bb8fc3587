//! Sessions: starting one at login, rotating its refresh token, ending it.

use shared::ErrorCode;

use super::refresh_token;
use crate::clock::{millis, secs};
use crate::crypto::is_token_shaped;
use crate::error::Error;
use crate::state::AppState;
use crate::store::{SessionRow, UserRow};

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

/// Most live sessions one user may have; a new sign-in ends the least recently used.
pub const MAX_LIVE_SESSIONS: i64 = 100;
/// How long past the end of its access tokens' lifetime a revoked session is remembered
/// in memory, for tokens issued by instances whose clocks were still being aligned.
const REVOKED_MARGIN_MS: i64 = 5_000;

/// Starts a session for a user who just proved who they are.
pub async fn start(
    state: &AppState,
    user: UserRow,
    client: ClientInfo,
) -> Result<IssuedTokens, Error> {
    let now = state.clock.now_ms();
    let refresh_token = state.refresh_tokens.generate();
    let session = SessionRow {
        id: uuid::Uuid::new_v4().to_string(),
        user_id: user.id.clone(),
        created_at: now,
        last_used_at: now,
        expires_at: now + millis(state.config.refresh_token_ttl),
        revoked_at: None,
        user_agent: client.user_agent,
        ip: Some(client.ip),
    };
    // Conditional on the account still being enabled, so a sign-in racing `user disable`
    // cannot leave a live session behind.
    let Some(ended) = state
        .store
        .create_session(
            &session,
            &refresh_token::hash(&refresh_token),
            MAX_LIVE_SESSIONS,
        )
        .await?
    else {
        return Err(Error::new(ErrorCode::AccountDisabled));
    };
    for session_id in ended {
        state.revoked.insert(session_id, forget_after(state, now));
    }
    issue(state, user, session, refresh_token, now)
}

/// Exchanges a refresh token for a new access token and the rotated refresh token.
///
/// - The current token rotates: its successor becomes current, it stops working.
/// - The token rotated away last, replayed within the grace window (two tabs racing),
///   gets the same successor the rotation issued; the session does not fork.
/// - Any other replay of a rotated token is theft or a bug: the whole session is revoked.
pub async fn refresh(state: &AppState, presented: &str) -> Result<IssuedTokens, Error> {
    let invalid = || Error::new(ErrorCode::InvalidRefreshToken);
    if !is_token_shaped(presented) {
        return Err(invalid());
    }
    let now = state.clock.now_ms();
    let old_hash = refresh_token::hash(presented);
    let successor = state.refresh_tokens.successor(presented);
    let successor_hash = refresh_token::hash(&successor);

    if let Some(session) = state
        .store
        .rotate_refresh_token(&old_hash, &successor_hash, now)
        .await?
    {
        return issue_for_session(state, session, successor, now).await;
    }

    let Some(known) = state.store.refresh_token_state(&old_hash).await? else {
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
    let grace = millis(state.config.refresh_reuse_grace);
    if grace > 0
        && now - rotated_at <= grace
        && let Some(session) = state
            .store
            .live_session_with_current_token(&known.session_id, &successor_hash, now)
            .await?
    {
        return issue_for_session(state, session, successor, now).await;
    }
    tracing::warn!(
        session_id = %known.session_id,
        "refresh token reuse detected; revoking the session"
    );
    revoke(state, &known.session_id, None).await?;
    Err(invalid())
}

async fn issue_for_session(
    state: &AppState,
    session: SessionRow,
    refresh_token: String,
    now: i64,
) -> Result<IssuedTokens, Error> {
    // Role and disabled state are read fresh, so a role change applies at this refresh.
    match state.store.user_by_id(&session.user_id).await? {
        Some(user) if user.disabled_at.is_none() => issue(state, user, session, refresh_token, now),
        _ => {
            revoke(state, &session.id, None).await?;
            Err(Error::new(ErrorCode::InvalidRefreshToken))
        }
    }
}

fn issue(
    state: &AppState,
    user: UserRow,
    session: SessionRow,
    refresh_token: String,
    now: i64,
) -> Result<IssuedTokens, Error> {
    let role = user.role;
    let now_secs = now.div_euclid(1000);
    // A token never outlives its session.
    let expires_at =
        (now_secs + secs(state.config.access_token_ttl)).min(session.expires_at.div_euclid(1000));
    let access_token = state
        .jwt
        .issue(&user.id, &session.id, role, now_secs, expires_at)
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
pub async fn revoke(
    state: &AppState,
    session_id: &str,
    user_id: Option<&str>,
) -> Result<bool, Error> {
    let now = state.clock.now_ms();
    let Some(expires_at) = state.store.revoke_session(session_id, user_id, now).await? else {
        return Ok(false);
    };
    state
        .revoked
        .insert(session_id.to_owned(), forget_after(state, now));
    Ok(expires_at > now)
}

/// Revokes every session of a user, but `except` when given.
pub async fn revoke_all(
    state: &AppState,
    user_id: &str,
    except: Option<&str>,
) -> Result<(), Error> {
    let now = state.clock.now_ms();
    for session_id in state
        .store
        .revoke_user_sessions(user_id, except, now)
        .await?
    {
        state.revoked.insert(session_id, forget_after(state, now));
    }
    Ok(())
}

/// Ends the session behind whichever of the two tokens is presented. Never fails on
/// missing, stale or foreign tokens: logout is idempotent.
pub async fn logout(
    state: &AppState,
    refresh: Option<&str>,
    access_session_id: Option<&str>,
) -> Result<(), Error> {
    let mut session_ids: Vec<String> = access_session_id.map(str::to_owned).into_iter().collect();
    // Refused here at once, even if the database cannot be reached to end the session.
    if let Some(session_id) = access_session_id {
        let now = state.clock.now_ms();
        state
            .revoked
            .insert(session_id.to_owned(), forget_after(state, now));
    }
    if let Some(token) = refresh.filter(|t| is_token_shaped(t))
        && let Some(known) = state
            .store
            .refresh_token_state(&refresh_token::hash(token))
            .await?
        && !session_ids.contains(&known.session_id)
    {
        session_ids.push(known.session_id);
    }
    for session_id in session_ids {
        revoke(state, &session_id, None).await?;
    }
    Ok(())
}

/// When every access token of a session revoked at `now` (ms) has expired.
fn forget_after(state: &AppState, now: i64) -> i64 {
    now + millis(state.config.access_token_ttl) + REVOKED_MARGIN_MS
}
