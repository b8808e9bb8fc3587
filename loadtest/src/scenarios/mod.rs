//! The scenarios, and the run that starts the server and plays them one after another.
//!
//! A scenario signs up the users it needs, builds one client state per virtual client and
//! hands a [`Workload`](crate::load::Workload) to the runner; a new one is a file here with
//! a workload whose step is one request of a user's journey, and a line in
//! [`run_scenario`]. Most scenarios share one server, started once; those that need
//! servers of their own (`soak`: a short access-token lifetime, several instances on one
//! database; `growth`: a seeded database per size; `crash`: a server killed and another
//! started on its database; `outage`: a server whose PostgreSQL goes away and comes
//! back) start them themselves, after the others, through [`run_with_own_servers`].

mod crash;
mod growth;
mod hostile;
mod login;
mod outage;
mod reads;
mod refresh;
mod soak;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;

use crate::client::Connection;
use crate::database::{self, FreshDatabase};
use crate::load::Plan;
use crate::machine::{self, Memory};
use crate::options::{Options, ScenarioName};
use crate::report::{Outcome, Report};
use crate::server::{self, Launch, Server};
use crate::users::{Population, SignedUp};

/// What a scenario has to work with.
pub struct Context {
    /// The server's address.
    pub addr: SocketAddr,
    /// The server's process id, to read its memory.
    pub pid: u32,
    /// Warm-up and duration of each scenario.
    pub plan: Plan,
    /// Short runs (`--quick`): fewer argon2 samples too.
    pub quick: bool,
    /// Accounts and client addresses.
    pub population: Arc<Population>,
    /// `health`'s req/s in this run, once it has run.
    pub health_rate: Option<f64>,
}

impl Context {
    /// A fresh context for `server`: new accounts, no `health` rate yet.
    pub fn new(server: &Server, options: &Options) -> Self {
        Self {
            addr: server.addr(),
            pid: server.child_id(),
            plan: options.plan(),
            quick: options.quick,
            population: Arc::new(Population::new()),
            health_rate: None,
        }
    }

    /// The server's memory now.
    pub fn memory(&self) -> Option<Memory> {
        Memory::of(self.pid)
    }
}

/// A virtual client playing a signed-up user: its connection, its account and the
/// cookies it holds.
pub struct Member {
    /// Its own connection.
    pub connection: Connection,
    /// The account, and the cookies of the session its sign-up started.
    pub user: SignedUp,
}

/// Signs up `count` users and gives each a connection of its own.
pub async fn members(context: &Context, count: usize) -> anyhow::Result<Vec<Member>> {
    let users = context.population.sign_up(context.addr, count).await?;
    Ok(users
        .into_iter()
        .map(|user| Member {
            connection: Connection::new(context.addr),
            user,
        })
        .collect())
}

/// Runs the chosen scenarios: those sharing a server on one fresh database (created,
/// served, stopped and dropped), then those that start servers of their own.
pub async fn run_all(options: &Options) -> anyhow::Result<Report> {
    options.check().map_err(anyhow::Error::msg)?;
    let dir = tempfile::Builder::new()
        .prefix("loadtest-")
        .tempdir()
        .context("cannot create a temporary folder")?;
    let mut report = Report::new(
        options,
        &database::describe_kind(options.database, &options.postgres_url),
    );
    let (own, shared): (Vec<ScenarioName>, Vec<ScenarioName>) = options
        .scenario_list()
        .into_iter()
        .partition(|name| name.has_own_servers());
    if !shared.is_empty() {
        let database =
            FreshDatabase::create(options.database, dir.path(), &options.postgres_url).await?;
        let ran = run_on(options, &shared, dir.path(), &database, &mut report).await;
        if let Err(error) = database.remove().await {
            eprintln!("loadtest: {error:#}");
        }
        ran?;
    }
    for name in own {
        eprintln!("loadtest: running {}", name.as_str());
        if let Err(error) = run_with_own_servers(name, options, dir.path(), &mut report).await {
            report
                .problems
                .push(format!("{} could not run: {error:#}", name.as_str()));
        }
    }
    Ok(report)
}

/// Runs `scenario` on a fresh database of its own in the folder `dir/name`, dropped
/// afterwards (a failure to drop it is printed, not returned).
pub async fn with_own_database(
    options: &Options,
    dir: &std::path::Path,
    name: &str,
    report: &mut Report,
    scenario: impl AsyncFnOnce(
        &Options,
        &std::path::Path,
        &FreshDatabase,
        &mut Report,
    ) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let dir = dir.join(name);
    std::fs::create_dir_all(&dir)?;
    let database = FreshDatabase::create(options.database, &dir, &options.postgres_url).await?;
    let ran = scenario(options, &dir, &database, report).await;
    if let Err(error) = database.remove().await {
        eprintln!("loadtest: {error:#}");
    }
    ran
}

/// Runs a scenario that starts its own servers on databases of its own.
async fn run_with_own_servers(
    name: ScenarioName,
    options: &Options,
    dir: &std::path::Path,
    report: &mut Report,
) -> anyhow::Result<()> {
    match name {
        ScenarioName::Soak => soak::run(options, dir, report).await,
        ScenarioName::Growth => growth::run(options, dir, report).await,
        ScenarioName::Crash => crash::run(options, dir, report).await,
        ScenarioName::Outage => outage::run(options, dir, report).await,
        ScenarioName::Health
        | ScenarioName::Products
        | ScenarioName::Me
        | ScenarioName::Refresh
        | ScenarioName::Login
        | ScenarioName::Hostile => {
            anyhow::bail!("{} runs on the shared server", name.as_str())
        }
    }
}

async fn run_on(
    options: &Options,
    scenarios: &[ScenarioName],
    dir: &std::path::Path,
    database: &FreshDatabase,
    report: &mut Report,
) -> anyhow::Result<()> {
    let bin = options.server_bin();
    let secret = server::random_secret();
    let launch = Launch {
        bin: &bin,
        dir,
        log_name: "server.log",
        database_url: database.url(),
        jwt_secret: &secret,
        jwt_alg: options.jwt_alg,
        access_token_ttl: None,
        revocation_max_staleness: None,
        rust_log: &options.rust_log,
    };
    let mut server = Server::start(&launch).await?;
    report.memory_idle = server.memory();
    let mut context = Context::new(&server, options);
    for &name in scenarios {
        eprintln!("loadtest: running {}", name.as_str());
        match run_scenario(name, &mut context).await {
            Ok(outcome) => report.outcomes.push(outcome),
            Err(error) => report
                .problems
                .push(format!("{} could not run: {error:#}", name.as_str())),
        }
        if let Some(status) = server.exit_status() {
            report.problems.push(format!(
                "the server exited during {} ({status}); its log ends:\n{}",
                name.as_str(),
                server.log_tail()
            ));
            return Ok(());
        }
    }
    report.memory_after = server.memory();
    report.log_bytes = server.log_size();
    let tail = server.log_tail();
    match server.stop().await {
        Ok(status) if status.success() => {}
        Ok(status) => report.problems.push(format!(
            "the server ended with {status} after SIGTERM; its log ends:\n{tail}"
        )),
        Err(error) => report.problems.push(format!("{error:#}")),
    }
    Ok(())
}

async fn run_scenario(name: ScenarioName, context: &mut Context) -> anyhow::Result<Outcome> {
    let mut outcome = match name {
        ScenarioName::Health => reads::health(context).await?,
        ScenarioName::Products => reads::products(context).await?,
        ScenarioName::Me => reads::me(context).await?,
        ScenarioName::Refresh => refresh::run(context).await?,
        ScenarioName::Login => login::run(context).await?,
        ScenarioName::Hostile => hostile::run(context).await?,
        ScenarioName::Soak | ScenarioName::Growth | ScenarioName::Crash | ScenarioName::Outage => {
            anyhow::bail!("{} starts servers of its own", name.as_str())
        }
    };
    if name != ScenarioName::Login
        && let Some(memory) = context.memory()
    {
        outcome
            .notes
            .push(format!("RSS {}", machine::mib(memory.rss_kib)));
    }
    Ok(outcome)
}
