//! The command line.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Parser, ValueEnum};

use crate::load::Plan;

/// The PostgreSQL server used with `--database postgres` when `--postgres-url` is not given.
pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// Starts the backend on a fresh database and measures its endpoints over real HTTP.
///
/// The tool shares the machine with the server it measures: keep `--threads` low (the
/// default, one thread, leaves the other cores to the server) so that what is measured is
/// the server and not the generator.
#[derive(Debug, Parser)]
#[command(name = "loadtest", version)]
pub struct Options {
    /// Scenarios to run, comma-separated; they run in the order listed here. `hostile`,
    /// `soak`, `growth`, `crash` and `outage` run only when named; the last four start
    /// servers and databases of their own.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "health,products,me,refresh,login"
    )]
    pub scenarios: Vec<ScenarioName>,
    /// Measured time of each scenario (`10s`, `500ms`, or seconds as a number) [default:
    /// 10 s, 60 s for `soak`, 10 s of load before the kill for `crash`, 15 s without the
    /// database for `outage`; with `--quick` 1 s, 4 s for `soak`, 2 s for `crash`, 6 s for
    /// `outage`].
    #[arg(long, value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Time each scenario runs before measuring starts.
    #[arg(long, value_parser = parse_duration)]
    pub warmup: Option<Duration>,
    /// Short runs (1 s per scenario after 0.2 s of warm-up) that check the tool and the
    /// server still work; `--duration` and `--warmup` still override.
    #[arg(long)]
    pub quick: bool,
    /// Worker threads of the load generator (1: a single-threaded runtime).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub threads: u16,
    /// The `backend` binary [default: $CARGO_TARGET_DIR/release/backend, else
    /// target/release/backend of this workspace].
    #[arg(long)]
    pub server_bin: Option<PathBuf>,
    /// The server's database: a fresh SQLite file, or a fresh database on `--postgres-url`.
    #[arg(long, value_enum, default_value = "sqlite")]
    pub database: DatabaseKind,
    /// PostgreSQL server (trust authentication) on which `--database postgres` creates a
    /// database of its own, dropped at the end.
    #[arg(long, default_value = DEFAULT_POSTGRES_URL)]
    pub postgres_url: String,
    /// The server's `JWT_ALG`.
    #[arg(long, value_enum, default_value = "HS256")]
    pub jwt_alg: JwtAlg,
    /// The server's `RUST_LOG` (`backend::app=info` is added: it logs the bound address).
    #[arg(long, default_value = "info")]
    pub rust_log: String,
    /// `soak`, `crash` and `outage`: users looping sign-in → reads → refresh → sign-out
    /// [default: 200, 100 for `outage`; 20 with `--quick`].
    #[arg(long)]
    pub users: Option<usize>,
    /// `soak` and `outage`: readers of `/api/products` beside the users [default: 16, 8
    /// for `outage`; 4 with `--quick`].
    #[arg(long)]
    pub readers: Option<usize>,
    /// `soak`: backend processes sharing one database, each user going from one to the
    /// other between requests (more than one needs `--database postgres`; `crash` and
    /// `outage` always run one).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=8))]
    pub instances: u8,
    /// `growth`: stored sessions of each database, comma-separated (`1k,100k,1M`)
    /// [default: 1k,100k,1M; 1k,10k with `--quick`].
    #[arg(long, value_delimiter = ',', value_parser = parse_count)]
    pub sizes: Vec<u64>,
    /// `growth`: sessions revoked a minute before the server starts, which it holds in
    /// memory, measured on the largest database [default: 10k; 1k with `--quick`].
    #[arg(long, value_parser = parse_count)]
    pub revoked: Option<u64>,
    /// `outage`: how the server loses its database: `proxy` (a TCP proxy between them is
    /// cut: connections closed, new ones refused) or `pg-ctl` (the local PostgreSQL
    /// cluster is stopped with `pg_ctlcluster`, then started: every other client of that
    /// server loses it too).
    #[arg(long, value_enum, default_value = "proxy")]
    pub outage: OutageKind,
}

/// A scenario, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub enum ScenarioName {
    /// `GET /api/health`: the floor of a request.
    Health,
    /// `GET /api/products` with an access token.
    Products,
    /// `GET /api/me` with an access token.
    Me,
    /// `POST /api/auth/refresh`, each client rotating its own session.
    Refresh,
    /// `POST /api/auth/login`, bounded by argon2id.
    Login,
    /// Thousands of idle connections, request heads and bodies sent a byte at a time,
    /// beside a newcomer signing up and in and paced readers of `/api/me`.
    Hostile,
    /// Users looping sign-in → `/api/me` and `/api/products` → refresh (sometimes two tabs
    /// at once) → now and then sign-out, beside readers of `/api/products`; the servers'
    /// memory over time.
    Soak,
    /// Refresh and `/api/products` on databases of growing numbers of stored sessions,
    /// and with recently revoked sessions held in memory.
    Growth,
    /// Users looping as in `soak` while the server is killed with SIGKILL, then a restart
    /// on the same database: what was answered before the crash still holds after it.
    Crash,
    /// Users looping as in `soak` while PostgreSQL is cut off from the server, then
    /// brought back: clear 503s, no hang, fail-closed access tokens, recovery without a
    /// restart.
    Outage,
}

impl ScenarioName {
    /// The name in the table and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Health => "health",
            Self::Products => "products",
            Self::Me => "me",
            Self::Refresh => "refresh",
            Self::Login => "login",
            Self::Hostile => "hostile",
            Self::Soak => "soak",
            Self::Growth => "growth",
            Self::Crash => "crash",
            Self::Outage => "outage",
        }
    }

    /// Whether it runs on servers and databases of its own rather than the run's shared
    /// server.
    pub fn has_own_servers(self) -> bool {
        matches!(self, Self::Soak | Self::Growth | Self::Crash | Self::Outage)
    }
}

/// Where the server keeps its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DatabaseKind {
    /// A SQLite file in a fresh temporary folder.
    Sqlite,
    /// A fresh database on `--postgres-url`.
    Postgres,
}

/// How the `outage` scenario takes the database away.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutageKind {
    /// A TCP proxy between the server and PostgreSQL is cut, then restored.
    Proxy,
    /// The local PostgreSQL cluster is stopped, then started (`pg_ctlcluster`).
    PgCtl,
}

impl OutageKind {
    /// The name on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Proxy => "proxy",
            Self::PgCtl => "pg-ctl",
        }
    }
}

/// `outage`'s phases, one after another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutagePlan {
    /// Users start signing in one after another over this.
    pub warmup: Duration,
    /// Then the load runs this long with the database.
    pub before: Duration,
    /// Then this long without it.
    pub cut: Duration,
    /// Then this long with it back.
    pub after: Duration,
}

/// The server's signing algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum JwtAlg {
    /// One shared secret.
    #[value(name = "HS256")]
    Hs256,
    /// Ed25519 keys.
    #[value(name = "EdDSA")]
    EdDsa,
}

impl JwtAlg {
    /// The value of `JWT_ALG`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hs256 => "HS256",
            Self::EdDsa => "EdDSA",
        }
    }
}

impl Options {
    /// The scenarios to run, each once, in their fixed order (so `health` has run when
    /// the others compare themselves to it).
    pub fn scenario_list(&self) -> Vec<ScenarioName> {
        let mut list = self.scenarios.clone();
        list.sort_unstable();
        list.dedup();
        list
    }

    /// Warm-up and measured time of each scenario.
    pub fn plan(&self) -> Plan {
        let (duration, warmup) = if self.quick {
            (Duration::from_secs(1), Duration::from_millis(200))
        } else {
            (Duration::from_secs(10), Duration::from_secs(1))
        };
        Plan {
            warmup: self.warmup.unwrap_or(warmup),
            duration: self.duration.unwrap_or(duration),
            pace: None,
        }
    }

    /// `soak`'s plan: users start signing in one after another over the warm-up.
    pub fn soak_plan(&self) -> Plan {
        let (duration, warmup) = if self.quick {
            (Duration::from_secs(4), Duration::from_secs(1))
        } else {
            (Duration::from_secs(60), Duration::from_secs(5))
        };
        Plan {
            warmup: self.warmup.unwrap_or(warmup),
            duration: self.duration.unwrap_or(duration),
            pace: None,
        }
    }

    /// `crash`'s plan: users start signing in one after another over the warm-up, and the
    /// server is killed at the end of the duration, in the middle of their requests.
    pub fn crash_plan(&self) -> Plan {
        let (duration, warmup) = if self.quick {
            (Duration::from_secs(2), Duration::from_millis(500))
        } else {
            (Duration::from_secs(10), Duration::from_secs(2))
        };
        Plan {
            warmup: self.warmup.unwrap_or(warmup),
            duration: self.duration.unwrap_or(duration),
            pace: None,
        }
    }

    /// `outage`'s phases: sign-ins, load with the database, without it (`--duration`),
    /// with it back.
    pub fn outage_plan(&self) -> OutagePlan {
        let (warmup, before, cut, after) = if self.quick {
            // The cut outlasts the 5 s latency bound, so that a request that hangs until
            // the database is back is seen.
            (500, 1_000, 6_000, 3_500)
        } else {
            (5_000, 5_000, 15_000, 15_000)
        };
        OutagePlan {
            warmup: self.warmup.unwrap_or(Duration::from_millis(warmup)),
            before: Duration::from_millis(before),
            cut: self.duration.unwrap_or(Duration::from_millis(cut)),
            after: Duration::from_millis(after),
        }
    }

    /// `outage`'s users and readers: half the soak's by default, a load the debug server
    /// carries on two cores before any cut, so that what fails is the outage's doing.
    pub fn outage_clients(&self) -> (usize, usize) {
        let (users, readers) = if self.quick { (20, 4) } else { (100, 8) };
        (self.users.unwrap_or(users), self.readers.unwrap_or(readers))
    }

    /// `soak`'s users and readers (`crash` has the users alone).
    pub fn soak_clients(&self) -> (usize, usize) {
        let (users, readers) = if self.quick { (20, 4) } else { (200, 16) };
        (self.users.unwrap_or(users), self.readers.unwrap_or(readers))
    }

    /// `growth`'s database sizes, smallest first, each once.
    pub fn growth_sizes(&self) -> Vec<u64> {
        let mut sizes = if self.sizes.is_empty() {
            if self.quick {
                vec![1_000, 10_000]
            } else {
                vec![1_000, 100_000, 1_000_000]
            }
        } else {
            self.sizes.clone()
        };
        sizes.sort_unstable();
        sizes.dedup();
        sizes
    }

    /// `growth`'s revoked sessions, at most as many as the largest database holds.
    pub fn growth_revoked(&self) -> u64 {
        let revoked = self
            .revoked
            .unwrap_or(if self.quick { 1_000 } else { 10_000 });
        revoked.min(self.growth_sizes().last().copied().unwrap_or(0))
    }

    /// Refuses combinations that cannot run.
    pub fn check(&self) -> Result<(), String> {
        if self.instances > 1 && self.database != DatabaseKind::Postgres {
            return Err("--instances above 1 needs --database postgres".to_owned());
        }
        if self.scenarios.contains(&ScenarioName::Outage) && self.database != DatabaseKind::Postgres
        {
            return Err(
                "the outage scenario needs --database postgres: it cuts the server off \
                        from its PostgreSQL server (an embedded SQLite file cannot be)"
                    .to_owned(),
            );
        }
        Ok(())
    }

    /// The `backend` binary to start, as an absolute path (the server runs in a
    /// directory of its own, where a relative path would name nothing).
    pub fn server_bin(&self) -> PathBuf {
        let bin = self.server_bin.clone().unwrap_or_else(|| {
            std::env::var_os("CARGO_TARGET_DIR")
                .map_or_else(
                    || {
                        let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
                        manifest.parent().unwrap_or(manifest).join("target")
                    },
                    PathBuf::from,
                )
                .join("release/backend")
        });
        std::path::absolute(&bin).unwrap_or(bin)
    }

    /// The generator's runtime: one thread by default, so the server keeps the other cores.
    pub fn runtime(&self) -> std::io::Result<tokio::runtime::Runtime> {
        if self.threads == 1 {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
        } else {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(usize::from(self.threads))
                .enable_all()
                .build()
        }
    }
}

/// `10s`, `1m`, `500ms` (humantime), or a number of seconds (`10`, `0.5`).
fn parse_duration(text: &str) -> Result<Duration, String> {
    if let Ok(seconds) = text.parse::<f64>() {
        return Duration::try_from_secs_f64(seconds).map_err(|e| format!("{text:?}: {e}"));
    }
    humantime::parse_duration(text).map_err(|e| format!("{text:?}: {e}"))
}

/// A count, plain or with a `k` (thousand) or `M` (million) suffix: `1k`, `100k`, `1M`,
/// `2500`.
fn parse_count(text: &str) -> Result<u64, String> {
    let (digits, factor) = match text.trim() {
        t if t.ends_with(['k', 'K']) => (&t[..t.len() - 1], 1_000),
        t if t.ends_with('M') => (&t[..t.len() - 1], 1_000_000),
        t => (t, 1),
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(factor))
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("{text:?} is not a count such as 1000, 1k or 1M"))
}

/// A count as `parse_count` reads it: `1k`, `100k`, `1M`, `2500`.
pub fn format_count(count: u64) -> String {
    if count >= 1_000_000 && count.is_multiple_of(1_000_000) {
        format!("{}M", count / 1_000_000)
    } else if count >= 1_000 && count.is_multiple_of(1_000) {
        format!("{}k", count / 1_000)
    } else {
        count.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_read_as_seconds_or_with_a_unit() {
        assert_eq!(parse_duration("10"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("0.2"), Ok(Duration::from_millis(200)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert!(parse_duration("-1").is_err());
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn scenarios_run_once_each_in_their_fixed_order() {
        let options =
            Options::try_parse_from(["loadtest", "--scenarios", "login,health,login"]).unwrap();
        assert_eq!(
            options.scenario_list(),
            [ScenarioName::Health, ScenarioName::Login]
        );
    }

    #[test]
    fn counts_take_a_thousand_or_million_suffix_and_print_back_the_same() {
        assert_eq!(parse_count("1k"), Ok(1_000));
        assert_eq!(parse_count("100k"), Ok(100_000));
        assert_eq!(parse_count("1M"), Ok(1_000_000));
        assert_eq!(parse_count("2500"), Ok(2_500));
        assert!(parse_count("0").is_err());
        assert!(parse_count("1m").is_err());
        assert!(parse_count("k").is_err());
        for count in [1_000, 100_000, 1_000_000, 2_500, 1_500_000] {
            assert_eq!(parse_count(&format_count(count)), Ok(count));
        }
        assert_eq!(format_count(1_500_000), "1500k");
    }

    #[test]
    fn growth_sizes_are_sorted_and_revoked_sessions_fit_the_largest() {
        let options =
            Options::try_parse_from(["loadtest", "--sizes", "1M,1k,1k", "--revoked", "2M"])
                .unwrap();
        assert_eq!(options.growth_sizes(), [1_000, 1_000_000]);
        assert_eq!(options.growth_revoked(), 1_000_000);
        let quick = Options::try_parse_from(["loadtest", "--quick"]).unwrap();
        assert_eq!(quick.growth_sizes(), [1_000, 10_000]);
        assert_eq!(quick.growth_revoked(), 1_000);
    }

    #[test]
    fn several_instances_need_postgres() {
        let sqlite = Options::try_parse_from(["loadtest", "--instances", "2"]).unwrap();
        assert!(sqlite.check().is_err());
        let postgres =
            Options::try_parse_from(["loadtest", "--instances", "2", "--database", "postgres"])
                .unwrap();
        assert!(postgres.check().is_ok());
    }

    #[test]
    fn the_outage_needs_postgres_and_its_cut_is_the_duration() {
        let sqlite = Options::try_parse_from(["loadtest", "--scenarios", "outage"]).unwrap();
        assert!(sqlite.check().unwrap_err().contains("--database postgres"));
        let quick = Options::try_parse_from([
            "loadtest",
            "--quick",
            "--scenarios",
            "outage",
            "--database",
            "postgres",
            "--outage",
            "pg-ctl",
        ])
        .unwrap();
        assert!(quick.check().is_ok());
        assert_eq!(quick.outage, OutageKind::PgCtl);
        assert_eq!(quick.outage_plan().cut, Duration::from_secs(6));
        let long = Options::try_parse_from(["loadtest", "--duration", "20s"]).unwrap();
        assert_eq!(long.outage_plan().cut, Duration::from_secs(20));
        assert_eq!(long.outage, OutageKind::Proxy);
    }

    #[test]
    fn quick_shortens_the_defaults_but_explicit_flags_win() {
        let quick = Options::try_parse_from(["loadtest", "--quick", "--duration", "3"]).unwrap();
        let plan = quick.plan();
        assert_eq!(plan.duration, Duration::from_secs(3));
        assert_eq!(plan.warmup, Duration::from_millis(200));
    }
}
