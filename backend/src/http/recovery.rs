//! `/api/auth/password/forgot`, `/password/reset`, `/email/verify`, `/email/resend`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use shared::names::paths;
use shared::{EmailVerification, ForgotPassword, PasswordReset};

use axum_extra::extract::cookie::CookieJar;

use super::HttpState;
use super::auth::with_device_cookie;
use super::error::ApiError;
use super::extract::{AppJson, AuthUser};
use super::openapi::{Accepted, errors};
use crate::auth::audit::{Action, Event};
use crate::auth::sessions::ClientInfo;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Routes of account recovery (under `/api/auth`, with its body limit).
pub fn router() -> OpenApiRouter<HttpState> {
    OpenApiRouter::new()
        .routes(routes!(forgot))
        .routes(routes!(reset))
        .routes(routes!(verify))
        .routes(routes!(resend))
}

errors!(ForgotErrors: TooManyAttempts);
errors!(ResetErrors: InvalidLink, WeakPassword, PasswordTooLong, ServerBusy);
errors!(VerifyErrors: InvalidLink);
errors!(ResendErrors: TooManyAttempts);

/// 202 and an empty object, whether or not the email has an account.
#[utoipa::path(
    post,
    path = paths::PASSWORD_FORGOT,
    tag = "recovery",
    request_body = ForgotPassword,
    responses(
        (status = 202, description = "A reset link is emailed if the account exists; the \
            answer is the same either way.", body = Accepted),
        ForgotErrors,
    )
)]
async fn forgot(
    State(state): State<HttpState>,
    client: ClientInfo,
    AppJson(body): AppJson<ForgotPassword>,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    state.recovery.forgot(&body.email, &client.ip).await?;
    Ok((StatusCode::ACCEPTED, Json(Accepted {})))
}

/// The user's sessions end here and on every instance (their access tokens at once here).
/// The browser that used the link gets a device cookie for the new password, so that
/// its owner signs in past an attacker's failed guesses.
#[utoipa::path(
    post,
    path = paths::PASSWORD_RESET,
    tag = "recovery",
    request_body = PasswordReset,
    responses(
        (status = 204, description = "The password is replaced; every session of the user \
            has ended.",
            headers(("set-cookie" = String, description = "A `device` cookie for the account."))),
        ResetErrors,
    )
)]
async fn reset(
    State(state): State<HttpState>,
    client: ClientInfo,
    AppJson(body): AppJson<PasswordReset>,
) -> Result<(StatusCode, CookieJar), ApiError> {
    let (user, ended) = state.recovery.reset(&body).await?;
    state.sessions.reject(ended);
    let event = Event::new(Action::PasswordReset, &user.id, &client);
    state.audit.record(event).await;
    let jar = with_device_cookie(&state, &user, None);
    Ok((StatusCode::NO_CONTENT, jar))
}

/// Marks the account's email verified, with the token of a verification link.
#[utoipa::path(
    post,
    path = paths::EMAIL_VERIFY,
    tag = "recovery",
    request_body = EmailVerification,
    responses((status = 204, description = "The email is verified."), VerifyErrors)
)]
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

/// Emails the signed-in user a new verification link (at most one a minute).
#[utoipa::path(
    post,
    path = paths::EMAIL_RESEND,
    tag = "recovery",
    security(("access_cookie" = [], "csrf_header" = []), ("bearer" = [])),
    responses(
        (status = 202, description = "A link is on its way (or the email is verified \
            already).", body = Accepted),
        ResendErrors,
    )
)]
async fn resend(
    State(state): State<HttpState>,
    user: AuthUser,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    state.recovery.resend_verification(&user.user_id).await?;
    Ok((StatusCode::ACCEPTED, Json(Accepted {})))
}
