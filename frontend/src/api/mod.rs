//! The one place that talks HTTP: every API call of the SPA goes through [`Api`].

pub mod browser;
mod client;
mod error;
pub mod json;

pub use client::{Api, SessionEvent, SignIn, api, proactive_delay_ms};
pub use error::ClientError;
