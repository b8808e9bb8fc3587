//! `/api/sessions`: the signed-in user's devices.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use shared::{ErrorCode, SessionInfo};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use shared::names::paths;

use super::error::ApiError;
use super::extract::AuthUser;
use super::openapi::errors;
use super::{HttpState, views};
use crate::auth::audit::{Action, Event};
use crate::auth::sessions::ClientInfo;

/// Routes for listing and revoking sessions.
pub fn router() -> OpenApiRouter<HttpState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(revoke))
}

errors!(RevokeErrors: NotFound);

/// The signed-in user's live sessions.
#[utoipa::path(
    get,
    path = paths::SESSIONS,
    tag = "account",
    security(("access_cookie" = []), ("bearer" = [])),
    responses((status = 200, description = "Live sessions.", body = Vec<SessionInfo>))
)]
async fn list(
    State(state): State<HttpState>,
    auth: AuthUser,
) -> Result<Json<Vec<SessionInfo>>, ApiError> {
    let rows = state
        .store
        .active_sessions(&auth.user_id, state.clock.now_ms())
        .await?;
    let list = rows
        .into_iter()
        .map(|row| views::session_info(row, &auth.session_id))
        .collect();
    Ok(Json(list))
}

/// Another user's session answers 404 like a missing one, so ids cannot be probed.
#[utoipa::path(
    delete,
    path = paths::SESSION,
    tag = "account",
    params(("id" = String, Path, description = "The session's id.")),
    security(("access_cookie" = [], "csrf_header" = []), ("bearer" = [])),
    responses((status = 204, description = "The session has ended."), RevokeErrors)
)]
async fn revoke(
    State(state): State<HttpState>,
    auth: AuthUser,
    client: ClientInfo,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if state.sessions.revoke(&id, Some(&auth.user_id)).await? {
        let event = Event::new(Action::SessionRevoked, &auth.user_id, &client).detail(&id);
        state.audit.record(event).await;
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::new(ErrorCode::NotFound))
    }
}
