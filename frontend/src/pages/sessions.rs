use std::future::Future;

use leptos::prelude::*;
use shared::SessionInfo;

use crate::api::{ClientError, api};
use crate::components::{Alert, Reload, load, show_loaded};

/// Your devices: revoke one, sign out everywhere else, or everywhere.
#[component]
pub fn SessionsPage() -> impl IntoView {
    let (sessions, reload) = load(|| async { api().sessions().await });
    let error = RwSignal::new(None::<String>);
    let pending = RwSignal::new(false);

    let revoke = Callback::new(move |id: String| {
        let work = async move { api().revoke_session(&id).await };
        then_reload(work, pending, error, reload);
    });
    let has_others = move || {
        sessions.with(|state| matches!(state, Some(Ok(list)) if list.iter().any(|s| !s.current)))
    };
    // One request for all of them, so the server ends them all or none.
    let sign_out_others = move |_| {
        then_reload(
            async { api().logout_others().await },
            pending,
            error,
            reload,
        );
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
                <button type="button" class="secondary" id="sign-out-others"
                    disabled=move || pending.get() || !has_others()
                    on:click=sign_out_others>"Sign out everywhere else"</button>
                <button type="button" class="danger" id="sign-out-everywhere"
                    disabled=move || pending.get() on:click=everywhere>"Sign out everywhere"</button>
            </div>
            {show_loaded(sessions, move |list: &Vec<SessionInfo>| view! {
                <ul class="sessions" id="sessions">
                    {list.iter().map(|s| session_row(s, pending, revoke)).collect_view()}
                </ul>
            }.into_any())}
        </section>
    }
}

/// Runs `work` with the buttons disabled, shows its error if any, then loads the list again.
fn then_reload(
    work: impl Future<Output = Result<(), ClientError>> + 'static,
    pending: RwSignal<bool>,
    error: RwSignal<Option<String>>,
    reload: Reload,
) {
    pending.set(true);
    leptos::task::spawn_local(async move {
        error.set(work.await.err().map(|e| e.message()));
        pending.set(false);
        // The page may have gone meanwhile, and its reload with it.
        reload.try_run(());
    });
}

fn session_row(
    session: &SessionInfo,
    pending: RwSignal<bool>,
    revoke: Callback<String>,
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
                    on:click=move |_| revoke.run(id.clone())>"Revoke"</button>
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
