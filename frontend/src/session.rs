//! Who is signed in, as reactive state every page can read.

use leptos::prelude::*;
use shared::{ErrorCode, UserView};

use crate::api::{SessionEvent, api};

/// Where the session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Resuming a session at start-up.
    Checking,
    /// Signed in.
    SignedIn,
    /// Not signed in.
    SignedOut,
}

/// The notice shown on the login page after a session ended on its own: what the server
/// says when it refuses the refresh token.
pub const EXPIRED_NOTICE: &str = ErrorCode::InvalidRefreshToken.message();

/// The notice shown on the login page after a sign-out the server did not confirm.
pub const UNCONFIRMED_SIGN_OUT_NOTICE: &str = "You are signed out on this device, but the server could not be reached: your session may stay active until it expires.";

/// The notice shown on the login page after a password reset, which ends every session.
pub const PASSWORD_RESET_NOTICE: &str = "Your password has been changed. Sign in with the new one.";

/// The session state, provided as context by [`crate::App`].
#[derive(Debug, Clone, Copy)]
pub struct Session {
    /// The signed-in user.
    pub user: RwSignal<Option<UserView>>,
    /// Where the session stands.
    pub status: RwSignal<Status>,
    /// A notice for the login page.
    pub notice: RwSignal<Option<&'static str>>,
}

impl Session {
    /// Creates the state, connects it to the API client and resumes any session.
    pub fn provide() -> Self {
        let session = Self {
            user: RwSignal::new(None),
            status: RwSignal::new(Status::Checking),
            notice: RwSignal::new(None),
        };
        provide_context(session);
        api().on_session_event(move |event| session.apply(event));
        leptos::task::spawn_local(async move {
            match api().resume().await {
                Ok(Some(_)) => {}
                Ok(None) => session.status.set(Status::SignedOut),
                // Expired already arrived as an event; anything else (offline) leaves the
                // user signed out here, with the reason on the login page.
                Err(_) if session.status.get_untracked() == Status::Checking => {
                    session.status.set(Status::SignedOut);
                }
                Err(_) => {}
            }
        });
        session
    }

    /// The session state of the running app.
    pub fn get() -> Self {
        use_context().expect("the app provides the session")
    }

    /// Signs out here and in every tab. The server clears the cookies even when it cannot
    /// record the revocation (its database is down), so the sign-out here always happens;
    /// when the server did not confirm it, the login page says the session may live on.
    pub async fn sign_out(self) {
        if api().logout().await.is_err() {
            self.notice.set(Some(UNCONFIRMED_SIGN_OUT_NOTICE));
        }
    }

    /// Asks the server who is signed in again, after something changed the user (the
    /// email verified). Does nothing unless signed in.
    pub fn reload_user(self) {
        if self.status.get_untracked() != Status::SignedIn {
            return;
        }
        leptos::task::spawn_local(async move {
            if let Ok(me) = api().me().await {
                self.user.set(Some(me.user));
            }
        });
    }

    /// Records that two-step sign-in was turned on or off here.
    pub fn set_mfa_enabled(self, enabled: bool) {
        self.user.update(|user| {
            if let Some(user) = user {
                user.mfa_enabled = enabled;
            }
        });
    }

    fn apply(self, event: SessionEvent) {
        match event {
            SessionEvent::SignedIn(auth) | SessionEvent::Refreshed(auth) => {
                self.user.set(Some(auth.user));
                self.status.set(Status::SignedIn);
                self.notice.set(None);
            }
            SessionEvent::SignedOut => {
                self.user.set(None);
                self.status.set(Status::SignedOut);
            }
            SessionEvent::Expired => {
                self.user.set(None);
                self.status.set(Status::SignedOut);
                self.notice.set(Some(EXPIRED_NOTICE));
            }
        }
    }
}
