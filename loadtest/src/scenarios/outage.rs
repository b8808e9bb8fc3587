//! `outage`: the soak's users (sign-in → `/api/me` and `/api/products` → refresh, every
//! fifth from two tabs at once → now and then sign-out) and readers of `/api/products`,
//! on a server of their own whose PostgreSQL is taken away under load and given back:
//! through a TCP proxy that is cut (its connections closed, new ones refused) and
//! restored, or (`--outage pg-ctl`) by stopping and starting the cluster itself. The
//! server runs with `REVOCATION_MAX_STALENESS=2s` and is never restarted. A prober asks
//! `/api/ready` ten times a second throughout.
//!
//! Every answer is judged by [`verdict`] against the moments of the cut and the restore:
//! during the cut only 503 with the endpoint's code and `Retry-After` (or a success that
//! needs no database), never a 500, no wait over 5 s for an answer; `/api/ready` 503
//! `not_ready`; `/api/products` served while the revoked set is younger than the limit and
//! refused once it is older. After the restore, 503s for at most 3 s, and every client has
//! a success within 10 s.
//!
//! Clients behave as careful browsers: after a 503 they wait the `Retry-After` it names;
//! a refresh answered 503 leaves the session as it was (the client keeps its cookies and
//! refreshes again later), a sign-out answered 503 clears the cookies all the same (the
//! server says so). A 503 says the request did nothing, so every session whose refresh
//! got one must refresh later: a 401 there is a user signed out by the outage. (A rotation
//! committed by PostgreSQL whose acknowledgement is lost with the connection would be
//! beyond the server's knowledge, but that window is one round trip of `COMMIT`; the
//! report tells apart the sessions whose refresh was in flight at the cut.) After the
//! load, every session a client still holds is refreshed once.

mod switch;
mod verdict;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use anyhow::Context as _;
use http::header;
use http::{Method, Request, StatusCode};
use shared::names::{cookies, paths};
use tokio::task::JoinSet;
use tokio::time::Instant;

use self::switch::Switch;
use self::verdict::{Answer, Kind, Marks, Phase, Rules, Seen, Verdict};
use super::soak::journey::{Action, Journey};
use super::soak::{self, FRESHNESS_MARGIN, LOGGED_SHOWN, REUSE_ACTION, Visitor};
use crate::client::{Body, Connection, Failure, Reply, request};
use crate::database::FreshDatabase;
use crate::load::{self, Measurement, Plan, Workload};
use crate::options::{DatabaseKind, Options, OutageKind, ScenarioName};
use crate::report::{self, Outcome, Report, Section};
use crate::server::{self, Launch, Server};
use crate::users::Population;

/// The server's `REVOCATION_MAX_STALENESS`.
const MAX_STALENESS: Duration = Duration::from_secs(2);
/// The server's access-token lifetime: longer than the phases, so that `/api/products`
/// during the cut is judged by the staleness limit rather than by expiry.
const ACCESS_TOKEN_TTL: Duration = Duration::from_secs(60);
/// No request may wait longer for an answer while the database is away (nor after it
/// came back, when it was sent before).
const LATENCY_BOUND: Duration = Duration::from_secs(5);
/// How long after the restore the server may still answer 503 to a request.
const RECOVERY_BOUND: Duration = Duration::from_secs(3);
/// How long after the restore every client must have had a success: a user who was
/// signing in when the database went away signs in now, among many, and queues for the
/// hashing pool (which may hold a sign-in 5 s before answering `server_busy`).
const JOURNEY_BOUND: Duration = Duration::from_secs(10);
/// How often the prober asks `/api/ready`.
const READY_EVERY: Duration = Duration::from_millis(100);
/// The longest `Retry-After` a client obeys.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(5);
/// Time added to the load for `pg_ctlcluster` to stop and start the cluster, so that the
/// phase after the restore keeps its length.
const PG_CTL_ALLOWANCE: Duration = Duration::from_secs(10);

/// The moments of the outage, each set once by the conductor as it happens.
struct Timeline {
    start: Instant,
    cut_from: OnceLock<Instant>,
    cut_done: OnceLock<Instant>,
    restore_from: OnceLock<Instant>,
    restore_done: OnceLock<Instant>,
}

impl Timeline {
    fn new(start: Instant) -> Self {
        Self {
            start,
            cut_from: OnceLock::new(),
            cut_done: OnceLock::new(),
            restore_from: OnceLock::new(),
            restore_done: OnceLock::new(),
        }
    }

    fn offset(&self, at: Instant) -> Duration {
        at.saturating_duration_since(self.start)
    }

    /// The moments so far, from the start.
    fn marks(&self) -> Marks {
        let at = |moment: &OnceLock<Instant>| moment.get().map(|&at| self.offset(at));
        Marks {
            cut_from: at(&self.cut_from),
            cut_done: at(&self.cut_done),
            restore_from: at(&self.restore_from),
            restore_done: at(&self.restore_done),
        }
    }
}

/// Answers of one kind in one phase.
#[derive(Debug, Default)]
struct Tally {
    /// By status and error code.
    answers: BTreeMap<String, u64>,
    /// The slowest.
    max: Duration,
}

/// What the clients and the prober saw.
#[derive(Debug, Default)]
struct Stats {
    by: BTreeMap<(Kind, Phase), Tally>,
    /// Requests that broke a rule.
    violations: u64,
    /// The slowest request that overlapped the cut, and what it was.
    slowest_in_cut: Option<(Duration, Kind)>,
    /// The longest a request waited for an answer while the database was away.
    longest_wait_away: Option<(Duration, Kind)>,
    /// `/api/products` during the cut, from the cut: the last 200 before the restore
    /// began, and the first 503.
    products_last_served: Option<Duration>,
    products_first_refused: Option<Duration>,
    /// `/api/products` sent once the revoked set had to be older than the limit.
    products_past_limit: u64,
    /// `/api/ready` answered 503 during the cut.
    ready_refused: u64,
    /// The first `/api/ready` 200 after the restore, from the restore.
    ready_back: Option<Duration>,
    /// The latest sending, from the restore, of a request answered 503 after it.
    last_refused_after_restore: Option<Duration>,
    /// Refreshes answered 503 (two tabs count once).
    refreshes_refused: u64,
    /// Sessions with a refresh answered 503.
    sessions_refused: u64,
    /// Of those, refreshed later.
    sessions_kept: u64,
    /// Sessions refused (401) although the client saw nothing end them: signed out by
    /// the outage.
    sessions_lost: u64,
    /// Of those, sessions with a refresh in flight when the connections were cut.
    lost_cut_mid_refresh: u64,
    /// Of those, sessions with a refresh answered 503 once the restore had begun.
    lost_at_restore: u64,
    /// Refreshes answered 401 (two tabs may get one each).
    refresh_refusals: u64,
    /// Reads answered 401 with an access token that had not expired.
    wrongful_401: u64,
    /// Sign-outs answered 503: the cookies cleared, the session left to expire.
    sign_outs_refused: u64,
}

impl Stats {
    fn record(&mut self, seen: &Seen, phase: Phase, verdict: &Verdict, marks: &Marks) {
        let tally = self.by.entry((seen.kind, phase)).or_default();
        *tally.answers.entry(seen.answer.label()).or_default() += 1;
        tally.max = tally.max.max(seen.took());
        if matches!(verdict, Verdict::Violation(_)) {
            self.violations += 1;
        }
        let status = match seen.answer {
            Answer::Status { status, .. } => Some(status),
            Answer::Broken(_) => None,
        };
        if phase == Phase::Cut {
            if self
                .slowest_in_cut
                .is_none_or(|(took, _)| seen.took() > took)
            {
                self.slowest_in_cut = Some((seen.took(), seen.kind));
            }
            let (away, _) = seen.waits(marks);
            if self
                .longest_wait_away
                .is_none_or(|(waited, _)| away > waited)
            {
                self.longest_wait_away = Some((away, seen.kind));
            }
            if let Some(cut) = marks.cut_from {
                let since = seen.answered.saturating_sub(cut);
                match (seen.kind, status) {
                    (Kind::Products, Some(200)) if seen.before_restore(marks) => {
                        self.products_last_served = self.products_last_served.max(Some(since));
                    }
                    (Kind::Products, Some(503)) => {
                        self.products_first_refused =
                            Some(self.products_first_refused.map_or(since, |t| t.min(since)));
                    }
                    (Kind::Ready, Some(503)) => self.ready_refused += 1,
                    _ => {}
                }
            }
        }
        if seen.kind == Kind::Products && seen.revoked_set_stale(marks, &RULES) {
            self.products_past_limit += 1;
        }
        if phase == Phase::After
            && let Some(back) = marks.restore_done
        {
            let database_refused = matches!(
                seen.answer,
                Answer::Status { status: 503, code, .. } if code != Some("server_busy")
            );
            if database_refused {
                let sent = seen.sent.saturating_sub(back);
                self.last_refused_after_restore = self.last_refused_after_restore.max(Some(sent));
            }
            if seen.kind == Kind::Ready && *verdict == Verdict::Success {
                let since = seen.answered.saturating_sub(back);
                self.ready_back = Some(self.ready_back.map_or(since, |t| t.min(since)));
            }
        }
    }
}

/// The rules of this scenario.
const RULES: Rules = Rules {
    staleness: MAX_STALENESS,
    latency: LATENCY_BOUND,
    recovery: RECOVERY_BOUND,
};

/// One answer, judged.
struct Observed {
    kind: Kind,
    phase: Phase,
    label: String,
    verdict: Verdict,
    /// When it came.
    answered: Instant,
    /// The wait it asked for, with a 503.
    retry_after: Option<Duration>,
    /// Sent before the cut was complete and answered after it began: in flight when the
    /// connections were cut.
    across_the_cut: bool,
    /// Answered once the restore had begun.
    after_restore_began: bool,
    /// Its time from the restore, for a success sent after it.
    success_after_restore: Option<Duration>,
}

/// Judges answers and counts them, for the clients and the prober alike.
struct Judge {
    timeline: Arc<Timeline>,
    stats: Mutex<Stats>,
}

impl Judge {
    fn stats(&self) -> std::sync::MutexGuard<'_, Stats> {
        self.stats.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Judges and counts the answer to a request of `kind` sent at `sent`.
    fn observe(&self, kind: Kind, sent: Instant, reply: &Result<Reply, Failure>) -> Observed {
        let answered = Instant::now();
        let marks = self.timeline.marks();
        let seen = Seen {
            kind,
            sent: self.timeline.offset(sent),
            answered: self.timeline.offset(answered),
            answer: answer_of(reply),
        };
        let verdict = verdict::judge(&seen, &marks, &RULES);
        let phase = seen.phase(&marks);
        self.stats().record(&seen, phase, &verdict, &marks);
        let retry_after = reply
            .as_ref()
            .ok()
            .filter(|reply| reply.status == StatusCode::SERVICE_UNAVAILABLE)
            .map(|reply| retry_after(&reply.headers));
        let success_after_restore = (phase == Phase::After && verdict == Verdict::Success)
            .then(|| {
                marks
                    .restore_done
                    .map(|back| seen.answered.saturating_sub(back))
            })
            .flatten();
        Observed {
            kind,
            phase,
            label: seen.answer.label(),
            across_the_cut: phase == Phase::Cut
                && marks.cut_done.is_none_or(|done| seen.sent < done),
            after_restore_began: !seen.before_restore(&marks),
            verdict,
            answered,
            retry_after,
            success_after_restore,
        }
    }

    /// A failure for a broken rule found by the caller, counted.
    fn violation(&self, observed: &Observed, why: &str) -> Failure {
        self.stats().violations += 1;
        describe(observed, why)
    }

    /// `Err` for a violation; a 401 is one too, as `unauthorized` says.
    fn settle(&self, observed: &Observed, unauthorized: &str) -> Result<(), Failure> {
        match &observed.verdict {
            Verdict::Success | Verdict::Unavailable => Ok(()),
            Verdict::Unauthorized => Err(self.violation(observed, unauthorized)),
            Verdict::Violation(why) => Err(describe(observed, why)),
        }
    }
}

/// `during the cut: GET /api/me: 500 internal_error: why`.
fn describe(observed: &Observed, why: &str) -> Failure {
    Failure::new(format!(
        "{}: {}: {}: {why}",
        observed.phase.as_str(),
        observed.kind.request_line(),
        observed.label
    ))
}

fn answer_of(reply: &Result<Reply, Failure>) -> Answer {
    match reply {
        Ok(reply) => Answer::Status {
            status: reply.status.as_u16(),
            code: reply.error_code(),
            retry_after: reply.headers.contains_key(header::RETRY_AFTER),
        },
        Err(failure) => Answer::Broken(failure.to_string()),
    }
}

/// The wait a 503 asks for (a second when it names none), at most [`MAX_RETRY_AFTER`].
fn retry_after(headers: &http::HeaderMap) -> Duration {
    headers
        .get(header::RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok())
        .map_or(Duration::from_secs(1), Duration::from_secs)
        .min(MAX_RETRY_AFTER)
}

/// What the outage did to a client's current session, since its last refresh.
#[derive(Debug, Default, Clone, Copy)]
struct Session {
    /// A refresh was answered 503 (or not at all): the session must refresh later.
    refused: bool,
    /// One of those refreshes was in flight when the connections were cut.
    cut_mid_refresh: bool,
    /// One of those answers came once the restore had begun.
    refused_at_restore: bool,
}

/// A virtual client: a soak visitor, and what the outage did to it.
pub struct Client {
    visitor: Visitor,
    /// Not before then: the `Retry-After` of its last 503.
    resume_at: Option<Instant>,
    session: Session,
    /// When its first request sent after the restore succeeded, from the restore.
    recovered: Option<Duration>,
}

/// The soak's journeys, judged.
struct Outage {
    judge: Arc<Judge>,
}

impl Outage {
    /// Sends on the client's next tab and judges the answer.
    async fn send(
        &self,
        client: &mut Client,
        kind: Kind,
        request: Request<Body>,
    ) -> (Result<Reply, Failure>, Observed) {
        let sent = Instant::now();
        let reply = client.visitor.tab().send(request).await;
        let observed = self.judge.observe(kind, sent, &reply);
        self.heed(client, &observed);
        (reply, observed)
    }

    /// Takes in what an answer means for the client's pace and recovery.
    fn heed(&self, client: &mut Client, observed: &Observed) {
        if let Some(wait) = observed.retry_after {
            client.resume_at = Some(observed.answered + wait);
        }
        if client.recovered.is_none() {
            client.recovered = observed.success_after_restore;
        }
    }

    async fn login(&self, client: &mut Client) -> Result<(), Failure> {
        let request = soak::login_request(&client.visitor)?;
        let (reply, observed) = self.send(client, Kind::Login, request).await;
        match &reply {
            Ok(reply) if reply.status == StatusCode::OK => {
                client.visitor.signed_in(reply);
                client.session = Session::default();
            }
            _ => client.visitor.signed_out(),
        }
        self.judge
            .settle(&observed, "refused with the right password")
    }

    /// `GET` with the access cookie; a 401 is answered by one refresh and one retry (as
    /// the SPA does), and is a failure unless the access token had expired.
    async fn read(&self, client: &mut Client, kind: Kind) -> Result<(), Failure> {
        let path = if kind == Kind::Me {
            paths::ME
        } else {
            paths::PRODUCTS
        };
        let fresh = client.visitor.token_age().saturating_add(FRESHNESS_MARGIN) < ACCESS_TOKEN_TTL;
        let request = soak::access_request(&client.visitor.cookies, path)?;
        let (_, observed) = self.send(client, kind, request).await;
        if observed.verdict != Verdict::Unauthorized {
            return self.judge.settle(&observed, "");
        }
        let wrongful = fresh.then(|| {
            self.judge.stats().wrongful_401 += 1;
            self.judge
                .violation(&observed, "with an access token that had not expired")
        });
        if self.refresh(client, false).await? {
            let request = soak::access_request(&client.visitor.cookies, path)?;
            let (_, again) = self.send(client, kind, request).await;
            self.judge.settle(&again, "refused again after a refresh")?;
        }
        wrongful.map_or(Ok(()), Err)
    }

    /// A refresh, from one tab or from two at once (which must end with the same
    /// token). `Ok(true)` when the session was refreshed; a 503 leaves it as it was.
    async fn refresh(&self, client: &mut Client, two_tabs: bool) -> Result<bool, Failure> {
        let answers = if two_tabs {
            let (first, second) = (
                soak::refresh_request(&client.visitor.cookies)?,
                soak::refresh_request(&client.visitor.cookies)?,
            );
            let sent = Instant::now();
            let [left, right] = &mut client.visitor.tabs;
            let (first, second) = tokio::join!(left.send(first), right.send(second));
            let mut answers = Vec::with_capacity(2);
            for reply in [first, second] {
                let observed = self.judge.observe(Kind::Refresh, sent, &reply);
                self.heed(client, &observed);
                answers.push((reply, observed));
            }
            answers
        } else {
            let request = soak::refresh_request(&client.visitor.cookies)?;
            vec![self.send(client, Kind::Refresh, request).await]
        };
        let mut outcome = Ok(());
        for (_, observed) in &answers {
            if let Verdict::Violation(why) = &observed.verdict
                && outcome.is_ok()
            {
                outcome = Err(describe(observed, why));
            }
        }
        let status = |wanted: StatusCode| {
            answers
                .iter()
                .filter_map(|(reply, observed)| {
                    reply
                        .as_ref()
                        .ok()
                        .filter(|reply| reply.status == wanted)
                        .map(|reply| (reply, observed))
                })
                .collect::<Vec<_>>()
        };
        let (accepted, refused) = (status(StatusCode::OK), status(StatusCode::UNAUTHORIZED));
        if let Some(&(reply, observed)) = accepted.first() {
            if let [(a, _), (b, _)] = accepted[..]
                && soak::refresh_cookie(a) != soak::refresh_cookie(b)
            {
                outcome = outcome.and(Err(self.judge.violation(
                    observed,
                    "two tabs refreshing one token got different refresh tokens",
                )));
            }
            if let Some(&(_, refused)) = refused.first() {
                outcome = outcome.and(Err(self
                    .judge
                    .violation(refused, "one tab's refresh refused, the other's accepted")));
            }
            client.visitor.signed_in(reply);
            let mut stats = self.judge.stats();
            stats.sessions_kept += u64::from(client.session.refused);
            client.session = Session::default();
            return outcome.map(|()| true);
        }
        if let Some(&(reply, observed)) = refused.first() {
            // The session is over, and the answer cleared its cookies.
            client.visitor.cookies.absorb(&reply.headers);
            client.visitor.signed_out();
            let session = std::mem::take(&mut client.session);
            let why = if session.refused {
                "the session was lost: refused after a refresh answered 503"
            } else {
                "the session was lost: nothing had ended it"
            };
            {
                let mut stats = self.judge.stats();
                stats.refresh_refusals += refused.len() as u64;
                stats.sessions_lost += 1;
                stats.lost_cut_mid_refresh += u64::from(session.cut_mid_refresh);
                stats.lost_at_restore += u64::from(session.refused_at_restore);
            }
            outcome = outcome.and(Err(self.judge.violation(observed, why)));
            return outcome.map(|()| false);
        }
        // 503, or no answer: the client keeps the session as it was.
        let mut stats = self.judge.stats();
        stats.refreshes_refused += 1;
        let session = &mut client.session;
        if !session.refused {
            session.refused = true;
            stats.sessions_refused += 1;
        }
        session.cut_mid_refresh |= answers.iter().any(|(_, observed)| observed.across_the_cut);
        session.refused_at_restore |= answers
            .iter()
            .any(|(_, observed)| observed.after_restore_began);
        outcome.map(|()| false)
    }

    async fn logout(&self, client: &mut Client) -> Result<(), Failure> {
        let request = soak::logout_request(&client.visitor.cookies)?;
        let (reply, observed) = self.send(client, Kind::Logout, request).await;
        if let Ok(reply) = &reply {
            // As a browser does, whatever the status: a sign-out clears the cookies.
            client.visitor.cookies.absorb(&reply.headers);
            if reply.status == StatusCode::SERVICE_UNAVAILABLE {
                self.judge.stats().sign_outs_refused += 1;
            }
        }
        client.visitor.access_since = None;
        client.session = Session::default();
        self.judge.settle(&observed, "a sign-out refused")
    }
}

impl Workload for Outage {
    type Client = Client;

    async fn step(&self, client: &mut Client) -> Result<(), Failure> {
        if let Some(start_at) = client.visitor.start_at.take() {
            tokio::time::sleep_until(start_at).await;
        }
        let refresh_due = client.visitor.token_age() >= ACCESS_TOKEN_TTL / 2;
        match client.visitor.journey.next(refresh_due) {
            Action::Login => self.login(client).await,
            Action::Me => self.read(client, Kind::Me).await,
            Action::Products => self.read(client, Kind::Products).await,
            Action::Refresh => self.refresh(client, false).await.map(drop),
            Action::TwoTabRefresh => self.refresh(client, true).await.map(drop),
            Action::Logout => self.logout(client).await,
        }
    }

    fn not_before(&self, client: &Client) -> Option<Instant> {
        client.resume_at
    }
}

/// `/api/ready`, asked again and again.
struct Prober {
    judge: Arc<Judge>,
}

impl Workload for Prober {
    type Client = Connection;

    async fn step(&self, connection: &mut Connection) -> Result<(), Failure> {
        let ready = request(Method::GET, paths::READY)
            .body(Body::default())
            .map_err(|e| Failure::new(format!("GET {}: {e}", paths::READY)))?;
        let sent = Instant::now();
        let reply = connection.send(ready).await;
        let observed = self.judge.observe(Kind::Ready, sent, &reply);
        self.judge.settle(&observed, "not an answer it may give")
    }
}

/// Cuts at `cut_at`, restores `cut_for` after the cut is complete, marking each moment.
async fn conduct(
    switch: &Switch,
    timeline: &Timeline,
    cut_at: Instant,
    cut_for: Duration,
) -> anyhow::Result<()> {
    tokio::time::sleep_until(cut_at).await;
    let _ = timeline.cut_from.set(Instant::now());
    switch.cut().await?;
    let done = Instant::now();
    let _ = timeline.cut_done.set(done);
    tokio::time::sleep_until(done + cut_for).await;
    let _ = timeline.restore_from.set(Instant::now());
    switch.restore().await?;
    let _ = timeline.restore_done.set(Instant::now());
    Ok(())
}

/// Runs the outage on a PostgreSQL database of its own and adds its row and section to
/// `report`.
pub async fn run(options: &Options, dir: &Path, report: &mut Report) -> anyhow::Result<()> {
    if options.database != DatabaseKind::Postgres {
        anyhow::bail!("the outage scenario needs --database postgres");
    }
    super::with_own_database(options, dir, "outage", report, run_on).await
}

async fn run_on(
    options: &Options,
    dir: &Path,
    database: &FreshDatabase,
    report: &mut Report,
) -> anyhow::Result<()> {
    let plan = options.outage_plan();
    let shortest = MAX_STALENESS + verdict::STALE_MARGIN + Duration::from_secs(1);
    if plan.cut < shortest {
        anyhow::bail!(
            "the cut must last at least {} s (--duration), so that access tokens are seen \
             refused once the revoked set is older than REVOCATION_MAX_STALENESS",
            shortest.as_secs_f64()
        );
    }
    let switch = Switch::new(options.outage, &options.postgres_url).await?;
    let bin = options.server_bin();
    let secret = server::random_secret();
    let database_url = switch.server_url(database.url())?;
    let launch = Launch {
        bin: &bin,
        dir,
        log_name: "server-outage.log",
        database_url: &database_url,
        jwt_secret: &secret,
        jwt_alg: options.jwt_alg,
        access_token_ttl: Some(ACCESS_TOKEN_TTL),
        revocation_max_staleness: Some(MAX_STALENESS),
        rust_log: &options.rust_log,
    };
    let mut server = Server::start(&launch).await?;
    let pid = server.child_id();
    let (users, readers) = options.outage_clients();
    let population = Population::new();
    let signed_up = population
        .sign_up(server.addr(), users + readers)
        .await
        .context("cannot sign up the outage's users")?;
    let mut visitors = soak::visitors(signed_up, &population, &[server.addr()]);
    let start = Instant::now();
    for (index, visitor) in visitors.iter_mut().take(users).enumerate() {
        visitor.follow(
            Journey::user(index as u64),
            start + plan.warmup.mul_f64(index as f64 / users as f64),
        );
    }
    let clients: Vec<Client> = visitors
        .into_iter()
        .map(|visitor| Client {
            visitor,
            resume_at: None,
            session: Session::default(),
            recovered: None,
        })
        .collect();

    let timeline = Arc::new(Timeline::new(start));
    let judge = Arc::new(Judge {
        timeline: Arc::clone(&timeline),
        stats: Mutex::new(Stats::default()),
    });
    let allowance = match options.outage {
        OutageKind::Proxy => Duration::ZERO,
        OutageKind::PgCtl => PG_CTL_ALLOWANCE,
    };
    let load_plan = Plan {
        warmup: plan.warmup,
        duration: plan.before + plan.cut + plan.after + allowance,
        pace: None,
    };
    let workload = Outage {
        judge: Arc::clone(&judge),
    };
    let prober = Prober {
        judge: Arc::clone(&judge),
    };
    let cut_at = start + plan.warmup + plan.before;
    let ((mut measurement, clients), probed, conducted) = tokio::join!(
        load::run_keeping(workload, clients, load_plan),
        load::run(
            prober,
            vec![Connection::new(server.addr())],
            load_plan.paced(READY_EVERY)
        ),
        conduct(&switch, &timeline, cut_at, plan.cut),
    );
    measurement.add_failures(&probed);
    let load_end = Instant::now();

    // Every session a client still holds refreshes.
    let (held, swept) = sweep(
        &Outage {
            judge: Arc::clone(&judge),
        },
        clients,
        &mut measurement,
    )
    .await;

    let marks = timeline.marks();
    let mut problems = Vec::new();
    if let Err(error) = &conducted {
        problems.push(format!("the outage did not go as planned: {error:#}"));
    }
    let alarms = database.count_audit_events(REUSE_ACTION).await?;
    let (warnings, errors) = (server.log_lines_at("WARN"), server.log_lines_at("ERROR"));
    let panics = server
        .log_lines_at("ERROR")
        .into_iter()
        .filter(|line| line.contains("panic"))
        .count();
    if let Some(status) = server.exit_status() {
        problems.push(format!(
            "the server exited during the run ({status}); its log ends:\n{}",
            server.log_tail()
        ));
    } else {
        let tail = server.log_tail();
        match server.stop().await {
            Ok(status) if status.success() => {}
            Ok(status) => problems.push(format!(
                "the server ended with {status} after SIGTERM; its log ends:\n{tail}"
            )),
            Err(error) => problems.push(format!("{error:#}")),
        }
    }
    if panics > 0 {
        problems.push(format!("the server logged {panics} panic(s)"));
    }
    let stats = std::mem::take(&mut *judge.stats());
    let recovered: Vec<Option<Duration>> = swept.iter().map(|(_, recovered)| *recovered).collect();
    let never_recovered = recovered.iter().filter(|r| r.is_none()).count();
    let every_client_back = recovered.iter().flatten().max().copied();
    problems.extend(findings(
        &stats,
        &marks,
        never_recovered,
        every_client_back,
        alarms,
    ));
    report.problems.extend(
        problems
            .into_iter()
            .map(|problem| format!("outage: {problem}")),
    );

    let length = |from: Option<Duration>, to: Option<Duration>| match (from, to) {
        (Some(from), Some(to)) => format!("{} ms", to.saturating_sub(from).as_millis()),
        _ => "?".to_owned(),
    };
    let switching = format!(
        "cut took {}, restore {}",
        length(marks.cut_from, marks.cut_done),
        length(marks.restore_from, marks.restore_done)
    );
    let after = marks
        .restore_done
        .map(|back| timeline.offset(load_end).saturating_sub(back));
    let longest = |of: Option<(Duration, Kind)>| {
        of.map_or("—".to_owned(), |(took, kind)| {
            format!("{} ms ({})", took.as_millis(), kind.request_line())
        })
    };
    let (slowest, waited) = (
        longest(stats.slowest_in_cut),
        longest(stats.longest_wait_away),
    );
    let seconds = |time: Option<Duration>| {
        time.map_or("—".to_owned(), |t| format!("{:.2} s", t.as_secs_f64()))
    };
    let notes = vec![
        format!(
            "{} ({} s without the database; {switching}); pid {pid} throughout",
            options.outage.as_str(),
            plan.cut.as_secs_f64()
        ),
        format!(
            "slowest request overlapping the cut {slowest}; longest wait without the \
             database {waited}"
        ),
        format!(
            "`/api/products` during the cut: last 200 at {}, first 503 at {} (limit {} s); \
             `/api/ready` 503 ×{}",
            seconds(stats.products_last_served),
            seconds(stats.products_first_refused),
            MAX_STALENESS.as_secs(),
            stats.ready_refused
        ),
        format!(
            "after the restore: ready in {}, every client's journey succeeding in {}, last \
             503 to a request sent {} after it",
            seconds(stats.ready_back),
            seconds(every_client_back),
            seconds(stats.last_refused_after_restore)
        ),
        format!(
            "refreshes answered 503: {} ({} sessions: {} refreshed later, {} signed out by \
             the outage, {} of them with a refresh in flight at the cut, {} answered 503 \
             after the restore began); {held} sessions held at the end, {} refreshed",
            stats.refreshes_refused,
            stats.sessions_refused,
            stats.sessions_kept,
            stats.sessions_lost,
            stats.lost_cut_mid_refresh,
            stats.lost_at_restore,
            swept.iter().filter(|(refreshed, _)| *refreshed).count()
        ),
        format!("{} violations", stats.violations),
    ];
    report.outcomes.push(Outcome {
        name: ScenarioName::Outage,
        case: String::new(),
        concurrency: format!("{users}+{readers}"),
        measurement,
        notes,
    });
    report.sections.push(Section {
        title: format!(
            "outage: {users} users + {readers} readers; {} s of sign-ins, {} s with the \
             database, {} s without, {} after; REVOCATION_MAX_STALENESS {} s, \
             ACCESS_TOKEN_TTL {} s",
            plan.warmup.as_secs_f64(),
            plan.before.as_secs_f64(),
            plan.cut.as_secs_f64(),
            seconds(after),
            MAX_STALENESS.as_secs(),
            ACCESS_TOKEN_TTL.as_secs()
        ),
        body: format!(
            "The outage: {} ({switching}).\n\n{}\n\
             Sign-outs answered 503 (cookies cleared, the session left to expire): {}. \
             Reads answered 401 with an unexpired token: {}. Reuse alarms: {alarms}.\n\
             Server log: {} WARN, {} ERROR lines.\n{}",
            switch.describe(),
            answers_table(&stats),
            stats.sign_outs_refused,
            stats.wrongful_401,
            warnings.len(),
            errors.len(),
            soak::first_distinct(
                &errors.into_iter().chain(warnings).collect::<Vec<_>>(),
                LOGGED_SHOWN
            )
            .iter()
            .map(|line| format!("\n    {line}\n"))
            .collect::<String>()
        ),
    });
    Ok(())
}

/// What the whole run shows beyond each answer: the cut seen, the recovery, the sessions.
fn findings(
    stats: &Stats,
    marks: &Marks,
    never_recovered: usize,
    every_client_back: Option<Duration>,
    alarms: i64,
) -> Vec<String> {
    let mut problems = Vec::new();
    if marks.cut_done.is_none() {
        return problems;
    }
    if stats.ready_refused == 0 {
        problems.push("`/api/ready` never answered 503 while the database was cut off".to_owned());
    }
    if stats.products_past_limit == 0 {
        problems.push(
            "no `/api/products` request was sent late enough in the cut to see \
             REVOCATION_MAX_STALENESS applied"
                .to_owned(),
        );
    }
    if marks.restore_done.is_none() {
        return problems;
    }
    match stats.ready_back {
        None => problems.push("`/api/ready` never answered 200 again after the restore".to_owned()),
        Some(back) if back > RECOVERY_BOUND => problems.push(format!(
            "`/api/ready` answered 200 again only {:.1} s after the restore (bound {} s)",
            back.as_secs_f64(),
            RECOVERY_BOUND.as_secs()
        )),
        Some(_) => {}
    }
    if never_recovered > 0 {
        problems.push(format!(
            "{never_recovered} client(s) had no request succeed after the restore"
        ));
    }
    if let Some(back) = every_client_back
        && back > JOURNEY_BOUND
    {
        problems.push(format!(
            "a client's first success after the restore came {:.1} s after it (bound {} s)",
            back.as_secs_f64(),
            JOURNEY_BOUND.as_secs()
        ));
    }
    let seen = i64::try_from(stats.refresh_refusals).unwrap_or(i64::MAX);
    if alarms > seen {
        problems.push(format!(
            "{alarms} refresh-token reuse alarm(s) (`{REUSE_ACTION}`, each revoking its \
             session), more than the {seen} refreshes the clients saw refused"
        ));
    }
    problems
}

/// Refreshes every session the clients still hold, each on its own connection; returns
/// how many were held, and for each client whether its session refreshed and when it
/// recovered.
async fn sweep(
    outage: &Outage,
    clients: Vec<Client>,
    measurement: &mut Measurement,
) -> (usize, Vec<(bool, Option<Duration>)>) {
    let mut held = 0;
    let mut tasks = JoinSet::new();
    let mut results = Vec::with_capacity(clients.len());
    for mut client in clients {
        if client.visitor.cookies.get(cookies::REFRESH).is_none() {
            results.push((false, client.recovered));
            continue;
        }
        held += 1;
        let outage = Outage {
            judge: Arc::clone(&outage.judge),
        };
        tasks.spawn(async move {
            let refreshed = outage.refresh(&mut client, false).await;
            (refreshed, client.recovered)
        });
    }
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((Ok(refreshed), recovered)) => results.push((refreshed, recovered)),
            Ok((Err(failure), recovered)) => {
                measurement.fail(failure);
                results.push((false, recovered));
            }
            Err(error) => measurement.fail(Failure::new(format!("a refresh task failed: {error}"))),
        }
    }
    (held, results)
}

/// Answers by kind of request and phase.
fn answers_table(stats: &Stats) -> String {
    let cell = |kind: Kind, phase: Phase| {
        stats
            .by
            .get(&(kind, phase))
            .map_or("—".to_owned(), |tally| {
                tally
                    .answers
                    .iter()
                    .map(|(label, count)| format!("{count}× {label}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
    };
    let rows: Vec<Vec<String>> = Kind::ALL
        .into_iter()
        .map(|kind| {
            let slowest = stats
                .by
                .get(&(kind, Phase::Cut))
                .map_or("—".to_owned(), |tally| tally.max.as_millis().to_string());
            vec![
                format!("`{}`", kind.request_line()),
                cell(kind, Phase::Before),
                cell(kind, Phase::Cut),
                slowest,
                cell(kind, Phase::After),
            ]
        })
        .collect();
    report::table(
        &[
            "request",
            Phase::Before.as_str(),
            Phase::Cut.as_str(),
            "slowest in the cut, ms",
            Phase::After.as_str(),
        ],
        &rows,
    )
}
