use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use shared::validation::{canonical_email_with, check_password};
use shared::{Credentials, ErrorCode};

use super::{Alert, Field, SubmitButton};
use crate::api::{ClientError, api, browser};

/// Sign in, or create an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Sign in to an existing account.
    Login,
    /// Create an account (and sign in).
    Register,
}

/// Errors shown next to the fields they concern, or above the form.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FormErrors {
    /// About the email.
    pub email: Option<String>,
    /// About the password.
    pub password: Option<String>,
    /// About the whole attempt.
    pub form: Option<String>,
}

impl FormErrors {
    /// Puts a failed request's message next to the field it concerns.
    pub fn from_client_error(error: &ClientError) -> Self {
        let message = Some(error.message());
        match error.code() {
            Some(ErrorCode::InvalidEmail | ErrorCode::EmailTaken) => Self {
                email: message,
                ..Self::default()
            },
            Some(ErrorCode::WeakPassword | ErrorCode::PasswordTooLong) => Self {
                password: message,
                ..Self::default()
            },
            _ => Self {
                form: message,
                ..Self::default()
            },
        }
    }

    /// The same rules as the server, checked before sending.
    pub fn check(mode: Mode, email: &str, password: &str) -> Self {
        let mut errors = Self::default();
        match canonical_email_with(email, browser::nfkc) {
            Ok(canonical) if mode == Mode::Register => {
                if let Err(problem) = check_password(&browser::nfkc(password), &canonical) {
                    errors.password = Some(problem.code().message().to_owned());
                }
            }
            Ok(_) => {}
            Err(problem) => errors.email = Some(problem.code().message().to_owned()),
        }
        if password.is_empty() {
            errors.password = Some("Enter your password.".to_owned());
        }
        errors
    }

    /// Whether there is nothing to show.
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }
}

/// The email + password form of the login and register pages.
#[component]
pub fn CredentialsForm(
    /// Which form.
    mode: Mode,
) -> impl IntoView {
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let errors = RwSignal::new(FormErrors::default());
    let pending = RwSignal::new(false);

    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        if pending.get_untracked() {
            return;
        }
        let credentials = Credentials {
            email: email.get_untracked(),
            password: password.get_untracked(),
        };
        let found = FormErrors::check(mode, &credentials.email, &credentials.password);
        errors.set(found.clone());
        if !found.is_empty() {
            return;
        }
        pending.set(true);
        leptos::task::spawn_local(async move {
            let result = match mode {
                Mode::Login => api().login(&credentials).await,
                Mode::Register => api().register(&credentials).await,
            };
            pending.set(false);
            // On success the session state changes and the page moves on.
            if let Err(error) = result {
                errors.set(FormErrors::from_client_error(&error));
            }
        });
    };

    let (password_autocomplete, label, busy_label) = match mode {
        Mode::Login => ("current-password", "Sign in", "Signing in…"),
        Mode::Register => ("new-password", "Create account", "Creating account…"),
    };
    view! {
        <form class="card" on:submit=submit novalidate=true>
            <Alert message=Signal::derive(move || errors.get().form)/>
            <Field id="email" label="Email" kind="email" autocomplete="username" value=email
                error=Signal::derive(move || errors.get().email)/>
            <Field id="password" label="Password" kind="password" autocomplete=password_autocomplete value=password
                error=Signal::derive(move || errors.get().password)/>
            <SubmitButton label=label busy_label=busy_label pending=pending/>
        </form>
    }
}
