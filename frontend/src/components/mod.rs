//! Building blocks shared by the pages.

mod code_form;
mod credentials_form;
mod field;
mod form;
mod loaded;
mod sign_out;
mod submit_button;

pub use code_form::CodeForm;
pub use credentials_form::{CredentialsForm, Mode};
pub use field::Field;
pub use form::{Form, FormErrors, FormState, Request};
pub use loaded::{Loaded, Reload, Row, load, local_time, show_loaded, then_reload};
pub use sign_out::SignOutButton;
pub use submit_button::SubmitButton;

use leptos::prelude::*;
use shared::ErrorCode;
use shared::validation::PASSWORD_RULES;

/// A message for the whole form or page, announced to screen readers. The server's
/// refusal of a change for want of a recent sign-in comes with a button that signs this
/// device out: the protected-page guard then shows the login page, which comes back here.
#[component]
pub fn Alert(#[prop(into)] message: Signal<Option<String>>) -> impl IntoView {
    let stale = move || {
        message.with(|m| m.as_deref() == Some(ErrorCode::ReauthenticationRequired.message()))
    };
    view! {
        <Show when=move || message.get().is_some()>
            <p class="alert" role="alert">
                {move || message.get()}
                <Show when=stale>" "<SignOutButton again=true/></Show>
            </p>
        </Show>
    }
}

/// News for the user (a link was sent, a session ended), announced to screen readers.
#[component]
pub fn Notice(
    #[prop(into)] message: Signal<Option<String>>,
    /// Its id, where a page has several.
    #[prop(default = "notice")]
    id: &'static str,
) -> impl IntoView {
    view! {
        <Show when=move || message.get().is_some()>
            <p class="notice" id=id role="status">{move || message.get()}</p>
        </Show>
    }
}

/// The password rules, above a form that asks for a new password.
#[component]
pub fn PasswordRules() -> impl IntoView {
    view! { <p class="hint">"Choose a password: " {PASSWORD_RULES} "."</p> }
}

/// A placeholder while something loads.
#[component]
pub fn Loading() -> impl IntoView {
    view! { <p class="loading" aria-busy="true"><span class="spinner" aria-hidden="true"></span>"Loading…"</p> }
}
