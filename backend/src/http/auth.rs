//! `/api/auth/*`: register, login, refresh, logout, logout-all, logout-others, password
//! change; account recovery is in [`super::recovery`], the second factor in [`super::mfa`].

use axum::Json;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use shared::{AuthResponse, Credentials, ErrorCode, MfaRequired, PasswordChange, Registered};

use shared::names::paths;
use shared::validation::canonical_email;

use super::cookies;
use super::error::ApiError;
use super::extract::{AppJson, AuthUser, access_token, verify_access_token};
use super::openapi::errors;
use super::{HttpState, views};
use crate::auth::accounts;
use crate::auth::audit::{Action, Event, Named};
use crate::auth::sessions::{ClientInfo, IssuedTokens, Proof};
use crate::store::UserRow;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Largest request body accepted under `/api/auth`.
pub const AUTH_BODY_LIMIT: usize = 16 * 1024;

/// Routes under `/api/auth`.
pub fn router() -> OpenApiRouter<HttpState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(login))
        .routes(routes!(refresh))
        .routes(routes!(logout))
        .routes(routes!(logout_all))
        .routes(routes!(logout_others))
        .routes(routes!(change_password))
        .merge(super::recovery::router())
        .merge(super::mfa::router())
        .merge(super::passkeys::router())
        .layer(DefaultBodyLimit::max(AUTH_BODY_LIMIT))
        .layer(middleware::from_fn(refuse_large_bodies))
}

/// Refuses a declared body over the limit before anything reads it (the extractor limit
/// covers bodies without a `Content-Length`).
async fn refuse_large_bodies(request: Request, next: Next) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > AUTH_BODY_LIMIT as u64) {
        return ApiError::new(ErrorCode::PayloadTooLarge).into_response();
    }
    next.run(request).await
}

type TokenResponse = (CookieJar, Json<AuthResponse>);

errors!(RegisterErrors: InvalidEmail, WeakPassword, PasswordTooLong, EmailTaken, ServerBusy);
errors!(LoginErrors: InvalidCredentials, AccountDisabled, EmailNotVerified, TooManyAttempts, ServerBusy);
errors!(RefreshErrors: InvalidRefreshToken);
errors!(PasswordChangeErrors: InvalidCredentials, WeakPassword, PasswordTooLong, TooManyAttempts, ServerBusy);

/// Creates the account and emails a verification link; signs the new user in unless
/// `REQUIRE_VERIFIED_EMAIL` asks them to verify first (then `{user}` alone, no cookies).
#[utoipa::path(
    post,
    path = paths::REGISTER,
    tag = "auth",
    request_body = Credentials,
    responses(
        (status = 201, description = "The account exists; its user is signed in (`session`) \
            unless the server requires a verified email first.", body = Registered,
            headers(("set-cookie" = String, description = "The `access_token`, `refresh_token` and `csrf_token` cookies, and the account's `device` cookie."))),
        RegisterErrors,
    )
)]
async fn register(
    State(state): State<HttpState>,
    client: ClientInfo,
    sent: HeaderMap,
    AppJson(credentials): AppJson<Credentials>,
) -> Result<(StatusCode, CookieJar, Json<Registered>), ApiError> {
    let user = state.accounts.register(credentials).await?;
    let created = Event::new(Action::AccountCreated, &user.id, &client);
    state.audit.record(created).await;
    // The account exists either way; a link that could not be made is asked for again
    // from the home page or by signing in.
    if let Err(error) = state.recovery.send_verification(&user).await {
        tracing::warn!(user_id = %user.id, code = %error.code(), "verification link not sent");
    }
    if state.config.require_verified_email {
        let body = Registered {
            user: views::user(&user),
            session: None,
        };
        return Ok((StatusCode::CREATED, CookieJar::new(), Json(body)));
    }
    let issued = state.sessions.start(user, client, Proof::Password).await?;
    let jar = with_device_cookie(&state, &issued.user, None);
    let (jar, Json(signed_in)) = respond(&state, jar, &sent, &issued);
    let body = Registered {
        user: signed_in.user,
        session: Some(signed_in.session),
    };
    Ok((StatusCode::CREATED, jar, Json(body)))
}

/// Signs in with email and password; an account with a second factor gets a ticket for
/// the second step instead of a session.
#[utoipa::path(
    post,
    path = paths::LOGIN,
    tag = "auth",
    request_body = Credentials,
    responses(
        (status = 200, description = "Signed in.", body = AuthResponse,
            headers(("set-cookie" = String, description = "The `access_token`, `refresh_token` and `csrf_token` cookies, and the account's `device` cookie."))),
        (status = 202, description = "The password was right; the account needs its second \
            step (`POST /api/auth/mfa/verify` or a passkey).", body = MfaRequired,
            headers(("set-cookie" = String, description = "The `mfa_ticket` cookie."))),
        LoginErrors,
    )
)]
async fn login(
    State(state): State<HttpState>,
    client: ClientInfo,
    sent: HeaderMap,
    AppJson(credentials): AppJson<Credentials>,
) -> Result<Response, ApiError> {
    let device_cookie = state.cookies.find(&sent, cookies::DEVICE);
    let named = canonical_email(&credentials.email).map_or(Named::Nobody, Named::Email);
    let signed_in = match state
        .accounts
        .login(credentials, &client.ip, device_cookie.as_deref())
        .await
    {
        Ok(signed_in) => signed_in,
        Err(error) => {
            if error.code() == ErrorCode::InvalidCredentials {
                state.audit.sign_in_failed(named, &client, "password");
            }
            return Err(error.into());
        }
    };
    if state.config.require_verified_email && signed_in.user.email_verified_at.is_none() {
        // The password is proven, so the answer may say why, and the link is sent again
        // (at most one a minute) for a user who lost the first.
        state.recovery.send_verification(&signed_in.user).await?;
        return Err(ApiError::new(ErrorCode::EmailNotVerified));
    }
    if signed_in.user.totp_enabled_at.is_some() {
        return super::mfa::second_step(&state, &signed_in).await;
    }
    let issued = state
        .sessions
        .start(signed_in.user, client, Proof::Password)
        .await?;
    let jar = with_device_cookie(&state, &issued.user, signed_in.device_id.as_deref());
    Ok(respond(&state, jar, &sent, &issued).into_response())
}

/// Every sign-in renews the browser's device cookie for the account (same device id when
/// it had a valid one): a jar holding it, for the answer's other cookies to join.
pub(super) fn with_device_cookie(
    state: &HttpState,
    user: &UserRow,
    device_id: Option<&str>,
) -> CookieJar {
    let value = state.accounts.devices.issue(
        accounts::device_account(user),
        device_id,
        state.clock.now_secs(),
    );
    state.cookies.set_device(CookieJar::new(), value)
}

/// The current session stays; every other session of the user ends, and the browser's
/// device cookie is renewed (the new password withdrew the old ones).
#[utoipa::path(
    post,
    path = paths::PASSWORD_CHANGE,
    tag = "auth",
    request_body = PasswordChange,
    security(("access_cookie" = [], "csrf_header" = []), ("bearer" = [])),
    responses(
        (status = 204, description = "Changed; the user's other sessions ended.",
            headers(("set-cookie" = String, description = "A renewed `device` cookie."))),
        PasswordChangeErrors,
    )
)]
async fn change_password(
    State(state): State<HttpState>,
    auth: AuthUser,
    client: ClientInfo,
    sent: HeaderMap,
    AppJson(change): AppJson<PasswordChange>,
) -> Result<(StatusCode, CookieJar), ApiError> {
    let device_cookie = state.cookies.find(&sent, cookies::DEVICE);
    let (changed, ended) = state
        .accounts
        .change_password(
            (&auth.user_id, &auth.session_id),
            &change,
            &client.ip,
            device_cookie.as_deref(),
        )
        .await?;
    state.sessions.reject(ended);
    let event = Event::new(Action::PasswordChanged, &auth.user_id, &client);
    state.audit.record(event).await;
    let jar = with_device_cookie(&state, &changed.user, changed.device_id.as_deref());
    Ok((StatusCode::NO_CONTENT, jar))
}

/// Rotates the refresh token and issues a new access token.
#[utoipa::path(
    post,
    path = paths::REFRESH,
    tag = "auth",
    security(("refresh_cookie" = [], "csrf_header" = [])),
    responses(
        (status = 200, description = "The session goes on with new tokens.",
            body = AuthResponse,
            headers(("set-cookie" = String, description = "The rotated session cookies."))),
        RefreshErrors,
    )
)]
async fn refresh(
    State(state): State<HttpState>,
    client: ClientInfo,
    sent: HeaderMap,
) -> Result<TokenResponse, (CookieJar, ApiError)> {
    let presented = state
        .cookies
        .find(&sent, cookies::REFRESH)
        .unwrap_or_default();
    let jar = CookieJar::new();
    match state.sessions.refresh(&presented, &client).await {
        Ok(issued) => Ok(respond(&state, jar, &sent, &issued)),
        Err(error) if error.code() == ErrorCode::InvalidRefreshToken => {
            Err((state.cookies.clear(jar), error.into()))
        }
        Err(error) => Err((jar, error.into())),
    }
}

/// The cookies are cleared whatever happens, also when the session could not be revoked
/// (503): the browser is signed out either way, and the answer tells the client whether
/// the server ended the session too.
#[utoipa::path(
    post,
    path = paths::LOGOUT,
    tag = "auth",
    security((), ("refresh_cookie" = [], "csrf_header" = []), ("access_cookie" = [], "csrf_header" = [])),
    responses(
        (status = 204, description = "Signed out (also with no or stale cookies).",
            headers(("set-cookie" = String, description = "The session cookies, cleared."))),
    )
)]
async fn logout(
    State(state): State<HttpState>,
    client: ClientInfo,
    request: Request,
) -> (CookieJar, Result<StatusCode, ApiError>) {
    let refresh = state.cookies.find(request.headers(), cookies::REFRESH);
    // The access token names the session too, should the refresh cookie be missing.
    let claims = access_token(request.headers(), &state)
        .ok()
        .and_then(|token| verify_access_token(&state, &token).ok());
    let ended = state
        .sessions
        .logout(refresh.as_deref(), claims.as_ref().map(|c| c.sid.as_str()))
        .await;
    let result = match ended {
        Ok((ended, user_id)) => {
            // Only a sign-out that ended something is an event: replays change nothing.
            if let Some(user_id) = claims.map(|c| c.sub).or(user_id).filter(|_| ended) {
                let event = Event::new(Action::SignOut, &user_id, &client);
                state.audit.record(event).await;
            }
            Ok(StatusCode::NO_CONTENT)
        }
        Err(error) => Err(ApiError::from(error)),
    };
    (state.cookies.clear(CookieJar::new()), result)
}

/// Ends every session of the user, this one too.
#[utoipa::path(
    post,
    path = paths::LOGOUT_ALL,
    tag = "auth",
    security(("access_cookie" = [], "csrf_header" = []), ("bearer" = [])),
    responses(
        (status = 204, description = "Every session of the user has ended.",
            headers(("set-cookie" = String, description = "The session cookies, cleared."))),
    )
)]
async fn logout_all(
    State(state): State<HttpState>,
    user: AuthUser,
    client: ClientInfo,
) -> Result<(StatusCode, CookieJar), ApiError> {
    state.sessions.revoke_all(&user.user_id, None).await?;
    let event = Event::new(Action::SignOutEverywhere, &user.user_id, &client);
    state.audit.record(event).await;
    Ok((
        StatusCode::NO_CONTENT,
        state.cookies.clear(CookieJar::new()),
    ))
}

/// Ends every session of the user but this one.
#[utoipa::path(
    post,
    path = paths::LOGOUT_OTHERS,
    tag = "auth",
    security(("access_cookie" = [], "csrf_header" = []), ("bearer" = [])),
    responses((status = 204, description = "Every other session of the user has ended."))
)]
async fn logout_others(
    State(state): State<HttpState>,
    user: AuthUser,
    client: ClientInfo,
) -> Result<StatusCode, ApiError> {
    let ended = state
        .sessions
        .revoke_all(&user.user_id, Some(&user.session_id))
        .await?;
    if ended > 0 {
        let event = Event::new(Action::SignOutOthers, &user.user_id, &client);
        state.audit.record(event).await;
    }
    Ok(StatusCode::NO_CONTENT)
}

pub(super) fn respond(
    state: &HttpState,
    jar: CookieJar,
    sent: &HeaderMap,
    issued: &IssuedTokens,
) -> TokenResponse {
    (
        state.cookies.set_session(jar, sent, issued),
        Json(views::signed_in(issued)),
    )
}
