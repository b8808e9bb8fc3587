//! The `backend` process under test: started as an operator would (`backend serve`, a
//! clean environment), its output going to a log file in the run's folder (a file rather
//! than a pipe, so nothing has to drain it while the load runs), stopped with SIGTERM, or
//! killed with SIGKILL to play a crash.

use std::fs::{self, File};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use anyhow::{Context as _, bail};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::time::Instant;

use crate::machine::Memory;
use crate::options::JwtAlg;

/// How long the server may take to start listening (migrations included).
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long it may take to stop after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(20);
/// How often the log and the process are looked at while waiting.
const POLL: Duration = Duration::from_millis(50);
/// Lines of the log shown when the server fails.
const LOG_TAIL_LINES: usize = 40;

/// How to start the server.
#[derive(Debug, Clone)]
pub struct Launch<'a> {
    /// The `backend` binary.
    pub bin: &'a Path,
    /// The run's folder: the server's working directory, static files, outbox and log.
    pub dir: &'a Path,
    /// The log's file name in `dir` (instances sharing a folder each have their own).
    pub log_name: &'a str,
    /// `DATABASE_URL`.
    pub database_url: &'a str,
    /// `JWT_SECRET`: instances sharing a database share it.
    pub jwt_secret: &'a str,
    /// `JWT_ALG`.
    pub jwt_alg: JwtAlg,
    /// `ACCESS_TOKEN_TTL`, when not the server's default.
    pub access_token_ttl: Option<Duration>,
    /// `REVOCATION_MAX_STALENESS`, when not the server's default.
    pub revocation_max_staleness: Option<Duration>,
    /// `RUST_LOG`.
    pub rust_log: &'a str,
}

/// A random `JWT_SECRET`.
pub fn random_secret() -> String {
    backend::crypto::random_token(36)
}

/// A running server.
pub struct Server {
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
}

impl Server {
    /// Starts the server and waits until it logs the address it listens on.
    pub async fn start(launch: &Launch<'_>) -> anyhow::Result<Self> {
        let static_dir = launch.dir.join("static");
        let outbox = launch.dir.join("outbox");
        fs::create_dir_all(&static_dir)?;
        fs::create_dir_all(&outbox)?;
        let log = launch.dir.join(launch.log_name);
        let output = File::create(&log)?;
        let mut command = Command::new(launch.bin);
        command
            .arg("serve")
            .current_dir(launch.dir)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("APP_ENV", "development")
            .env("BIND_ADDR", "127.0.0.1:0")
            .env("DATABASE_URL", launch.database_url)
            .env("JWT_SECRET", launch.jwt_secret)
            .env("JWT_ALG", launch.jwt_alg.as_str())
            // Each virtual client names its own address in X-Forwarded-For, so that the
            // per-IP sign-in limits see many clients, as they would in production.
            .env("TRUSTED_PROXIES", "127.0.0.1/32")
            .env("STATIC_DIR", &static_dir)
            .env("MAIL_URL", format!("file://{}", outbox.display()))
            .env("RUST_LOG", format!("{},backend::app=info", launch.rust_log))
            .stdin(Stdio::null())
            .stdout(output.try_clone()?)
            .stderr(output);
        if let Some(ttl) = launch.access_token_ttl {
            command.env(
                "ACCESS_TOKEN_TTL",
                humantime::format_duration(ttl).to_string(),
            );
        }
        if let Some(limit) = launch.revocation_max_staleness {
            command.env(
                "REVOCATION_MAX_STALENESS",
                humantime::format_duration(limit).to_string(),
            );
        }
        let child = command
            .spawn()
            .with_context(|| format!("cannot start {}", launch.bin.display()))?;
        let mut server = Self {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            log,
        };
        server.addr = server.wait_until_listening().await?;
        Ok(server)
    }

    async fn wait_until_listening(&mut self) -> anyhow::Result<SocketAddr> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let log = fs::read_to_string(&self.log).unwrap_or_default();
            if let Some(addr) = listening_addr(&log) {
                return Ok(addr);
            }
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "the server exited ({status}) before listening:\n{}",
                    self.log_tail()
                );
            }
            if Instant::now() >= deadline {
                bail!(
                    "the server did not listen within {START_TIMEOUT:?}:\n{}",
                    self.log_tail()
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its process id.
    pub fn child_id(&self) -> u32 {
        self.child.id()
    }

    /// Its memory now (none once it has exited).
    pub fn memory(&self) -> Option<Memory> {
        Memory::of(self.child.id())
    }

    /// How it ended, if it has.
    pub fn exit_status(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// The last lines it logged.
    pub fn log_tail(&self) -> String {
        let log = fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n")
    }

    /// The lines of its log at `level` (`WARN`, `ERROR`), without their timestamps.
    pub fn log_lines_at(&self, level: &str) -> Vec<String> {
        let marker = format!(" {level} ");
        fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter_map(|line| {
                let at = line.find(&marker)?;
                Some(line[at + 1..].to_owned())
            })
            .collect()
    }

    /// How much it logged, in bytes.
    pub fn log_size(&self) -> u64 {
        fs::metadata(&self.log).map_or(0, |meta| meta.len())
    }

    /// Stops it with SIGTERM (SIGKILL after [`STOP_TIMEOUT`]) and returns how it ended.
    pub async fn stop(mut self) -> anyhow::Result<ExitStatus> {
        if let Some(status) = self.exit_status() {
            return Ok(status);
        }
        let pid = Pid::from_raw(i32::try_from(self.child.id())?);
        kill(pid, Signal::SIGTERM).context("cannot signal the server")?;
        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            tokio::time::sleep(POLL).await;
        }
        self.child.kill()?;
        let status = self.child.wait()?;
        bail!(
            "the server did not stop within {STOP_TIMEOUT:?} of SIGTERM and was killed ({status})"
        )
    }

    /// A switch that kills it at once from wherever the moment comes (a client that has
    /// just been answered).
    pub fn kill_switch(&self) -> anyhow::Result<KillSwitch> {
        Ok(KillSwitch(Pid::from_raw(i32::try_from(self.child.id())?)))
    }

    /// Kills it with SIGKILL, as a crash or the OOM killer would: no shutdown, requests in
    /// flight cut off (again, when its [`KillSwitch`] has been pulled: a process not yet
    /// waited for keeps its id). Returns how it ended once it is gone: killed by signal 9,
    /// unless it had exited on its own.
    pub async fn kill(mut self) -> anyhow::Result<ExitStatus> {
        if let Some(status) = self.exit_status() {
            return Ok(status);
        }
        self.kill_switch()?.pull()?;
        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            tokio::time::sleep(POLL).await;
        }
        bail!("the server was still running {STOP_TIMEOUT:?} after SIGKILL")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // A run that failed half-way must not leave its server behind.
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Kills a server with SIGKILL at once, without waiting for it to go; [`Server::kill`]
/// then waits for it. Only for a server that has not been waited for yet.
#[derive(Debug, Clone, Copy)]
pub struct KillSwitch(Pid);

impl KillSwitch {
    /// Sends SIGKILL.
    pub fn pull(self) -> anyhow::Result<()> {
        kill(self.0, Signal::SIGKILL).context("cannot kill the server")
    }
}

/// The address in the server's `listening addr=127.0.0.1:PORT` line, once that line is
/// complete (a line being written may end in the middle of the port).
fn listening_addr(log: &str) -> Option<SocketAddr> {
    log.split_inclusive('\n')
        .filter(|line| line.ends_with('\n') && line.contains("listening"))
        .find_map(|line| line.split("addr=").nth(1)?.split_whitespace().next())
        .and_then(|addr| addr.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bound_address_is_read_from_the_listening_line() {
        let log = "2026-01-01T00:00:00Z  INFO backend::app: migrations applied\n\
                   2026-01-01T00:00:00Z  INFO backend::app: listening addr=127.0.0.1:40123\n";
        assert_eq!(
            listening_addr(log),
            Some(SocketAddr::from(([127, 0, 0, 1], 40123)))
        );
        assert_eq!(
            listening_addr("INFO backend::app: listening addr=127.0.0.1:40"),
            None
        );
        assert_eq!(listening_addr("INFO backend::app: starting\n"), None);
    }
}
