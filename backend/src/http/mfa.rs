//! `/api/auth/mfa/*`: TOTP set-up, confirmation and removal, and the second step of a
//! sign-in.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use shared::names::paths;
use shared::{AuthResponse, ErrorCode, MfaCode, MfaRequired, RecoveryCodes, TotpSetup};

use super::HttpState;
use super::auth::{respond, with_device_cookie};
use super::cookies;
use super::error::ApiError;
use super::extract::{AppJson, AuthUser};
use super::openapi::errors;
use crate::auth::accounts::SignedIn;
use crate::auth::audit::{Action, Event, Named};
use crate::auth::sessions::{ClientInfo, Proof};
use crate::crypto::sha256_hex;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Routes of the second factor (under `/api/auth`, with its body limit).
pub fn router() -> OpenApiRouter<HttpState> {
    OpenApiRouter::new()
        .routes(routes!(setup))
        .routes(routes!(confirm))
        .routes(routes!(disable))
        .routes(routes!(verify))
}

errors!(SetupErrors: MfaAlreadyEnabled, ReauthenticationRequired);
errors!(ConfirmErrors: InvalidCode, MfaAlreadyEnabled, ReauthenticationRequired);
errors!(DisableErrors: InvalidCode, ReauthenticationRequired, TooManyAttempts);
errors!(VerifyErrors: InvalidCode, MfaTicketInvalid, AccountDisabled, InvalidCredentials, TooManyAttempts);

/// A new TOTP secret for the user's authenticator app; nothing is required yet.
#[utoipa::path(
    post,
    path = paths::MFA_TOTP_SETUP,
    tag = "mfa",
    security(("access_cookie" = [], "csrf_header" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "The secret, as text and as a QR code.", body = TotpSetup),
        SetupErrors,
    )
)]
async fn setup(
    State(state): State<HttpState>,
    user: AuthUser,
) -> Result<Json<TotpSetup>, ApiError> {
    Ok(Json(
        state.mfa.setup(&user.user_id, &user.session_id).await?,
    ))
}

/// TOTP is on from here; the user's other sessions end (here at once, elsewhere within a
/// second), this one stays.
#[utoipa::path(
    post,
    path = paths::MFA_TOTP_CONFIRM,
    tag = "mfa",
    request_body = MfaCode,
    security(("access_cookie" = [], "csrf_header" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "TOTP is on; the recovery codes, shown once.",
            body = RecoveryCodes),
        ConfirmErrors,
    )
)]
async fn confirm(
    State(state): State<HttpState>,
    user: AuthUser,
    client: ClientInfo,
    AppJson(body): AppJson<MfaCode>,
) -> Result<Json<RecoveryCodes>, ApiError> {
    let (recovery_codes, ended) = state
        .mfa
        .confirm(&user.user_id, &user.session_id, &body.code)
        .await?;
    state.sessions.reject(ended);
    let event = Event::new(Action::TotpEnabled, &user.user_id, &client);
    state.audit.record(event).await;
    Ok(Json(RecoveryCodes { recovery_codes }))
}

/// Turns TOTP off, with a TOTP or a recovery code.
#[utoipa::path(
    post,
    path = paths::MFA_TOTP_DISABLE,
    tag = "mfa",
    request_body = MfaCode,
    security(("access_cookie" = [], "csrf_header" = []), ("bearer" = [])),
    responses((status = 204, description = "TOTP is off."), DisableErrors)
)]
async fn disable(
    State(state): State<HttpState>,
    user: AuthUser,
    client: ClientInfo,
    AppJson(body): AppJson<MfaCode>,
) -> Result<StatusCode, ApiError> {
    state
        .mfa
        .disable(&user.user_id, &user.session_id, &body.code, &client.ip)
        .await?;
    let event = Event::new(Action::TotpDisabled, &user.user_id, &client);
    state.audit.record(event).await;
    Ok(StatusCode::NO_CONTENT)
}

/// A right code completes the sign-in: a session, its cookies and a renewed device cookie,
/// and the ticket cleared.
#[utoipa::path(
    post,
    path = paths::MFA_VERIFY,
    tag = "mfa",
    request_body = MfaCode,
    security(("mfa_ticket_cookie" = [])),
    responses(
        (status = 200, description = "Signed in.", body = AuthResponse,
            headers(("set-cookie" = String, description = "The `access_token`, `refresh_token` and `csrf_token` cookies, and the account's `device` cookie."))),
        VerifyErrors,
    )
)]
async fn verify(
    State(state): State<HttpState>,
    client: ClientInfo,
    sent: HeaderMap,
    AppJson(body): AppJson<MfaCode>,
) -> Result<Response, ApiError> {
    let Some(ticket) = state.cookies.find(&sent, cookies::MFA_TICKET) else {
        return Err(ApiError::new(ErrorCode::MfaTicketInvalid));
    };
    let SignedIn { user, device_id } = match state.mfa.verify(&ticket, &body.code, &client.ip).await
    {
        Ok(signed_in) => signed_in,
        Err(error) => {
            if error.code() == ErrorCode::InvalidCode {
                let named = Named::Ticket(sha256_hex(&ticket));
                state.audit.sign_in_failed(named, &client, "code");
            }
            return Err(error.into());
        }
    };
    let issued = state
        .sessions
        .start(user, client, Proof::SecondFactor)
        .await?;
    let jar = with_device_cookie(&state, &issued.user, device_id.as_deref());
    let jar = state.cookies.clear_mfa_ticket(jar);
    Ok(respond(&state, jar, &sent, &issued).into_response())
}

/// The answer to a right password on an account with a second factor: 202, the methods,
/// and the ticket cookie; no session.
pub(super) async fn second_step(
    state: &HttpState,
    signed_in: &SignedIn,
) -> Result<Response, ApiError> {
    let ticket = state
        .mfa
        .start_ticket(&signed_in.user, signed_in.device_id.as_deref())
        .await?;
    let jar = state.cookies.set_mfa_ticket(CookieJar::new(), ticket.token);
    let body = MfaRequired {
        mfa_required: ticket.methods,
    };
    Ok((StatusCode::ACCEPTED, jar, Json(body)).into_response())
}
