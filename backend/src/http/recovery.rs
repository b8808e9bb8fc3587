//! `/api/auth/password/forgot`, `/password/reset`, `/email/verify`, `/email/resend`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use shared::names::paths;
use shared::{EmailVerification, ForgotPassword, PasswordReset};

use axum_extra::extract::cookie::CookieJar;

use super::HttpState;
use super::auth::with_device_cookie;
use super::error::ApiError;
use super::extract::{AppJson, AuthUser};
use crate::auth::audit::{Action, Event};
use crate::auth::sessions::ClientInfo;

/// Routes of account recovery (under `/api/auth`, with its body limit).
pub fn router() -> Router<HttpState> {
    Router::new()
        .route(paths::PASSWORD_FORGOT, post(forgot))
        .route(paths::PASSWORD_RESET, post(reset))
        .route(paths::EMAIL_VERIFY, post(verify))
        .route(paths::EMAIL_RESEND, post(resend))
}

/// 202 and an empty object, whether or not the email has an account.
async fn forgot(
    State(state): State<HttpState>,
    client: ClientInfo,
    AppJson(body): AppJson<ForgotPassword>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    state.recovery.forgot(&body.email, &client.ip).await?;
    Ok((StatusCode::ACCEPTED, Json(serde_json::json!({}))))
}

/// The user's sessions end here and on every instance (their access tokens at once here).
/// The browser that used the link gets a device cookie for the new password, so that
/// its owner signs in past an attacker's failed guesses.
async fn reset(
    State(state): State<HttpState>,
    client: ClientInfo,
    jar: CookieJar,
    AppJson(body): AppJson<PasswordReset>,
) -> Result<(StatusCode, CookieJar), ApiError> {
    let (user, ended) = state.recovery.reset(&body).await?;
    state.sessions.reject(ended);
    let event = Event::new(Action::PasswordReset, &user.id, &client);
    state.audit.record(event).await;
    let jar = with_device_cookie(&state, jar, &user, None);
    Ok((StatusCode::NO_CONTENT, jar))
}

async fn verify(
    State(state): State<HttpState>,
    client: ClientInfo,
    AppJson(body): AppJson<EmailVerification>,
) -> Result<StatusCode, ApiError> {
    let user_id = state.recovery.verify_email(&body.token).await?;
    let event = Event::new(Action::EmailVerified, &user_id, &client);
    state.audit.record(event).await;
    Ok(StatusCode::NO_CONTENT)
}

async fn resend(
    State(state): State<HttpState>,
    user: AuthUser,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    state.recovery.resend_verification(&user.user_id).await?;
    Ok((StatusCode::ACCEPTED, Json(serde_json::json!({}))))
}
