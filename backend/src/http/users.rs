//! `/api/me` and `/api/admin/users`.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use shared::{ErrorCode, MeResponse, Role, UserView};

use shared::names::paths;

use super::error::ApiError;
use super::extract::AuthUser;
use super::{HttpState, views};

/// Routes for the signed-in user and for admins.
pub fn router() -> Router<HttpState> {
    Router::new()
        .route(paths::ME, get(me))
        .route(paths::ADMIN_USERS, get(list_users))
}

async fn me(State(state): State<HttpState>, auth: AuthUser) -> Result<Json<MeResponse>, ApiError> {
    let user = state
        .store
        .user_by_id(&auth.user_id)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::InvalidToken))?;
    Ok(Json(MeResponse {
        user: views::user(&user),
    }))
}

async fn list_users(
    State(state): State<HttpState>,
    auth: AuthUser,
) -> Result<Json<Vec<UserView>>, ApiError> {
    if auth.role != Role::Admin {
        return Err(ApiError::new(ErrorCode::Forbidden));
    }
    let users = state.store.list_users().await?;
    Ok(Json(users.iter().map(views::user).collect()))
}
