use leptos::prelude::*;

use crate::api::api;

/// Signs out of this session (every tab of this browser follows).
#[component]
pub fn SignOutButton() -> impl IntoView {
    let pending = RwSignal::new(false);
    let sign_out = move |_| {
        pending.set(true);
        leptos::task::spawn_local(async move {
            // Signed out locally whatever the server says; the session state does the rest.
            let _ = api().logout().await;
            pending.set(false);
        });
    };
    view! {
        <button type="button" class="link" id="sign-out" on:click=sign_out disabled=move || pending.get()>
            "Sign out"
        </button>
    }
}
