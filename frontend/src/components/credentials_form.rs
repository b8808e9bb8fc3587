use leptos::prelude::*;
use shared::{Credentials, MfaRequired};

use super::{Field, Form, FormErrors, FormState, Notice};
use crate::api::{SignIn, api};

/// Sign in, or create an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Sign in to an existing account.
    Login,
    /// Create an account (and sign in).
    Register,
}

impl FormErrors {
    /// The same rules as the server, checked before sending.
    pub fn check(mode: Mode, email: &str, password: &str) -> Self {
        let mut errors = Self::default();
        match Self::canonical_email(email) {
            Ok(canonical) if mode == Mode::Register => {
                errors.password = Self::new_password(password, &canonical);
            }
            Ok(_) => {}
            Err(problem) => errors.email = Some(problem),
        }
        if password.is_empty() {
            errors.password = Some("Enter your password.".to_owned());
        }
        errors
    }
}

/// The email + password form of the login and register pages. A registration the server
/// wants verified by email first signs nobody in: the form gives way to a notice saying
/// where the link went.
#[component]
pub fn CredentialsForm(
    /// Which form.
    mode: Mode,
    /// Runs when a right password asks for a second step (sign-in only).
    #[prop(optional)]
    on_second_step: Option<Callback<MfaRequired>>,
) -> impl IntoView {
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let form = FormState::new();
    let verify_at = RwSignal::new(None::<String>);

    let submit = Callback::new(move |()| {
        let credentials = Credentials {
            email: email.get_untracked(),
            password: password.get_untracked(),
        };
        let found = FormErrors::check(mode, &credentials.email, &credentials.password);
        // On sign-in the session state changes and the page moves on.
        let request = Box::pin(async move {
            match mode {
                Mode::Login => {
                    if let SignIn::SecondStep(required) = api().login(&credentials).await?
                        && let Some(second_step) = on_second_step
                    {
                        second_step.run(required);
                    }
                    Ok(())
                }
                Mode::Register => {
                    let registered = api().register(&credentials).await?;
                    if registered.session.is_none() {
                        verify_at.set(Some(registered.user.email));
                    }
                    Ok(())
                }
            }
        });
        form.send(found, request, FormErrors::from_client_error);
    });

    // `webauthn`: the browser may offer passkeys in the email field's autofill.
    let (email_autocomplete, password_autocomplete, label, busy_label) = match mode {
        Mode::Login => (
            "username webauthn",
            "current-password",
            "Sign in",
            "Signing in…",
        ),
        Mode::Register => (
            "username",
            "new-password",
            "Create account",
            "Creating account…",
        ),
    };
    view! {
        <Show when=move || verify_at.with(Option::is_none) fallback=move || view! {
            <Notice message=Signal::derive(move || verify_at.get().map(|email| format!(
                "Check your email: we sent a link to verify {email}. Then sign in."
            )))/>
        }>
            <Form state=form label=label busy_label=busy_label on_submit=submit>
                <Field id="email" label="Email" kind="email" autocomplete=email_autocomplete value=email
                    error=form.error(|e| &e.email)/>
                <Field id="password" label="Password" kind="password" autocomplete=password_autocomplete
                    value=password error=form.error(|e| &e.password)/>
            </Form>
        </Show>
    }
}
