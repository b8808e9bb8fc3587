//! Reads: `GET /api/health` (the floor of a request), and `GET /api/products` and
//! `GET /api/me` with a signed-in user's access token (signature, claims and the
//! revoked-session set, no database; `/api/me` adds one read by primary key), compared
//! with the floor.

use std::time::Duration;

use http::header::{self, HeaderValue};
use http::{Method, StatusCode};
use shared::names::{cookies, paths};

use super::Context;
use crate::client::{Body, Connection, Failure, request};
use crate::load::{self, Workload};
use crate::options::ScenarioName;
use crate::report::Outcome;

/// Virtual clients of each read scenario.
const CLIENTS: usize = 32;

/// `GET path`, with a `Cookie` header when given; 200 expected.
pub struct Get {
    path: &'static str,
    cookie: Option<HeaderValue>,
}

impl Get {
    /// A read of `path` sending `cookie`.
    pub fn new(path: &'static str, cookie: Option<HeaderValue>) -> Self {
        Self { path, cookie }
    }
}

impl Workload for Get {
    type Client = Connection;

    async fn step(&self, connection: &mut Connection) -> Result<(), Failure> {
        let mut builder = request(Method::GET, self.path);
        if let Some(cookie) = &self.cookie {
            builder = builder.header(header::COOKIE, cookie.clone());
        }
        let request = builder
            .body(Body::default())
            .map_err(|e| Failure::new(format!("GET {}: {e}", self.path)))?;
        connection.send(request).await?.expect(StatusCode::OK)?;
        Ok(())
    }
}

/// `count` connections to the server.
pub fn connections(context: &Context, count: usize) -> Vec<Connection> {
    (0..count).map(|_| Connection::new(context.addr)).collect()
}

/// A new user's `Cookie: access_token=…` header.
pub async fn access_cookie(context: &Context) -> anyhow::Result<HeaderValue> {
    let signed_up = context.population.sign_up(context.addr, 1).await?;
    let access = signed_up
        .first()
        .and_then(|user| user.cookies.get(cookies::ACCESS))
        .ok_or_else(|| anyhow::anyhow!("register answered without an access token cookie"))?;
    Ok(HeaderValue::from_str(&format!(
        "{}={access}",
        cookies::ACCESS
    ))?)
}

/// `GET /api/health`.
pub async fn health(context: &mut Context) -> anyhow::Result<Outcome> {
    let measurement = load::run(
        Get::new(paths::HEALTH, None),
        connections(context, CLIENTS),
        context.plan,
    )
    .await;
    context.health_rate = Some(measurement.rate());
    Ok(Outcome {
        name: ScenarioName::Health,
        case: String::new(),
        concurrency: CLIENTS.to_string(),
        measurement,
        notes: Vec::new(),
    })
}

/// `GET /api/products` as a signed-in user.
pub async fn products(context: &mut Context) -> anyhow::Result<Outcome> {
    authenticated(context, ScenarioName::Products, paths::PRODUCTS).await
}

/// `GET /api/me` as a signed-in user.
pub async fn me(context: &mut Context) -> anyhow::Result<Outcome> {
    authenticated(context, ScenarioName::Me, paths::ME).await
}

async fn authenticated(
    context: &Context,
    name: ScenarioName,
    path: &'static str,
) -> anyhow::Result<Outcome> {
    let cookie = access_cookie(context).await?;
    let mut measurement = load::run(
        Get::new(path, Some(cookie.clone())),
        connections(context, CLIENTS),
        context.plan,
    )
    .await;
    let mut notes: Vec<String> = context
        .health_rate
        .filter(|rate| *rate > 0.0)
        .map(|rate| format!("{:.2}× health", measurement.rate() / rate))
        .into_iter()
        .collect();
    if name == ScenarioName::Products && measurement.rate() > 0.0 {
        // As many new connections, spread over the pace, together at half the rate just
        // measured.
        let half = measurement.rate() / 2.0;
        let pace = Duration::from_secs_f64(CLIENTS as f64 / half);
        let paced = load::run(
            Get::new(path, Some(cookie)),
            connections(context, CLIENTS),
            context.plan.paced(pace),
        )
        .await;
        measurement.add_failures(&paced);
        notes.push(format!(
            "p99 at half that rate ({:.0} req/s): {}",
            paced.rate(),
            p99(&paced)
        ));
    }
    Ok(Outcome {
        name,
        case: String::new(),
        concurrency: CLIENTS.to_string(),
        measurement,
        notes,
    })
}

/// A measurement's p99 latency, for a note.
pub fn p99(measurement: &load::Measurement) -> String {
    format_ms(measurement.quantile_ms(0.99))
}

/// Milliseconds as the tables show them (`—`: none).
pub fn format_ms(ms: Option<f64>) -> String {
    ms.map_or_else(|| "—".to_owned(), |ms| format!("{ms:.2} ms"))
}
