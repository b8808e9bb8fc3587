//! `/api/health` (the process answers) and `/api/ready` (and so does the database).

use std::time::Duration;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use shared::{ErrorCode, HealthResponse};

use shared::names::paths;

use super::HttpState;
use super::error::ApiError;

/// How long readiness waits for the database.
const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// Health routes.
pub fn router() -> Router<HttpState> {
    Router::new()
        .route(paths::HEALTH, get(health))
        .route(paths::READY, get(ready))
}

async fn health() -> Json<HealthResponse> {
    Json(HealthResponse {
        status: "ok".into(),
    })
}

async fn ready(State(state): State<HttpState>) -> Result<Json<HealthResponse>, ApiError> {
    match tokio::time::timeout(READY_TIMEOUT, state.store.ping()).await {
        Ok(Ok(())) => Ok(Json(HealthResponse {
            status: "ready".into(),
        })),
        _ => Err(ApiError::new(ErrorCode::NotReady)),
    }
}
