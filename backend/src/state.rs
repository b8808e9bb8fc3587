//! The application's state: the configuration, the flows, and the parts the HTTP layer
//! uses directly (verifying access tokens needs no flow and no database). Handlers reach
//! it through `http::HttpState`.

use std::sync::Arc;

use crate::auth::accounts::Accounts;
use crate::auth::audit::Audit;
use crate::auth::jwt::JwtKeys;
use crate::auth::mfa::Mfa;
use crate::auth::passkeys::Passkeys;
use crate::auth::recovery::Recovery;
use crate::auth::revocation::RevokedSessions;
use crate::auth::sessions::Sessions;
use crate::auth::signing_keys::SigningKeys;
use crate::clock::Clock;
use crate::config::Config;
use crate::store::Store;

/// Shared state of the server. Cloning it counts a reference for each of its parts;
/// requests reach it through `http::HttpState`, one reference for all.
#[derive(Clone)]
pub struct AppState {
    /// Validated configuration.
    pub config: Arc<Config>,
    /// The database.
    pub store: Store,
    /// Verifies access tokens.
    pub jwt: Arc<JwtKeys>,
    /// Sessions whose access tokens are refused, kept in memory.
    pub revoked: RevokedSessions,
    /// The source of "now".
    pub clock: Arc<dyn Clock>,
    /// Registration and password sign-in.
    pub accounts: Accounts,
    /// Starting, refreshing and ending sessions.
    pub sessions: Sessions,
    /// Verification and reset links.
    pub recovery: Recovery,
    /// The second factor.
    pub mfa: Mfa,
    /// Passkeys.
    pub passkeys: Passkeys,
    /// The audit log.
    pub audit: Audit,
    /// The signing keys' keeper.
    pub signing_keys: SigningKeys,
}
