use leptos::prelude::*;
use shared::PasswordReset;

use crate::api::api;
use crate::components::{Field, Form, FormErrors, FormState, PasswordRules};
use crate::routes::{Link, LinkToken, Page, navigate};
use crate::session::{PASSWORD_RESET_NOTICE, Session, Status};

/// Choose a new password with the token of a reset link. Afterwards nobody is signed in
/// (the server ends every session of the user), so the page hands over to the login page.
#[component]
pub fn ResetPasswordPage() -> impl IntoView {
    let form = match LinkToken::get() {
        Some(token) => view! { <ResetForm token=token/> }.into_any(),
        None => view! {
            <p class="alert" role="alert">"This link is incomplete: open the whole link from the email."</p>
        }
        .into_any(),
    };
    view! {
        <section class="narrow">
            <h1>"Choose a new password"</h1>
            {form}
            <p class="aside">"Link not working? " <Link page=Page::ForgotPassword>"Ask for a new one"</Link></p>
        </section>
    }
}

#[component]
fn ResetForm(token: String) -> impl IntoView {
    let session = Session::get();
    let password = RwSignal::new(String::new());
    let form = FormState::new();
    let done = RwSignal::new(false);
    Effect::new(move || {
        if done.get() {
            navigate(Page::Login.path());
        }
    });
    let submit = Callback::new(move |()| {
        let reset = PasswordReset {
            token: token.clone(),
            password: password.get_untracked(),
        };
        let found = FormErrors {
            password: FormErrors::new_password(&reset.password, ""),
            ..FormErrors::default()
        };
        let send = Box::pin(async move {
            api().reset_password(&reset).await?;
            // The server ended this browser's session too, if it had one of this user's:
            // forget it here and in the other tabs rather than meet its 401 later.
            if session.status.get_untracked() != Status::SignedOut {
                let _ = api().logout().await;
            }
            session.notice.set(Some(PASSWORD_RESET_NOTICE));
            done.set(true);
            Ok(())
        });
        form.send(found, send, FormErrors::from_client_error);
    });
    view! {
        <PasswordRules/>
        <Form state=form label="Set the new password" busy_label="Setting the password…" on_submit=submit>
            <Field id="password" label="New password" kind="password" autocomplete="new-password"
                value=password error=form.error(|e| &e.password)/>
        </Form>
    }
}
