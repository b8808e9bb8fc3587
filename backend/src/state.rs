//! What every handler can reach.

use std::sync::Arc;

use crate::auth::device::DeviceCookies;
use crate::auth::jwt::JwtKeys;
use crate::auth::password::PasswordHasher;
use crate::auth::refresh_token::RefreshTokens;
use crate::auth::revocation::RevokedSessions;
use crate::clock::Clock;
use crate::config::Config;
use crate::store::Store;

/// Shared state of the server (cheap to clone).
#[derive(Clone)]
pub struct AppState {
    /// Validated configuration.
    pub config: Arc<Config>,
    /// The database.
    pub store: Store,
    /// Signs and verifies access tokens.
    pub jwt: Arc<JwtKeys>,
    /// Makes and checks device cookies.
    pub devices: Arc<DeviceCookies>,
    /// Makes refresh token values and their successors.
    pub refresh_tokens: Arc<RefreshTokens>,
    /// The bounded argon2id pool.
    pub hasher: PasswordHasher,
    /// Sessions whose access tokens are refused, kept in memory.
    pub revoked: RevokedSessions,
    /// The source of "now".
    pub clock: Arc<dyn Clock>,
}
