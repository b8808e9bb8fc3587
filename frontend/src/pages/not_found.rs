use leptos::prelude::*;
use leptos_router::components::A;

use crate::routes::Page;

/// Any path the app does not know.
#[component]
pub fn NotFoundPage() -> impl IntoView {
    view! {
        <section class="narrow">
            <h1>"Page not found"</h1>
            <p>"There is nothing at this address. " <A href=Page::Home.path()>"Go home"</A></p>
        </section>
    }
}
