//! `loadtest`: starts the real `backend` binary on a fresh database, drives its endpoints
//! over real HTTP from many virtual clients, and prints the results as a Markdown table.
//!
//! # Module map (imports go down this list, never up)
//! - [`scenarios`]: the run (server up, scenarios one by one, server down) and what each
//!   scenario sends, the users it signs up first, its notes.
//! - [`report`]: the results as Markdown, one row per scenario.
//! - [`load`]: the runner: virtual clients looping one step each until the deadline,
//!   latencies into a histogram, failures counted by kind.
//! - [`rss`]: the servers' memory read at an interval through a run.
//! - [`users`]: accounts, sign-up, and the `X-Forwarded-For` addresses clients use.
//! - [`client`]: one keep-alive HTTP/1 connection per virtual client, and its cookies.
//! - [`server`], [`seed`], [`database`], [`proxy`]: the backend process; sessions written
//!   straight into a database before its server starts; the fresh database; a TCP proxy
//!   between the server and PostgreSQL that can be cut and restored.
//! - [`options`], [`machine`]: the flags; the host's cores, CPU and a process's memory.

mod client;
mod database;
mod load;
mod machine;
mod options;
mod proxy;
mod report;
mod rss;
mod scenarios;
mod seed;
mod server;
mod users;

use std::process::ExitCode;

use clap::Parser as _;

use options::Options;

fn main() -> ExitCode {
    let options = Options::parse();
    let runtime = match options.runtime() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("loadtest: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(scenarios::run_all(&options)) {
        Ok(report) => {
            print!("{report}");
            if report.passed() {
                ExitCode::SUCCESS
            } else {
                eprintln!("loadtest: {}", report.failure_summary());
                ExitCode::FAILURE
            }
        }
        Err(error) => {
            eprintln!("loadtest: {error:#}");
            ExitCode::FAILURE
        }
    }
}
