use leptos::prelude::*;
use shared::Product;

use crate::api::api;
use crate::components::{Alert, Loading};
use crate::session::Session;

/// Who you are, your role, and the (protected) product list.
#[component]
pub fn HomePage() -> impl IntoView {
    let session = Session::get();
    let products =
        LocalResource::new(|| async { api().get::<Vec<Product>>("/api/products").await });
    view! {
        <section>
            <h1>"Welcome"</h1>
            {move || session.user.get().map(|user| view! {
                <p class="who">"Signed in as " <strong id="user-email">{user.email}</strong>
                    " · role " <span class="badge" id="user-role">{user.role.as_str()}</span></p>
            })}
            <div class="section-head">
                <h2>"Products"</h2>
                <button type="button" class="secondary" on:click=move |_| products.refetch()>"Reload"</button>
            </div>
            <Suspense fallback=Loading>
                {move || products.get().map(|result| match result {
                    Ok(list) => view! {
                        <ul class="products" id="products">
                            {list.into_iter().map(|p| view! {
                                <li><span>{p.name}</span><span class="price">{format_price(p.price_cents)}</span></li>
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                    Err(error) => view! { <Alert message=Signal::stored(Some(error.message()))/> }.into_any(),
                })}
            </Suspense>
        </section>
    }
}

/// `12900` → `$129.00`.
pub fn format_price(cents: i64) -> String {
    format!("${}.{:02}", cents / 100, cents % 100)
}
