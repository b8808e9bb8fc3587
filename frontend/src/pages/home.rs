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
            <Show when=move || session.user.with(|u| u.as_ref().is_some_and(|u| !u.email_verified))>
                <VerifyBanner/>
            </Show>
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

/// A reminder to verify the email, with a button that sends the link again.
#[component]
fn VerifyBanner() -> impl IntoView {
    let session = Session::get();
    let pending = RwSignal::new(false);
    let answer = RwSignal::new(None::<String>);
    let resend = move |_| {
        pending.set(true);
        leptos::task::spawn_local(async move {
            let said = match api().resend_verification().await {
                Ok(()) => session.user.with_untracked(|user| {
                    let email = user.as_ref().map_or("", |u| u.email.as_str());
                    format!("We've sent a new link to {email}.")
                }),
                Err(error) => error.message(),
            };
            answer.try_set(Some(said));
            pending.try_set(false);
        });
    };
    view! {
        <div class="notice banner" id="verify-banner">
            <p>"Please verify your email: open the link we sent to it."</p>
            <button type="button" class="secondary" id="resend-verification"
                disabled=move || pending.get() on:click=resend>"Resend the link"</button>
            <p id="resend-result" role="status">{move || answer.get()}</p>
        </div>
    }
}

/// `12900` → `$129.00`.
pub fn format_price(cents: i64) -> String {
    format!("${}.{:02}", cents / 100, cents % 100)
}
