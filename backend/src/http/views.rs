//! Stored rows as the API shows them, in one place: times from the store's Unix
//! milliseconds to the API's Unix seconds, and nothing the client must not see.

use shared::{AuditEvent, AuthResponse, SessionInfo, SessionView, UserView};

use crate::auth::sessions::IssuedTokens;
use crate::store::{AuditRow, SessionRow, UserRow};

/// Unix ms (the store) to Unix seconds (the API).
fn secs(ms: i64) -> i64 {
    ms.div_euclid(1000)
}

/// `user` in API bodies (never the password hash).
pub fn user(row: &UserRow) -> UserView {
    UserView {
        id: row.id.clone(),
        email: row.email.clone(),
        role: row.role,
        created_at: secs(row.created_at),
        email_verified: row.email_verified_at.is_some(),
        mfa_enabled: row.totp_enabled_at.is_some(),
    }
}

/// One entry of `GET /api/sessions`; `current` when it is the caller's own.
pub fn session_info(row: SessionRow, current_id: &str) -> SessionInfo {
    SessionInfo {
        current: row.id == current_id,
        id: row.id,
        created_at: secs(row.created_at),
        last_used_at: secs(row.last_used_at),
        expires_at: secs(row.expires_at),
        user_agent: row.user_agent,
        ip: row.ip,
    }
}

/// The body of a sign-in or refresh.
pub fn signed_in(issued: &IssuedTokens) -> AuthResponse {
    AuthResponse {
        user: user(&issued.user),
        session: SessionView {
            id: issued.session.id.clone(),
            access_expires_at: issued.access_expires_at,
            refresh_expires_at: secs(issued.session.expires_at),
            server_time: secs(issued.now_ms),
        },
    }
}

/// An audit event in API bodies.
pub fn audit_event(row: AuditRow) -> AuditEvent {
    AuditEvent {
        at: secs(row.at),
        action: row.action,
        user_id: row.user_id,
        ip: row.ip,
        user_agent: row.user_agent,
        detail: row.detail,
    }
}
