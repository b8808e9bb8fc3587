use leptos::prelude::*;
use shared::{EmailVerification, ErrorCode};

use crate::api::{ClientError, api};
use crate::components::{Notice, load, show_loaded};
use crate::routes::{Link, LinkToken, Page};
use crate::session::{Session, Status};

/// Verifies the email with the token of a verification link, as soon as the page opens.
/// No sign-in is needed: the link may be opened in a browser that is not signed in.
#[component]
pub fn VerifyEmailPage() -> impl IntoView {
    let session = Session::get();
    let token = LinkToken::get();
    let (verified, _) = load(move || {
        let token = token.clone();
        async move {
            match token {
                Some(token) => api().verify_email(&EmailVerification { token }).await,
                None => Err(ClientError::Api {
                    status: 400,
                    code: ErrorCode::InvalidLink,
                    retry_after: None,
                }),
            }
        }
    });
    // Signed in here, now or once the session has resumed: the session learns that the
    // email is verified, and the home page's reminder goes.
    Effect::new(move || {
        if verified.with(|v| matches!(v, Some(Ok(())))) && session.status.get() == Status::SignedIn
        {
            session.reload_user();
        }
    });
    view! {
        <section class="narrow">
            <h1>"Verify your email"</h1>
            <div id="verify-result">
                {show_loaded(verified, |_: &()| view! {
                    <Notice message=Signal::stored(Some("Your email is verified.".to_owned()))/>
                }.into_any())}
            </div>
            <p class="aside"><Link page=Page::Home>"Go home"</Link></p>
        </section>
    }
}
