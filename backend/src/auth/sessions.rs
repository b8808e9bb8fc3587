//! Sessions: starting one at login, rotating its refresh token, ending it.

use shared::{ErrorCode, Role};

use super::{is_token_shaped, refresh_token};
use crate::clock::secs;
use crate::error::ApiError;
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
    /// `exp` of the JWT.
    pub access_expires_at: i64,
    /// The refresh token value (only ever sent in a cookie).
    pub refresh_token: String,
    /// Server time of issue.
    pub now: i64,
}

/// Starts a session for a user who just proved who they are.
pub async fn start(
    state: &AppState,
    user: UserRow,
    client: ClientInfo,
) -> Result<IssuedTokens, ApiError> {
    let now = state.clock.now();
    let refresh_token = state.refresh_tokens.generate();
    let session = SessionRow {
        id: uuid::Uuid::new_v4().to_string(),
        user_id: user.id.clone(),
        created_at: now,
        last_used_at: now,
        expires_at: now + secs(state.config.refresh_token_ttl),
        revoked_at: None,
        user_agent: client.user_agent,
        ip: Some(client.ip),
    };
    state
        .store
        .create_session(&session, &refresh_token::hash(&refresh_token))
        .await?;
    issue(state, user, session, refresh_token, now)
}

/// Exchanges a refresh token for a new access token and the rotated refresh token.
///
/// - The current token rotates: its successor becomes current, it stops working.
/// - The token rotated away last, replayed within the grace window (two tabs racing),
///   gets the same successor the rotation issued; the session does not fork.
/// - Any other replay of a rotated token is theft or a bug: the whole session is revoked.
pub async fn refresh(state: &AppState, presented: &str) -> Result<IssuedTokens, ApiError> {
    let invalid = || ApiError::new(ErrorCode::InvalidRefreshToken);
    if !is_token_shaped(presented) {
        return Err(invalid());
    }
    let now = state.clock.now();
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
    if now - rotated_at <= secs(state.config.refresh_reuse_grace)
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
) -> Result<IssuedTokens, ApiError> {
    // Role and disabled state are read fresh, so a role change applies at this refresh.
    match state.store.user_by_id(&session.user_id).await? {
        Some(user) if user.disabled_at.is_none() => issue(state, user, session, refresh_token, now),
        _ => {
            revoke(state, &session.id, None).await?;
            Err(ApiError::new(ErrorCode::InvalidRefreshToken))
        }
    }
}

fn issue(
    state: &AppState,
    user: UserRow,
    session: SessionRow,
    refresh_token: String,
    now: i64,
) -> Result<IssuedTokens, ApiError> {
    let role: Role = user
        .role
        .parse()
        .map_err(|e: String| ApiError::internal(anyhow::anyhow!(e)))?;
    let (access_token, access_expires_at) = state
        .jwt
        .issue(
            &user.id,
            &session.id,
            role,
            now,
            secs(state.config.access_token_ttl),
        )
        .map_err(ApiError::internal)?;
    Ok(IssuedTokens {
        user,
        session,
        access_token,
        access_expires_at,
        refresh_token,
        now,
    })
}

/// Revokes a session (only if it belongs to `user_id`, when given) and rejects its access
/// tokens on this instance at once. True when a live session was revoked.
pub async fn revoke(
    state: &AppState,
    session_id: &str,
    user_id: Option<&str>,
) -> Result<bool, ApiError> {
    let now = state.clock.now();
    let revoked = state.store.revoke_session(session_id, user_id, now).await?;
    if revoked {
        state
            .revoked
            .insert(session_id.to_owned(), forget_after(state, now));
    }
    Ok(revoked)
}

/// Revokes every session of a user.
pub async fn revoke_all(state: &AppState, user_id: &str) -> Result<(), ApiError> {
    let now = state.clock.now();
    for session_id in state.store.revoke_user_sessions(user_id, now).await? {
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
) -> Result<(), ApiError> {
    let mut session_ids: Vec<String> = access_session_id.map(str::to_owned).into_iter().collect();
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

/// When every access token of a session revoked at `now` has expired.
fn forget_after(state: &AppState, now: i64) -> i64 {
    now + secs(state.config.access_token_ttl) + 1
}
