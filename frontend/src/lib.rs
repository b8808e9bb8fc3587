//! The single-page app: sign-in, automatic refresh, sign-out, sessions and admin pages.
//!
//! [`api`] is the only place that does HTTP; [`session`] holds who is signed in;
//! [`pages`] and [`components`] render it; [`routes::Page`] names every route.

pub mod api;
pub mod app;
pub mod components;
pub mod pages;
pub mod routes;
pub mod session;

pub use app::App;
