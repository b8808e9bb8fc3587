use leptos::prelude::*;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_location;

use super::Loading;
use crate::routes::login_then;
use crate::session::{Session, Status};

/// Shows its children only to a signed-in user; anyone else goes to the login page, which
/// brings them back here afterwards.
#[component]
pub fn Protected(children: ChildrenFn) -> impl IntoView {
    let session = Session::get();
    let location = use_location();
    move || match session.status.get() {
        Status::Checking => view! { <Loading/> }.into_any(),
        Status::SignedOut => {
            let here = format!(
                "{}{}",
                location.pathname.get_untracked(),
                location.search.get_untracked()
            );
            view! { <Redirect path=login_then(&here)/> }.into_any()
        }
        Status::SignedIn => children().into_any(),
    }
}
