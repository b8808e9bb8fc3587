use leptos::prelude::*;

use crate::session::Session;

/// Signs out of this session (every tab of this browser follows).
#[component]
pub fn SignOutButton() -> impl IntoView {
    let session = Session::get();
    let pending = RwSignal::new(false);
    let sign_out = move |_| {
        pending.set(true);
        leptos::task::spawn_local(async move {
            // Signed out locally whatever the server says; the session state does the rest.
            session.sign_out().await;
            pending.set(false);
        });
    };
    view! {
        <button type="button" class="link" id="sign-out" on:click=sign_out disabled=move || pending.get()>
            "Sign out"
        </button>
    }
}
