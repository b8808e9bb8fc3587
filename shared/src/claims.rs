//! The access token's claims.

use serde::{Deserialize, Serialize};

use crate::Role;

/// Claims of an access token (JWT, HS256). Times are Unix seconds.
///
/// Every field is required: a token missing one, or carrying one with the wrong JSON type,
/// does not deserialise and is rejected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// User id.
    pub sub: String,
    /// Session id; revoking the session revokes the token.
    pub sid: String,
    /// The user's role when the token was issued.
    pub role: Role,
    /// Issued at.
    pub iat: i64,
    /// Not before.
    pub nbf: i64,
    /// Expiry.
    pub exp: i64,
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
    /// Unique token id.
    pub jti: String,
}
