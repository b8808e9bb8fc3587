use leptos::prelude::*;

use crate::routes::{Link, Page};

/// Any path the app does not know.
#[component]
pub fn NotFoundPage() -> impl IntoView {
    view! {
        <section class="narrow">
            <h1>"Page not found"</h1>
            <p>"There is nothing at this address. " <Link page=Page::Home>"Go home"</Link></p>
        </section>
    }
}
