//! `/api/auth/*`: register, login, refresh, logout, logout-all, logout-others, password
//! change; account recovery is in [`super::recovery`], the second factor in [`super::mfa`].

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use axum_extra::extract::cookie::CookieJar;
use shared::{AuthResponse, Credentials, ErrorCode, PasswordChange, Registered};

use shared::names::paths;
use shared::validation::canonical_email;

use super::cookies;
use super::error::ApiError;
use super::extract::{AppJson, AuthUser, access_token, verify_access_token};
use super::{HttpState, views};
use crate::auth::accounts;
use crate::auth::audit::{Action, Event, Named};
use crate::auth::sessions::{ClientInfo, IssuedTokens, Proof};
use crate::store::UserRow;

/// Largest request body accepted under `/api/auth`.
pub const AUTH_BODY_LIMIT: usize = 16 * 1024;

/// Routes under `/api/auth`.
pub fn router() -> Router<HttpState> {
    Router::new()
        .route(paths::REGISTER, post(register))
        .route(paths::LOGIN, post(login))
        .route(paths::REFRESH, post(refresh))
        .route(paths::LOGOUT, post(logout))
        .route(paths::LOGOUT_ALL, post(logout_all))
        .route(paths::LOGOUT_OTHERS, post(logout_others))
        .route(paths::PASSWORD_CHANGE, post(change_password))
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

/// Creates the account and emails a verification link; signs the new user in unless
/// `REQUIRE_VERIFIED_EMAIL` asks them to verify first (then `{user}` alone, no cookies).
async fn register(
    State(state): State<HttpState>,
    client: ClientInfo,
    jar: CookieJar,
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
        return Ok((StatusCode::CREATED, jar, Json(body)));
    }
    let issued = state.sessions.start(user, client, Proof::Password).await?;
    let jar = with_device_cookie(&state, jar, &issued.user, None);
    let (jar, Json(signed_in)) = respond(&state, jar, &issued);
    let body = Registered {
        user: signed_in.user,
        session: Some(signed_in.session),
    };
    Ok((StatusCode::CREATED, jar, Json(body)))
}

async fn login(
    State(state): State<HttpState>,
    client: ClientInfo,
    jar: CookieJar,
    AppJson(credentials): AppJson<Credentials>,
) -> Result<Response, ApiError> {
    let device_cookie = state.cookies.get(&jar, cookies::DEVICE);
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
        return super::mfa::second_step(&state, jar, &signed_in).await;
    }
    let issued = state
        .sessions
        .start(signed_in.user, client, Proof::Password)
        .await?;
    let jar = with_device_cookie(&state, jar, &issued.user, signed_in.device_id.as_deref());
    Ok(respond(&state, jar, &issued).into_response())
}

/// Every sign-in renews the browser's device cookie for the account (same device id when
/// it had a valid one).
pub(super) fn with_device_cookie(
    state: &HttpState,
    jar: CookieJar,
    user: &UserRow,
    device_id: Option<&str>,
) -> CookieJar {
    let value = state.accounts.devices.issue(
        accounts::device_account(user),
        device_id,
        state.clock.now_secs(),
    );
    state.cookies.set_device(jar, value)
}

/// The current session stays; every other session of the user ends, and the browser's
/// device cookie is renewed (the new password withdrew the old ones).
async fn change_password(
    State(state): State<HttpState>,
    auth: AuthUser,
    client: ClientInfo,
    jar: CookieJar,
    AppJson(change): AppJson<PasswordChange>,
) -> Result<(StatusCode, CookieJar), ApiError> {
    let device_cookie = state.cookies.get(&jar, cookies::DEVICE);
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
    let jar = with_device_cookie(&state, jar, &changed.user, changed.device_id.as_deref());
    Ok((StatusCode::NO_CONTENT, jar))
}

async fn refresh(
    State(state): State<HttpState>,
    client: ClientInfo,
    jar: CookieJar,
) -> Result<TokenResponse, (CookieJar, ApiError)> {
    let presented = state
        .cookies
        .get(&jar, cookies::REFRESH)
        .unwrap_or_default();
    match state.sessions.refresh(&presented, &client).await {
        Ok(issued) => Ok(respond(&state, jar, &issued)),
        Err(error) if error.code() == ErrorCode::InvalidRefreshToken => {
            Err((state.cookies.clear(jar), error.into()))
        }
        Err(error) => Err((jar, error.into())),
    }
}

/// The cookies are cleared whatever happens, also when the session could not be revoked
/// (503): the browser is signed out either way, and the answer tells the client whether
/// the server ended the session too.
async fn logout(
    State(state): State<HttpState>,
    client: ClientInfo,
    request: Request,
) -> (CookieJar, Result<StatusCode, ApiError>) {
    let jar = CookieJar::from_headers(request.headers());
    let refresh = state.cookies.get(&jar, cookies::REFRESH);
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
    (state.cookies.clear(jar), result)
}

async fn logout_all(
    State(state): State<HttpState>,
    user: AuthUser,
    client: ClientInfo,
    jar: CookieJar,
) -> Result<(StatusCode, CookieJar), ApiError> {
    state.sessions.revoke_all(&user.user_id, None).await?;
    let event = Event::new(Action::SignOutEverywhere, &user.user_id, &client);
    state.audit.record(event).await;
    Ok((StatusCode::NO_CONTENT, state.cookies.clear(jar)))
}

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

pub(super) fn respond(state: &HttpState, jar: CookieJar, issued: &IssuedTokens) -> TokenResponse {
    (
        state.cookies.set_session(jar, issued),
        Json(views::signed_in(issued)),
    )
}
