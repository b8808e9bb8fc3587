//! `soak`: many users, each looping sign-in → `/api/me` and `/api/products` → refresh
//! (every few cycles two tabs refreshing the same token at once) → now and then sign-out,
//! beside readers of `/api/products`, for a minute, on a database of its own and on one or
//! several server instances sharing it (each user going from one instance to another
//! between requests). The servers' memory is read at a fixed interval.
//!
//! What counts as failed: any answer but the expected one (a 5xx, a refused refresh, a
//! 401 on a read with an access token that has not expired), and two tabs' refreshes that
//! end with different refresh tokens. A read answered 401 is retried once after a refresh,
//! as the SPA does, and counted. After the run, every `refresh_token_reuse` audit event is
//! a session revoked by a false alarm: none is expected, and any is a problem.
//!
//! The `crash` scenario plays the same users, each keeping a [`Ledger`] of its sessions;
//! the `outage` scenario plays them too, with requests of its own that take a 503 as a
//! browser would.

pub mod journey;
pub mod ledger;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use hdrhistogram::Histogram;
use http::header::{self, HeaderValue};
use http::{Method, Request, StatusCode};
use shared::names::{CSRF_HEADER, cookies, paths};
use tokio::time::Instant;

use self::journey::{Action, Journey};
use self::ledger::{Ended, Ledger, Pending};
use crate::client::{Body, Connection, Cookies, Failure, Reply, post_json, request};
use crate::database::FreshDatabase;
use crate::load::{self, Workload};
use crate::machine;
use crate::options::{Options, ScenarioName};
use crate::report::{self, Outcome, Report, Section};
use crate::rss;
use crate::server::{self, Launch, Server};
use crate::users::{Account, FORWARDED_FOR, Population, SignedUp};

/// The servers' access-token lifetime: short, so that the revoked-session set (kept for
/// a token's lifetime and a margin) reaches its steady size within the soak.
pub const ACCESS_TOKEN_TTL: Duration = Duration::from_secs(15);
/// A read answered 401 with an access token younger than its lifetime less this margin
/// is a wrongful sign-out (the margin covers the time between the server signing the
/// token and the client receiving it).
pub(super) const FRESHNESS_MARGIN: Duration = Duration::from_secs(2);
/// How often the servers' memory is read (every second with `--quick`).
const RSS_EVERY: Duration = Duration::from_secs(10);
const QUICK_RSS_EVERY: Duration = Duration::from_secs(1);
/// The audit action of a refresh-token replay outside the grace window.
pub const REUSE_ACTION: &str = "refresh_token_reuse";
/// Distinct warnings and errors of the servers shown in the report.
pub(super) const LOGGED_SHOWN: usize = 5;
/// The largest latency the per-request histograms hold, in microseconds.
const MAX_LATENCY_MICROS: u64 = 60_000_000;

/// A virtual client of the soak: an account, its cookies, two connections (two tabs,
/// each to an instance of its own when there are several) and where it is in its journey.
pub struct Visitor {
    account: Account,
    /// Its `X-Forwarded-For`, the same for every sign-in (one browser, one address).
    address: HeaderValue,
    pub(super) cookies: Cookies,
    pub(super) tabs: [Connection; 2],
    /// The tab the next request goes out on: they take turns.
    next_tab: usize,
    pub(super) journey: Journey,
    /// When the access token held was received.
    pub(super) access_since: Option<Instant>,
    /// When the first request may go (users start one after another over the warm-up).
    pub(super) start_at: Option<Instant>,
    /// What its sessions went through, when kept.
    ledger: Option<Arc<Mutex<Ledger>>>,
}

/// Visitors for `signed_up` accounts, each from an address of its own, holding the
/// session of its sign-up; visitor `index` has its first tab on instance `index` of
/// `addrs` and its second on the next (in turn). They read until they
/// [`follow`](Visitor::follow) a user's journey.
pub fn visitors(
    signed_up: Vec<SignedUp>,
    population: &Population,
    addrs: &[SocketAddr],
) -> Vec<Visitor> {
    let instances = addrs.len();
    signed_up
        .into_iter()
        .enumerate()
        .map(|(index, signed_up)| Visitor {
            account: signed_up.account,
            address: population.address(),
            cookies: signed_up.cookies,
            tabs: [
                Connection::new(addrs[index % instances]),
                Connection::new(addrs[(index + 1) % instances]),
            ],
            next_tab: 0,
            journey: Journey::reader(),
            // Unknown age: a reader refreshes first.
            access_since: None,
            start_at: None,
            ledger: None,
        })
        .collect()
}

impl Visitor {
    /// Follows `journey` from `start_at` on.
    pub fn follow(&mut self, journey: Journey, start_at: Instant) {
        self.journey = journey;
        self.start_at = Some(start_at);
    }

    /// The account it signs in to.
    pub fn account(&self) -> &Account {
        &self.account
    }

    /// Its `X-Forwarded-For`.
    pub fn address(&self) -> &HeaderValue {
        &self.address
    }

    /// Keeps a ledger of its sessions from now on, the one it holds first, and returns it.
    pub fn keep_ledger(&mut self) -> Arc<Mutex<Ledger>> {
        let mut ledger = Ledger::default();
        ledger.started(&self.cookies);
        let ledger = Arc::new(Mutex::new(ledger));
        self.ledger = Some(Arc::clone(&ledger));
        ledger
    }

    /// How many of its sessions were signed out with a 204, as far as its ledger knows.
    pub fn sign_outs(&self) -> usize {
        self.ledger.as_ref().map_or(0, |ledger| {
            ledger.lock().unwrap_or_else(|e| e.into_inner()).sign_outs()
        })
    }

    /// Writes in its ledger, when it keeps one.
    fn note(&self, write: impl FnOnce(&mut Ledger)) {
        if let Some(ledger) = &self.ledger {
            write(&mut ledger.lock().unwrap_or_else(|e| e.into_inner()));
        }
    }

    /// The connection of the next request (the tabs, and so the instances, take turns).
    pub(super) fn tab(&mut self) -> &mut Connection {
        let tab = self.next_tab;
        self.next_tab = 1 - tab;
        &mut self.tabs[tab]
    }

    pub(super) fn token_age(&self) -> Duration {
        self.access_since
            .map_or(Duration::MAX, |since| since.elapsed())
    }

    /// Takes in a sign-in's or refresh's cookies, a new access token among them.
    pub(super) fn signed_in(&mut self, reply: &Reply) {
        self.cookies.absorb(&reply.headers);
        self.access_since = Some(Instant::now());
    }

    pub(super) fn signed_out(&mut self) {
        self.journey.signed_out();
        self.access_since = None;
    }
}

/// `POST /api/auth/refresh` with the refresh and CSRF cookies and the CSRF header.
pub fn refresh_request(jar: &Cookies) -> Result<Request<Body>, Failure> {
    let csrf = jar
        .get(cookies::CSRF)
        .ok_or_else(|| Failure::new("no CSRF cookie to send"))?;
    let csrf = HeaderValue::from_str(csrf)
        .map_err(|_| Failure::new("the CSRF cookie is not a valid header"))?;
    request(Method::POST, paths::REFRESH)
        .header(
            header::COOKIE,
            jar.header(&[cookies::REFRESH, cookies::CSRF])?,
        )
        .header(CSRF_HEADER, csrf)
        .body(Body::default())
        .map_err(|e| Failure::new(format!("POST {}: {e}", paths::REFRESH)))
}

/// Counts and latencies of one kind of request.
#[derive(Debug, Clone)]
struct Tally {
    latencies: Histogram<u64>,
    failed: u64,
}

impl Default for Tally {
    fn default() -> Self {
        Self {
            latencies: Histogram::new_with_bounds(1, MAX_LATENCY_MICROS, 3)
                .expect("constant histogram bounds are valid"),
            failed: 0,
        }
    }
}

/// What a soak's clients did, by kind of request (warm-up included: it is about what the
/// server answered, not about speed).
#[derive(Debug, Default)]
pub struct Stats {
    by_action: BTreeMap<Action, Tally>,
    /// Reads answered 401 and retried after a refresh.
    pub retried: u64,
    /// Of those, the ones whose access token had not expired.
    pub wrongful_401: u64,
    /// Refreshes refused (two tabs counting as one).
    pub refused_refreshes: u64,
    /// Answers with a 5xx status.
    pub server_errors: u64,
}

impl Stats {
    fn record(&mut self, action: Action, took: Duration, ok: bool) {
        let tally = self.by_action.entry(action).or_default();
        if ok {
            let micros = u64::try_from(took.as_micros()).unwrap_or(MAX_LATENCY_MICROS);
            tally.latencies.saturating_record(micros.max(1));
        } else {
            tally.failed += 1;
        }
    }
}

/// The soak's workload: one request of the journey per step (two at once for two tabs).
pub struct Soak {
    stats: Arc<Mutex<Stats>>,
    /// The servers' access-token lifetime.
    ttl: Duration,
}

impl Soak {
    /// Counting into `stats`, on servers whose access tokens live `ttl`.
    pub fn new(stats: Arc<Mutex<Stats>>, ttl: Duration) -> Self {
        Self { stats, ttl }
    }

    fn stats(&self) -> std::sync::MutexGuard<'_, Stats> {
        self.stats.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sends on the visitor's next tab, counting 5xx answers.
    async fn send(&self, visitor: &mut Visitor, request: Request<Body>) -> Result<Reply, Failure> {
        let reply = visitor.tab().send(request).await?;
        self.count_status(&reply);
        Ok(reply)
    }

    fn count_status(&self, reply: &Reply) {
        if reply.status.is_server_error() {
            self.stats().server_errors += 1;
        }
    }

    async fn login(&self, visitor: &mut Visitor) -> Result<(), Failure> {
        let request = login_request(visitor)?;
        let reply = self.send(visitor, request).await?.expect(StatusCode::OK)?;
        visitor.signed_in(&reply);
        visitor.note(|ledger| ledger.started(&visitor.cookies));
        Ok(())
    }

    /// `GET path` with the access cookie; a 401 is answered by one refresh and one retry,
    /// and is a failure unless the access token had expired.
    async fn read(&self, visitor: &mut Visitor, path: &'static str) -> Result<(), Failure> {
        let reply = self
            .send(visitor, access_request(&visitor.cookies, path)?)
            .await?;
        if reply.status != StatusCode::UNAUTHORIZED {
            reply.expect(StatusCode::OK)?;
            return Ok(());
        }
        let fresh = visitor.token_age().saturating_add(FRESHNESS_MARGIN) < self.ttl;
        {
            let mut stats = self.stats();
            stats.retried += 1;
            stats.wrongful_401 += u64::from(fresh);
        }
        self.refresh(visitor).await?;
        self.send(visitor, access_request(&visitor.cookies, path)?)
            .await?
            .expect(StatusCode::OK)?;
        if fresh {
            return Err(reply.failure("with an access token that had not expired"));
        }
        Ok(())
    }

    async fn refresh(&self, visitor: &mut Visitor) -> Result<(), Failure> {
        let request = refresh_request(&visitor.cookies)?;
        visitor.note(|ledger| ledger.sending(Pending::Refresh));
        let reply = self.send(visitor, request).await?;
        if reply.status != StatusCode::OK {
            self.stats().refused_refreshes += 1;
            visitor.note(|ledger| ledger.answered(ended_by(&reply)));
            visitor.signed_out();
            return Err(reply.failure("(refresh refused)"));
        }
        visitor.signed_in(&reply);
        visitor.note(|ledger| ledger.refreshed(&visitor.cookies));
        Ok(())
    }

    /// Both tabs refresh with the same token at once: both must get 200 and the same new
    /// refresh token (the grace window); the user goes on with the first answer.
    async fn two_tab_refresh(&self, visitor: &mut Visitor) -> Result<(), Failure> {
        let (first, second) = (
            refresh_request(&visitor.cookies)?,
            refresh_request(&visitor.cookies)?,
        );
        visitor.note(|ledger| ledger.sending(Pending::Refresh));
        let [left, right] = &mut visitor.tabs;
        let (first, second) = tokio::join!(left.send(first), right.send(second));
        let replies = [first?, second?];
        for reply in &replies {
            self.count_status(reply);
        }
        let [first, second] = replies;
        let tokens = [refresh_cookie(&first), refresh_cookie(&second)];
        let outcome = match (first.status, second.status) {
            (StatusCode::OK, StatusCode::OK) if tokens[0] == tokens[1] => Ok(()),
            (StatusCode::OK, StatusCode::OK) => Err(Failure::new(
                "two tabs refreshing one token got different refresh tokens",
            )),
            (StatusCode::OK, _) => Err(second.failure("(the second tab's refresh refused)")),
            _ => Err(first.failure("(the first tab's refresh refused)")),
        };
        match [&first, &second]
            .into_iter()
            .find(|reply| reply.status == StatusCode::OK)
        {
            Some(reply) => {
                visitor.signed_in(reply);
                visitor.note(|ledger| ledger.refreshed(&visitor.cookies));
            }
            None => {
                visitor.note(|ledger| ledger.answered(ended_by(&first).or(ended_by(&second))));
                visitor.signed_out();
            }
        }
        if outcome.is_err() {
            self.stats().refused_refreshes += 1;
        }
        outcome
    }

    async fn logout(&self, visitor: &mut Visitor) -> Result<(), Failure> {
        let request = logout_request(&visitor.cookies)?;
        visitor.note(|ledger| ledger.sending(Pending::Logout));
        let reply = self.send(visitor, request).await?;
        let logged_out = reply.status == StatusCode::NO_CONTENT;
        visitor.note(|ledger| ledger.answered(logged_out.then_some(Ended::LoggedOut)));
        let reply = reply.expect(StatusCode::NO_CONTENT)?;
        visitor.cookies.absorb(&reply.headers);
        visitor.access_since = None;
        Ok(())
    }
}

impl Workload for Soak {
    type Client = Visitor;

    async fn step(&self, visitor: &mut Visitor) -> Result<(), Failure> {
        if let Some(start_at) = visitor.start_at.take() {
            tokio::time::sleep_until(start_at).await;
        }
        let action = visitor.journey.next(visitor.token_age() >= self.ttl / 2);
        let started = Instant::now();
        let outcome = match action {
            Action::Login => self.login(visitor).await,
            Action::Me => self.read(visitor, paths::ME).await,
            Action::Products => self.read(visitor, paths::PRODUCTS).await,
            Action::Refresh => self.refresh(visitor).await,
            Action::TwoTabRefresh => self.two_tab_refresh(visitor).await,
            Action::Logout => self.logout(visitor).await,
        };
        if action == Action::Login && outcome.is_err() {
            visitor.signed_out();
        }
        self.stats()
            .record(action, started.elapsed(), outcome.is_ok());
        outcome
    }
}

/// `POST /api/auth/login` with the visitor's password from its own address, and the
/// device cookie of its previous sign-in, as a browser sends it.
pub fn login_request(visitor: &Visitor) -> Result<Request<Body>, Failure> {
    let mut request = post_json(paths::LOGIN, &visitor.account.credentials);
    request
        .headers_mut()
        .insert(FORWARDED_FOR, visitor.address.clone());
    if visitor.cookies.get(cookies::DEVICE).is_some() {
        request
            .headers_mut()
            .insert(header::COOKIE, visitor.cookies.header(&[cookies::DEVICE])?);
    }
    Ok(request)
}

/// `POST /api/auth/logout` with the session cookies of `jar` and the CSRF header.
pub fn logout_request(jar: &Cookies) -> Result<Request<Body>, Failure> {
    let csrf = jar
        .get(cookies::CSRF)
        .and_then(|csrf| HeaderValue::from_str(csrf).ok())
        .ok_or_else(|| Failure::new("no CSRF cookie to send"))?;
    request(Method::POST, paths::LOGOUT)
        .header(
            header::COOKIE,
            jar.header(&[cookies::ACCESS, cookies::REFRESH, cookies::CSRF])?,
        )
        .header(CSRF_HEADER, csrf)
        .body(Body::default())
        .map_err(|e| Failure::new(format!("POST {}: {e}", paths::LOGOUT)))
}

/// `GET path` with the access cookie of `jar`.
pub fn access_request(jar: &Cookies, path: &'static str) -> Result<Request<Body>, Failure> {
    request(Method::GET, path)
        .header(header::COOKIE, jar.header(&[cookies::ACCESS])?)
        .body(Body::default())
        .map_err(|e| Failure::new(format!("GET {path}: {e}")))
}

/// How a refused refresh's answer leaves its session: a 401 ended it; anything else (a
/// 5xx) says nothing of it.
fn ended_by(reply: &Reply) -> Option<Ended> {
    (reply.status == StatusCode::UNAUTHORIZED).then_some(Ended::Refused)
}

/// The refresh token an answer sets, if any.
pub fn refresh_cookie(reply: &Reply) -> Option<String> {
    let mut jar = Cookies::default();
    jar.absorb(&reply.headers);
    jar.get(cookies::REFRESH).map(str::to_owned)
}

/// Runs the soak on a database of its own and adds its rows and sections to `report`.
pub async fn run(options: &Options, dir: &Path, report: &mut Report) -> anyhow::Result<()> {
    super::with_own_database(options, dir, "soak", report, run_on).await
}

async fn run_on(
    options: &Options,
    dir: &Path,
    database: &FreshDatabase,
    report: &mut Report,
) -> anyhow::Result<()> {
    let bin = options.server_bin();
    let secret = server::random_secret();
    let instances = usize::from(options.instances);
    let log_names: Vec<String> = (1..=instances)
        .map(|n| format!("server-soak-{n}.log"))
        .collect();
    // One after another: the first applies the migrations.
    let mut servers = Vec::with_capacity(instances);
    for log_name in &log_names {
        let launch = Launch {
            bin: &bin,
            dir,
            log_name,
            database_url: database.url(),
            jwt_secret: &secret,
            jwt_alg: options.jwt_alg,
            access_token_ttl: Some(ACCESS_TOKEN_TTL),
            revocation_max_staleness: None,
            rust_log: &options.rust_log,
        };
        servers.push(Server::start(&launch).await?);
    }
    let addrs: Vec<_> = servers.iter().map(Server::addr).collect();
    let pids: Vec<u32> = servers.iter().map(Server::child_id).collect();
    let (users, readers) = options.soak_clients();
    let plan = options.soak_plan();

    let population = Population::new();
    let signed_up = population
        .sign_up(addrs[0], users + readers)
        .await
        .context("cannot sign up the soak's users")?;
    let mut visitors = self::visitors(signed_up, &population, &addrs);
    let readers_visitors = visitors.split_off(users);
    // Users sign in one after another over the warm-up (their sign-up sessions stay
    // idle), so that the first sign-ins do not all queue for the hashing threads at once.
    let start = Instant::now();
    for (index, visitor) in visitors.iter_mut().enumerate() {
        visitor.follow(
            Journey::user(index as u64),
            start + plan.warmup.mul_f64(index as f64 / users as f64),
        );
    }

    let user_stats = Arc::new(Mutex::new(Stats::default()));
    let reader_stats = Arc::new(Mutex::new(Stats::default()));
    let every = if options.quick {
        QUICK_RSS_EVERY
    } else {
        RSS_EVERY
    };
    let until = start + plan.warmup + plan.duration;
    let (user_measurement, reader_measurement, series) = tokio::join!(
        load::run(
            Soak::new(Arc::clone(&user_stats), ACCESS_TOKEN_TTL),
            visitors,
            plan,
        ),
        load::run(
            Soak::new(Arc::clone(&reader_stats), ACCESS_TOKEN_TTL),
            readers_visitors,
            plan,
        ),
        rss::sample(&pids, every, until),
    );

    let mut log_lines = Vec::new();
    let mut logged = Vec::new();
    for (index, mut server) in servers.into_iter().enumerate() {
        let name = instance_name(index, instances);
        let (warnings, errors) = (server.log_lines_at("WARN"), server.log_lines_at("ERROR"));
        let counts = format!("{} WARN, {} ERROR lines", warnings.len(), errors.len());
        log_lines.push(if name.is_empty() {
            counts
        } else {
            format!("{name}: {counts}")
        });
        logged.extend(errors.into_iter().chain(warnings));
        if let Some(status) = server.exit_status() {
            report.problems.push(format!(
                "a soak server exited during the run ({status}); its log ends:\n{}",
                server.log_tail()
            ));
            continue;
        }
        let tail = server.log_tail();
        match server.stop().await {
            Ok(status) if status.success() => {}
            Ok(status) => report.problems.push(format!(
                "a soak server ended with {status} after SIGTERM; its log ends:\n{tail}"
            )),
            Err(error) => report.problems.push(format!("{error:#}")),
        }
    }
    let alarms = database.count_audit_events(REUSE_ACTION).await?;
    if alarms > 0 {
        report.problems.push(format!(
            "soak: {alarms} session(s) revoked for refresh-token reuse (`{REUSE_ACTION}` audit \
             events), though every client only replayed a token within the grace window"
        ));
    }

    let users_stats = take(&user_stats);
    let readers_stats = take(&reader_stats);
    let peaks: Vec<String> = series
        .peaks_kib
        .iter()
        .enumerate()
        .map(|(index, peak)| {
            let name = instance_name(index, instances);
            let peak = peak.map_or("?".to_owned(), machine::mib);
            if name.is_empty() {
                format!("peak RSS {peak}")
            } else {
                format!("{name} peak RSS {peak}")
            }
        })
        .collect();
    let mut notes = vec![
        format!(
            "{users} users on {instances} instance(s); {} 5xx, {} wrongful 401s, {} refused \
             refreshes, {alarms} reuse alarms",
            users_stats.server_errors + readers_stats.server_errors,
            users_stats.wrongful_401 + readers_stats.wrongful_401,
            users_stats.refused_refreshes + readers_stats.refused_refreshes,
        ),
        format!(
            "reads retried after a 401: {}",
            users_stats.retried + readers_stats.retried
        ),
    ];
    notes.extend(peaks);
    report.outcomes.push(Outcome {
        name: ScenarioName::Soak,
        case: "users".to_owned(),
        concurrency: users.to_string(),
        measurement: user_measurement,
        notes,
    });
    report.outcomes.push(Outcome {
        name: ScenarioName::Soak,
        case: "readers".to_owned(),
        concurrency: readers.to_string(),
        measurement: reader_measurement,
        notes: vec!["`/api/products`, refreshing half-way to expiry".to_owned()],
    });

    report.sections.push(Section {
        title: format!(
            "soak: {users} users + {readers} readers, {} s after {} s of sign-ins, {instances} \
             instance(s), ACCESS_TOKEN_TTL {} s",
            plan.duration.as_secs_f64(),
            plan.warmup.as_secs_f64(),
            ACCESS_TOKEN_TTL.as_secs()
        ),
        body: format!(
            "{}\n{}\nServer logs: {}.\n{}",
            requests_table(&users_stats, &readers_stats),
            rss_table(&series, instances),
            log_lines.join("; "),
            first_distinct(&logged, LOGGED_SHOWN)
                .iter()
                .map(|line| format!("\n    {line}\n"))
                .collect::<String>()
        ),
    });
    Ok(())
}

/// "instance 2", or nothing when there is one.
fn instance_name(index: usize, instances: usize) -> String {
    if instances > 1 {
        format!("instance {}", index + 1)
    } else {
        String::new()
    }
}

/// The first `count` lines that differ in more than their fields (`key=value`), each once.
pub(super) fn first_distinct(lines: &[String], count: usize) -> Vec<&str> {
    let mut seen = std::collections::BTreeSet::new();
    lines
        .iter()
        .filter(|line| {
            let words: Vec<&str> = line
                .split_whitespace()
                .filter(|word| !word.contains('='))
                .collect();
            seen.insert(words.join(" "))
        })
        .take(count)
        .map(String::as_str)
        .collect()
}

/// What `stats` counted, taken out.
pub fn take(stats: &Mutex<Stats>) -> Stats {
    std::mem::take(&mut *stats.lock().unwrap_or_else(|e| e.into_inner()))
}

/// Requests by client and kind: how many, how many failed, latencies.
fn requests_table(users: &Stats, readers: &Stats) -> String {
    let mut rows = Vec::new();
    for (who, stats) in [("user", users), ("reader", readers)] {
        for (action, tally) in &stats.by_action {
            let quantile = |q: f64| {
                (!tally.latencies.is_empty())
                    .then(|| tally.latencies.value_at_quantile(q) as f64 / 1000.0)
            };
            rows.push(vec![
                format!("{who} {}", action.as_str()),
                tally.latencies.len().to_string(),
                tally.failed.to_string(),
                report::millis(quantile(0.5)),
                report::millis(quantile(0.99)),
            ]);
        }
    }
    report::table(
        &[
            "requests (whole run)",
            "answered",
            "failed",
            "p50 ms",
            "p99 ms",
        ],
        &rows,
    )
}

/// The servers' RSS at each reading, and how much it grew over the second half.
fn rss_table(series: &rss::Series, instances: usize) -> String {
    let mut header = vec!["t (s)".to_owned()];
    header.extend((0..instances).map(|index| {
        let name = instance_name(index, instances);
        if name.is_empty() {
            "RSS MiB".to_owned()
        } else {
            format!("{name} RSS MiB")
        }
    }));
    let rows: Vec<Vec<String>> = series
        .samples
        .iter()
        .map(|sample| {
            let mut row = vec![format!("{:.0}", sample.at.as_secs_f64())];
            row.extend(sample.rss_kib.iter().map(|kib| {
                kib.map_or("?".to_owned(), |kib| format!("{:.1}", kib as f64 / 1024.0))
            }));
            row
        })
        .collect();
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let growth: Vec<String> = (0..instances)
        .map(|index| {
            let growth = rss::second_half_growth(&series.of(index))
                .map_or("?".to_owned(), |growth| format!("{:+.1}%", growth * 100.0));
            let name = instance_name(index, instances);
            if name.is_empty() {
                growth
            } else {
                format!("{name} {growth}")
            }
        })
        .collect();
    format!(
        "{}\nRSS growth over the second half of the run: {}.\n",
        report::table(&header, &rows),
        growth.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_lines_that_differ_only_in_their_fields_are_shown_once() {
        let lines = [
            "WARN backend::auth::sessions: refresh token reuse detected session_id=a",
            "WARN backend::auth::sessions: refresh token reuse detected session_id=b",
            "ERROR backend::http::error: internal error error=locked",
        ]
        .map(str::to_owned);
        assert_eq!(
            first_distinct(&lines, 5),
            [lines[0].as_str(), lines[2].as_str()]
        );
        assert_eq!(first_distinct(&lines, 1), [lines[0].as_str()]);
    }
}
