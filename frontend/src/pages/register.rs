use leptos::prelude::*;

use crate::components::{CredentialsForm, Mode, PasswordRules};
use crate::routes::{Link, Page, navigate};
use crate::session::{Session, Status};

/// Create an account; the new user is signed in and lands on the home page.
#[component]
pub fn RegisterPage() -> impl IntoView {
    let session = Session::get();
    Effect::new(move || {
        if session.status.get() == Status::SignedIn {
            navigate(Page::Home.path());
        }
    });
    view! {
        <section class="narrow">
            <h1>"Create an account"</h1>
            <PasswordRules/>
            <CredentialsForm mode=Mode::Register/>
            <p class="aside">"Already registered? " <Link page=Page::Login>"Sign in"</Link></p>
        </section>
    }
}
