mod passkeys;
mod two_step;

use leptos::prelude::*;
use shared::{ErrorCode, PasswordChange};

use crate::api::{ClientError, api};
use crate::components::{Field, Form, FormErrors, FormState, Notice, PasswordRules};
use crate::session::Session;
pub use passkeys::DEFAULT_PASSKEY_NAME;
use passkeys::Passkeys;
use two_step::TwoStepSignIn;
pub use two_step::{SAVE_RECOVERY_CODES, TWO_STEP_OFF, TWO_STEP_ON};

/// What the page says after the password has changed.
pub const PASSWORD_CHANGED: &str =
    "Your password has been changed. Other devices have been signed out.";

/// Security settings: change the password (this session stays, the others end),
/// two-step sign-in, and passkeys.
#[component]
pub fn SecurityPage() -> impl IntoView {
    let session = Session::get();
    let current = RwSignal::new(String::new());
    let new = RwSignal::new(String::new());
    let form = FormState::new();
    let changed = RwSignal::new(false);
    let submit = Callback::new(move |()| {
        let change = PasswordChange {
            current_password: current.get_untracked(),
            new_password: new.get_untracked(),
        };
        let email = session
            .user
            .with_untracked(|user| user.as_ref().map(|u| u.email.clone()))
            .unwrap_or_default();
        let found = FormErrors {
            current: change
                .current_password
                .is_empty()
                .then(|| "Enter your current password.".to_owned()),
            password: FormErrors::new_password(&change.new_password, &email),
            ..FormErrors::default()
        };
        let send = Box::pin(async move {
            changed.set(false);
            api().change_password(&change).await?;
            current.set(String::new());
            new.set(String::new());
            changed.set(true);
            Ok(())
        });
        form.send(found, send, place_error);
    });
    view! {
        <section class="narrow">
            <h1>"Security"</h1>
            <h2>"Change your password"</h2>
            <PasswordRules/>
            <Notice message=Signal::derive(move || changed.get().then(|| PASSWORD_CHANGED.to_owned()))/>
            <Form state=form label="Change password" busy_label="Changing password…" on_submit=submit>
                <Field id="current-password" label="Current password" kind="password"
                    autocomplete="current-password" value=current error=form.error(|e| &e.current)/>
                <Field id="new-password" label="New password" kind="password"
                    autocomplete="new-password" value=new error=form.error(|e| &e.password)/>
            </Form>
            <TwoStepSignIn/>
            <Passkeys/>
        </section>
    }
}

/// A wrong current password is said next to it; the rest as on any form.
fn place_error(error: &ClientError) -> FormErrors {
    if error.code() == Some(ErrorCode::InvalidCredentials) {
        FormErrors {
            current: Some("Your current password is not correct.".to_owned()),
            ..FormErrors::default()
        }
    } else {
        FormErrors::from_client_error(error)
    }
}
