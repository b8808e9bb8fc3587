//! The security page's passkeys: the list (name, when added, when last used), adding one
//! under a name, and removing one.

use leptos::prelude::*;
use shared::PasskeyInfo;

use crate::api::api;
use crate::components::{
    Alert, Field, Form, FormErrors, FormState, Row, load, local_time, show_loaded, then_reload,
};

/// The name the form suggests for a new passkey.
pub const DEFAULT_PASSKEY_NAME: &str = "Passkey";

/// The longest name the server takes (characters).
const MAX_NAME_CHARS: usize = 64;

/// The user's passkeys, a form that adds one, and a button per passkey that removes it.
#[component]
pub fn Passkeys() -> impl IntoView {
    let (passkeys, reload) = load(|| async { api().passkeys().await });
    let name = RwSignal::new(DEFAULT_PASSKEY_NAME.to_owned());
    let form = FormState::new();
    let pending = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);

    let add = Callback::new(move |()| {
        let chosen = name.get_untracked().trim().to_owned();
        let found = FormErrors {
            name: name_problem(&chosen),
            ..FormErrors::default()
        };
        let request = Box::pin(async move {
            api().add_passkey(&chosen).await?;
            name.try_set(DEFAULT_PASSKEY_NAME.to_owned());
            reload.try_run(());
            Ok(())
        });
        form.send(found, request, FormErrors::from_client_error);
    });
    let remove = Callback::new(move |id: String| {
        let work = Box::pin(async move { api().remove_passkey(&id).await });
        then_reload(work, pending, error, reload);
    });

    view! {
        <section id="passkeys">
            <h2>"Passkeys"</h2>
            <p class="hint">
                "A passkey signs you in with your device's screen lock or a security key: no email, no password and no code."
            </p>
            <Alert message=error/>
            {show_loaded(passkeys, move |list: &Vec<PasskeyInfo>| view! {
                <ul class="sessions" id="passkey-list">
                    {list.iter().map(|p| passkey_row(p, pending, remove)).collect_view()}
                </ul>
            }.into_any())}
            <Form state=form label="Add a passkey" busy_label="Adding a passkey…" on_submit=add
                button_id=Some("passkey-add")>
                <Field id="passkey-name" label="Name of the new passkey" kind="text" autocomplete="off"
                    value=name error=form.error(|e| &e.name)/>
            </Form>
        </section>
    }
}

/// What is wrong with a passkey's name by the server's rules.
fn name_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        Some("Enter a name for the passkey.".to_owned())
    } else if name.chars().count() > MAX_NAME_CHARS {
        Some("A name can have at most 64 characters.".to_owned())
    } else {
        None
    }
}

/// A passkey as a row: its name, when it was added and last used, and a button that
/// removes it.
fn passkey_row(
    passkey: &PasskeyInfo,
    pending: RwSignal<bool>,
    remove: Callback<String>,
) -> AnyView {
    let id = passkey.id.clone();
    let used = passkey.last_used_at.map_or_else(
        || "never used".to_owned(),
        |t| format!("last used {}", local_time(t)),
    );
    let row = Row {
        class: "passkey",
        title: passkey.name.clone(),
        badge: None,
        meta: format!("added {} · {used}", local_time(passkey.created_at)),
        button: Some(("secondary passkey-remove", "Remove")),
    };
    row.view(pending, Callback::new(move |()| remove.run(id.clone())))
}
