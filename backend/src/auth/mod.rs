//! Authentication: what a token, a password, a session and a throttle are, and the flows
//! (register, login, refresh, logout, account recovery) that combine them over the store.

pub mod accounts;
pub mod audit;
pub mod device;
pub mod jose_crypto;
pub mod jwt;
pub mod mfa;
pub mod passkeys;
pub mod password;
pub mod recovery;
pub mod refresh_token;
pub mod revocation;
pub mod sessions;
pub mod signing_keys;
pub mod throttle;
