use std::sync::Arc;

use leptos::prelude::*;
use shared::SessionInfo;

use crate::api::api;
use crate::components::{Alert, load, show_loaded};

/// Your devices: revoke one, sign out everywhere else, or everywhere.
#[component]
pub fn SessionsPage() -> impl IntoView {
    let (sessions, reload) =
        load(|| async { api().get::<Vec<SessionInfo>>("/api/sessions").await });
    let error = RwSignal::new(None::<String>);
    let pending = RwSignal::new(false);

    // Revokes the given sessions, then shows the list again.
    let revoke: Arc<dyn Fn(Vec<String>) + Send + Sync> = Arc::new(move |ids: Vec<String>| {
        pending.set(true);
        let reload = Arc::clone(&reload);
        leptos::task::spawn_local(async move {
            let mut failure = None;
            for id in ids {
                if let Err(e) = api().delete(&format!("/api/sessions/{id}")).await {
                    failure = Some(e.message());
                }
            }
            error.set(failure);
            pending.set(false);
            reload();
        });
    });
    let others = move || {
        sessions.with(|state| match state {
            Some(Ok(list)) => list
                .iter()
                .filter(|s| !s.current)
                .map(|s| s.id.clone())
                .collect(),
            _ => Vec::new(),
        })
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
    let revoke_others = Arc::clone(&revoke);

    view! {
        <section>
            <h1>"Your sessions"</h1>
            <Alert message=error/>
            <div class="actions">
                <button type="button" class="secondary" id="sign-out-others"
                    disabled=move || pending.get() || others().is_empty()
                    on:click=move |_| revoke_others(others())>"Sign out everywhere else"</button>
                <button type="button" class="danger" id="sign-out-everywhere"
                    disabled=move || pending.get() on:click=everywhere>"Sign out everywhere"</button>
            </div>
            {show_loaded(sessions, move |list: &Vec<SessionInfo>| view! {
                <ul class="sessions" id="sessions">
                    {list.iter().map(|s| session_row(s, pending, Arc::clone(&revoke))).collect_view()}
                </ul>
            }.into_any())}
        </section>
    }
}

fn session_row(
    session: &SessionInfo,
    pending: RwSignal<bool>,
    revoke: Arc<dyn Fn(Vec<String>) + Send + Sync>,
) -> impl IntoView {
    let id = session.id.clone();
    let device = session
        .user_agent
        .clone()
        .unwrap_or_else(|| "Unknown device".into());
    let meta = format!(
        "{} · last used {}",
        session.ip.clone().unwrap_or_default(),
        when(session.last_used_at)
    );
    view! {
        <li class:current=session.current>
            <div>
                <strong>{device}</strong>
                {session.current.then(|| view! { <span class="badge">"This device"</span> })}
                <div class="meta">{meta}</div>
            </div>
            {(!session.current).then(|| view! {
                <button type="button" class="secondary revoke" disabled=move || pending.get()
                    on:click=move |_| revoke(vec![id.clone()])>"Revoke"</button>
            })}
        </li>
    }
}

/// A Unix time in the browser's locale.
fn when(unix_seconds: i64) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(
        unix_seconds as f64 * 1000.0,
    ));
    String::from(date.to_locale_string("default", &wasm_bindgen::JsValue::UNDEFINED))
}
