//! The audit log: every sign-in and failed sign-in, refresh-token reuse, revocation,
//! password change or reset, change of a second factor or passkey, and operator action,
//! with who, when, from which IP and user agent. Never a secret: no password, token, code
//! or link, and no email typed at a failed sign-in (it may be a password typed in the
//! wrong field); a failed sign-in names the account only when the email is one.
//!
//! Writing an event never fails the request that caused it: a failed write is logged. A
//! successful action records before it answers; a failed sign-in records after its answer
//! (in a task of its own), so looking up whose account was named cannot tell, by time,
//! a known email from an unknown one.

use std::sync::Arc;

use super::sessions::ClientInfo;
use crate::clock::Clock;
use crate::store::{AuditRow, Store};

/// How long events are kept (ms): a year.
pub const RETENTION_MS: i64 = 365 * 24 * 60 * 60 * 1000;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// An account was registered (by its user, or created by an operator).
    AccountCreated,
    /// A session started; the detail says with what (`password`, `second_factor`,
    /// `passkey`).
    SignIn,
    /// A password, code or passkey was refused; the detail says which.
    SignInFailed,
    /// A rotated refresh token came back: its session was revoked.
    RefreshTokenReuse,
    /// A user signed out this session.
    SignOut,
    /// A user signed out every session.
    SignOutEverywhere,
    /// A user signed out every other session.
    SignOutOthers,
    /// A user ended one of their sessions from the device list.
    SessionRevoked,
    /// A password was changed by its user.
    PasswordChanged,
    /// A password was replaced through an emailed link.
    PasswordReset,
    /// An email address was verified (by its link, or by an operator).
    EmailVerified,
    /// TOTP was turned on.
    TotpEnabled,
    /// TOTP was turned off.
    TotpDisabled,
    /// A passkey was added; the detail is its name.
    PasskeyAdded,
    /// A passkey was removed.
    PasskeyRemoved,
    /// An operator removed every second factor and passkey of the user.
    MfaReset,
    /// An operator disabled the account.
    AccountDisabled,
    /// An operator changed the user's role; the detail is the new role.
    RoleChanged,
    /// An operator rotated the signing keys; the detail is the new key's kid and algorithm.
    KeyRotated,
}

impl Action {
    /// The name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AccountCreated => "account_created",
            Self::SignIn => "sign_in",
            Self::SignInFailed => "sign_in_failed",
            Self::RefreshTokenReuse => "refresh_token_reuse",
            Self::SignOut => "sign_out",
            Self::SignOutEverywhere => "sign_out_everywhere",
            Self::SignOutOthers => "sign_out_others",
            Self::SessionRevoked => "session_revoked",
            Self::PasswordChanged => "password_changed",
            Self::PasswordReset => "password_reset",
            Self::EmailVerified => "email_verified",
            Self::TotpEnabled => "totp_enabled",
            Self::TotpDisabled => "totp_disabled",
            Self::PasskeyAdded => "passkey_added",
            Self::PasskeyRemoved => "passkey_removed",
            Self::MfaReset => "mfa_reset",
            Self::AccountDisabled => "account_disabled",
            Self::RoleChanged => "role_changed",
            Self::KeyRotated => "key_rotated",
        }
    }
}

/// One event to record.
#[derive(Debug, Clone, Copy)]
pub struct Event<'a> {
    /// What happened.
    pub action: Action,
    /// Whose account, when known.
    pub user_id: Option<&'a str>,
    /// From where (none for the command line).
    pub client: Option<&'a ClientInfo>,
    /// More about it (never a secret).
    pub detail: Option<&'a str>,
}

impl<'a> Event<'a> {
    /// `action` on `user_id`'s account, from `client`.
    pub fn new(action: Action, user_id: &'a str, client: &'a ClientInfo) -> Self {
        Self {
            action,
            user_id: Some(user_id),
            client: Some(client),
            detail: None,
        }
    }

    /// With a detail.
    #[must_use]
    pub fn detail(mut self, detail: &'a str) -> Self {
        self.detail = Some(detail);
        self
    }
}

/// Whom a failed sign-in named, to be looked up after the answer.
#[derive(Debug, Clone)]
pub enum Named {
    /// A canonical email (the account, if there is one).
    Email(String),
    /// The hash of a sign-in ticket (its account).
    Ticket(String),
    /// A user id (a passkey of theirs was refused).
    User(String),
    /// Nobody known (a passkey that matched no account, text that is no email).
    Nobody,
}

/// Records an operator's action from the command line (no IP or user agent) on the
/// account with this canonical email (or on none), at `now` (the database's clock). The
/// action is done by then: a failure to record it is a warning, not the command's failure.
pub async fn record_operator_action(
    store: &Store,
    now: i64,
    action: Action,
    email: Option<&str>,
    detail: &str,
) {
    let user_id = match email {
        Some(email) => store
            .user_by_email(email)
            .await
            .ok()
            .flatten()
            .map(|u| u.id),
        None => None,
    };
    let row = AuditRow {
        id: uuid::Uuid::new_v4().to_string(),
        at: now,
        action: action.as_str().to_owned(),
        user_id,
        ip: None,
        user_agent: None,
        detail: Some(format!("operator: {detail}")),
    };
    if let Err(error) = store.insert_audit_event(&row).await {
        tracing::warn!(action = row.action, %error, "audit event not recorded");
    }
}

/// Failed sign-ins that may wait to be written at once.
pub const MAX_PENDING_FAILURES: usize = 256;

/// Writes the audit log (cheap to clone).
#[derive(Clone)]
pub struct Audit {
    /// The database.
    store: Store,
    /// The source of "now".
    clock: Arc<dyn Clock>,
    /// Slots for failed sign-ins waiting to be written.
    pending: Arc<tokio::sync::Semaphore>,
}

impl Audit {
    /// The audit log in `store`, timed by `clock`.
    pub fn new(store: Store, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            clock,
            pending: Arc::new(tokio::sync::Semaphore::new(MAX_PENDING_FAILURES)),
        }
    }

    /// Records an event now; a failure is logged, never returned.
    pub async fn record(&self, event: Event<'_>) {
        self.write(self.row(event)).await;
    }

    /// Records a failed sign-in after the answer has gone, with the account `named` when
    /// there is one. At most [`MAX_PENDING_FAILURES`] wait to be written; beyond that a
    /// flood is dropped (and logged), so the log can never hold up the database.
    pub fn sign_in_failed(&self, named: Named, client: &ClientInfo, how: &'static str) {
        let Ok(slot) = Arc::clone(&self.pending).try_acquire_owned() else {
            tracing::warn!(how, "too many failed sign-ins waiting: audit event dropped");
            return;
        };
        let audit = self.clone();
        let client = client.clone();
        let at = self.clock.now_ms();
        tokio::spawn(async move {
            let _slot = slot;
            let user = match named {
                Named::Email(email) => audit
                    .store
                    .user_by_email(&email)
                    .await
                    .map(|u| u.map(|u| u.id)),
                Named::Ticket(hash) => audit
                    .store
                    .mfa_ticket_user(&hash)
                    .await
                    .map(|u| u.map(|u| u.id)),
                Named::User(id) => Ok(Some(id)),
                Named::Nobody => Ok(None),
            };
            let user_id = user.unwrap_or_else(|error| {
                tracing::warn!(%error, "the account of a failed sign-in could not be looked up");
                None
            });
            let event = Event {
                action: Action::SignInFailed,
                user_id: user_id.as_deref(),
                client: Some(&client),
                detail: Some(how),
            };
            let row = AuditRow {
                at,
                ..audit.row(event)
            };
            audit.write(row).await;
        });
    }

    async fn write(&self, row: AuditRow) {
        if let Err(error) = self.store.insert_audit_event(&row).await {
            tracing::warn!(action = row.action, %error, "audit event not recorded");
        }
    }

    fn row(&self, event: Event<'_>) -> AuditRow {
        AuditRow {
            id: uuid::Uuid::new_v4().to_string(),
            at: self.clock.now_ms(),
            action: event.action.as_str().to_owned(),
            user_id: event.user_id.map(str::to_owned),
            ip: event.client.map(|client| client.ip.clone()),
            user_agent: event.client.and_then(|client| client.user_agent.clone()),
            detail: event.detail.map(str::to_owned),
        }
    }
}
