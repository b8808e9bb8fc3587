use leptos::prelude::*;

use crate::components::{CredentialsForm, Mode, Notice};
use crate::routes::{Link, Location, Page, navigate, safe_next};
use crate::session::{Session, Status};

/// Sign in; afterwards, back to where the user was going.
#[component]
pub fn LoginPage() -> impl IntoView {
    let session = Session::get();
    let location = Location::get();
    // Signed in here, or in another tab while this one shows the form: go on.
    Effect::new(move || {
        if session.status.get() == Status::SignedIn {
            navigate(&safe_next(location.query("next")));
        }
    });
    view! {
        <section class="narrow">
            <h1>"Sign in"</h1>
            <Notice message=Signal::derive(move || session.notice.get().map(str::to_owned))/>
            <CredentialsForm mode=Mode::Login/>
            <p class="aside"><Link page=Page::ForgotPassword>"Forgot your password?"</Link></p>
            <p class="aside">"No account yet? " <Link page=Page::Register>"Create one"</Link></p>
        </section>
    }
}
