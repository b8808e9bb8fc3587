//! `/api/auth/passkeys*`: adding, listing and removing passkeys, and signing in with one.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::Value;
use shared::names::paths;
use shared::{AuthResponse, ErrorCode, PasskeyInfo};
use utoipa::ToSchema;

use super::HttpState;
use super::auth::{respond, with_device_cookie};
use super::error::ApiError;
use super::extract::{AppJson, AuthUser};
use super::openapi::errors;
use crate::auth::audit::{Action, Event, Named};
use crate::auth::passkeys::Refused;
use crate::auth::sessions::{ClientInfo, Proof};
use crate::store::PasskeyRow;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Routes of passkeys (under `/api/auth`, with its body limit).
pub fn router() -> OpenApiRouter<HttpState> {
    OpenApiRouter::new()
        .routes(routes!(register_start))
        .routes(routes!(register_finish))
        .routes(routes!(list))
        .routes(routes!(remove))
        .routes(routes!(login_start))
        .routes(routes!(login_finish))
}

/// `passkeys/register/finish` body: the browser's `credential.toJSON()` and a name.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewPasskeyBody {
    /// The `PublicKeyCredential` from `navigator.credentials.create()`, as JSON.
    #[schema(value_type = Object)]
    credential: Value,
    /// A name for it, 1 to 64 characters.
    name: String,
}

/// `passkeys/login/finish` body: the browser's `credential.toJSON()`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct PasskeyLoginBody {
    /// The `PublicKeyCredential` from `navigator.credentials.get()`, as JSON.
    #[schema(value_type = Object)]
    credential: Value,
}

/// WebAuthn options for `navigator.credentials.create()` or `.get()`.
#[derive(ToSchema)]
#[allow(dead_code)] // documents the JSON that webauthn-rs makes
struct WebAuthnOptions {
    /// `PublicKeyCredentialCreationOptions` or `PublicKeyCredentialRequestOptions`.
    #[schema(value_type = Object, rename = "publicKey")]
    public_key: Value,
    /// The credential mediation asked for, if any.
    mediation: Option<String>,
}

errors!(RegisterStartErrors: ReauthenticationRequired);
errors!(RegisterFinishErrors: InvalidPasskey, InvalidBody, ReauthenticationRequired);
errors!(RemoveErrors: NotFound, ReauthenticationRequired);
errors!(LoginStartErrors: TooManyAttempts);
errors!(LoginFinishErrors: InvalidCredentials, AccountDisabled);

fn info(row: PasskeyRow) -> PasskeyInfo {
    PasskeyInfo {
        id: row.id,
        name: row.name,
        created_at: row.created_at.div_euclid(1000),
        last_used_at: row.last_used_at.map(|ms| ms.div_euclid(1000)),
    }
}

/// WebAuthn creation options for a new passkey of the signed-in user.
#[utoipa::path(
    post,
    path = paths::PASSKEY_REGISTER_START,
    tag = "passkeys",
    security(("access_cookie" = [], "csrf_header" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "Creation options (resident key required).",
            body = WebAuthnOptions),
        RegisterStartErrors,
    )
)]
async fn register_start(
    State(state): State<HttpState>,
    user: AuthUser,
) -> Result<Json<Value>, ApiError> {
    let Some(row) = state.store.user_by_id(&user.user_id).await? else {
        return Err(ApiError::new(ErrorCode::SessionRevoked));
    };
    Ok(Json(
        state
            .passkeys
            .register_start(&row, &user.session_id)
            .await?,
    ))
}

/// The first passkey ends the user's other sessions (here at once, elsewhere within a
/// second); this one stays.
#[utoipa::path(
    post,
    path = paths::PASSKEY_REGISTER_FINISH,
    tag = "passkeys",
    request_body = NewPasskeyBody,
    security(("access_cookie" = [], "csrf_header" = []), ("bearer" = [])),
    responses(
        (status = 201, description = "The passkey is added.", body = PasskeyInfo),
        RegisterFinishErrors,
    )
)]
async fn register_finish(
    State(state): State<HttpState>,
    user: AuthUser,
    client: ClientInfo,
    AppJson(body): AppJson<NewPasskeyBody>,
) -> Result<(StatusCode, Json<PasskeyInfo>), ApiError> {
    let (row, ended) = state
        .passkeys
        .register_finish(
            &user.user_id,
            &user.session_id,
            &body.credential,
            &body.name,
        )
        .await?;
    state.sessions.reject(ended);
    let event = Event::new(Action::PasskeyAdded, &user.user_id, &client).detail(&row.name);
    state.audit.record(event).await;
    Ok((StatusCode::CREATED, Json(info(row))))
}

/// The signed-in user's passkeys.
#[utoipa::path(
    get,
    path = paths::PASSKEYS,
    tag = "passkeys",
    security(("access_cookie" = []), ("bearer" = [])),
    responses((status = 200, description = "The passkeys.", body = Vec<PasskeyInfo>))
)]
async fn list(
    State(state): State<HttpState>,
    user: AuthUser,
) -> Result<Json<Vec<PasskeyInfo>>, ApiError> {
    let rows = state.store.passkeys_of(&user.user_id).await?;
    Ok(Json(rows.into_iter().map(info).collect()))
}

/// Removes one of the signed-in user's passkeys.
#[utoipa::path(
    delete,
    path = paths::PASSKEY,
    tag = "passkeys",
    params(("id" = String, Path, description = "The passkey's id.")),
    security(("access_cookie" = [], "csrf_header" = []), ("bearer" = [])),
    responses((status = 204, description = "The passkey is removed."), RemoveErrors)
)]
async fn remove(
    State(state): State<HttpState>,
    user: AuthUser,
    client: ClientInfo,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if state
        .passkeys
        .remove(&user.user_id, &user.session_id, &id)
        .await?
    {
        let event = Event::new(Action::PasskeyRemoved, &user.user_id, &client).detail(&id);
        state.audit.record(event).await;
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::new(ErrorCode::NotFound))
    }
}

/// WebAuthn request options for signing in with a discoverable passkey (no email).
#[utoipa::path(
    post,
    path = paths::PASSKEY_LOGIN_START,
    tag = "passkeys",
    responses(
        (status = 200, description = "Request options.", body = WebAuthnOptions),
        LoginStartErrors,
    )
)]
async fn login_start(
    State(state): State<HttpState>,
    client: ClientInfo,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(state.passkeys.login_start(&client.ip).await?))
}

/// A passkey signs in on its own: no password, and no second step even with TOTP on.
#[utoipa::path(
    post,
    path = paths::PASSKEY_LOGIN_FINISH,
    tag = "passkeys",
    request_body = PasskeyLoginBody,
    responses(
        (status = 200, description = "Signed in.", body = AuthResponse,
            headers(("set-cookie" = String, description = "The `access_token`, `refresh_token` and `csrf_token` cookies, and the account's `device` cookie."))),
        LoginFinishErrors,
    )
)]
async fn login_finish(
    State(state): State<HttpState>,
    client: ClientInfo,
    sent: HeaderMap,
    AppJson(body): AppJson<PasskeyLoginBody>,
) -> Result<Response, ApiError> {
    let (user, used) = match state.passkeys.login_finish(&body.credential).await {
        Ok(proven) => proven,
        Err(Refused { error, attempt }) => {
            if let Some(user_id) = attempt
                && error.code() == ErrorCode::InvalidCredentials
            {
                let named = user_id.map_or(Named::Nobody, Named::User);
                state.audit.sign_in_failed(named, &client, "passkey");
            }
            return Err(error.into());
        }
    };
    let user_id = user.id.clone();
    let issued = match state
        .sessions
        .start(user, client.clone(), Proof::Passkey(used))
        .await
    {
        Ok(issued) => issued,
        Err(error) => {
            // The passkey went meanwhile, or a clone of it used this counter value.
            if error.code() == ErrorCode::InvalidCredentials {
                state
                    .audit
                    .sign_in_failed(Named::User(user_id), &client, "passkey");
            }
            return Err(error.into());
        }
    };
    let jar = with_device_cookie(&state, &issued.user, None);
    Ok(respond(&state, jar, &sent, &issued).into_response())
}
