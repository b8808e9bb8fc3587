//! `/api/auth/*`: register, login, refresh, logout, logout-all.

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use axum_extra::extract::cookie::CookieJar;
use shared::{AuthResponse, Credentials, ErrorCode, SessionView};

use super::cookies;
use super::extract::{AppJson, AuthUser, access_token, verify_access_token};
use super::users::user_view;
use crate::auth::accounts;
use crate::auth::sessions::{self, ClientInfo, IssuedTokens};
use crate::error::ApiError;
use crate::state::AppState;

/// Largest request body accepted under `/api/auth`.
pub const AUTH_BODY_LIMIT: usize = 16 * 1024;

/// Routes under `/api/auth`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/register", post(register))
        .route("/login", post(login))
        .route("/refresh", post(refresh))
        .route("/logout", post(logout))
        .route("/logout-all", post(logout_all))
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

async fn register(
    State(state): State<AppState>,
    client: ClientInfo,
    jar: CookieJar,
    AppJson(credentials): AppJson<Credentials>,
) -> Result<(StatusCode, TokenResponse), ApiError> {
    let user = accounts::register(&state, credentials).await?;
    let issued = sessions::start(&state, user, client).await?;
    Ok((StatusCode::CREATED, respond(&state, jar, &issued)))
}

async fn login(
    State(state): State<AppState>,
    client: ClientInfo,
    jar: CookieJar,
    AppJson(credentials): AppJson<Credentials>,
) -> Result<TokenResponse, ApiError> {
    let user = accounts::login(&state, credentials, &client.ip).await?;
    let issued = sessions::start(&state, user, client).await?;
    Ok(respond(&state, jar, &issued))
}

async fn refresh(
    State(state): State<AppState>,
    jar: CookieJar,
) -> Result<TokenResponse, (CookieJar, ApiError)> {
    let presented = state
        .cookies
        .get(&jar, cookies::REFRESH)
        .unwrap_or_default();
    match sessions::refresh(&state, &presented).await {
        Ok(issued) => Ok(respond(&state, jar, &issued)),
        Err(error) if error.code() == ErrorCode::InvalidRefreshToken => {
            Err((state.cookies.clear(jar), error))
        }
        Err(error) => Err((jar, error)),
    }
}

async fn logout(
    State(state): State<AppState>,
    request: Request,
) -> Result<(StatusCode, CookieJar), ApiError> {
    let jar = CookieJar::from_headers(request.headers());
    let refresh = state.cookies.get(&jar, cookies::REFRESH);
    // The access token names the session too, should the refresh cookie be missing.
    let access_session = access_token(request.headers(), &state)
        .ok()
        .and_then(|token| verify_access_token(&state, &token).ok())
        .map(|claims| claims.sid);
    sessions::logout(&state, refresh.as_deref(), access_session.as_deref()).await?;
    Ok((StatusCode::NO_CONTENT, state.cookies.clear(jar)))
}

async fn logout_all(
    State(state): State<AppState>,
    user: AuthUser,
    jar: CookieJar,
) -> Result<(StatusCode, CookieJar), ApiError> {
    sessions::revoke_all(&state, &user.user_id).await?;
    Ok((StatusCode::NO_CONTENT, state.cookies.clear(jar)))
}

fn respond(state: &AppState, jar: CookieJar, issued: &IssuedTokens) -> TokenResponse {
    let body = AuthResponse {
        user: user_view(&issued.user),
        session: SessionView {
            id: issued.session.id.clone(),
            access_expires_at: issued.access_expires_at,
            refresh_expires_at: issued.session.expires_at,
            server_time: issued.now,
        },
    };
    (state.cookies.set_session(jar, issued), Json(body))
}
