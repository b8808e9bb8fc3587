use leptos::prelude::*;
use shared::{ErrorCode, MfaCode, MfaRequired};

use crate::api::api;
use crate::components::{CodeForm, CredentialsForm, Mode, Notice, Request};
use crate::routes::{Link, Location, Page, navigate, safe_next};
use crate::session::{Session, Status};

/// Sign in; afterwards, back to where the user was going. An account with two-step
/// sign-in is asked for a code after its password, on this same page.
#[component]
pub fn LoginPage() -> impl IntoView {
    let session = Session::get();
    let location = Location::get();
    let second_step = RwSignal::new(false);
    // Signed in here, or in another tab while this one shows the form: go on.
    Effect::new(move || {
        if session.status.get() == Status::SignedIn {
            navigate(&safe_next(location.query("next")));
        }
    });
    let ask_for_code = Callback::new(move |_: MfaRequired| {
        session.notice.set(None);
        second_step.set(true);
    });
    view! {
        <section class="narrow">
            <h1>"Sign in"</h1>
            <Notice message=Signal::derive(move || session.notice.get().map(str::to_owned))/>
            <Show when=move || second_step.get() fallback=move || view! {
                <CredentialsForm mode=Mode::Login on_second_step=ask_for_code/>
                <p class="aside"><Link page=Page::ForgotPassword>"Forgot your password?"</Link></p>
                <p class="aside">"No account yet? " <Link page=Page::Register>"Create one"</Link></p>
            }>
                <SecondStep second_step=second_step/>
            </Show>
        </section>
    }
}

/// The second step of a sign-in: a code from the authenticator app or a recovery code.
/// When the server has let the password step go (too old, or too many wrong codes), the
/// page goes back to the password with the server's reason.
#[component]
fn SecondStep(second_step: RwSignal<bool>) -> impl IntoView {
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
        <p class="aside">
            <button type="button" class="link" id="restart-sign-in" on:click=move |_| second_step.set(false)>
                "Use another account"
            </button>
        </p>
    }
}
