//! The authentication backend: an axum API that issues short-lived JWT access tokens and
//! rotating refresh tokens in HttpOnly cookies, and serves the SPA.
//!
//! A request enters [`http::router`], passes the CSRF layer ([`http::csrf`]) and, where
//! needed, the access-token check ([`http::extract::AuthUser`]), reaches a handler in
//! [`http`], which calls a flow in [`auth`] over the [`store`].
//!
//! # Module map (imports go down this list, never up)
//! - [`cli`], [`app`]: the command line; building, running and stopping the server.
//! - [`http`]: everything HTTP: the accept loop ([`http::connections`]: connection limit,
//!   header read timeout), the route table, handlers, extractors, cookies, CSRF,
//!   [`http::error::ApiError`] (statuses and bodies) and [`http::views`] (rows as API
//!   bodies). Nothing below imports it.
//! - [`state`]: [`state::AppState`], the configuration, the flows and the parts that
//!   verify access tokens; handlers reach it through `http::HttpState`, which adds the
//!   cookie policy.
//! - [`auth`]: the flows ([`auth::accounts::Accounts`], [`auth::sessions::Sessions`], the
//!   throttle), each holding only what it uses, and what they are made of (JWTs, refresh
//!   tokens, device cookies, password hashing, the revoked set). They return
//!   [`error::Error`], which knows nothing of HTTP.
//! - [`store`]: SQL over SQLite and PostgreSQL; rows in, rows out.
//! - [`config`], [`error`], [`clock`], [`crypto`], [`mail`]: leaves every layer may use
//!   (`mail` is the emails and the outbox that sends them; `config` parses `MAIL_URL`
//!   with it).
//!
//! Names both sides must spell alike (paths, cookies, the CSRF header) and the bodies of
//! the API live in the `shared` crate.

pub mod app;
pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod error;
pub mod http;
pub mod mail;
pub mod state;
pub mod store;

pub use app::Application;
pub use config::Config;
