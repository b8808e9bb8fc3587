use leptos::prelude::*;

/// A submit button that is disabled, with a spinner, while its request runs.
#[component]
pub fn SubmitButton(
    /// The label when idle.
    label: &'static str,
    /// The label while busy.
    busy_label: &'static str,
    /// Whether a request is running.
    #[prop(into)]
    pending: Signal<bool>,
    /// The button's id, where a page has several forms.
    #[prop(optional_no_strip)]
    id: Option<&'static str>,
) -> impl IntoView {
    view! {
        <button type="submit" id=id class="primary" disabled=move || pending.get() aria-busy=move || pending.get().to_string()>
            <Show when=move || pending.get() fallback=move || label>
                <span class="spinner" aria-hidden="true"></span>
                {busy_label}
            </Show>
        </button>
    }
}
