//! One component per route.

mod admin;
mod forgot_password;
mod home;
mod login;
mod not_found;
mod register;
mod reset_password;
mod security;
mod sessions;
mod verify_email;

pub use admin::AdminPage;
pub use forgot_password::{ForgotPasswordPage, RESET_LINK_SENT};
pub use home::HomePage;
pub use login::{LoginPage, PASSKEY_REFUSED};
pub use not_found::NotFoundPage;
pub use register::RegisterPage;
pub use reset_password::ResetPasswordPage;
pub use security::{
    DEFAULT_PASSKEY_NAME, PASSWORD_CHANGED, SAVE_RECOVERY_CODES, SecurityPage, TWO_STEP_OFF,
    TWO_STEP_ON,
};
pub use sessions::SessionsPage;
pub use verify_email::VerifyEmailPage;
