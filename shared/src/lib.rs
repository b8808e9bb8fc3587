//! Types and pure rules that the backend and the SPA both need.
//!
//! Serde-only and free of server or browser dependencies, so it builds for
//! `wasm32-unknown-unknown` as well as natively.

pub mod api;
pub mod claims;
pub mod cookies;
pub mod error;
pub mod names;
pub mod validation;
pub mod wire;

pub use api::{
    AuditEvent, AuthResponse, Credentials, EmailVerification, ForgotPassword, HealthResponse,
    MeResponse, MfaCode, MfaMethod, MfaRequired, PasskeyInfo, PasswordChange, PasswordReset,
    Product, RecoveryCodes, Registered, Role, SessionInfo, SessionView, TotpSetup, UserView,
};
pub use claims::Claims;
pub use error::{ErrorBody, ErrorCode, ErrorDetail};
pub use wire::WireName;
