//! `POST /api/auth/login` with right passwords, each request from an address of its own,
//! compared with the argon2id ceiling: how many hashes per second the machine's cores can
//! do at all, timed here with the backend's own parameters on every core at once while the
//! server is idle (as the logins hash: two hashes side by side share the caches and the
//! memory bus, and on a virtual machine perhaps one physical core, so each takes longer
//! than a hash alone; the time of a hash alone is given too).
//! A few paced readers of `/api/products` and of `/api/me` (a database read) run beside
//! the logins, to show what a login flood does to everyone else's latency, and a thread
//! of the tool waking another, to show how much of that is the machine's own (how long a
//! woken thread waits for a core).

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use http::{HeaderValue, StatusCode};
use shared::names::paths;

use super::reads::{self, Get, access_cookie, connections, p99};
use super::{Context, Member, members};
use crate::client::{Failure, post_json};
use crate::load::{self, Measurement, Plan, Workload};
use crate::machine::{self, WakeProbe};
use crate::options::ScenarioName;
use crate::report::Outcome;
use crate::users::{FORWARDED_FOR, Population};

/// Virtual clients signing in, each as its own user, one login at a time (more right
/// logins of one account at the very same moment would meet the throttle's delay).
const CLIENTS: usize = 8;
/// Readers of `/api/products`, and as many of `/api/me`, beside them.
const READERS: usize = 2;
/// Each reader sends a request every this often: enough for a p99, too few to take CPU
/// from the hashing.
const READER_PACE: Duration = Duration::from_millis(20);
/// A thread of the tool wakes another this often, beside the readers, to show the
/// machine's own share of their p99 ([`WakeProbe`]).
const PROBE_PACE: Duration = Duration::from_millis(5);
/// Hashes timed on each core for the ceiling before the logins and again after them (one
/// more runs first each time, untimed): the machine's speed drifts, so the ceiling is the
/// median over both. As many again are timed alone, on one thread.
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
    let cores = machine::cores();
    let mut side_by_side = time_hashes(hashes, cores).await?;
    let mut alone = time_hashes(hashes, 1).await?;

    let members = members(context, CLIENTS).await?;
    let cookie = access_cookie(context).await?;
    let reading = context.plan.paced(READER_PACE);
    let probe = WakeProbe::start(PROBE_PACE);
    let (idle, idle_me) = read(context, &cookie, reading).await;
    let idle_wake = tokio::task::spawn_blocking(|| probe.finish()).await?;

    let login = Login {
        population: Arc::clone(&context.population),
    };
    let probe = WakeProbe::start(PROBE_PACE);
    let (mut measurement, (flooded, flooded_me)) = tokio::join!(
        load::run(login, members, context.plan),
        read(context, &cookie, reading),
    );
    let flooded_wake = tokio::task::spawn_blocking(|| probe.finish()).await?;
    for readers in [&idle, &idle_me, &flooded, &flooded_me] {
        measurement.add_failures(readers);
    }

    side_by_side.extend(time_hashes(hashes, cores).await?);
    alone.extend(time_hashes(hashes, 1).await?);
    let per_hash = median(&mut side_by_side);
    let ceiling = cores as f64 / per_hash.as_secs_f64();
    let alone = median(&mut alone);

    let mut notes = vec![
        format!(
            "{:.0}% of the argon2id ceiling ({:.1}/s: {cores} cores ÷ {:.1} ms per hash with every core hashing, median of {} before and after; a hash alone {:.1} ms)",
            100.0 * measurement.rate() / ceiling,
            ceiling,
            millis(per_hash),
            side_by_side.len(),
            millis(alone),
        ),
        format!(
            "products p99 with {READERS} readers: {} idle, {} during logins",
            p99(&idle),
            p99(&flooded)
        ),
        format!(
            "me p99 with {READERS} readers (a database read each): {} idle, {} during logins",
            p99(&idle_me),
            p99(&flooded_me)
        ),
        format!(
            "a thread woken by another waited (p99) {} idle, {} during logins",
            reads::format_ms(idle_wake),
            reads::format_ms(flooded_wake)
        ),
    ];
    if let Some(memory) = context.memory() {
        notes.push(format!("peak RSS {}", machine::mib(memory.peak_kib)));
    }
    Ok(Outcome {
        name: ScenarioName::Login,
        case: String::new(),
        concurrency: format!("{CLIENTS} (+{} readers)", 2 * READERS),
        measurement,
        notes,
    })
}

/// The readers of `/api/products` and those of `/api/me`, each group paced by `reading`
/// and spreading its readers evenly over the pace; the second group starts half a step
/// later, so that no two readers send at the same moment.
async fn read(
    context: &Context,
    cookie: &HeaderValue,
    reading: Plan,
) -> (Measurement, Measurement) {
    let step = READER_PACE / u32::try_from(2 * READERS).unwrap_or(u32::MAX);
    let products = load::run(
        Get::new(paths::PRODUCTS, Some(cookie.clone())),
        connections(context, READERS),
        reading,
    );
    let me = async {
        tokio::time::sleep(step).await;
        load::run(
            Get::new(paths::ME, Some(cookie.clone())),
            connections(context, READERS),
            reading,
        )
        .await
    };
    tokio::join!(products, me)
}

/// The times of `count` hashes with the backend's own argon2id parameters on each of
/// `threads` threads at once, one after the other on each (the ceiling takes their median,
/// so that another process taking a core for a moment does not count).
async fn time_hashes(count: usize, threads: usize) -> anyhow::Result<Vec<Duration>> {
    let threads = threads.max(1);
    tokio::task::spawn_blocking(move || {
        let start = Barrier::new(threads);
        std::thread::scope(|scope| {
            let hashing: Vec<_> = (0..threads)
                .map(|_| scope.spawn(|| hash_times(count, &start)))
                .collect();
            let mut times = Vec::with_capacity(count * threads);
            for thread in hashing {
                let timed = thread
                    .join()
                    .map_err(|_| anyhow::anyhow!("a hashing thread panicked"))?;
                times.extend(timed?);
            }
            Ok(times)
        })
    })
    .await?
}

/// Times `count` hashes once every thread at `start` is there.
fn hash_times(count: usize, start: &Barrier) -> anyhow::Result<Vec<Duration>> {
    // The first hash also maps the memory it works in. Whatever becomes of it (an error,
    // a panic), this thread reaches the barrier, so that none is left waiting there.
    let warmed = std::panic::catch_unwind(|| {
        let password = backend::crypto::random_token(15);
        backend::auth::password::hash_blocking(&password).map(|_| password)
    });
    start.wait();
    let password = warmed.map_err(|_| anyhow::anyhow!("a hash panicked"))??;
    let mut times = Vec::with_capacity(count);
    for _ in 0..count.max(1) {
        let started = Instant::now();
        backend::auth::password::hash_blocking(&password)?;
        times.push(started.elapsed());
    }
    Ok(times)
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort_unstable();
    times[times.len() / 2]
}

fn millis(time: Duration) -> f64 {
    time.as_secs_f64() * 1000.0
}
