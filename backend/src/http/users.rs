//! `/api/me`, `/api/admin/users` and `/api/admin/audit`.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use serde::Deserialize;
use shared::{AuditEvent, ErrorCode, MeResponse, Role, UserView};
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use shared::names::paths;

use super::error::ApiError;
use super::extract::AuthUser;
use super::openapi::errors;
use super::{HttpState, views};

/// Routes for the signed-in user and for admins.
pub fn router() -> OpenApiRouter<HttpState> {
    OpenApiRouter::new()
        .routes(routes!(me))
        .routes(routes!(list_users))
        .routes(routes!(audit_log))
}

errors!(AdminErrors: Forbidden);
errors!(AuditErrors: Forbidden, InvalidBody);

/// Most events one page of the audit log holds, and how many it holds by default.
const AUDIT_MAX_LIMIT: i64 = 1000;
const AUDIT_DEFAULT_LIMIT: i64 = 100;

/// `?user_id=…&limit=…`, both optional.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct AuditQuery {
    /// Only the events of this user.
    user_id: Option<String>,
    /// How many events, newest first (default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<i64>,
}

/// The signed-in user.
#[utoipa::path(
    get,
    path = paths::ME,
    tag = "account",
    security(("access_cookie" = []), ("bearer" = [])),
    responses((status = 200, description = "The signed-in user.", body = MeResponse))
)]
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

/// Every user (admins only).
#[utoipa::path(
    get,
    path = paths::ADMIN_USERS,
    tag = "account",
    security(("access_cookie" = []), ("bearer" = [])),
    responses((status = 200, description = "Every user.", body = Vec<UserView>), AdminErrors)
)]
async fn list_users(
    State(state): State<HttpState>,
    auth: AuthUser,
) -> Result<Json<Vec<UserView>>, ApiError> {
    require_admin(&auth)?;
    let users = state.store.list_users().await?;
    Ok(Json(users.iter().map(views::user).collect()))
}

/// The newest events (of one user, with `user_id`), newest first; `limit` from 1 to 1000
/// (default 100), anything else 422.
#[utoipa::path(
    get,
    path = paths::ADMIN_AUDIT,
    tag = "account",
    params(AuditQuery),
    security(("access_cookie" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "Audit events, newest first.", body = Vec<AuditEvent>),
        AuditErrors,
    )
)]
async fn audit_log(
    State(state): State<HttpState>,
    auth: AuthUser,
    query: Result<Query<AuditQuery>, QueryRejection>,
) -> Result<Json<Vec<AuditEvent>>, ApiError> {
    require_admin(&auth)?;
    let Ok(Query(query)) = query else {
        return Err(ApiError::new(ErrorCode::InvalidBody));
    };
    let limit = query.limit.unwrap_or(AUDIT_DEFAULT_LIMIT);
    if !(1..=AUDIT_MAX_LIMIT).contains(&limit) {
        return Err(ApiError::new(ErrorCode::InvalidBody));
    }
    let rows = state
        .store
        .audit_events(query.user_id.as_deref(), limit)
        .await?;
    Ok(Json(rows.into_iter().map(views::audit_event).collect()))
}

fn require_admin(auth: &AuthUser) -> Result<(), ApiError> {
    if auth.role == Role::Admin {
        Ok(())
    } else {
        Err(ApiError::new(ErrorCode::Forbidden))
    }
}
