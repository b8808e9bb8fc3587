//! An example of another service behind the same sign-in: it serves a user's orders to
//! whoever presents one of the auth backend's access tokens, with nothing but
//! `jwt-verifier` and the backend's `PUBLIC_URL` (its keys come from the JWKS there, so
//! it holds no secret; the backend must run with `JWT_ALG=EdDSA`).
//!
//! Like every service that only verifies, it cannot know that a session was revoked
//! before its token's `exp` (see the `jwt_verifier` docs): that window is the backend's
//! `ACCESS_TOKEN_TTL`.

use std::net::SocketAddr;

use axum::routing::get;
use axum::{Json, Router};
use jwt_verifier::{VerifiedClaims, Verifier};
use serde::Serialize;

/// The service's settings, from flags or the environment.
#[derive(Debug, clap::Parser)]
#[command(name = "orders-service", about = "Serves the signed-in user's orders.")]
pub struct Config {
    /// The auth server's origin (its own `PUBLIC_URL`); its keys are read from
    /// `{PUBLIC_URL}/.well-known/jwks.json`.
    #[arg(long, env = "PUBLIC_URL")]
    pub public_url: String,
    /// Listen address (`:0` picks a free port; the bound address is logged).
    #[arg(long, env = "BIND_ADDR", default_value = "127.0.0.1:3001")]
    pub bind_addr: SocketAddr,
    /// The auth server's own `COOKIE_SECURE`, so that cookies are read under exactly the
    /// names it sets. Set it: the auth server's default depends on its `APP_ENV`, which
    /// this service does not know, so unset the `__Secure-` name is read when one was
    /// sent, else the plain one (which a plain-HTTP page may plant).
    #[arg(long, env = "COOKIE_SECURE", value_parser = clap::builder::BoolishValueParser::new())]
    pub cookie_secure: Option<bool>,
}

/// The routes: `GET /orders` (needs an access token) and `GET /health`.
pub fn router(verifier: Verifier) -> Router {
    Router::new()
        .route("/orders", get(orders))
        .route("/health", get(health))
        .with_state(verifier)
}

/// `GET /orders`: the caller's orders.
#[derive(Debug, Serialize)]
pub struct OrdersResponse {
    /// Whose they are: the token's `sub`.
    pub user_id: String,
    /// Sample data.
    pub orders: Vec<Order>,
}

/// One order.
#[derive(Debug, Serialize)]
pub struct Order {
    /// Order number.
    pub id: u32,
    /// What was ordered.
    pub item: &'static str,
    /// How many.
    pub quantity: u32,
    /// Price in cents, all items.
    pub total_cents: u32,
}

async fn orders(VerifiedClaims(claims): VerifiedClaims) -> Json<OrdersResponse> {
    Json(OrdersResponse {
        user_id: claims.sub,
        orders: vec![
            Order {
                id: 1001,
                item: "Mechanical keyboard",
                quantity: 1,
                total_cents: 12_900,
            },
            Order {
                id: 1002,
                item: "USB-C cable",
                quantity: 3,
                total_cents: 2_697,
            },
        ],
    })
}

/// `GET /health`: `{"status":"ok"}`.
#[derive(Debug, Serialize)]
pub struct Health {
    /// Always `"ok"`.
    pub status: &'static str,
}

/// Liveness: it does not ask the auth server.
async fn health() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// Serves `config` until `shutdown` completes. The keys are fetched once at start, so a
/// wrong `PUBLIC_URL` shows in the log at once; the service starts anyway and refuses
/// tokens (503) until the auth server answers.
pub async fn run(
    config: &Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let mut verifier = Verifier::auth_server_builder(&config.public_url);
    if let Some(secure) = config.cookie_secure {
        verifier = verifier.cookie_secure(secure);
    }
    let verifier = verifier.build()?;
    let listener = tokio::net::TcpListener::bind(config.bind_addr).await?;
    let addr = listener.local_addr()?;
    tracing::info!(jwks = verifier.jwks_url(), %addr, "listening");
    let warm_up = verifier.clone();
    tokio::spawn(async move { warm_up.fetch_keys().await });
    axum::serve(listener, router(verifier))
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}
