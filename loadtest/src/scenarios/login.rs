//! `POST /api/auth/login` with right passwords, each request from an address of its own,
//! compared with the argon2id ceiling: how many hashes per second the machine's cores can
//! do at all, timed here with the backend's own parameters while the server is idle.
//! A few paced readers of `/api/products` run beside the logins, to show what a login
//! flood does to everyone else's latency.

use std::sync::Arc;
use std::time::{Duration, Instant};

use http::StatusCode;
use shared::names::paths;

use super::reads::{Get, access_cookie, connections, p99};
use super::{Context, Member, members};
use crate::client::{Failure, post_json};
use crate::load::{self, Workload};
use crate::machine;
use crate::options::ScenarioName;
use crate::report::Outcome;
use crate::users::{FORWARDED_FOR, Population};

/// Virtual clients signing in, each as its own user, one login at a time (more right
/// logins of one account at the very same moment would meet the throttle's delay).
const CLIENTS: usize = 8;
/// Readers of `/api/products` beside them.
const READERS: usize = 2;
/// Each reader sends a request every this often: enough for a p99, too few to take CPU
/// from the hashing.
const READER_PACE: Duration = Duration::from_millis(20);
/// Hashes timed for the ceiling before the logins and again after them (one more runs
/// first each time, untimed): the machine's speed drifts, so the ceiling is the median
/// over both.
const HASHES: usize = 11;
const QUICK_HASHES: usize = 3;

/// Signs in with the right password, from a new address each time.
pub struct Login {
    population: Arc<Population>,
}

impl Workload for Login {
    type Client = Member;

    async fn step(&self, member: &mut Member) -> Result<(), Failure> {
        let mut request = post_json(paths::LOGIN, &member.user.account.credentials);
        request
            .headers_mut()
            .insert(FORWARDED_FOR, self.population.address());
        member
            .connection
            .send(request)
            .await?
            .expect(StatusCode::OK)?;
        Ok(())
    }
}

/// Times hashes, signs up the users, measures the readers alone, then the logins with the
/// readers beside them (for as long, so that both p99s rest on as many requests), then
/// times hashes again.
pub async fn run(context: &mut Context) -> anyhow::Result<Outcome> {
    let hashes = if context.quick { QUICK_HASHES } else { HASHES };
    let mut hash_times = time_hashes(hashes).await?;

    let members = members(context, CLIENTS).await?;
    let cookie = access_cookie(context).await?;
    let reading = context.plan.paced(READER_PACE);
    let idle = load::run(
        Get::new(paths::PRODUCTS, Some(cookie.clone())),
        connections(context, READERS),
        reading,
    )
    .await;

    let login = Login {
        population: Arc::clone(&context.population),
    };
    let (mut measurement, flooded) = tokio::join!(
        load::run(login, members, context.plan),
        load::run(
            Get::new(paths::PRODUCTS, Some(cookie)),
            connections(context, READERS),
            reading,
        ),
    );
    measurement.add_failures(&idle);
    measurement.add_failures(&flooded);

    hash_times.extend(time_hashes(hashes).await?);
    hash_times.sort_unstable();
    let per_hash = hash_times[hash_times.len() / 2];
    let cores = machine::cores();
    let ceiling = cores as f64 / per_hash.as_secs_f64();

    let mut notes = vec![
        format!(
            "{:.0}% of the argon2id ceiling ({:.1}/s: {cores} cores ÷ {:.1} ms per hash, median of {} before and after)",
            100.0 * measurement.rate() / ceiling,
            ceiling,
            per_hash.as_secs_f64() * 1000.0,
            hash_times.len()
        ),
        format!(
            "products p99 with {READERS} readers: {} idle, {} during logins",
            p99(&idle),
            p99(&flooded)
        ),
    ];
    if let Some(memory) = context.memory() {
        notes.push(format!("peak RSS {}", machine::mib(memory.peak_kib)));
    }
    Ok(Outcome {
        name: ScenarioName::Login,
        case: String::new(),
        concurrency: format!("{CLIENTS} (+{READERS} readers)"),
        measurement,
        notes,
    })
}

/// The times of `count` hashes with the backend's own argon2id parameters, one after the
/// other on one thread (the ceiling takes their median, so that another process taking the
/// core for a moment does not count).
async fn time_hashes(count: usize) -> anyhow::Result<Vec<Duration>> {
    tokio::task::spawn_blocking(move || {
        let password = backend::crypto::random_token(15);
        // The first hash also maps the memory it works in.
        backend::auth::password::hash_blocking(&password)?;
        let mut times = Vec::with_capacity(count);
        for _ in 0..count.max(1) {
            let started = Instant::now();
            backend::auth::password::hash_blocking(&password)?;
            times.push(started.elapsed());
        }
        Ok(times)
    })
    .await?
}
