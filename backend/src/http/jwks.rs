//! `GET /.well-known/jwks.json`: the public keys that verify access tokens, for services
//! that verify without holding a secret. Read from memory: no database read.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use shared::names::paths;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::HttpState;
use crate::auth::signing_keys::jwks;

/// The JWKS route (outside `/api`, where the convention puts it).
pub fn router() -> OpenApiRouter<HttpState> {
    OpenApiRouter::new().routes(routes!(key_set))
}

/// A JWK set (RFC 7517) of Ed25519 public keys.
#[derive(ToSchema)]
#[allow(dead_code)] // documents the JSON that `signing_keys::jwks` makes
struct JwkSet {
    /// Empty with HS256, whose keys are secrets.
    keys: Vec<Jwk>,
}

/// One public key (RFC 8037).
#[derive(ToSchema)]
#[allow(dead_code)] // documents the JSON that `signing_keys::jwks` makes
struct Jwk {
    /// `OKP`.
    kty: String,
    /// `Ed25519`.
    crv: String,
    /// The public key, base64url.
    x: String,
    /// The key id that tokens name in their header.
    kid: String,
    /// `EdDSA`.
    alg: String,
    /// `sig`.
    #[schema(rename = "use")]
    use_: String,
}

/// The next, active and retiring EdDSA keys; `{"keys": []}` with HS256. Caches may keep
/// it for half of `KEY_PUBLISH_DELAY`, so a cache always learns of a new key before the
/// key signs.
#[utoipa::path(
    get,
    path = paths::JWKS,
    tag = "operations",
    responses(
        (status = 200, description = "The public keys that verify access tokens.",
            body = JwkSet,
            headers(("cache-control" = String, description = "`public, max-age=N`, N at \
                most `KEY_PUBLISH_DELAY`."))),
    )
)]
async fn key_set(State(state): State<HttpState>) -> Response {
    let body = jwks(&state.jwt.current(), state.clock.now_ms());
    let max_age = state.config.key_publish_delay.as_secs() / 2;
    let cache =
        HeaderValue::from_str(&format!("public, max-age={max_age}")).expect("a valid header value");
    ([(header::CACHE_CONTROL, cache)], Json(body)).into_response()
}
