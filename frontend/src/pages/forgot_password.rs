use leptos::prelude::*;
use shared::ForgotPassword;

use crate::api::api;
use crate::components::{Field, Form, FormErrors, FormState, Notice};
use crate::routes::{Link, Page};

/// What the page says once the server has the request. The server answers alike whether
/// or not the account exists, and so does the page.
pub const RESET_LINK_SENT: &str =
    "If an account exists for that email, we've sent a link to reset its password.";

/// Ask for a password reset link by email.
#[component]
pub fn ForgotPasswordPage() -> impl IntoView {
    let email = RwSignal::new(String::new());
    let form = FormState::new();
    let sent = RwSignal::new(false);
    let submit = Callback::new(move |()| {
        let request = ForgotPassword {
            email: email.get_untracked(),
        };
        let found = FormErrors {
            email: FormErrors::canonical_email(&request.email).err(),
            ..FormErrors::default()
        };
        let send = Box::pin(async move {
            api().forgot_password(&request).await?;
            sent.set(true);
            Ok(())
        });
        form.send(found, send, FormErrors::from_client_error);
    });
    view! {
        <section class="narrow">
            <h1>"Forgotten password"</h1>
            <Show when=move || !sent.get() fallback=|| view! {
                <Notice message=Signal::stored(Some(RESET_LINK_SENT.to_owned()))/>
            }>
                <p class="hint">"Enter the email of your account: we will send it a link to choose a new password."</p>
                <Form state=form label="Send the link" busy_label="Sending…" on_submit=submit>
                    <Field id="email" label="Email" kind="email" autocomplete="username" value=email
                        error=form.error(|e| &e.email)/>
                </Form>
            </Show>
            <p class="aside"><Link page=Page::Login>"Back to sign in"</Link></p>
        </section>
    }
}
