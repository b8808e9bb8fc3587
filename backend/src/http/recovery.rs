//! `/api/auth/password/forgot`, `/password/reset`, `/email/verify`, `/email/resend`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use shared::names::paths;
use shared::{EmailVerification, ForgotPassword, PasswordReset};

use super::HttpState;
use super::error::ApiError;
use super::extract::{AppJson, AuthUser};
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
async fn reset(
    State(state): State<HttpState>,
    AppJson(body): AppJson<PasswordReset>,
) -> Result<StatusCode, ApiError> {
    let ended = state.recovery.reset(&body).await?;
    state.sessions.reject(ended);
    Ok(StatusCode::NO_CONTENT)
}

async fn verify(
    State(state): State<HttpState>,
    AppJson(body): AppJson<EmailVerification>,
) -> Result<StatusCode, ApiError> {
    state.recovery.verify_email(&body.token).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn resend(
    State(state): State<HttpState>,
    user: AuthUser,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    state.recovery.resend_verification(&user.user_id).await?;
    Ok((StatusCode::ACCEPTED, Json(serde_json::json!({}))))
}
