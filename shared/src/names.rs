//! The names both sides must spell alike: API paths, cookie names and the CSRF header.
//! The backend's route table and CSRF layer, the SPA's client and the test harness all use
//! these, so a name cannot drift between them.

/// API paths. A path with `{id}` has a function that fills it in.
pub mod paths {
    /// `POST`: create an account and sign in.
    pub const REGISTER: &str = "/api/auth/register";
    /// `POST`: sign in with email and password.
    pub const LOGIN: &str = "/api/auth/login";
    /// `POST`: rotate the refresh token, get a new access token.
    pub const REFRESH: &str = "/api/auth/refresh";
    /// `POST`: end this session.
    pub const LOGOUT: &str = "/api/auth/logout";
    /// `POST`: end every session of the user.
    pub const LOGOUT_ALL: &str = "/api/auth/logout-all";
    /// `POST`: end every session of the user but this one.
    pub const LOGOUT_OTHERS: &str = "/api/auth/logout-others";
    /// `POST`: change the password (the current one is asked for).
    pub const PASSWORD_CHANGE: &str = "/api/auth/password/change";
    /// `POST`: ask for a password reset link by email (always 202).
    pub const PASSWORD_FORGOT: &str = "/api/auth/password/forgot";
    /// `POST`: set a new password with the token of a reset link.
    pub const PASSWORD_RESET: &str = "/api/auth/password/reset";
    /// `POST`: verify the account's email with the token of a verification link.
    pub const EMAIL_VERIFY: &str = "/api/auth/email/verify";
    /// `POST`: email the signed-in user a new verification link.
    pub const EMAIL_RESEND: &str = "/api/auth/email/resend";
    /// `POST`: start setting up TOTP (a new secret, not yet required).
    pub const MFA_TOTP_SETUP: &str = "/api/auth/mfa/totp/setup";
    /// `POST`: confirm TOTP with a first code; answers the recovery codes.
    pub const MFA_TOTP_CONFIRM: &str = "/api/auth/mfa/totp/confirm";
    /// `POST`: turn TOTP off with a code.
    pub const MFA_TOTP_DISABLE: &str = "/api/auth/mfa/totp/disable";
    /// `POST`: the second step of a sign-in, with the `mfa_ticket` cookie.
    pub const MFA_VERIFY: &str = "/api/auth/mfa/verify";
    /// The path of the `mfa_ticket` cookie.
    pub const MFA_PREFIX: &str = "/api/auth/mfa";
    /// `POST`: WebAuthn creation options for a new passkey.
    pub const PASSKEY_REGISTER_START: &str = "/api/auth/passkeys/register/start";
    /// `POST`: the browser's new credential and its name.
    pub const PASSKEY_REGISTER_FINISH: &str = "/api/auth/passkeys/register/finish";
    /// `GET`: the signed-in user's passkeys.
    pub const PASSKEYS: &str = "/api/auth/passkeys";
    /// `DELETE`: remove one passkey (route pattern; see [`passkey`]).
    pub const PASSKEY: &str = "/api/auth/passkeys/{id}";
    /// `POST`: WebAuthn request options for signing in with a passkey.
    pub const PASSKEY_LOGIN_START: &str = "/api/auth/passkeys/login/start";
    /// `POST`: the browser's assertion; signs in.
    pub const PASSKEY_LOGIN_FINISH: &str = "/api/auth/passkeys/login/finish";
    /// `GET`: the signed-in user.
    pub const ME: &str = "/api/me";
    /// `GET`: the signed-in user's live sessions.
    pub const SESSIONS: &str = "/api/sessions";
    /// `DELETE`: end one of the user's sessions (route pattern; see [`session`]).
    pub const SESSION: &str = "/api/sessions/{id}";
    /// `GET`: the sample protected data.
    pub const PRODUCTS: &str = "/api/products";
    /// `GET`: every user (admins only).
    pub const ADMIN_USERS: &str = "/api/admin/users";
    /// `GET`: the audit log, newest first (admins only; `?user_id=…&limit=…`).
    pub const ADMIN_AUDIT: &str = "/api/admin/audit";
    /// `GET`: the public keys that verify access tokens (JWKS).
    pub const JWKS: &str = "/.well-known/jwks.json";
    /// `GET`: liveness.
    pub const HEALTH: &str = "/api/health";
    /// `GET`: readiness (the database answers).
    pub const READY: &str = "/api/ready";
    /// `GET`: the OpenAPI document of this API.
    pub const OPENAPI: &str = "/api/openapi.json";
    /// Every API path starts with this.
    pub const API_PREFIX: &str = "/api";

    /// The path of one passkey.
    pub fn passkey(id: &str) -> String {
        PASSKEY.replace("{id}", id)
    }

    /// The path of one session.
    pub fn session(id: &str) -> String {
        SESSION.replace("{id}", id)
    }
}

/// The SPA's pages that emails link to; the one-time token follows in the fragment
/// (`#token=…`), which browsers never send to a server.
pub mod pages {
    /// Where a reset link leads.
    pub const RESET_PASSWORD: &str = "/reset-password";
    /// Where a verification link leads.
    pub const VERIFY_EMAIL: &str = "/verify-email";
    /// The name of the token in the fragment.
    pub const TOKEN_FRAGMENT: &str = "token";
}

/// Cookie names, without the `__Secure-` prefix that `COOKIE_SECURE` adds.
pub mod cookies {
    /// The access token (JWT), sent to every `/api` path.
    pub const ACCESS: &str = "access_token";
    /// The refresh token, sent only to `/api/auth` paths.
    pub const REFRESH: &str = "refresh_token";
    /// The CSRF token, readable by the SPA, echoed in [`super::CSRF_HEADER`].
    pub const CSRF: &str = "csrf_token";
    /// The device cookie (see the README's "Device cookies").
    pub const DEVICE: &str = "device";
    /// The ticket of a sign-in waiting for its second factor, sent only to `/api/auth/mfa`.
    pub const MFA_TICKET: &str = "mfa_ticket";
    /// The prefix of every cookie name with `COOKIE_SECURE`.
    pub const SECURE_PREFIX: &str = "__Secure-";

    /// What precedes every cookie name: [`SECURE_PREFIX`] for `Secure` cookies, else
    /// nothing.
    pub const fn prefix(secure: bool) -> &'static str {
        if secure { SECURE_PREFIX } else { "" }
    }
}

/// The double-submit header that must equal the CSRF cookie on state-changing requests.
pub const CSRF_HEADER: &str = "x-csrf-token";
