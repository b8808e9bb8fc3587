use leptos::prelude::*;
use shared::SessionInfo;

use crate::api::api;
use crate::components::{Alert, Row, load, local_time, show_loaded, then_reload};

/// Your devices: revoke one, sign out everywhere else, or everywhere.
#[component]
pub fn SessionsPage() -> impl IntoView {
    let (sessions, reload) = load(|| async { api().sessions().await });
    let error = RwSignal::new(None::<String>);
    let pending = RwSignal::new(false);

    let revoke = Callback::new(move |id: String| {
        let work = Box::pin(async move { api().revoke_session(&id).await });
        then_reload(work, pending, error, reload);
    });
    let has_others = move || {
        sessions.with(|state| matches!(state, Some(Ok(list)) if list.iter().any(|s| !s.current)))
    };
    // One request for all of them, so the server ends them all or none.
    let sign_out_others = move |_| {
        then_reload(
            Box::pin(async { api().logout_others().await }),
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

/// A session as a row: the device, this one marked, the others with a button that
/// revokes them.
fn session_row(
    session: &SessionInfo,
    pending: RwSignal<bool>,
    revoke: Callback<String>,
) -> AnyView {
    let id = session.id.clone();
    let row = Row {
        class: if session.current { "current" } else { "" },
        title: session
            .user_agent
            .clone()
            .unwrap_or_else(|| "Unknown device".into()),
        badge: session.current.then_some("This device"),
        meta: format!(
            "{} · last used {}",
            session.ip.clone().unwrap_or_default(),
            local_time(session.last_used_at)
        ),
        button: (!session.current).then_some(("secondary revoke", "Revoke")),
    };
    row.view(pending, Callback::new(move |()| revoke.run(id.clone())))
}
