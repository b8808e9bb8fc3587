//! `crash`: the soak's users (sign-in → `/api/me` and `/api/products` → refresh, every
//! fifth from two tabs at once → a sign-out every few cycles) on a server of their own,
//! each client keeping a [`Ledger`] of its sessions. Once the load has run its time, the
//! server is killed with SIGKILL the moment a sign-out is answered 204, in the middle of
//! the other users' requests. With no server running, SQLite checks the file
//! (`PRAGMA integrity_check`, `PRAGMA foreign_key_check`); then a server starts again on
//! the same database and what each client was answered before the crash is held against
//! it:
//!
//! - every session signed out (204) before the crash: its access token gets 401 on
//!   `/api/me` (the revoked set is reloaded at start), its refresh token 401;
//! - every session the server ended before the crash (sign-out 204, refresh 401): its
//!   refresh token gets 401;
//! - every session left live by its last answer: its latest refresh token refreshes (200);
//! - every session with a refresh or sign-out unanswered at the kill (the server may or
//!   may not have committed it): its latest refresh token refreshes or gets 401, nothing
//!   else;
//! - each of those tokens presented a second time gets 401, or 200 with the very token
//!   the first answer carried (the grace window for racing tabs): a token from before the
//!   crash never forks its session;
//! - every refresh token rotated away before the crash (its refresh answered 200) gets
//!   401: a spent token never works again. Replaying one revokes its session (reuse
//!   detection), so these go after the checks above;
//! - every account signs in with its password (200).
//!
//! Failures of requests cut off by the kill are expected and not counted; anything the
//! server answered before it counts as in `soak`.

use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt as _;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use anyhow::Context as _;
use http::StatusCode;
use http::header::HeaderValue;
use nix::sys::signal::Signal;
use shared::names::{cookies, paths};
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::soak::journey::Journey;
use super::soak::ledger::{Ended, Ledger, Pending, SessionRecord};
use super::soak::{self, REUSE_ACTION, Soak, Stats, Visitor};
use crate::client::{Body, Connection, Failure, Reply, post_json};
use crate::database::{FreshDatabase, Integrity};
use crate::load::{self, Plan, Workload};
use crate::options::{Options, ScenarioName};
use crate::report::{self, Outcome, Report, Section};
use crate::server::{self, KillSwitch, Launch, Server};
use crate::users::{Account, FORWARDED_FOR, Population};

/// The servers' access-token lifetime: long enough that every access token of the run is
/// still unexpired when the signed-out sessions' ones are checked after the restart, so
/// that their 401 can only come from the revocation.
pub const ACCESS_TOKEN_TTL: Duration = Duration::from_secs(600);
/// A user signs out after every this many cycles (the soak's 50 would leave few sign-outs
/// before a kill seconds in); prime to the two-tab refresh's period, so that sessions end
/// after either kind of refresh.
const LOGOUT_EVERY: u64 = 7;
/// How long after the load's time the kill waits for a sign-out to be answered.
const SIGN_OUT_WAIT: Duration = Duration::from_secs(2);
/// How long the load may go on if the kill never comes (it stops at the kill).
const LOAD_BOUND: Duration = Duration::from_secs(60);
/// Users checked at once after the restart, each batch on a connection of its own.
const CHECK_CONCURRENCY: usize = 8;
/// Violations quoted per check.
const EXAMPLES: usize = 3;

/// When and how the server dies: pulled by the first client to get a sign-out answered
/// 204 once the load has run its time, so that the answer and the kill are microseconds
/// apart (a revocation answered before it is committed is then caught); by the clock
/// when no sign-out comes within [`SIGN_OUT_WAIT`].
struct Kill {
    switch: KillSwitch,
    /// From when a sign-out pulls it.
    armed_from: Instant,
    /// Steps in progress now.
    in_flight: AtomicUsize,
    /// Set when it has been pulled, before the signal goes.
    pulled: AtomicBool,
    /// The moment, once it has been pulled.
    moment: OnceLock<Pulled>,
    /// Wakes the task that waits for the server to go.
    done: Notify,
}

/// The moment of the kill.
#[derive(Debug, Clone, Copy)]
struct Pulled {
    at: Instant,
    /// Steps in progress then (the users waiting for an answer).
    cut_off: usize,
    /// Right after a sign-out was answered, rather than by the clock.
    after_sign_out: bool,
}

impl Kill {
    /// Kills the server now, unless it has been killed already. Clients stop counting
    /// before the signal goes: the failures it causes are expected.
    fn pull(&self, after_sign_out: bool) {
        if self.pulled.swap(true, Ordering::SeqCst) {
            return;
        }
        let moment = Pulled {
            at: Instant::now(),
            cut_off: self.in_flight.load(Ordering::SeqCst),
            after_sign_out,
        };
        if let Err(error) = self.switch.pull() {
            eprintln!("loadtest: crash: {error:#}");
        }
        let _ = self.moment.set(moment);
        self.done.notify_one();
    }
}

/// The soak's workload until the server is killed: the clients stop at the kill.
struct UntilKilled {
    soak: Soak,
    kill: Arc<Kill>,
}

/// One step in progress, for as long as it lives (a step dropped by its timeout too).
struct InFlight<'a>(&'a AtomicUsize);

impl<'a> InFlight<'a> {
    fn begin(count: &'a AtomicUsize) -> Self {
        count.fetch_add(1, Ordering::SeqCst);
        Self(count)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Workload for UntilKilled {
    type Client = Visitor;

    async fn step(&self, visitor: &mut Visitor) -> Result<(), Failure> {
        let sign_outs = visitor.sign_outs();
        let outcome = {
            let _in_flight = InFlight::begin(&self.kill.in_flight);
            self.soak.step(visitor).await
        };
        if Instant::now() >= self.kill.armed_from && visitor.sign_outs() > sign_outs {
            self.kill.pull(true);
        }
        outcome
    }

    fn cut_short(&self) -> bool {
        self.kill.pulled.load(Ordering::SeqCst)
    }
}

/// A user to check after the restart: its account and address, and its client's ledger.
struct Subject {
    account: Account,
    address: HeaderValue,
    ledger: Arc<Mutex<Ledger>>,
}

/// What is held against the restarted server, in the order it is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Check {
    /// A session signed out (204) before the crash: its access token on `/api/me`.
    SignedOutAccess,
    /// A session the server ended before the crash: its refresh token.
    EndedRefresh,
    /// A session left live by its last answer: its latest refresh token.
    LiveRefresh,
    /// A session with a refresh unanswered at the kill: its latest refresh token.
    RefreshInFlight,
    /// A session with a sign-out unanswered at the kill: its latest refresh token.
    SignOutInFlight,
    /// Each latest refresh token, a second time.
    Again,
    /// Each refresh token rotated away by a refresh answered 200 before the crash.
    Spent,
    /// Each account's password sign-in.
    SignIn,
}

impl Check {
    /// What it holds, as a line of the report.
    fn describe(self) -> &'static str {
        match self {
            Self::SignedOutAccess => {
                "signed out (204) before the crash: its access token on `/api/me` → 401"
            }
            Self::EndedRefresh => {
                "ended before the crash (sign-out 204, refresh 401): its refresh token → 401"
            }
            Self::LiveRefresh => "live at the crash, nothing in flight: latest refresh token → 200",
            Self::RefreshInFlight => {
                "refresh unanswered at the kill: its refresh token → 200 or 401"
            }
            Self::SignOutInFlight => {
                "sign-out unanswered at the kill: its refresh token → 200 or 401"
            }
            Self::Again => {
                "each latest refresh token again → 401, or 200 with the same new token (no fork)"
            }
            Self::Spent => "refresh token rotated away before the crash (answered 200) → 401",
            Self::SignIn => "every account signs in with its password → 200",
        }
    }
}

/// How one check went: how often it was made, the statuses answered, what broke it.
#[derive(Debug, Default)]
struct Count {
    checked: u64,
    answers: BTreeMap<u16, u64>,
    violations: u64,
    examples: Vec<String>,
}

/// What the checks after the restart found.
#[derive(Debug, Default)]
struct Findings {
    by_check: BTreeMap<Check, Count>,
}

impl Findings {
    /// Counts one answer (or a request that got none) of `check`, a violation unless
    /// `holds`.
    fn count(&mut self, check: Check, answer: Option<StatusCode>, holds: bool, why: String) {
        let count = self.by_check.entry(check).or_default();
        count.checked += 1;
        if let Some(status) = answer {
            *count.answers.entry(status.as_u16()).or_default() += 1;
        }
        if !holds {
            count.violations += 1;
            if count.examples.len() < EXAMPLES {
                count.examples.push(why);
            }
        }
    }

    fn merge(&mut self, other: Self) {
        for (check, theirs) in other.by_check {
            let ours = self.by_check.entry(check).or_default();
            ours.checked += theirs.checked;
            ours.violations += theirs.violations;
            for (status, times) in theirs.answers {
                *ours.answers.entry(status).or_default() += times;
            }
            let room = EXAMPLES.saturating_sub(ours.examples.len());
            ours.examples.extend(theirs.examples.into_iter().take(room));
        }
    }

    fn checked(&self, check: Check) -> u64 {
        self.by_check.get(&check).map_or(0, |count| count.checked)
    }

    fn answered(&self, check: Check, status: StatusCode) -> u64 {
        self.by_check
            .get(&check)
            .and_then(|count| count.answers.get(&status.as_u16()).copied())
            .unwrap_or(0)
    }

    fn violations(&self) -> u64 {
        self.by_check.values().map(|count| count.violations).sum()
    }
}

/// Runs the crash on a database of its own and adds its row and section to `report`.
pub async fn run(options: &Options, dir: &Path, report: &mut Report) -> anyhow::Result<()> {
    super::with_own_database(options, dir, "crash", report, run_on).await
}

async fn run_on(
    options: &Options,
    dir: &Path,
    database: &FreshDatabase,
    report: &mut Report,
) -> anyhow::Result<()> {
    let bin = options.server_bin();
    let secret = server::random_secret();
    // Both servers as an operator would start them: the same configuration, the same
    // database, the same folder; each its own log.
    let launch = |log_name| Launch {
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
    let first = Server::start(&launch("server-crash-1.log")).await?;
    let (users, _) = options.soak_clients();
    let plan = options.crash_plan();

    let population = Population::new();
    let signed_up = population
        .sign_up(first.addr(), users)
        .await
        .context("cannot sign up the crash's users")?;
    let mut visitors = soak::visitors(signed_up, &population, &[first.addr()]);
    let start = Instant::now();
    let subjects: Vec<Subject> = visitors
        .iter_mut()
        .enumerate()
        .map(|(index, visitor)| {
            visitor.follow(
                Journey::user_signing_out_every(index as u64, LOGOUT_EVERY),
                start + plan.warmup.mul_f64(index as f64 / users as f64),
            );
            Subject {
                account: visitor.account().clone(),
                address: visitor.address().clone(),
                ledger: visitor.keep_ledger(),
            }
        })
        .collect();

    let stats = Arc::new(Mutex::new(Stats::default()));
    let armed_from = start + plan.warmup + plan.duration;
    let kill = Arc::new(Kill {
        switch: first.kill_switch()?,
        armed_from,
        in_flight: AtomicUsize::new(0),
        pulled: AtomicBool::new(false),
        moment: OnceLock::new(),
        done: Notify::new(),
    });
    let workload = UntilKilled {
        soak: Soak::new(Arc::clone(&stats), ACCESS_TOKEN_TTL),
        kill: Arc::clone(&kill),
    };
    let load_plan = Plan {
        duration: plan.duration + LOAD_BOUND,
        ..plan
    };
    let (measurement, killing) = tokio::join!(load::run(workload, visitors, load_plan), async {
        tokio::select! {
            () = tokio::time::sleep_until(armed_from + SIGN_OUT_WAIT) => kill.pull(false),
            () = kill.done.notified() => {}
        }
        let tail = first.log_tail();
        (first.kill().await, tail)
    });
    let (status, tail) = (killing.0?, killing.1);
    if status.signal() != Some(Signal::SIGKILL as i32) {
        anyhow::bail!("the server ended with {status} before the kill; its log ends:\n{tail}");
    }
    let pulled = *kill
        .moment
        .get()
        .context("the server was killed by no one")?;
    let (cut_off, killed_at) = (pulled.cut_off, pulled.at);
    let before = soak::take(&stats);
    let ledgers: Vec<Ledger> = subjects
        .iter()
        .map(|subject| {
            subject
                .ledger
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone()
        })
        .collect();

    // Said at once: a damaged file may stop the rest of the run.
    let integrity = database.check_integrity().await?;
    if let Some(integrity) = &integrity
        && !integrity.is_sound()
    {
        report.problems.push(format!(
            "crash: SQLite's checks of the file after the kill: integrity_check said {:?}, \
             foreign_key_check found {:?}",
            integrity.integrity, integrity.dangling
        ));
    }
    let alarms = database.count_audit_events(REUSE_ACTION).await?;

    let mut second = Server::start(&launch("server-crash-2.log")).await?;
    let restart = killed_at.elapsed();
    let findings = check(second.addr(), &subjects, ledgers.clone()).await;
    let warnings = second.log_lines_at("WARN").len();
    let errors = second.log_lines_at("ERROR").len();
    if let Some(status) = second.exit_status() {
        report.problems.push(format!(
            "crash: the restarted server exited during the checks ({status}); its log ends:\n{}",
            second.log_tail()
        ));
    } else {
        let tail = second.log_tail();
        match second.stop().await {
            Ok(status) if status.success() => {}
            Ok(status) => report.problems.push(format!(
                "crash: the restarted server ended with {status} after SIGTERM; its log ends:\n{tail}"
            )),
            Err(error) => report.problems.push(format!("{error:#}")),
        }
    }

    let unanswered = Unanswered::of(&ledgers);
    if cut_off == 0 {
        report
            .problems
            .push("crash: no request was in flight at the kill".to_owned());
    }
    if alarms > 0 {
        report.problems.push(format!(
            "crash: {alarms} session(s) revoked for refresh-token reuse before the kill \
             (`{REUSE_ACTION}` audit events), though every client only replayed a token \
             within the grace window"
        ));
    }
    for (check, count) in &findings.by_check {
        if count.violations > 0 {
            report.problems.push(format!(
                "crash: after the restart, {} of {} violated \"{}\", e.g. {}",
                count.violations,
                count.checked,
                check.describe(),
                count.examples.join("; ")
            ));
        }
    }

    let signed_out = findings.checked(Check::SignedOutAccess);
    let latest = [
        Check::LiveRefresh,
        Check::RefreshInFlight,
        Check::SignOutInFlight,
        Check::EndedRefresh,
    ];
    let latest_answered = |status| {
        latest
            .into_iter()
            .map(|check| findings.answered(check, status))
            .sum::<u64>()
    };
    let moment = format!(
        "{:.2} s into the load, {}",
        pulled
            .at
            .saturating_duration_since(start + plan.warmup)
            .as_secs_f64(),
        if pulled.after_sign_out {
            "right after a sign-out was answered 204"
        } else {
            "by the clock (no sign-out answered in time)"
        }
    );
    report.outcomes.push(Outcome {
        name: ScenarioName::Crash,
        case: String::new(),
        concurrency: users.to_string(),
        measurement,
        notes: vec![
            format!(
                "SIGKILL {moment}, {cut_off} users waiting for an answer ({} refreshes, {} \
                 sign-outs unanswered)",
                unanswered.refreshes, unanswered.logouts,
            ),
            integrity_note(integrity.as_ref()),
            format!(
                "after the restart: {}/{users} sign-ins, {} sessions ({} refreshed, {} \
                 refused), {} spent tokens replayed ({} accepted), {signed_out} sign-outs \
                 in force; {} violations",
                findings.answered(Check::SignIn, StatusCode::OK),
                ledgers.iter().map(|l| l.sessions.len()).sum::<usize>(),
                latest_answered(StatusCode::OK),
                latest_answered(StatusCode::UNAUTHORIZED),
                findings.checked(Check::Spent),
                findings.answered(Check::Spent, StatusCode::OK),
                findings.violations(),
            ),
        ],
    });
    report.sections.push(Section {
        title: format!(
            "crash: {users} users, SIGKILL at the first sign-out answered after {} s of load \
             ({} s of sign-ins first), restart on the same database, ACCESS_TOKEN_TTL {} s",
            plan.duration.as_secs_f64(),
            plan.warmup.as_secs_f64(),
            ACCESS_TOKEN_TTL.as_secs()
        ),
        body: format!(
            "Before the kill: {} 5xx, {} wrongful 401s, {} refused refreshes, {alarms} reuse \
             alarms. The kill: {moment}, {cut_off} users waiting for an answer; {} refreshes \
             and {} sign-outs unanswered.\n\
             {}.\n\
             The new server listened {:.1} s after the kill; its log: {warnings} WARN (reuse \
             detected: the spent tokens' replays), {errors} ERROR lines.\n\n{}",
            before.server_errors,
            before.wrongful_401,
            before.refused_refreshes,
            unanswered.refreshes,
            unanswered.logouts,
            integrity_note(integrity.as_ref()),
            restart.as_secs_f64(),
            checks_table(&findings),
        ),
    });
    Ok(())
}

/// Requests the kill left unanswered, over every user's sessions.
#[derive(Debug, Default)]
struct Unanswered {
    refreshes: usize,
    logouts: usize,
}

impl Unanswered {
    fn of(ledgers: &[Ledger]) -> Self {
        let mut unanswered = Self::default();
        for session in ledgers.iter().flat_map(|ledger| &ledger.sessions) {
            match session.pending {
                Some(Pending::Refresh) => unanswered.refreshes += 1,
                Some(Pending::Logout) => unanswered.logouts += 1,
                None => {}
            }
        }
        unanswered
    }
}

/// SQLite's verdict on the file, in a few words.
fn integrity_note(integrity: Option<&Integrity>) -> String {
    match integrity {
        None => "PostgreSQL: no file to check (its server kept running)".to_owned(),
        Some(integrity) if integrity.is_sound() => "SQLite file after the kill: \
            `PRAGMA integrity_check` ok, `PRAGMA foreign_key_check` empty"
            .to_owned(),
        Some(integrity) => format!(
            "SQLite file after the kill: `PRAGMA integrity_check` {}, `PRAGMA \
             foreign_key_check` {} rows",
            integrity.integrity.join(" / "),
            integrity.dangling.len()
        ),
    }
}

/// The checks as a Markdown table.
fn checks_table(findings: &Findings) -> String {
    let rows: Vec<Vec<String>> = findings
        .by_check
        .iter()
        .map(|(check, count)| {
            let answers: Vec<String> = count
                .answers
                .iter()
                .map(|(status, times)| format!("{times}× {status}"))
                .collect();
            vec![
                check.describe().to_owned(),
                count.checked.to_string(),
                answers.join(", "),
                count.violations.to_string(),
            ]
        })
        .collect();
    report::table(
        &["after the restart", "checked", "answers", "violations"],
        &rows,
    )
}

/// Checks every user's sessions and account on the restarted server at `addr`, a few
/// users at once.
async fn check(addr: std::net::SocketAddr, subjects: &[Subject], ledgers: Vec<Ledger>) -> Findings {
    let mut batches: Vec<Vec<(Account, HeaderValue, Ledger)>> =
        (0..CHECK_CONCURRENCY).map(|_| Vec::new()).collect();
    for (index, (subject, ledger)) in subjects.iter().zip(ledgers).enumerate() {
        batches[index % CHECK_CONCURRENCY].push((
            subject.account.clone(),
            subject.address.clone(),
            ledger,
        ));
    }
    let mut tasks = JoinSet::new();
    for batch in batches {
        tasks.spawn(async move {
            let mut connection = Connection::new(addr);
            let mut findings = Findings::default();
            for (account, address, ledger) in batch {
                check_user(&mut connection, &account, address, &ledger, &mut findings).await;
            }
            findings
        });
    }
    let mut findings = Findings::default();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(batch) => findings.merge(batch),
            Err(error) => findings.count(
                Check::SignIn,
                None,
                false,
                format!("a checking task failed: {error}"),
            ),
        }
    }
    findings
}

/// One user's checks, in the order that keeps them independent: access tokens before any
/// refresh token is replayed (a replay revokes its session, which would refuse them for
/// another reason), latest tokens before spent ones (a spent token presented while its
/// successor is still current and young is rightly forgiven by the grace window).
async fn check_user(
    connection: &mut Connection,
    account: &Account,
    address: HeaderValue,
    ledger: &Ledger,
    findings: &mut Findings,
) {
    let who = &account.credentials.email;
    for (index, session) in ledger.sessions.iter().enumerate() {
        if session.ended == Some(Ended::LoggedOut) && session.cookies.get(cookies::ACCESS).is_some()
        {
            let reply = send(
                connection,
                soak::access_request(&session.cookies, paths::ME),
            )
            .await;
            expect(
                findings,
                Check::SignedOutAccess,
                &reply,
                &[StatusCode::UNAUTHORIZED],
                || format!("{who}, session {index}"),
            );
        }
    }
    for (index, session) in ledger.sessions.iter().enumerate() {
        if session.refresh_token().is_some() {
            check_latest(connection, session, findings, || {
                format!("{who}, session {index}")
            })
            .await;
        }
    }
    for (index, session) in ledger.sessions.iter().enumerate() {
        for (nth, spent) in session.spent.iter().enumerate() {
            let mut jar = session.cookies.clone();
            jar.insert(cookies::REFRESH, spent);
            let reply = send(connection, soak::refresh_request(&jar)).await;
            expect(
                findings,
                Check::Spent,
                &reply,
                &[StatusCode::UNAUTHORIZED],
                || format!("{who}, session {index}, spent token {nth}"),
            );
        }
    }
    let mut request = post_json(paths::LOGIN, &account.credentials);
    request.headers_mut().insert(FORWARDED_FOR, address);
    let reply = connection.send(request).await;
    expect(findings, Check::SignIn, &reply, &[StatusCode::OK], || {
        who.clone()
    });
}

/// A session's latest refresh token, presented twice.
async fn check_latest(
    connection: &mut Connection,
    session: &SessionRecord,
    findings: &mut Findings,
    which: impl Fn() -> String,
) {
    let (check, allowed): (Check, &[StatusCode]) = match (session.ended, session.pending) {
        (Some(_), _) => (Check::EndedRefresh, &[StatusCode::UNAUTHORIZED]),
        (None, Some(Pending::Refresh)) => (
            Check::RefreshInFlight,
            &[StatusCode::OK, StatusCode::UNAUTHORIZED],
        ),
        (None, Some(Pending::Logout)) => (
            Check::SignOutInFlight,
            &[StatusCode::OK, StatusCode::UNAUTHORIZED],
        ),
        (None, None) => (Check::LiveRefresh, &[StatusCode::OK]),
    };
    let first = send(connection, soak::refresh_request(&session.cookies)).await;
    expect(findings, check, &first, allowed, &which);
    let issued = first
        .as_ref()
        .ok()
        .filter(|reply| reply.status == StatusCode::OK)
        .and_then(soak::refresh_cookie);
    let again = send(connection, soak::refresh_request(&session.cookies)).await;
    let (status, holds, why) = match &again {
        Ok(reply) if reply.status == StatusCode::UNAUTHORIZED => (Some(reply.status), true, None),
        Ok(reply) if reply.status == StatusCode::OK => {
            let reissued = soak::refresh_cookie(reply);
            let same = issued.is_some() && reissued == issued;
            let why = if issued.is_none() {
                "not accepted the first time, then accepted"
            } else {
                "accepted twice with different new tokens: the session forked"
            };
            (Some(reply.status), same, (!same).then_some(why.to_owned()))
        }
        Ok(reply) => (Some(reply.status), false, Some(describe(reply))),
        Err(failure) => (None, false, Some(failure.to_string())),
    };
    findings.count(
        Check::Again,
        status,
        holds,
        format!("{}: {}", which(), why.unwrap_or_default()),
    );
}

/// Sends `request` (a request that could not be built is a failure like any other).
async fn send(
    connection: &mut Connection,
    request: Result<http::Request<Body>, Failure>,
) -> Result<Reply, Failure> {
    connection.send(request?).await
}

/// Counts `reply` for `check`: it holds when its status is one of `allowed`.
fn expect(
    findings: &mut Findings,
    check: Check,
    reply: &Result<Reply, Failure>,
    allowed: &[StatusCode],
    which: impl Fn() -> String,
) {
    match reply {
        Ok(reply) => {
            let holds = allowed.contains(&reply.status);
            let why = if holds {
                String::new()
            } else {
                format!("{}: {}", which(), describe(reply))
            };
            findings.count(check, Some(reply.status), holds, why);
        }
        Err(failure) => findings.count(check, None, false, format!("{}: {failure}", which())),
    }
}

/// `METHOD path: status code`, as a failure would say it.
fn describe(reply: &Reply) -> String {
    reply.failure("").to_string().trim_end().to_owned()
}
