use leptos::prelude::*;
use shared::{ErrorCode, MfaCode, MfaMethod, MfaRequired};
use web_sys::AbortSignal;

use crate::api::webauthn;
use crate::api::{ClientError, api};
use crate::components::{
    CodeForm, CredentialsForm, Form, FormErrors, FormState, Mode, Notice, Request,
};
use crate::routes::{Link, Location, Page, navigate, safe_next};
use crate::session::{Session, Status};

/// What the page says when the server refused a passkey (a passkey is no password).
pub const PASSKEY_REFUSED: &str =
    "This passkey was not accepted: it may have been removed from your account.";

/// Sign in with a password or a passkey; afterwards, back to where the user was going. An
/// account with two-step sign-in is asked for a code (or a passkey) after its password,
/// on this same page.
#[component]
pub fn LoginPage() -> impl IntoView {
    let session = Session::get();
    let location = Location::get();
    let second_step = RwSignal::new(false);
    // Whether the second step may be a passkey.
    let passkey = RwSignal::new(false);
    // Signed in here, or in another tab while this one shows the form: go on.
    Effect::new(move || {
        if session.status.get() == Status::SignedIn {
            navigate(&safe_next(location.query("next")));
        }
    });
    let ask_for_code = Callback::new(move |required: MfaRequired| {
        session.notice.set(None);
        passkey.set(required.mfa_required.contains(&MfaMethod::Passkey));
        second_step.set(true);
    });
    view! {
        <section class="narrow">
            <h1>"Sign in"</h1>
            <Notice message=Signal::derive(move || session.notice.get().map(str::to_owned))/>
            <Show when=move || second_step.get() fallback=move || view! {
                <CredentialsForm mode=Mode::Login on_second_step=ask_for_code/>
                <PasskeySignIn id="passkey-sign-in" label="Sign in with a passkey" autofill=true/>
                <p class="aside"><Link page=Page::ForgotPassword>"Forgot your password?"</Link></p>
                <p class="aside">"No account yet? " <Link page=Page::Register>"Create one"</Link></p>
            }>
                <SecondStep second_step=second_step passkey=passkey.get_untracked()/>
            </Show>
        </section>
    }
}

/// The second step of a sign-in: a code from the authenticator app or a recovery code,
/// or a passkey where the account has one. When the server has let the password step go
/// (too old, or too many wrong codes), the page goes back to the password with the
/// server's reason.
#[component]
fn SecondStep(second_step: RwSignal<bool>, passkey: bool) -> impl IntoView {
    let session = Session::get();
    // On success the session state changes and the page moves on.
    let send = Callback::new(move |code: MfaCode| -> Request {
        Box::pin(async move {
            match api().verify_mfa(&code).await {
                Err(error) if error.code() == Some(ErrorCode::MfaTicketInvalid) => {
                    session
                        .notice
                        .set(Some(ErrorCode::MfaTicketInvalid.message()));
                    second_step.set(false);
                    Ok(())
                }
                result => result.map(drop),
            }
        })
    });
    view! {
        <p class="hint">
            "Two-step sign-in is on for this account: enter the code your authenticator app shows, or one of your recovery codes."
        </p>
        // The password field had the focus, and it is gone: the code field takes it.
        <CodeForm id="code" label="Code from your authenticator app, or a recovery code"
            button=("Sign in", "Signing in…") focus=true send=send/>
        {passkey.then(|| view! {
            <PasskeySignIn id="passkey-second-step" label="Use a passkey"/>
        })}
        <p class="aside">
            <button type="button" class="link" id="restart-sign-in" on:click=move |_| second_step.set(false)>
                "Use another account"
            </button>
        </p>
    }
}

/// A button that signs in with a passkey of this site, picked in the browser's dialog.
/// With `autofill`, the browser may also offer the passkeys in the email field's autofill:
/// a request waits for that in the background until the button is pressed or the form
/// goes, and its failures stay quiet. Hidden where the browser has no passkeys or the
/// server has them off (404).
#[component]
fn PasskeySignIn(
    /// The button's id.
    id: &'static str,
    /// The button's label.
    label: &'static str,
    /// Whether to offer the passkeys in the email field's autofill too.
    #[prop(optional)]
    autofill: bool,
) -> impl IntoView {
    let offered = RwSignal::new(webauthn::supported());
    let form = FormState::new();
    // On success the session state changes and the page moves on.
    let sign_in = move |autofill: Option<AbortSignal>| -> Request {
        Box::pin(async move {
            match api().sign_in_with_passkey(autofill.as_ref()).await {
                Err(error) if error.code() == Some(ErrorCode::NotFound) => {
                    offered.try_set(false);
                    Ok(())
                }
                result => result.map(drop),
            }
        })
    };
    if autofill
        && offered.get_untracked()
        && let Some(signal) = webauthn::autofill_signal()
    {
        // Leaving the form ends the wait.
        on_cleanup(webauthn::abort_autofill);
        leptos::task::spawn_local(async move {
            if !webauthn::autofill_available().await || signal.aborted() {
                return;
            }
            // In the background only the server's verdict on a passkey the user picked is news.
            if let Err(error) = sign_in(Some(signal)).await
                && matches!(
                    error.code(),
                    Some(ErrorCode::InvalidCredentials | ErrorCode::AccountDisabled)
                )
            {
                form.errors.try_set(passkey_error(&error));
            }
        });
    }
    let submit = Callback::new(move |()| {
        form.send(FormErrors::default(), sign_in(None), passkey_error);
    });
    view! {
        <Show when=move || offered.get()>
            // A form with no fields: its button and the errors of the attempt.
            <Form state=form label=label busy_label="Waiting for your passkey…" on_submit=submit
                button_id=Some(id)>""</Form>
        </Show>
    }
}

/// A failed passkey sign-in in words: a refused passkey is no wrong password.
fn passkey_error(error: &ClientError) -> FormErrors {
    let mut errors = FormErrors::from_client_error(error);
    if error.code() == Some(ErrorCode::InvalidCredentials) {
        errors.form = Some(PASSKEY_REFUSED.to_owned());
    }
    errors
}
