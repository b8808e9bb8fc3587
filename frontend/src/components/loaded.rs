use std::future::Future;

use leptos::prelude::*;

use super::{Alert, Loading};
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
    move || {
        data.with(|state| match state {
            None => view! { <Loading/> }.into_any(),
            Some(Ok(value)) => view(value),
            Some(Err(error)) => {
                view! { <Alert message=Signal::stored(Some(error.message()))/> }.into_any()
            }
        })
    }
}
