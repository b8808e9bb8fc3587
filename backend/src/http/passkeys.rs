//! `/api/auth/passkeys*`: adding, listing and removing passkeys, and signing in with one.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;
use serde_json::Value;
use shared::names::paths;
use shared::{ErrorCode, PasskeyInfo};

use super::HttpState;
use super::auth::{respond, with_device_cookie};
use super::error::ApiError;
use super::extract::{AppJson, AuthUser};
use crate::auth::audit::{Action, Event, Named};
use crate::auth::passkeys::Refused;
use crate::auth::sessions::{ClientInfo, Proof};
use crate::store::PasskeyRow;

/// Routes of passkeys (under `/api/auth`, with its body limit).
pub fn router() -> Router<HttpState> {
    Router::new()
        .route(paths::PASSKEY_REGISTER_START, post(register_start))
        .route(paths::PASSKEY_REGISTER_FINISH, post(register_finish))
        .route(paths::PASSKEYS, get(list))
        .route(paths::PASSKEY, delete(remove))
        .route(paths::PASSKEY_LOGIN_START, post(login_start))
        .route(paths::PASSKEY_LOGIN_FINISH, post(login_finish))
}

/// `passkeys/register/finish` body: the browser's `credential.toJSON()` and a name.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewPasskeyBody {
    credential: Value,
    name: String,
}

/// `passkeys/login/finish` body: the browser's `credential.toJSON()`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PasskeyLoginBody {
    credential: Value,
}

fn info(row: PasskeyRow) -> PasskeyInfo {
    PasskeyInfo {
        id: row.id,
        name: row.name,
        created_at: row.created_at.div_euclid(1000),
        last_used_at: row.last_used_at.map(|ms| ms.div_euclid(1000)),
    }
}

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

async fn list(
    State(state): State<HttpState>,
    user: AuthUser,
) -> Result<Json<Vec<PasskeyInfo>>, ApiError> {
    let rows = state.store.passkeys_of(&user.user_id).await?;
    Ok(Json(rows.into_iter().map(info).collect()))
}

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

async fn login_start(
    State(state): State<HttpState>,
    client: ClientInfo,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(state.passkeys.login_start(&client.ip).await?))
}

/// A passkey signs in on its own: no password, and no second step even with TOTP on.
async fn login_finish(
    State(state): State<HttpState>,
    client: ClientInfo,
    jar: CookieJar,
    AppJson(body): AppJson<PasskeyLoginBody>,
) -> Result<Response, ApiError> {
    let user = match state.passkeys.login_finish(&body.credential).await {
        Ok(user) => user,
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
    let issued = state.sessions.start(user, client, Proof::Passkey).await?;
    let jar = with_device_cookie(&state, jar, &issued.user, None);
    Ok(respond(&state, jar, &issued).into_response())
}
