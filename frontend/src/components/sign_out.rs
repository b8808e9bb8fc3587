use leptos::prelude::*;
use shared::ErrorCode;

use crate::session::Session;

/// Signs out of this session (every tab of this browser follows).
#[component]
pub fn SignOutButton(
    /// "Sign in again" rather than "Sign out", where the server wants a recent sign-in
    /// before a change: the login page then says why.
    #[prop(optional)]
    again: bool,
) -> impl IntoView {
    let session = Session::get();
    let pending = RwSignal::new(false);
    let sign_out = move |_| {
        if again {
            session
                .notice
                .set(Some(ErrorCode::ReauthenticationRequired.message()));
        }
        pending.set(true);
        leptos::task::spawn_local(async move {
            // Signed out locally whatever the server says; the session state does the rest.
            session.sign_out().await;
            pending.set(false);
        });
    };
    view! {
        <button type="button" class=if again { "primary sign-in-again" } else { "link" }
            id=(!again).then_some("sign-out") on:click=sign_out disabled=move || pending.get()>
            {if again { "Sign in again" } else { "Sign out" }}
        </button>
    }
}
