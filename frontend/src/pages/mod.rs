//! One component per route.

mod admin;
mod home;
mod login;
mod not_found;
mod register;
mod sessions;

pub use admin::AdminPage;
pub use home::HomePage;
pub use login::LoginPage;
pub use not_found::NotFoundPage;
pub use register::RegisterPage;
pub use sessions::SessionsPage;
