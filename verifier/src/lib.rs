//! Verifies the auth backend's access tokens in another Rust service, holding no secret:
//! with `JWT_ALG=EdDSA` the backend publishes its public keys at
//! `/.well-known/jwks.json`, and that is all this crate needs.
//!
//! ```no_run
//! # async fn run(token: &str) -> Result<(), Box<dyn std::error::Error>> {
//! use jwt_verifier::Verifier;
//!
//! let verifier = Verifier::from_jwks_url(
//!     "https://auth.example.com/.well-known/jwks.json",
//!     "jwt-auth-backend",
//!     "jwt-auth-spa",
//! )?;
//! let claims = verifier.verify(token).await?;
//! println!("user {} in session {}", claims.sub, claims.sid);
//! # Ok(()) }
//! ```
//!
//! In an axum service, put the [`Verifier`] in the state and take [`VerifiedClaims`] in a
//! handler (feature `axum`, on by default).
//!
//! The rules are the backend's own: the header must name its key by `kid` and may not
//! offer one (`jku`, `x5u`, `jwk`, `x5c` are refused, never followed); each key verifies
//! with the one algorithm it was published for (`EdDSA`), so an HS256 token "signed" with
//! the public key is refused; every claim is required with its JSON type; `iss` and
//! `aud` must be the expected ones; `exp` has no leeway, `nbf` and `iat` 30 s; tokens
//! over 4096 bytes are refused unread. See [`Verifier`] for how the JWKS is cached, and
//! why a fetch that fails refuses tokens rather than accepting them.
//!
//! # What a verifying-only service cannot know
//!
//! Revocation. The backend refuses the access tokens of a session that has ended (logout,
//! "sign out everywhere", a disabled account, a stolen refresh token replayed) at once,
//! because it keeps the revoked sessions in memory. A service with this crate sees only
//! the signature and the claims: a revoked session's access token keeps verifying here
//! until its `exp`. The backend's `ACCESS_TOKEN_TTL` (default 15 minutes) bounds that
//! window; keep it short, and for the few routes that must honour a revocation at once
//! (payments, changing an email), ask the auth server (e.g. forward the token to its
//! `GET /api/me`) instead of trusting the signature alone. Likewise a role change reaches
//! this service only with the next token the user gets.
//!
//! # Module map
//! `verifier` (the cache and the entry point) uses `jwks` (fetching and parsing the key
//! set) and `token` (the rules); `extract` (axum) uses `verifier`. `error` and `clock`
//! are leaves.

mod clock;
mod error;
#[cfg(feature = "axum")]
mod extract;
mod jwks;
mod token;
mod verifier;

pub use clock::{Clock, SystemClock};
pub use error::{ConfigError, Invalid, VerifyError};
#[cfg(feature = "axum")]
pub use extract::{AuthRejection, VerifiedClaims};
pub use shared::Claims;
pub use token::{LEEWAY_SECS, MAX_TOKEN_BYTES};
pub use verifier::{AUTH_SERVER_AUDIENCE, AUTH_SERVER_ISSUER, Verifier, VerifierBuilder};
