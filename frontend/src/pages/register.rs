use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_navigate;

use crate::components::{CredentialsForm, Mode};
use crate::routes::Page;
use crate::session::{Session, Status};

/// Create an account; the new user is signed in and lands on the home page.
#[component]
pub fn RegisterPage() -> impl IntoView {
    let session = Session::get();
    let navigate = use_navigate();
    Effect::new(move || {
        if session.status.get() == Status::SignedIn {
            navigate(Page::Home.path(), Default::default());
        }
    });
    view! {
        <section class="narrow">
            <h1>"Create an account"</h1>
            <p class="hint">"Use at least 8 characters. Common passwords and ones containing your email name are refused."</p>
            <CredentialsForm mode=Mode::Register on_success=|| {}/>
            <p class="aside">"Already registered? " <A href=Page::Login.path()>"Sign in"</A></p>
        </section>
    }
}
