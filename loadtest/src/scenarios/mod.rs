//! The scenarios, and the run that starts the server and plays them one after another.
//!
//! A scenario signs up the users it needs, builds one client state per virtual client and
//! hands a [`Workload`](crate::load::Workload) to the runner; a new one (a soak of users
//! looping login → reads → refresh → logout, a database grown to many sessions) is a file
//! here with a workload whose step is one request of a user's journey, and a line in
//! [`run_scenario`].

mod login;
mod reads;
mod refresh;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;

use crate::client::Connection;
use crate::database::FreshDatabase;
use crate::load::Plan;
use crate::machine::{self, Memory};
use crate::options::{Options, ScenarioName};
use crate::report::{Outcome, Report};
use crate::server::{Launch, Server};
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

/// Creates the database, starts the server, runs the chosen scenarios, stops the server
/// and drops the database.
pub async fn run_all(options: &Options) -> anyhow::Result<Report> {
    let dir = tempfile::Builder::new()
        .prefix("loadtest-")
        .tempdir()
        .context("cannot create a temporary folder")?;
    let database =
        FreshDatabase::create(options.database, dir.path(), &options.postgres_url).await?;
    let mut report = Report::new(options, &database.describe());
    let ran = run_on(options, dir.path(), &database, &mut report).await;
    if let Err(error) = database.remove().await {
        eprintln!("loadtest: {error:#}");
    }
    ran.map(|()| report)
}

async fn run_on(
    options: &Options,
    dir: &std::path::Path,
    database: &FreshDatabase,
    report: &mut Report,
) -> anyhow::Result<()> {
    let bin = options.server_bin();
    let launch = Launch {
        bin: &bin,
        dir,
        database_url: database.url(),
        jwt_alg: options.jwt_alg,
        rust_log: &options.rust_log,
    };
    let mut server = Server::start(&launch).await?;
    report.memory_idle = server.memory();
    let mut context = Context {
        addr: server.addr(),
        pid: server.child_id(),
        plan: options.plan(),
        quick: options.quick,
        population: Arc::new(Population::new()),
        health_rate: None,
    };
    for name in options.scenario_list() {
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
