//! Building blocks shared by the pages.

mod credentials_form;
mod field;
mod loaded;
mod sign_out;
mod submit_button;

pub use credentials_form::{CredentialsForm, FormErrors, Mode};
pub use field::Field;
pub use loaded::{Loaded, Reload, load, show_loaded};
pub use sign_out::SignOutButton;
pub use submit_button::SubmitButton;

use leptos::prelude::*;

/// A message for the whole form or page, announced to screen readers.
#[component]
pub fn Alert(#[prop(into)] message: Signal<Option<String>>) -> impl IntoView {
    view! {
        <Show when=move || message.get().is_some()>
            <p class="alert" role="alert">{move || message.get()}</p>
        </Show>
    }
}

/// A placeholder while something loads.
#[component]
pub fn Loading() -> impl IntoView {
    view! { <p class="loading" aria-busy="true"><span class="spinner" aria-hidden="true"></span>"Loading…"</p> }
}
