//! Hostile clients beside normal ones: thousands of connections that send nothing,
//! request heads sent a byte at a time (slowloris), bodies that never finish; each is
//! opened again as soon as the server closes it, so the pressure never lets up. Meanwhile
//! a new user signs up and signs in, and paced readers of `/api/me` are measured.
//!
//! The server must close what never finishes (its header read timeout and request time
//! limit) and keep serving everyone else; without those bounds the idle connections
//! would pile up until it ran out of file descriptors.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use http::StatusCode;
use shared::names::paths;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::reads::{Get, access_cookie, connections};
use super::{Context, members};
use crate::client::{Failure, post_json};
use crate::load;
use crate::machine;
use crate::options::ScenarioName;
use crate::report::Outcome;

/// Connections that send nothing [quick: 500].
const IDLE: usize = 10_000;
const QUICK_IDLE: usize = 500;
/// Connections sending a request head, and others a body, a byte at a time [quick: 50].
const SLOW: usize = 200;
const QUICK_SLOW: usize = 50;
/// How often a slow client sends its next byte.
const DRIP: Duration = Duration::from_millis(500);
/// Paced readers of `/api/me`, one request each this often.
const READERS: usize = 8;
const READER_PACE: Duration = Duration::from_millis(10);
/// `/api/me`'s p99 bound while the attack runs (full runs only).
const P99_LIMIT_MS: f64 = 50.0;
/// The server's header read timeout, and a margin: in a run at least this long, the
/// server must have closed hostile connections.
const CUT_OFF_BY: Duration = Duration::from_secs(15);
/// How long the attackers may take to open their connections.
const OPENING_TIME: Duration = Duration::from_secs(30);

/// What the attackers saw.
#[derive(Default)]
struct Tally {
    /// Connections opened, reopenings included.
    opened: AtomicU64,
    /// Connections the server closed (or answered 408 and closed).
    closed: AtomicU64,
    /// Connections the server answered with anything but a 408.
    answered: AtomicU64,
}

/// The three kinds of hostile connection.
#[derive(Clone, Copy)]
enum Attack {
    /// Opens the connection and sends nothing.
    Idle,
    /// Sends a request head one header byte at a time, never its end.
    SlowHead,
    /// Sends a whole head announcing a body, then the body a byte at a time.
    SlowBody,
}

impl Attack {
    /// What is sent at once on connecting.
    fn opening(self) -> &'static [u8] {
        match self {
            Self::Idle => b"",
            Self::SlowHead => b"GET /api/me HTTP/1.1\r\nHost: localhost\r\nX-Slow: ",
            Self::SlowBody => {
                b"POST /api/auth/login HTTP/1.1\r\nHost: localhost\r\n\
                  Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"email\":\""
            }
        }
    }

    /// What is sent at each drip.
    fn drip(self) -> Option<&'static [u8]> {
        match self {
            Self::Idle => None,
            Self::SlowHead | Self::SlowBody => Some(b"a"),
        }
    }
}

/// Keeps one hostile connection open, opening it again whenever the server closes it,
/// until `stop`.
async fn attacker(
    addr: std::net::SocketAddr,
    attack: Attack,
    tally: Arc<Tally>,
    mut stop: watch::Receiver<bool>,
) {
    while !*stop.borrow() {
        let Ok(mut stream) = TcpStream::connect(addr).await else {
            // Out of ports or descriptors for a moment: try again shortly.
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        tally.opened.fetch_add(1, Ordering::Relaxed);
        if stream.write_all(attack.opening()).await.is_err() {
            tally.closed.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        let mut reply = [0u8; 12];
        let mut drip = tokio::time::interval(DRIP);
        drip.tick().await;
        loop {
            tokio::select! {
                _ = stop.changed() => return,
                read = stream.read(&mut reply) => {
                    match read {
                        Ok(n) if n > 0 && !reply[..n].starts_with(b"HTTP/1.1 408") => {
                            tally.answered.fetch_add(1, Ordering::Relaxed);
                        }
                        _ => {}
                    }
                    tally.closed.fetch_add(1, Ordering::Relaxed);
                    break;
                }
                _ = drip.tick(), if attack.drip().is_some() => {
                    if stream.write_all(attack.drip().unwrap_or_default()).await.is_err() {
                        tally.closed.fetch_add(1, Ordering::Relaxed);
                        break;
                    }
                }
            }
        }
    }
}

/// Signs a new user up, then in with its password.
async fn sign_up_and_in(context: &Context) -> Result<(), Failure> {
    let mut newcomer = members(context, 1)
        .await
        .map_err(|e| Failure::new(format!("sign-up during the attack: {e}")))?;
    let member = newcomer
        .first_mut()
        .ok_or_else(|| Failure::new("sign-up during the attack made no user"))?;
    let login = post_json(paths::LOGIN, &member.user.account.credentials);
    member
        .connection
        .send(login)
        .await?
        .expect(StatusCode::OK)?;
    Ok(())
}

/// Raises this process's soft limit on open files to its hard limit: the attackers hold
/// thousands of connections.
fn raise_descriptor_limit() -> u64 {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    match getrlimit(Resource::RLIMIT_NOFILE) {
        Ok((soft, hard)) => {
            if soft < hard && setrlimit(Resource::RLIMIT_NOFILE, hard, hard).is_ok() {
                hard
            } else {
                soft
            }
        }
        Err(_) => 1024,
    }
}

/// Opens the hostile connections, waits until they are all open, then signs a new user
/// up and in and measures the readers while the attack goes on.
pub async fn run(context: &mut Context) -> anyhow::Result<Outcome> {
    let (idle, slow) = if context.quick {
        (QUICK_IDLE, QUICK_SLOW)
    } else {
        (IDLE, SLOW)
    };
    let descriptors = raise_descriptor_limit();
    let wanted = (idle + 2 * slow + READERS + 64) as u64;
    anyhow::ensure!(
        descriptors >= wanted,
        "{wanted} open files needed, the limit is {descriptors} (ulimit -n)"
    );
    let cookie = access_cookie(context).await?;
    let tally = Arc::new(Tally::default());
    let (stop, stopped) = watch::channel(false);
    let mut attackers = JoinSet::new();
    let kinds = std::iter::repeat_n(Attack::Idle, idle)
        .chain(std::iter::repeat_n(Attack::SlowHead, slow))
        .chain(std::iter::repeat_n(Attack::SlowBody, slow));
    for attack in kinds {
        attackers.spawn(attacker(
            context.addr,
            attack,
            Arc::clone(&tally),
            stopped.clone(),
        ));
    }
    let total = (idle + 2 * slow) as u64;
    let opening = Instant::now();
    while tally.opened.load(Ordering::Relaxed) < total && opening.elapsed() < OPENING_TIME {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let opened_in = opening.elapsed();

    // A newcomer signs up and signs in while the attack runs.
    let newcomer = sign_up_and_in(context).await;
    let mut measurement = load::run(
        Get::new(paths::ME, Some(cookie)),
        connections(context, READERS),
        context.plan.paced(READER_PACE),
    )
    .await;
    let memory = context.memory();
    stop.send_replace(true);
    while attackers.join_next().await.is_some() {}
    if let Err(failure) = &newcomer {
        measurement.fail(failure.clone());
    }

    let p99 = measurement.quantile_ms(0.99);
    if !context.quick
        && let Some(p99) = p99
        && p99 > P99_LIMIT_MS
    {
        measurement.fail(Failure::new(format!(
            "/api/me p99 {p99:.1} ms during the attack (limit {P99_LIMIT_MS} ms)"
        )));
    }
    let attacked_for = opening.elapsed();
    if attacked_for > CUT_OFF_BY && tally.closed.load(Ordering::Relaxed) == 0 {
        measurement.fail(Failure::new(format!(
            "no hostile connection was closed by the server in {:.0} s",
            attacked_for.as_secs_f64()
        )));
    }
    let answered = tally.answered.load(Ordering::Relaxed);
    if answered > 0 {
        measurement.fail(Failure::new(format!(
            "{answered} hostile connections were answered (not 408) instead of cut off"
        )));
    }
    let mut notes = vec![format!(
        "{} hostile connections opened, {} closed by the server; {total} open after {:.1} s",
        tally.opened.load(Ordering::Relaxed),
        tally.closed.load(Ordering::Relaxed),
        opened_in.as_secs_f64()
    )];
    if newcomer.is_ok() {
        notes.push("a newcomer signed up and in".to_owned());
    }
    if let Some(memory) = memory {
        notes.push(format!("RSS {} under attack", machine::mib(memory.rss_kib)));
    }
    Ok(Outcome {
        name: ScenarioName::Hostile,
        case: format!("{idle} idle, {slow} slow heads, {slow} slow bodies"),
        concurrency: format!("{READERS} paced"),
        measurement,
        notes,
    })
}
