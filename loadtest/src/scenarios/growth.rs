//! `growth`: refresh (32 clients, each rotating its own session) and `/api/products` (32
//! clients) on databases holding more and more sessions (1k, 100k, 1M by default), one
//! fresh database and one server per size, the sessions written straight into the
//! database before the server starts; then again on the largest with some of its sessions
//! revoked a minute before the start, which the server holds in memory. Each figure is
//! compared with the smallest database's: the aim is a drop of at most [`MAX_DROP`].

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{Context, reads, refresh};
use crate::database::FreshDatabase;
use crate::machine;
use crate::options::{Options, ScenarioName, format_count};
use crate::report::{self, Outcome, Report, Section};
use crate::seed;
use crate::server::{self, Launch, Server};

/// The largest drop from the smallest database's throughput that meets the aim.
pub const MAX_DROP: f64 = 0.20;

/// One measured database: its size, and what refresh and products did on it.
struct Case {
    sessions: u64,
    revoked: u64,
    seeding: Option<Duration>,
    refresh: Outcome,
    products: Outcome,
    peak_rss_kib: Option<u64>,
}

impl Case {
    fn name(&self) -> String {
        if self.revoked > 0 {
            format!(
                "{} + {} revoked",
                format_count(self.sessions),
                format_count(self.revoked)
            )
        } else {
            format_count(self.sessions)
        }
    }
}

/// Measures each size on a database of its own and adds the rows and the comparison to
/// `report`.
pub async fn run(options: &Options, dir: &Path, report: &mut Report) -> anyhow::Result<()> {
    let sizes = options.growth_sizes();
    let revoked = options.growth_revoked();
    let mut cases = Vec::new();
    for (index, &size) in sizes.iter().enumerate() {
        let last = index + 1 == sizes.len();
        let folder = dir.join(format!("growth-{size}"));
        std::fs::create_dir_all(&folder)?;
        let database =
            FreshDatabase::create(options.database, &folder, &options.postgres_url).await?;
        let measured = on_database(
            options,
            &folder,
            &database,
            size,
            if last { revoked } else { 0 },
            &mut cases,
        )
        .await;
        if let Err(error) = database.remove().await {
            eprintln!("loadtest: {error:#}");
        }
        if let Err(error) = measured {
            report.problems.push(format!(
                "growth could not measure {}: {error:#}",
                format_count(size)
            ));
            break;
        }
    }
    report.sections.push(Section {
        title: format!(
            "growth: refresh and products by stored sessions, {} s each after {} s of warm-up",
            options.plan().duration.as_secs_f64(),
            options.plan().warmup.as_secs_f64()
        ),
        body: table(&cases),
    });
    for case in cases {
        let name = case.name();
        for mut outcome in [case.refresh, case.products] {
            outcome.case = format!("{name} {}", outcome.name.as_str());
            outcome.name = ScenarioName::Growth;
            report.outcomes.push(outcome);
        }
    }
    Ok(())
}

/// Seeds `size` sessions, measures, and when `revoked` is not zero revokes that many and
/// measures again on a new server.
async fn on_database(
    options: &Options,
    dir: &Path,
    database: &FreshDatabase,
    size: u64,
    revoked: u64,
    cases: &mut Vec<Case>,
) -> anyhow::Result<()> {
    eprintln!("loadtest: growth: seeding {} sessions", format_count(size));
    database.migrate().await?;
    let started = std::time::Instant::now();
    seed::sessions(database, size, unix_ms()).await?;
    let seeding = started.elapsed();
    let secret = server::random_secret();
    cases.push(measure(options, dir, database, &secret, size, 0, Some(seeding)).await?);
    if revoked > 0 {
        let ago = i64::try_from(seed::REVOKED_AGO.as_millis())?;
        let done = seed::revoke(database, revoked, unix_ms() - ago).await?;
        cases.push(measure(options, dir, database, &secret, size, done, None).await?);
    }
    Ok(())
}

/// Starts a server on the database, measures refresh then products, stops it.
async fn measure(
    options: &Options,
    dir: &Path,
    database: &FreshDatabase,
    secret: &str,
    sessions: u64,
    revoked: u64,
    seeding: Option<Duration>,
) -> anyhow::Result<Case> {
    let bin = options.server_bin();
    let log_name = format!("server-growth-{sessions}-{revoked}.log");
    let launch = Launch {
        bin: &bin,
        dir,
        log_name: &log_name,
        database_url: database.url(),
        jwt_secret: secret,
        jwt_alg: options.jwt_alg,
        access_token_ttl: None,
        revocation_max_staleness: None,
        rust_log: &options.rust_log,
    };
    let mut server = Server::start(&launch).await?;
    let mut context = Context::new(&server, options);
    let refresh = refresh::run(&mut context).await?;
    let products = reads::products(&mut context).await?;
    let peak_rss_kib = server.memory().map(|memory| memory.peak_kib);
    if let Some(status) = server.exit_status() {
        anyhow::bail!(
            "the server exited ({status}); its log ends:\n{}",
            server.log_tail()
        );
    }
    let tail = server.log_tail();
    let status = server.stop().await?;
    if !status.success() {
        anyhow::bail!("the server ended with {status} after SIGTERM; its log ends:\n{tail}");
    }
    Ok(Case {
        sessions,
        revoked,
        seeding,
        refresh,
        products,
        peak_rss_kib,
    })
}

fn unix_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .ok()
        .and_then(|since| i64::try_from(since.as_millis()).ok())
        .unwrap_or_default()
}

/// Each rate as a fraction of the first one (none when the first is zero).
fn ratios(rates: &[f64]) -> Vec<Option<f64>> {
    let first = rates.first().copied().unwrap_or_default();
    rates
        .iter()
        .map(|rate| (first > 0.0).then(|| rate / first))
        .collect()
}

/// The largest drop among `ratios` (0.15: 15% below the first), zero when none is below.
fn largest_drop(ratios: &[Option<f64>]) -> f64 {
    ratios
        .iter()
        .flatten()
        .map(|ratio| 1.0 - ratio)
        .fold(0.0, f64::max)
}

/// The comparison: rates, their ratio to the smallest database, p99s, seeding time, RSS.
fn table(cases: &[Case]) -> String {
    let refresh_rates: Vec<f64> = cases.iter().map(|c| c.refresh.measurement.rate()).collect();
    let product_rates: Vec<f64> = cases
        .iter()
        .map(|c| c.products.measurement.rate())
        .collect();
    let (refresh_ratios, product_ratios) = (ratios(&refresh_rates), ratios(&product_rates));
    let ratio = |r: Option<f64>| r.map_or("—".to_owned(), |r| format!("{r:.2}×"));
    let p99 = |outcome: &Outcome| report::millis(outcome.measurement.quantile_ms(0.99));
    let rows: Vec<Vec<String>> = cases
        .iter()
        .enumerate()
        .map(|(i, case)| {
            vec![
                case.name(),
                case.seeding
                    .map_or("—".to_owned(), |s| format!("{:.1}", s.as_secs_f64())),
                format!("{:.0}", refresh_rates[i]),
                ratio(refresh_ratios[i]),
                p99(&case.refresh),
                format!("{:.0}", product_rates[i]),
                ratio(product_ratios[i]),
                p99(&case.products),
                case.peak_rss_kib.map_or("?".to_owned(), machine::mib),
            ]
        })
        .collect();
    let verdict = |drop: f64| {
        format!(
            "{:.0}% ({})",
            drop * 100.0,
            if drop <= MAX_DROP {
                "within the aim"
            } else {
                "over the aim"
            }
        )
    };
    format!(
        "{}\nLargest drop from the smallest database (aim: at most {:.0}%): refresh {}, \
         products {}.\n",
        report::table(
            &[
                "stored sessions",
                "seeded in s",
                "refresh/s",
                "× smallest",
                "refresh p99 ms",
                "products/s",
                "× smallest",
                "products p99 ms",
                "server peak RSS",
            ],
            &rows
        ),
        MAX_DROP * 100.0,
        verdict(largest_drop(&refresh_ratios)),
        verdict(largest_drop(&product_ratios)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_compared_with_the_first_and_the_worst_drop_is_reported() {
        let ratios = ratios(&[200.0, 190.0, 150.0, 210.0]);
        assert_eq!(ratios, [Some(1.0), Some(0.95), Some(0.75), Some(1.05)]);
        assert!((largest_drop(&ratios) - 0.25).abs() < 1e-9);
        assert_eq!(largest_drop(&super::ratios(&[100.0, 120.0])), 0.0);
        assert_eq!(super::ratios(&[0.0, 5.0]), [None, None]);
    }
}
