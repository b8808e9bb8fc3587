use leptos::prelude::*;
use shared::Product;

use crate::api::api;
use crate::components::{load, show_loaded};
use crate::session::Session;

/// Who you are, your role, and the (protected) product list.
#[component]
pub fn HomePage() -> impl IntoView {
    let session = Session::get();
    let (products, reload) = load(|| async { api().products().await });
    view! {
        <section>
            <h1>"Welcome"</h1>
            {move || session.user.get().map(|user| view! {
                <p class="who">"Signed in as " <strong id="user-email">{user.email}</strong>
                    " · role " <span class="badge" id="user-role">{user.role.as_str()}</span></p>
            })}
            <div class="section-head">
                <h2>"Products"</h2>
                <button type="button" class="secondary" id="reload-products" on:click=move |_| reload.run(())>
                    "Reload"
                </button>
            </div>
            {show_loaded(products, |list: &Vec<Product>| view! {
                <ul class="products" id="products">
                    {list.iter().map(|p| view! {
                        <li><span>{p.name.clone()}</span><span class="price">{format_price(p.price_cents)}</span></li>
                    }).collect_view()}
                </ul>
            }.into_any())}
        </section>
    }
}

/// `12900` → `$129.00`.
pub fn format_price(cents: i64) -> String {
    format!("${}.{:02}", cents / 100, cents % 100)
}
