//! The HTTP surface: one route table, read top to bottom, and the layers around it.

pub mod auth;
pub mod connections;
pub mod cookies;
pub mod csrf;
pub mod error;
pub mod extract;
pub mod health;
pub mod jwks;
pub mod mfa;
pub mod openapi;
pub mod passkeys;
pub mod products;
pub mod recovery;
pub mod sessions;
pub mod spa;
pub mod users;
pub mod views;

use std::time::Duration;

use std::ops::Deref;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::{Router, middleware};
use shared::ErrorCode;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::sensitive_headers::SetSensitiveHeadersLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer};
use tracing::Level;
use utoipa_axum::router::OpenApiRouter;

use shared::names::{CSRF_HEADER, paths};

use crate::state::AppState;
use cookies::CookiePolicy;
use error::ApiError;

/// What handlers reach: the application's state and, for the HTTP layer alone, the
/// cookie policy. It derefs to [`HttpParts`], which derefs to [`AppState`], which flows
/// take. Every middleware and handler of a request takes a clone: one reference count,
/// where a clone of the parts themselves counted a reference for each pool, queue and
/// key of every flow (a fifth of a bare route's throughput, BENCHMARKS.md).
#[derive(Clone)]
pub struct HttpState(Arc<HttpParts>);

/// What an [`HttpState`] holds.
pub struct HttpParts {
    app: AppState,
    /// Names and attributes of the cookies.
    pub cookies: CookiePolicy,
}

impl HttpState {
    /// The HTTP layer's state over the application's.
    pub fn new(app: AppState) -> Self {
        let cookies = CookiePolicy::new(app.config.cookie_secure);
        Self(Arc::new(HttpParts { app, cookies }))
    }
}

impl Deref for HttpState {
    type Target = HttpParts;

    fn deref(&self) -> &HttpParts {
        &self.0
    }
}

impl Deref for HttpParts {
    type Target = AppState;

    fn deref(&self) -> &AppState {
        &self.app
    }
}

/// Each feature's routes under `/api`, by the paths in `shared::names`, each documented
/// in the OpenAPI document.
fn api_routes() -> OpenApiRouter<HttpState> {
    OpenApiRouter::new()
        .merge(auth::router())
        .merge(users::router())
        .merge(sessions::router())
        .merge(products::router())
        .merge(health::router())
        .merge(openapi::router())
}

/// Every route the application serves besides the SPA, with its OpenAPI description.
pub fn documented_routes() -> OpenApiRouter<HttpState> {
    api_routes().merge(jwks::router())
}

/// The whole application: `/api/*` and the SPA.
pub fn router(app: AppState) -> Router {
    let state = HttpState::new(app);
    // Anything else under /api is a JSON 404, never the SPA.
    let api = Router::from(api_routes())
        .route(paths::API_PREFIX, any(api_not_found))
        .route(
            &format!("{}/{{*rest}}", paths::API_PREFIX),
            any(api_not_found),
        )
        .method_not_allowed_fallback(method_not_allowed)
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ));

    Router::new()
        .merge(api)
        .merge(Router::from(jwks::router()))
        .fallback_service(spa::service(&state.config.static_dir))
        .layer(
            ServiceBuilder::new()
                // Outermost first: nosniff on every response (timeouts and panics too),
                // never log credentials, trace, turn panics into 500s.
                .layer(SetResponseHeaderLayer::overriding(
                    header::X_CONTENT_TYPE_OPTIONS,
                    HeaderValue::from_static("nosniff"),
                ))
                .layer(SetSensitiveHeadersLayer::new([
                    header::AUTHORIZATION,
                    header::COOKIE,
                    header::SET_COOKIE,
                    HeaderName::from_static(CSRF_HEADER),
                ]))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(DefaultMakeSpan::new().level(Level::INFO))
                        .on_response(DefaultOnResponse::new().level(Level::INFO)),
                )
                .layer(CatchPanicLayer::custom(|_| {
                    tracing::error!("handler panicked");
                    ApiError::new(ErrorCode::InternalError).into_response()
                }))
                .layer(middleware::from_fn_with_state(state.clone(), time_limit))
                .layer(middleware::from_fn_with_state(state.clone(), csrf::protect)),
        )
        .with_state(state)
}

/// Answers 408 `timeout` (our JSON error) when a request takes longer than the limit.
async fn time_limit(State(state): State<HttpState>, request: Request, next: Next) -> Response {
    let limit: Duration = state.config.request_timeout;
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(ErrorCode::Timeout).into_response(),
    }
}

async fn api_not_found() -> Response {
    ApiError::new(ErrorCode::NotFound).into_response()
}

async fn method_not_allowed() -> Response {
    ApiError::new(ErrorCode::MethodNotAllowed).into_response()
}
