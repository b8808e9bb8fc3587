//! End-to-end tests of the HTTP API: a real server over real HTTP, a fresh SQLite
//! database per test, and a manual clock instead of sleeps.

mod accounts;
mod admin;
mod audit;
mod connections;
mod csrf;
mod helpers;
mod keys;
mod mfa;
mod openapi;
mod passkeys;
mod password;
mod recovery;
mod refresh;
mod sessions;
mod site;
mod throttling;
mod tokens;
mod upgrade;
mod validation;
