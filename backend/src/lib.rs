//! The authentication backend: an axum API that issues short-lived JWT access tokens and
//! rotating refresh tokens in HttpOnly cookies, and serves the SPA.
//!
//! A request enters [`http::router`], passes the CSRF layer ([`http::csrf`]) and, where
//! needed, the access-token check ([`http::extract::AuthUser`]), reaches a handler in
//! [`http`], which calls a flow in [`auth`] over the [`store`].

pub mod app;
pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod error;
pub mod http;
pub mod state;
pub mod store;

pub use app::Application;
pub use config::Config;
