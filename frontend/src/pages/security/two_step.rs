//! The security page's two-step sign-in: set up an authenticator app (its QR code, then a
//! first code, then the recovery codes, shown once), or turn it off with a code.

use leptos::either::Either;
use leptos::prelude::*;
use shared::{ErrorCode, MfaCode, TotpSetup};

use crate::api::api;
use crate::components::{Alert, CodeForm, Notice, Request};
use crate::session::Session;

/// What the page says above the recovery codes.
pub const SAVE_RECOVERY_CODES: &str = "Save these codes somewhere safe: each one signs you in once if you lose your phone. They will not be shown again.";

/// What the page says once two-step sign-in is on (the server ended the other sessions).
pub const TWO_STEP_ON: &str = "Two-step sign-in is on. Other devices have been signed out.";

/// What the page says once two-step sign-in is off.
pub const TWO_STEP_OFF: &str = "Two-step sign-in is off.";

/// What the section shows of a change, whichever way two-step sign-in now stands.
#[derive(Debug, Clone, Copy)]
struct Change {
    session: Session,
    /// The codes just made, shown this once.
    recovery_codes: RwSignal<Option<Vec<String>>>,
    /// What changed.
    news: RwSignal<Option<String>>,
}

impl Change {
    fn new() -> Self {
        Self {
            session: Session::get(),
            recovery_codes: RwSignal::new(None),
            news: RwSignal::new(None),
        }
    }

    /// Turned on: the user is marked so, and the recovery codes are shown.
    fn turned_on(self, recovery_codes: Vec<String>) {
        self.recovery_codes.set(Some(recovery_codes));
        self.news.set(Some(TWO_STEP_ON.to_owned()));
        self.session.set_mfa_enabled(true);
    }

    /// Turned off: the user is marked so.
    fn turned_off(self) {
        self.recovery_codes.set(None);
        self.news.set(Some(TWO_STEP_OFF.to_owned()));
        self.session.set_mfa_enabled(false);
    }
}

/// Two-step sign-in, on or off, for the signed-in user.
#[component]
pub fn TwoStepSignIn() -> impl IntoView {
    let session = Session::get();
    let enabled = move || {
        session
            .user
            .with(|u| u.as_ref().is_some_and(|u| u.mfa_enabled))
    };
    let change = Change::new();
    let recovery_codes = change.recovery_codes;
    view! {
        <h2>"Two-step sign-in"</h2>
        <Notice id="totp-notice" message=change.news/>
        <Show when=enabled fallback=move || view! { <SetUp change=change/> }>
            <p id="totp-status">
                "Two-step sign-in is on: after your password, signing in asks for a code from your authenticator app."
            </p>
            {move || recovery_codes.get().map(|codes| view! {
                <div class="notice">
                    <p>{SAVE_RECOVERY_CODES}</p>
                    <ul class="codes" id="recovery-codes">
                        {codes.into_iter().map(|code| view! { <li><code>{code}</code></li> }).collect_view()}
                    </ul>
                </div>
            })}
            <TurnOff change=change/>
        </Show>
    }
}

/// Off: a button that asks the server for a secret, then what the app needs and a form
/// for its first code.
#[component]
fn SetUp(change: Change) -> impl IntoView {
    let setup = RwSignal::new(None::<TotpSetup>);
    let pending = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let start = move |_| {
        pending.set(true);
        change.news.set(None);
        leptos::task::spawn_local(async move {
            match api().setup_totp().await {
                Ok(answer) => {
                    setup.try_set(Some(answer));
                }
                // Turned on meanwhile, in another tab: show it as on.
                Err(e) if e.code() == Some(ErrorCode::MfaAlreadyEnabled) => {
                    change.session.set_mfa_enabled(true);
                }
                Err(e) => {
                    error.try_set(Some(e.message()));
                }
            }
            pending.try_set(false);
        });
    };
    move || match setup.get() {
        Some(setup) => Either::Left(view! {
            <Confirm setup=setup change=change/>
        }),
        None => Either::Right(view! {
            <p class="hint">
                "Protect your account with a second step: after your password, signing in asks for a code from an authenticator app on your phone."
            </p>
            <Alert message=error/>
            <button type="button" class="primary" id="totp-setup" disabled=move || pending.get() on:click=start>
                "Set up an authenticator app"
            </button>
        }),
    }
}

/// The QR code and the secret for the app, and the form for its first code, which turns
/// two-step sign-in on.
#[component]
fn Confirm(setup: TotpSetup, change: Change) -> impl IntoView {
    let send = Callback::new(move |code: MfaCode| -> Request {
        Box::pin(async move {
            let answer = api().confirm_totp(&code).await?;
            change.turned_on(answer.recovery_codes);
            Ok(())
        })
    });
    view! {
        <ol class="steps">
            <li>
                "Scan this QR code with your authenticator app:"
                <img class="qr" id="totp-qr" src=qr_image(&setup.qr_svg) width="200" height="200"
                    alt="QR code for your authenticator app"/>
            </li>
            <li>
                "Or type this key into the app: " <code id="totp-secret">{setup.secret}</code>
                " (on this device: " <a id="totp-link" href=setup.otpauth_uri>"open the authenticator app"</a> ")."
            </li>
            <li>"Enter the code the app now shows."</li>
        </ol>
        <CodeForm id="totp-code" label="Code from your authenticator app" button_id="totp-confirm"
            button=("Turn on two-step sign-in", "Checking the code…") send=send/>
    }
}

/// On: a form that turns it off with a code from the app or a recovery code.
#[component]
fn TurnOff(change: Change) -> impl IntoView {
    let send = Callback::new(move |code: MfaCode| -> Request {
        Box::pin(async move {
            api().disable_totp(&code).await?;
            change.turned_off();
            Ok(())
        })
    });
    view! {
        <CodeForm id="totp-disable-code" label="Code from your authenticator app, or a recovery code"
            button_id="totp-disable" button=("Turn off two-step sign-in", "Turning off…") send=send/>
    }
}

/// The server's SVG as an image's data URL: drawn as a picture, so none of its markup
/// enters the page.
fn qr_image(svg: &str) -> String {
    format!(
        "data:image/svg+xml,{}",
        String::from(js_sys::encode_uri_component(svg))
    )
}
