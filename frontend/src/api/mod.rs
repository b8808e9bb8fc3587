//! The one place that talks HTTP: every API call of the SPA goes through [`Api`], which
//! also runs the browser's passkey ceremonies ([`webauthn`]) between a call and the next.

pub mod browser;
mod client;
mod error;
pub mod json;
pub mod webauthn;

pub use client::{Api, SessionEvent, SignIn, api, proactive_delay_ms};
pub use error::ClientError;
