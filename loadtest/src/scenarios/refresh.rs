//! `POST /api/auth/refresh`: each virtual client rotates its own session's refresh token
//! in a loop, as a browser does, carrying the rotated cookies from each answer to the next
//! request. Any answer but 200 is a failure (a lost rotation would show as
//! `invalid_refresh_token`).

use http::header::{self, HeaderValue};
use http::{Method, StatusCode};
use shared::names::{CSRF_HEADER, cookies, paths};

use super::{Context, Member, members};
use crate::client::{Body, Failure, request};
use crate::load::{self, Workload};
use crate::options::ScenarioName;
use crate::report::Outcome;

/// Virtual clients, each with a session of its own.
const CLIENTS: usize = 32;

/// Refreshes with the refresh and CSRF cookies and the double-submit header.
pub struct Refresh;

impl Workload for Refresh {
    type Client = Member;

    async fn step(&self, member: &mut Member) -> Result<(), Failure> {
        let csrf = member
            .user
            .cookies
            .get(cookies::CSRF)
            .ok_or_else(|| Failure::new("no CSRF cookie to send"))?;
        let csrf = HeaderValue::from_str(csrf)
            .map_err(|_| Failure::new("the CSRF cookie is not a valid header"))?;
        let request = request(Method::POST, paths::REFRESH)
            .header(
                header::COOKIE,
                member
                    .user
                    .cookies
                    .header(&[cookies::REFRESH, cookies::CSRF])?,
            )
            .header(CSRF_HEADER, csrf)
            .body(Body::default())
            .map_err(|e| Failure::new(format!("POST {}: {e}", paths::REFRESH)))?;
        let reply = member
            .connection
            .send(request)
            .await?
            .expect(StatusCode::OK)?;
        member.user.cookies.absorb(&reply.headers);
        Ok(())
    }
}

/// Signs up one user per client, then refreshes.
pub async fn run(context: &mut Context) -> anyhow::Result<Outcome> {
    let members = members(context, CLIENTS).await?;
    let measurement = load::run(Refresh, members, context.plan).await;
    Ok(Outcome {
        name: ScenarioName::Refresh,
        case: String::new(),
        concurrency: CLIENTS.to_string(),
        measurement,
        notes: Vec::new(),
    })
}
