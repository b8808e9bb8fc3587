use leptos::prelude::*;
use shared::MfaCode;
use wasm_bindgen::JsCast;
use web_sys::HtmlElement;

use super::{Field, Form, FormErrors, FormState, Request};

/// A form for one code from an authenticator app (or a recovery code): the sign-in's
/// second step, and turning two-step sign-in on or off.
#[component]
pub fn CodeForm(
    /// The input's id.
    id: &'static str,
    /// The input's label.
    label: &'static str,
    /// The submit button's id, where a page has several forms.
    #[prop(optional)]
    button_id: Option<&'static str>,
    /// The submit button's labels, idle and busy.
    button: (&'static str, &'static str),
    /// Whether the input takes the focus as it appears (in place of a field that had it).
    #[prop(optional)]
    focus: bool,
    /// Sends the code; the request does what success means itself.
    send: Callback<MfaCode, Request>,
) -> impl IntoView {
    let code = RwSignal::new(String::new());
    let form = FormState::new();
    if focus {
        // A task runs once this one has put the form in the page.
        leptos::task::spawn_local(async move {
            if let Some(input) = document().get_element_by_id(id)
                && let Ok(input) = input.dyn_into::<HtmlElement>()
            {
                let _ = input.focus();
            }
        });
    }
    let submit = Callback::new(move |()| {
        let (code, found) = FormErrors::one_time_code(&code.get_untracked());
        form.send(found, send.run(code), FormErrors::from_client_error);
    });
    view! {
        <Form state=form label=button.0 busy_label=button.1 on_submit=submit button_id=button_id>
            <Field id=id label=label kind="text" autocomplete="one-time-code" value=code
                error=form.error(|e| &e.code)/>
        </Form>
    }
}
