use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_query_map};

use crate::components::{CredentialsForm, Mode};
use crate::routes::{Page, safe_next};
use crate::session::{Session, Status};

/// Sign in; afterwards, back to where the user was going.
#[component]
pub fn LoginPage() -> impl IntoView {
    let session = Session::get();
    let query = use_query_map();
    let next = move || safe_next(query.read_untracked().get("next"));
    // Signed in here, or in another tab while this one shows the form: go on.
    let navigate = use_navigate();
    Effect::new(move || {
        if session.status.get() == Status::SignedIn {
            navigate(&next(), Default::default());
        }
    });
    view! {
        <section class="narrow">
            <h1>"Sign in"</h1>
            <Show when=move || session.notice.get().is_some()>
                <p class="notice" role="status">{move || session.notice.get()}</p>
            </Show>
            <CredentialsForm mode=Mode::Login on_success=|| {}/>
            <p class="aside">"No account yet? " <A href=Page::Register.path()>"Create one"</A></p>
        </section>
    }
}
