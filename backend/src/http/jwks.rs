//! `GET /.well-known/jwks.json`: the public keys that verify access tokens, for services
//! that verify without holding a secret. Read from memory: no database read.

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use shared::names::paths;

use super::HttpState;
use crate::auth::signing_keys::jwks;

/// The JWKS route (outside `/api`, where the convention puts it).
pub fn router() -> Router<HttpState> {
    Router::new().route(paths::JWKS, get(key_set))
}

/// The next, active and retiring EdDSA keys; `{"keys": []}` with HS256. Caches may keep
/// it for half of `KEY_PUBLISH_DELAY`, so a cache always learns of a new key before the
/// key signs.
async fn key_set(State(state): State<HttpState>) -> Response {
    let body = jwks(&state.jwt.current(), state.clock.now_ms());
    let max_age = state.config.key_publish_delay.as_secs() / 2;
    let cache =
        HeaderValue::from_str(&format!("public, max-age={max_age}")).expect("a valid header value");
    ([(header::CACHE_CONTROL, cache)], Json(body)).into_response()
}
