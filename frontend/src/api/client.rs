//! The API client: CSRF header on unsafe methods, one refresh and one retry on a 401,
//! single-flight refresh within a tab and across tabs, proactive refresh before the access
//! token expires, and tab-to-tab news of sign-in, refresh and sign-out.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use futures::FutureExt;
use futures::future::{LocalBoxFuture, Shared};
use gloo_net::http::{Method, RequestBuilder};
use js_sys::{Object, Reflect};
use shared::names::{CSRF_HEADER, paths};
use shared::{
    AuthResponse, Credentials, EmailVerification, ErrorCode, ForgotPassword, MeResponse, MfaCode,
    MfaRequired, PasskeyInfo, PasswordChange, PasswordReset, Product, RecoveryCodes, Registered,
    SessionInfo, SessionView, TotpSetup, UserView,
};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{AbortSignal, BroadcastChannel, MessageEvent, RequestCredentials};

use super::browser;
use super::error::ClientError;
use super::json::{self, FromJson, ToJson};
use super::webauthn::{self, NewPasskey};

/// The BroadcastChannel (and Web Lock) name shared by the tabs of one browser.
const TAB_CHANNEL: &str = "jwt-auth";
const REFRESH_LOCK: &str = "jwt-auth-refresh";

/// What the rest of the app needs to know about the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionEvent {
    /// Signed in, here or in another tab.
    SignedIn(AuthResponse),
    /// New tokens, here or in another tab.
    Refreshed(AuthResponse),
    /// Signed out on purpose, here or in another tab.
    SignedOut,
    /// The session could not be refreshed: it ended (expired, revoked) without the user.
    Expired,
}

/// Where a right password leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignIn {
    /// Signed in (and the other tabs told).
    Done(AuthResponse),
    /// The account asks for a second factor: [`Api::verify_mfa`] completes the sign-in
    /// (the server holds the password step in a short-lived cookie).
    SecondStep(MfaRequired),
}

/// The kinds of tab-to-tab message, `{kind, auth}`; `auth` is the server's session
/// answer as it came (public session data only, never a token).
const SIGNED_IN: &str = "signed_in";
const REFRESHED: &str = "refreshed";
const SIGNED_OUT: &str = "signed_out";

/// Receives session events.
type Listener = Rc<dyn Fn(SessionEvent)>;

type RefreshFuture = Shared<LocalBoxFuture<'static, Result<AuthResponse, ClientError>>>;

/// A response, read whole.
struct Reply {
    status: u16,
    /// The body, parsed; `None` when it is empty or not JSON.
    json: Option<JsValue>,
    retry_after: Option<u64>,
}

/// The API client (cheap to clone; all clones share state).
#[derive(Clone)]
pub struct Api {
    inner: Rc<Inner>,
}

struct Inner {
    base: String,
    /// The refresh in flight in this tab, which every caller shares.
    refresh: RefCell<Option<RefreshFuture>>,
    /// Bumped whenever fresh tokens arrive, from this tab or another.
    generation: Cell<u64>,
    /// The newest session data.
    latest: RefCell<Option<AuthResponse>>,
    /// Which proactive refresh timer is current (older ones do nothing when they fire).
    timer: Cell<u64>,
    listener: RefCell<Option<Listener>>,
    channel: Option<BroadcastChannel>,
}

thread_local! {
    static API: Api = Api::new("", Some(TAB_CHANNEL));
}

/// The app's client, talking to its own origin.
pub fn api() -> Api {
    API.with(Clone::clone)
}

impl Api {
    /// A client for `base` (`""` for the page's own origin), talking to other tabs on
    /// `tab_channel` when given.
    pub fn new(base: &str, tab_channel: Option<&str>) -> Self {
        let channel = tab_channel.and_then(|name| BroadcastChannel::new(name).ok());
        let api = Self {
            inner: Rc::new(Inner {
                base: base.to_owned(),
                refresh: RefCell::default(),
                generation: Cell::new(0),
                latest: RefCell::default(),
                timer: Cell::new(0),
                listener: RefCell::default(),
                channel,
            }),
        };
        if let Some(channel) = &api.inner.channel {
            let this = api.clone();
            let on_message = Closure::<dyn Fn(MessageEvent)>::new(move |event: MessageEvent| {
                this.hear(&event.data());
            });
            channel.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
            // The client lives as long as the page.
            on_message.forget();
        }
        api
    }

    /// Where session events go (the app's session state).
    pub fn on_session_event(&self, listener: impl Fn(SessionEvent) + 'static) {
        *self.inner.listener.borrow_mut() = Some(Rc::new(listener));
    }

    /// The newest session data this tab knows of.
    pub fn session(&self) -> Option<AuthResponse> {
        self.inner.latest.borrow().clone()
    }

    /// The signed-in user.
    pub async fn me(&self) -> Result<MeResponse, ClientError> {
        self.get(paths::ME).await
    }

    /// The sample protected data.
    pub async fn products(&self) -> Result<Vec<Product>, ClientError> {
        self.get(paths::PRODUCTS).await
    }

    /// The signed-in user's live sessions (devices).
    pub async fn sessions(&self) -> Result<Vec<SessionInfo>, ClientError> {
        self.get(paths::SESSIONS).await
    }

    /// Ends one of the user's sessions.
    pub async fn revoke_session(&self, id: &str) -> Result<(), ClientError> {
        self.delete(&paths::session(id)).await
    }

    /// Every user (admins only).
    pub async fn admin_users(&self) -> Result<Vec<UserView>, ClientError> {
        self.get(paths::ADMIN_USERS).await
    }

    /// `GET path`, decoded.
    async fn get<T: FromJson>(&self, path: &str) -> Result<T, ClientError> {
        decode(&self.call(Method::GET, path, None).await?)
    }

    /// `DELETE path`, expecting no content.
    async fn delete(&self, path: &str) -> Result<(), ClientError> {
        succeeded(&self.call(Method::DELETE, path, None).await?)
    }

    /// Signs in (and tells the other tabs), unless the account asks for a second step.
    pub async fn login(&self, credentials: &Credentials) -> Result<SignIn, ClientError> {
        let reply = self.post(paths::LOGIN, credentials).await?;
        if reply.status == 202 {
            return decode(&reply).map(SignIn::SecondStep);
        }
        self.sign_in_with(&reply).map(SignIn::Done)
    }

    /// Completes a sign-in's second step with a code from the authenticator app or a
    /// recovery code, as a login does. Its 401 (the password step expired or used up its
    /// tries) is the answer, not a reason to refresh.
    pub async fn verify_mfa(&self, code: &MfaCode) -> Result<AuthResponse, ClientError> {
        let reply = self.post(paths::MFA_VERIFY, code).await?;
        self.sign_in_with(&reply)
    }

    /// Signs in with a passkey of this site, which the user picks in the browser's dialog
    /// or, with `autofill`, from the email field's autofill (until the signal aborts). No
    /// second step follows: a passkey is one on its own.
    pub async fn sign_in_with_passkey(
        &self,
        autofill: Option<&AbortSignal>,
    ) -> Result<AuthResponse, ClientError> {
        let start = self.send(Method::POST, paths::PASSKEY_LOGIN_START, None);
        let options = decode(&start.await?)?;
        let credential = webauthn::get(&options, autofill).await?;
        let reply = self.post(paths::PASSKEY_LOGIN_FINISH, &credential).await?;
        self.sign_in_with(&reply)
    }

    /// Reads a sign-in's answer and takes in its session, here and in the other tabs.
    fn sign_in_with(&self, reply: &Reply) -> Result<AuthResponse, ClientError> {
        let auth: AuthResponse = decode(reply)?;
        self.signed_in(auth.clone(), reply);
        Ok(auth)
    }

    /// Creates an account. The new user is signed in (and the other tabs told) unless the
    /// server wants the email verified first, in which case the answer has no session.
    pub async fn register(&self, credentials: &Credentials) -> Result<Registered, ClientError> {
        let reply = self.post(paths::REGISTER, credentials).await?;
        let registered: Registered = decode(&reply)?;
        if let Some(session) = &registered.session {
            let auth = AuthResponse {
                user: registered.user.clone(),
                session: session.clone(),
            };
            // With a session the answer is `{user, session}`, as a sign-in's.
            self.signed_in(auth, &reply);
        }
        Ok(registered)
    }

    fn signed_in(&self, auth: AuthResponse, reply: &Reply) {
        self.accept(SessionEvent::SignedIn(auth));
        self.tell_tabs(SIGNED_IN, reply.json.as_ref());
    }

    /// Asks for a password reset link by email. The server answers alike whether or not
    /// the account exists.
    pub async fn forgot_password(&self, request: &ForgotPassword) -> Result<(), ClientError> {
        succeeded(&self.post(paths::PASSWORD_FORGOT, request).await?)
    }

    /// Sets a new password with a reset link's token; the server ends every session of
    /// the user, so nobody is signed in afterwards.
    pub async fn reset_password(&self, reset: &PasswordReset) -> Result<(), ClientError> {
        succeeded(&self.post(paths::PASSWORD_RESET, reset).await?)
    }

    /// Verifies the account's email with a verification link's token (no sign-in needed).
    pub async fn verify_email(&self, verification: &EmailVerification) -> Result<(), ClientError> {
        succeeded(&self.post(paths::EMAIL_VERIFY, verification).await?)
    }

    /// Emails the signed-in user a new verification link.
    pub async fn resend_verification(&self) -> Result<(), ClientError> {
        succeeded(&self.call(Method::POST, paths::EMAIL_RESEND, None).await?)
    }

    /// Changes the signed-in user's password; this session stays, the others end.
    pub async fn change_password(&self, change: &PasswordChange) -> Result<(), ClientError> {
        succeeded(&self.post_signed_in(paths::PASSWORD_CHANGE, change).await?)
    }

    /// Starts setting up an authenticator app: its secret and QR code. Nothing is on
    /// until [`Api::confirm_totp`].
    pub async fn setup_totp(&self) -> Result<TotpSetup, ClientError> {
        decode(&self.call(Method::POST, paths::MFA_TOTP_SETUP, None).await?)
    }

    /// Turns two-step sign-in on with a first code from the app; the answer holds the
    /// recovery codes, shown once. The user's other sessions end.
    pub async fn confirm_totp(&self, code: &MfaCode) -> Result<RecoveryCodes, ClientError> {
        decode(&self.post_signed_in(paths::MFA_TOTP_CONFIRM, code).await?)
    }

    /// Turns two-step sign-in off, with a code from the app or a recovery code.
    pub async fn disable_totp(&self, code: &MfaCode) -> Result<(), ClientError> {
        succeeded(&self.post_signed_in(paths::MFA_TOTP_DISABLE, code).await?)
    }

    /// The signed-in user's passkeys.
    pub async fn passkeys(&self) -> Result<Vec<PasskeyInfo>, ClientError> {
        self.get(paths::PASSKEYS).await
    }

    /// Adds a passkey under `name`: the server's options, the browser's ceremony (the user
    /// picks where to keep it), then the server's check of the new credential. A
    /// ceremony that does not complete sends nothing more.
    pub async fn add_passkey(&self, name: &str) -> Result<PasskeyInfo, ClientError> {
        let start = self.call(Method::POST, paths::PASSKEY_REGISTER_START, None);
        let options = decode(&start.await?)?;
        let new = NewPasskey {
            credential: webauthn::create(&options).await?,
            name: name.to_owned(),
        };
        decode(
            &self
                .post_signed_in(paths::PASSKEY_REGISTER_FINISH, &new)
                .await?,
        )
    }

    /// Removes one of the user's passkeys.
    pub async fn remove_passkey(&self, id: &str) -> Result<(), ClientError> {
        self.delete(&paths::passkey(id)).await
    }

    /// `POST path` with a JSON body, once: for calls that need no access token.
    async fn post(&self, path: &str, body: &impl ToJson) -> Result<Reply, ClientError> {
        self.send(Method::POST, path, Some(body.to_json())).await
    }

    /// `POST path` with a JSON body as the signed-in user (refreshed and retried on a 401
    /// about the access token).
    async fn post_signed_in(&self, path: &str, body: &impl ToJson) -> Result<Reply, ClientError> {
        self.call(Method::POST, path, Some(body.to_json())).await
    }

    /// Signs out here and in every tab, whatever the server answers.
    pub async fn logout(&self) -> Result<(), ClientError> {
        let result = self
            .send(Method::POST, paths::LOGOUT, None)
            .await
            .and_then(|reply| succeeded(&reply));
        // Offline, the server cleared nothing: without the CSRF cookie this browser will
        // not resume the session at its next start, nor refresh it.
        browser::forget_csrf_token();
        self.end(SessionEvent::SignedOut);
        self.tell_tabs(SIGNED_OUT, None);
        result
    }

    /// Ends every session of the user, then signs out here and in every tab.
    pub async fn logout_all(&self) -> Result<(), ClientError> {
        succeeded(&self.call(Method::POST, paths::LOGOUT_ALL, None).await?)?;
        self.end(SessionEvent::SignedOut);
        self.tell_tabs(SIGNED_OUT, None);
        Ok(())
    }

    /// Ends every other session of the user in one request; this one stays signed in.
    pub async fn logout_others(&self) -> Result<(), ClientError> {
        succeeded(&self.call(Method::POST, paths::LOGOUT_OTHERS, None).await?)
    }

    /// At start-up: resumes the session this browser has, if any. Without the CSRF
    /// cookie there is none, and no request is made.
    pub async fn resume(&self) -> Result<Option<AuthResponse>, ClientError> {
        if browser::csrf_token().is_none() {
            return Ok(None);
        }
        self.refresh().await.map(Some)
    }

    /// Refreshes the tokens. Concurrent callers in this tab share one request; tabs take
    /// turns through a Web Lock, and a tab that waited for another's refresh uses it
    /// rather than refreshing again.
    pub async fn refresh(&self) -> Result<AuthResponse, ClientError> {
        let in_flight = self.inner.refresh.borrow().clone();
        let future = match in_flight {
            Some(future) => future,
            None => {
                let this = self.clone();
                let future = async move {
                    let result = this.refresh_across_tabs().await;
                    this.inner.refresh.borrow_mut().take();
                    result
                }
                .boxed_local()
                .shared();
                *self.inner.refresh.borrow_mut() = Some(future.clone());
                future
            }
        };
        future.await
    }

    async fn refresh_across_tabs(&self) -> Result<AuthResponse, ClientError> {
        let seen = self.inner.generation.get();
        let this = self.clone();
        browser::with_lock(REFRESH_LOCK, async move {
            if this.inner.generation.get() != seen
                && let Some(auth) = this.session()
            {
                return Ok(auth);
            }
            let (result, json) = match this.send(Method::POST, paths::REFRESH, None).await {
                Ok(reply) => (decode::<AuthResponse>(&reply), reply.json),
                Err(error) => (Err(error), None),
            };
            match &result {
                Ok(auth) => {
                    this.accept(SessionEvent::Refreshed(auth.clone()));
                    this.tell_tabs(REFRESHED, json.as_ref());
                }
                // The server refused the refresh token: the session is over.
                Err(ClientError::Api {
                    status: 400..=499, ..
                }) => this.end(SessionEvent::Expired),
                // Offline or a server fault: keep the session, the caller sees the error.
                Err(_) => {}
            }
            result
        })
        .await
    }

    /// Sends; on a 401 about the access token, refreshes once (unless fresh tokens arrived
    /// while this request was out) and retries once. Sign-in, refresh and logout do not
    /// come here: their 401 is their answer.
    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<String>,
    ) -> Result<Reply, ClientError> {
        let generation = self.inner.generation.get();
        let first = self.send(method.clone(), path, body.clone()).await?;
        if first.status != 401 || !about_access_token(&first) {
            return Ok(first);
        }
        if self.inner.generation.get() == generation {
            self.refresh().await?;
        }
        self.send(method, path, body).await
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<String>,
    ) -> Result<Reply, ClientError> {
        let unsafe_method = !matches!(method, Method::GET | Method::HEAD);
        let mut builder = RequestBuilder::new(&format!("{}{path}", self.inner.base))
            .method(method)
            .credentials(RequestCredentials::SameOrigin)
            .header("Accept", "application/json");
        if unsafe_method && let Some(token) = browser::csrf_token() {
            builder = builder.header(CSRF_HEADER, &token);
        }
        let request = match body {
            Some(json) => builder
                .header("Content-Type", "application/json")
                .body(json),
            None => builder.build(),
        }
        .map_err(|_| ClientError::Network)?;
        let response = request.send().await.map_err(|_| ClientError::Network)?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.trim().parse().ok());
        let body = response.text().await.map_err(|_| ClientError::Network)?;
        Ok(Reply {
            status,
            json: json::parse(&body),
            retry_after,
        })
    }

    /// Takes in fresh session data and schedules the next proactive refresh.
    fn accept(&self, event: SessionEvent) {
        let (SessionEvent::SignedIn(auth) | SessionEvent::Refreshed(auth)) = &event else {
            return self.end(event);
        };
        self.inner.generation.set(self.inner.generation.get() + 1);
        *self.inner.latest.borrow_mut() = Some(auth.clone());
        self.schedule_refresh(&auth.session);
        self.emit(event);
    }

    /// Forgets the session and cancels the proactive refresh.
    fn end(&self, event: SessionEvent) {
        self.inner.timer.set(self.inner.timer.get() + 1);
        self.inner.latest.borrow_mut().take();
        self.emit(event);
    }

    fn emit(&self, event: SessionEvent) {
        let listener = self.inner.listener.borrow().clone();
        if let Some(listener) = listener {
            listener(event);
        }
    }

    /// Refreshes shortly before the access token expires, so that a user who keeps
    /// working never meets a 401. The delay is computed from the server's own times, so
    /// a wrong client clock does not matter.
    fn schedule_refresh(&self, session: &SessionView) {
        let delay_ms = proactive_delay_ms(session);
        let timer = self.inner.timer.get() + 1;
        self.inner.timer.set(timer);
        let this = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            gloo_timers::future::TimeoutFuture::new(delay_ms).await;
            if this.inner.timer.get() == timer {
                let _ = this.refresh().await;
            }
        });
    }

    fn tell_tabs(&self, kind: &str, auth: Option<&JsValue>) {
        let Some(channel) = &self.inner.channel else {
            return;
        };
        let message = Object::new();
        let _ = Reflect::set(&message, &"kind".into(), &kind.into());
        if let Some(auth) = auth {
            let _ = Reflect::set(&message, &"auth".into(), auth);
        }
        let _ = channel.post_message(&message);
    }

    fn hear(&self, message: &JsValue) {
        let field = |name: &str| Reflect::get(message, &name.into()).unwrap_or_default();
        let auth = AuthResponse::from_json(&field("auth"));
        match (field("kind").as_string().as_deref(), auth) {
            (Some(SIGNED_IN), Some(auth)) => self.accept(SessionEvent::SignedIn(auth)),
            (Some(REFRESHED), Some(auth)) => self.accept(SessionEvent::Refreshed(auth)),
            (Some(SIGNED_OUT), _) => self.end(SessionEvent::SignedOut),
            _ => {}
        }
    }
}

/// When to refresh: a quarter of the lifetime before expiry, at most a minute before.
pub fn proactive_delay_ms(session: &SessionView) -> u32 {
    let lifetime_ms = (session.access_expires_at - session.server_time).max(0) * 1000;
    let margin_ms = (lifetime_ms / 4).min(60_000);
    u32::try_from(lifetime_ms - margin_ms).unwrap_or(u32::MAX)
}

/// Whether a 401 is about the access token, which a refresh can cure; any other 401 (a
/// wrong current password, say) is the answer, and retrying would repeat it.
fn about_access_token(reply: &Reply) -> bool {
    matches!(
        reply.json.as_ref().and_then(ErrorCode::from_json),
        Some(
            ErrorCode::MissingToken
                | ErrorCode::TokenExpired
                | ErrorCode::InvalidToken
                | ErrorCode::SessionRevoked
        )
    )
}

fn decode<T: FromJson>(reply: &Reply) -> Result<T, ClientError> {
    succeeded(reply)?;
    reply
        .json
        .as_ref()
        .and_then(T::from_json)
        .ok_or(ClientError::BadResponse {
            status: reply.status,
        })
}

fn succeeded(reply: &Reply) -> Result<(), ClientError> {
    if (200..300).contains(&reply.status) {
        Ok(())
    } else {
        Err(ClientError::from_response(
            reply.status,
            reply.json.as_ref(),
            reply.retry_after,
        ))
    }
}
