//! Request and response bodies of the HTTP API.

use crate::WireName;
use serde::{Deserialize, Serialize};

/// `POST /api/auth/register` and `POST /api/auth/login` body.
///
/// Unknown fields are refused so that a client cannot smuggle in `role` or `id`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// Email as typed; the server canonicalises it.
    #[cfg_attr(feature = "openapi", schema(format = Email))]
    pub email: String,
    /// Password as typed.
    #[cfg_attr(feature = "openapi", schema(format = Password))]
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("email", &self.email)
            .field("password", &"[redacted]")
            .finish()
    }
}

/// `POST /api/auth/password/change` body.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    /// The password now, to prove it is the user.
    #[cfg_attr(feature = "openapi", schema(format = Password))]
    pub current_password: String,
    /// The password from now on.
    #[cfg_attr(feature = "openapi", schema(format = Password))]
    pub new_password: String,
}

impl std::fmt::Debug for PasswordChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordChange")
            .field("current_password", &"[redacted]")
            .field("new_password", &"[redacted]")
            .finish()
    }
}

/// `POST /api/auth/password/forgot` body.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForgotPassword {
    /// Email as typed (any text: the answer is the same).
    pub email: String,
}

/// `POST /api/auth/password/reset` body.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordReset {
    /// The token from the reset link's fragment.
    pub token: String,
    /// The new password.
    #[cfg_attr(feature = "openapi", schema(format = Password))]
    pub password: String,
}

impl std::fmt::Debug for PasswordReset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordReset")
            .field("token", &"[redacted]")
            .field("password", &"[redacted]")
            .finish()
    }
}

/// `POST /api/auth/email/verify` body.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailVerification {
    /// The token from the verification link's fragment.
    pub token: String,
}

impl std::fmt::Debug for EmailVerification {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmailVerification")
            .field("token", &"[redacted]")
            .finish()
    }
}

/// A second-factor code: `POST /api/auth/mfa/verify`, `mfa/totp/confirm` and
/// `mfa/totp/disable` body.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MfaCode {
    /// Six digits from the authenticator app, or a recovery code.
    pub code: String,
}

impl std::fmt::Debug for MfaCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MfaCode")
            .field("code", &"[redacted]")
            .finish()
    }
}

/// Answer of `POST /api/auth/mfa/totp/setup`: what the authenticator app needs.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TotpSetup {
    /// The secret in base32, to type in by hand.
    pub secret: String,
    /// `otpauth://totp/…`, the content of the QR code.
    pub otpauth_uri: String,
    /// The QR code as an SVG document.
    pub qr_svg: String,
}

impl std::fmt::Debug for TotpSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSetup([redacted])")
    }
}

/// Answer of `POST /api/auth/mfa/totp/confirm`: single-use codes, shown once.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryCodes {
    /// Ten codes, each good for one sign-in without the authenticator app.
    pub recovery_codes: Vec<String>,
}

/// A way to complete a sign-in's second step.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MfaMethod {
    /// A code from an authenticator app.
    Totp,
    /// One of the recovery codes.
    RecoveryCode,
    /// A passkey.
    Passkey,
}

/// Answer (202) of a login whose password was right on an account with a second factor.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MfaRequired {
    /// The methods this account can complete the sign-in with.
    pub mfa_required: Vec<MfaMethod>,
}

/// One of the signed-in user's passkeys (`GET /api/auth/passkeys`, and the answer of
/// `passkeys/register/finish`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasskeyInfo {
    /// Its id, for `DELETE /api/auth/passkeys/{id}`.
    pub id: String,
    /// The name the user gave it.
    pub name: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds of the last sign-in with it.
    #[cfg_attr(feature = "openapi", schema(required))]
    pub last_used_at: Option<i64>,
}

/// A user's role.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A regular user.
    User,
    /// May see the admin pages.
    Admin,
}

impl Role {
    /// The name stored in the database and sent on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Admin => "admin",
        }
    }
}

impl TryFrom<String> for Role {
    type Error = String;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl std::str::FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_wire_name(s)
            .ok_or_else(|| format!("unknown role {s:?} (expected admin or user)"))
    }
}

/// `user` in API bodies.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserView {
    /// User id.
    pub id: String,
    /// Canonical email.
    pub email: String,
    /// Role.
    pub role: Role,
    /// Unix seconds.
    pub created_at: i64,
    /// Whether the user has proven the email is theirs (by a link sent to it).
    pub email_verified: bool,
    /// Whether signing in needs a second factor.
    pub mfa_enabled: bool,
}

/// `session` in token responses. Unix seconds.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionView {
    /// Session id.
    pub id: String,
    /// When the access token expires.
    pub access_expires_at: i64,
    /// When the session (its refresh chain) ends.
    pub refresh_expires_at: i64,
    /// The server's clock when it answered, so a client can correct its own.
    pub server_time: i64,
}

/// Answer of register, login and refresh.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthResponse {
    /// The signed-in user.
    pub user: UserView,
    /// The session and its token expiries.
    pub session: SessionView,
}

/// Answer of register: with `REQUIRE_VERIFIED_EMAIL` there is no session (the user signs
/// in after verifying the email).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registered {
    /// The new user.
    pub user: UserView,
    /// The session, when the new user is signed in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<SessionView>,
}

/// One event of the audit log (`GET /api/admin/audit`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// Unix seconds (the list is in the order of the stored milliseconds).
    pub at: i64,
    /// What happened: `sign_in`, `sign_in_failed`, `refresh_token_reuse`, `sign_out`,
    /// `password_changed`, `totp_enabled`, `passkey_added`, … (see the README).
    pub action: String,
    /// Whose account it concerns, when known.
    #[cfg_attr(feature = "openapi", schema(required))]
    pub user_id: Option<String>,
    /// The client's address (none for an operator's command).
    #[cfg_attr(feature = "openapi", schema(required))]
    pub ip: Option<String>,
    /// The client's `User-Agent`.
    #[cfg_attr(feature = "openapi", schema(required))]
    pub user_agent: Option<String>,
    /// More about it: how a sign-in was made, a passkey's name, a session id.
    #[cfg_attr(feature = "openapi", schema(required))]
    pub detail: Option<String>,
}

/// Answer of `GET /api/me`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeResponse {
    /// The signed-in user.
    pub user: UserView,
}

/// One entry of `GET /api/sessions`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    /// Session id.
    pub id: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds of the last refresh (or the login).
    pub last_used_at: i64,
    /// Unix seconds when the session ends.
    pub expires_at: i64,
    /// The browser's `User-Agent` at login.
    #[cfg_attr(feature = "openapi", schema(required))]
    pub user_agent: Option<String>,
    /// The client address at login.
    #[cfg_attr(feature = "openapi", schema(required))]
    pub ip: Option<String>,
    /// Whether this is the session making the request.
    pub current: bool,
}

/// One entry of `GET /api/products` (sample protected data).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Product {
    /// Product id.
    pub id: i64,
    /// Display name.
    pub name: String,
    /// Price in cents.
    pub price_cents: i64,
}

/// Answer of `GET /api/health`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthResponse {
    /// Always `"ok"`.
    pub status: String,
}
