use leptos::prelude::*;

/// A labelled input with its error message next to it.
#[component]
pub fn Field(
    /// The input's id and name.
    id: &'static str,
    /// The visible label.
    label: &'static str,
    /// `email`, `password`, …
    kind: &'static str,
    /// The `autocomplete` hint.
    autocomplete: &'static str,
    /// The value, two-way.
    value: RwSignal<String>,
    /// The error for this field, if any.
    #[prop(into)]
    error: Signal<Option<String>>,
) -> impl IntoView {
    let error_id = format!("{id}-error");
    view! {
        <div class="field">
            <label for=id>{label}</label>
            <input
                id=id
                name=id
                type=kind
                autocomplete=autocomplete
                required=true
                prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev))
                aria-invalid=move || if error.get().is_some() { "true" } else { "false" }
                aria-describedby=error_id.clone()
            />
            <p class="field-error" id=error_id aria-live="polite">{move || error.get()}</p>
        </div>
    }
}
