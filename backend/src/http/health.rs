//! `/api/health` (the process answers) and `/api/ready` (and so does the database).

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use shared::{ErrorCode, HealthResponse};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use shared::names::paths;

use super::HttpState;
use super::error::ApiError;
use super::openapi::errors;

/// How long readiness waits for the database.
const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// Health routes.
pub fn router() -> OpenApiRouter<HttpState> {
    OpenApiRouter::new()
        .routes(routes!(health))
        .routes(routes!(ready))
}

errors!(ReadyErrors: NotReady);

/// Liveness: the process answers.
#[utoipa::path(
    get,
    path = paths::HEALTH,
    tag = "operations",
    responses((status = 200, description = "`{\"status\": \"ok\"}`.", body = HealthResponse))
)]
async fn health() -> Json<HealthResponse> {
    Json(HealthResponse {
        status: "ok".into(),
    })
}

/// Readiness: the database answers too.
#[utoipa::path(
    get,
    path = paths::READY,
    tag = "operations",
    responses(
        (status = 200, description = "`{\"status\": \"ready\"}`.", body = HealthResponse),
        ReadyErrors,
    )
)]
async fn ready(State(state): State<HttpState>) -> Result<Json<HealthResponse>, ApiError> {
    match tokio::time::timeout(READY_TIMEOUT, state.store.ping()).await {
        Ok(Ok(())) => Ok(Json(HealthResponse {
            status: "ready".into(),
        })),
        _ => Err(ApiError::new(ErrorCode::NotReady)),
    }
}
