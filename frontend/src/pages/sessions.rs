use leptos::prelude::*;
use shared::SessionInfo;

use crate::api::{ClientError, api};
use crate::components::{Alert, Loading};

/// Your devices: revoke one, sign out everywhere else, or everywhere.
#[component]
pub fn SessionsPage() -> impl IntoView {
    let sessions =
        LocalResource::new(|| async { api().get::<Vec<SessionInfo>>("/api/sessions").await });
    let error = RwSignal::new(None::<String>);
    let pending = RwSignal::new(false);

    let run = move |work: Vec<String>| {
        pending.set(true);
        leptos::task::spawn_local(async move {
            let mut failed: Option<ClientError> = None;
            for id in work {
                if let Err(e) = api().delete(&format!("/api/sessions/{id}")).await {
                    failed = Some(e);
                }
            }
            error.set(failed.map(|e| e.message()));
            pending.set(false);
            sessions.refetch();
        });
    };
    let others = move || {
        sessions
            .get()
            .and_then(Result::ok)
            .map(|list| {
                list.into_iter()
                    .filter(|s| !s.current)
                    .map(|s| s.id)
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    };
    let everywhere = move |_| {
        pending.set(true);
        leptos::task::spawn_local(async move {
            // On success the session state signs this tab (and the others) out.
            if let Err(e) = api().logout_all().await {
                error.set(Some(e.message()));
            }
            pending.set(false);
        });
    };

    view! {
        <section>
            <h1>"Your sessions"</h1>
            <Alert message=error/>
            <div class="actions">
                <button type="button" class="secondary" disabled=move || pending.get() || others().is_empty()
                    on:click=move |_| run(others())>"Sign out everywhere else"</button>
                <button type="button" class="danger" disabled=move || pending.get() on:click=everywhere>
                    "Sign out everywhere"
                </button>
            </div>
            <Suspense fallback=Loading>
                {move || sessions.get().map(|result| match result {
                    Ok(list) => view! {
                        <ul class="sessions" id="sessions">
                            {list.into_iter().map(|s| {
                                let id = s.id.clone();
                                view! {
                                    <li class:current=s.current>
                                        <div>
                                            <strong>{s.user_agent.clone().unwrap_or_else(|| "Unknown device".into())}</strong>
                                            {s.current.then(|| view! { <span class="badge">"This device"</span> })}
                                            <div class="meta">{format!("{} · last used {}", s.ip.clone().unwrap_or_default(), when(s.last_used_at))}</div>
                                        </div>
                                        <Show when=move || !s.current>
                                            <button type="button" class="secondary" disabled=move || pending.get()
                                                on:click={let id = id.clone(); move |_| run(vec![id.clone()])}>"Revoke"</button>
                                        </Show>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                    Err(e) => view! { <Alert message=Signal::stored(Some(e.message()))/> }.into_any(),
                })}
            </Suspense>
        </section>
    }
}

/// A Unix time in the browser's locale.
fn when(unix_seconds: i64) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(
        unix_seconds as f64 * 1000.0,
    ));
    String::from(date.to_locale_string("default", &wasm_bindgen::JsValue::UNDEFINED))
}
