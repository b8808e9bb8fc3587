//! The single-page app: sign-in, automatic refresh, sign-out, sessions and admin pages,
//! and the account pages: forgotten and changed passwords, email verification, two-step
//! sign-in, passkeys.
//!
//! # Module map
//!
//! - [`app`]: the shell: navigation bar, protected-page guard, the page for the path.
//! - [`pages`]: one component per route.
//! - [`components`]: building blocks the pages share (form, field, notice, loading, sign-out).
//! - [`session`]: who is signed in, as reactive state fed by the client's events.
//! - [`routes`]: the [`routes::Page`] enum, its paths, links and navigation.
//! - [`api`]: the only code that does HTTP: one typed method per endpoint, the CSRF
//!   header, refresh and retry, tab-to-tab news; and the browser's passkey ceremonies.
//!
//! Imports go one way, down: `app → pages → components → session → api → shared`.
//! A module may use any module below it, never one above; [`routes`] uses none of them
//! and may be used by anything above [`session`]. Nothing but [`app`] imports [`pages`].
//! API paths, cookie names and the CSRF header come from [`shared::names`], texts the
//! server also sends from [`shared::ErrorCode::message`].

pub mod api;
pub mod app;
pub mod components;
pub mod pages;
pub mod routes;
pub mod session;

pub use app::App;
