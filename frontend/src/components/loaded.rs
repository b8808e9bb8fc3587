use std::future::Future;

use leptos::prelude::*;

use super::{Alert, Loading, Request};
use crate::api::ClientError;

/// Data fetched from the API: nothing yet, or the answer.
pub type Loaded<T> = RwSignal<Option<Result<T, ClientError>>>;

/// Fetches again into the same [`Loaded`] (`reload.run(())`).
pub type Reload = Callback<()>;

/// Starts fetching into a fresh [`Loaded`]; the returned [`Reload`] fetches again.
///
/// A signal filled by a task rather than a `LocalResource` + `Suspense`: the same result
/// for this app's simple lists, with far less generic code in the download.
pub fn load<T, F>(fetch: impl Fn() -> F + Send + Sync + 'static) -> (Loaded<T>, Reload)
where
    T: Send + Sync + 'static,
    F: Future<Output = Result<T, ClientError>> + 'static,
{
    let data: Loaded<T> = RwSignal::new(None);
    let reload: Reload = Callback::new(move |()| {
        // Show the loading state again, so a reload is visibly a reload.
        data.set(None);
        let request = fetch();
        leptos::task::spawn_local(async move {
            let result = request.await;
            data.try_set(Some(result));
        });
    });
    reload.run(());
    (data, reload)
}

/// Renders loaded data with `view`, a spinner while loading, or the error.
pub fn show_loaded<T: Send + Sync + 'static>(
    data: Loaded<T>,
    view: impl Fn(&T) -> AnyView + Send + Sync + 'static,
) -> impl IntoView {
    // Only the reading is generic: the spinner and the error are drawn by one function.
    dynamic(move || {
        data.with(|state| match state {
            Some(Ok(value)) => view(value),
            Some(Err(error)) => waiting_or_failed(Some(error.message())),
            None => waiting_or_failed(None),
        })
    })
}

/// A spinner, or the error that ended the loading.
fn waiting_or_failed(error: Option<String>) -> AnyView {
    match error {
        None => view! { <Loading/> }.into_any(),
        Some(message) => view! { <Alert message=Signal::stored(Some(message))/> }.into_any(),
    }
}

/// A view that follows the signals it reads, as one type: every such view shares one copy
/// of the code that renders and updates it, where each closure type would get its own.
type Dynamic = Box<dyn Fn() -> AnyView + Send + Sync>;

/// `view` as a [`Dynamic`].
fn dynamic(view: impl Fn() -> AnyView + Send + Sync + 'static) -> Dynamic {
    Box::new(view)
}

/// Runs `work` with `pending` set (the list's buttons disabled), shows its error if any,
/// then loads the list again.
pub fn then_reload(
    work: Request,
    pending: RwSignal<bool>,
    error: RwSignal<Option<String>>,
    reload: Reload,
) {
    pending.set(true);
    leptos::task::spawn_local(async move {
        error.try_set(work.await.err().map(|e| e.message()));
        pending.try_set(false);
        // The page may have gone meanwhile, and its reload with it.
        reload.try_run(());
    });
}

/// A Unix time in the browser's locale.
pub fn local_time(unix_seconds: i64) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(
        unix_seconds as f64 * 1000.0,
    ));
    String::from(date.to_locale_string("default", &wasm_bindgen::JsValue::UNDEFINED))
}

/// One row of a loaded list of things the user may end (a session, a passkey).
#[derive(Debug)]
pub struct Row {
    /// The `<li>`'s class.
    pub class: &'static str,
    /// What it is.
    pub title: String,
    /// A badge after the title.
    pub badge: Option<&'static str>,
    /// A line of details.
    pub meta: String,
    /// The button's class and label, where it has one.
    pub button: Option<(&'static str, &'static str)>,
}

impl Row {
    /// The row, its button running `on_click` and disabled while `pending`.
    pub fn view(self, pending: RwSignal<bool>, on_click: Callback<()>) -> AnyView {
        view! {
            <li class=self.class>
                <div>
                    <strong>{self.title}</strong>
                    {self.badge.map(|badge| view! { <span class="badge">{badge}</span> })}
                    <div class="meta">{self.meta}</div>
                </div>
                {self.button.map(|(class, label)| view! {
                    <button type="button" class=class disabled=move || pending.get()
                        on:click=move |_| on_click.run(())>{label}</button>
                })}
            </li>
        }
        .into_any()
    }
}
