use std::future::Future;
use std::pin::Pin;

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use shared::validation::{canonical_email_with, check_password_with};
use shared::{ErrorCode, MfaCode};

use super::{Alert, SubmitButton};
use crate::api::{ClientError, browser};

/// Errors shown next to the fields they concern, or above the form.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FormErrors {
    /// About the email.
    pub email: Option<String>,
    /// About the password (the new one, where a form asks for two).
    pub password: Option<String>,
    /// About the current password.
    pub current: Option<String>,
    /// About a one-time code.
    pub code: Option<String>,
    /// About a name the user gives something (a passkey).
    pub name: Option<String>,
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

    /// The canonical form of an email, or what is wrong with it, by the server's rules.
    pub fn canonical_email(email: &str) -> Result<String, String> {
        canonical_email_with(email, browser::nfkc)
            .map_err(|problem| problem.code().message().to_owned())
    }

    /// What is wrong with a new password by the server's rules (its list of common
    /// passwords aside); `canonical_email` is empty where the form does not know it.
    pub fn new_password(password: &str, canonical_email: &str) -> Option<String> {
        if password.is_empty() {
            return Some("Enter a password.".to_owned());
        }
        check_password_with(
            &browser::nfkc(password),
            canonical_email,
            browser::lowercase,
        )
        .err()
        .map(|problem| problem.code().message().to_owned())
    }

    /// A one-time code as typed, less blanks around it, and what is wrong with it: an
    /// empty one is not sent, since every code sent uses up one of a sign-in's tries.
    pub fn one_time_code(typed: &str) -> (MfaCode, Self) {
        let code = typed.trim().to_owned();
        let errors = Self {
            code: code.is_empty().then(|| "Enter the code.".to_owned()),
            ..Self::default()
        };
        (MfaCode { code }, errors)
    }

    /// Whether there is nothing to show.
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }
}

/// What a form sends when submitted; it does what success means itself (a notice, a
/// new page).
pub type Request = Pin<Box<dyn Future<Output = Result<(), ClientError>>>>;

/// A form's errors and whether its request runs.
#[derive(Debug, Clone, Copy)]
pub struct FormState {
    /// What to show next to the fields and above the form.
    pub errors: RwSignal<FormErrors>,
    /// Whether the request runs (the submit button is busy).
    pub pending: RwSignal<bool>,
}

impl FormState {
    /// A form with no errors and nothing running.
    pub fn new() -> Self {
        Self {
            errors: RwSignal::new(FormErrors::default()),
            pending: RwSignal::new(false),
        }
    }

    /// One of the errors, for the field that shows it.
    pub fn error(self, pick: fn(&FormErrors) -> &Option<String>) -> Signal<Option<String>> {
        Signal::derive(move || self.errors.with(|errors| pick(errors).clone()))
    }

    /// Shows the errors found before sending. When there are none, and this form's
    /// request is not already running, sends `request` with the submit button busy, then
    /// shows its error where `place` puts it.
    pub fn send(self, found: FormErrors, request: Request, place: fn(&ClientError) -> FormErrors) {
        if self.pending.get_untracked() {
            return;
        }
        let ready = found.is_empty();
        self.errors.set(found);
        if !ready {
            return;
        }
        self.pending.set(true);
        leptos::task::spawn_local(async move {
            let result = request.await;
            // The page may have gone meanwhile (success often moves on).
            self.pending.try_set(false);
            if let Err(error) = result {
                self.errors.try_set(place(&error));
            }
        });
    }
}

impl Default for FormState {
    fn default() -> Self {
        Self::new()
    }
}

/// A form: the alert for errors about the whole attempt, the fields, and a submit button
/// that is busy while the request runs. Enter in any field submits it.
#[component]
pub fn Form(
    /// Its errors and busy state.
    state: FormState,
    /// The submit button's label when idle.
    label: &'static str,
    /// The submit button's label while busy.
    busy_label: &'static str,
    /// Runs on submit.
    on_submit: Callback<()>,
    /// The submit button's id, where a page has several forms.
    #[prop(optional_no_strip)]
    button_id: Option<&'static str>,
    /// The fields.
    children: Children,
) -> impl IntoView {
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        on_submit.run(());
    };
    view! {
        <form class="card" on:submit=submit novalidate=true>
            <Alert message=state.error(|e| &e.form)/>
            {children()}
            <SubmitButton label=label busy_label=busy_label pending=state.pending id=button_id/>
        </form>
    }
}
