//! The `backend` binary, run as an operator would run it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

/// How long a server may take to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// The `backend` binary of this workspace's debug build (`BACKEND_BIN` overrides).
pub fn backend_bin() -> PathBuf {
    if let Ok(path) = std::env::var("BACKEND_BIN") {
        return path.into();
    }
    let target = std::env::var("CARGO_TARGET_DIR").map_or_else(
        |_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"),
        PathBuf::from,
    );
    let bin = target.join("debug/backend");
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build -p backend` first (scripts/test does)",
        bin.display()
    );
    bin
}

/// A command for the binary with a clean environment (only `PATH`), run in `cwd`.
pub fn backend_command(bin: &Path, cwd: &Path) -> Command {
    let mut command = Command::new(bin);
    command
        .current_dir(cwd)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// A running server process and everything it has logged.
pub struct BackendProcess {
    child: Child,
    addr: String,
    log: Arc<Mutex<String>>,
}

impl BackendProcess {
    /// Starts `command` (a `serve` with `BIND_ADDR` on port 0) and waits until it listens.
    pub fn start(mut command: Command) -> Self {
        let mut child = command.spawn().expect("start backend");
        let stderr = child.stderr.take().expect("piped stderr");
        let log = Arc::new(Mutex::new(String::new()));
        let (addr_tx, addr_rx) = mpsc::channel();
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains("listening")
                    && let Some(addr) = line
                        .split("addr=")
                        .nth(1)
                        .and_then(|rest| rest.split_whitespace().next())
                {
                    let _ = addr_tx.send(addr.to_owned());
                }
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let addr = addr_rx
            .recv_timeout(START_TIMEOUT)
            .unwrap_or_else(|_| panic!("backend did not start: {}", log.lock().unwrap()));
        Self { child, addr, log }
    }

    /// [`Self::start`] without blocking the async runtime (which may be serving a
    /// [`crate::TcpProxy`] the process needs to start).
    pub async fn launch(command: Command) -> Self {
        tokio::task::spawn_blocking(move || Self::start(command))
            .await
            .expect("backend start panicked")
    }

    /// `http://host:port`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `http://host:port{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// What it has logged so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Stops with SIGTERM, asserts a clean exit, and returns the whole log.
    pub fn stop(mut self) -> String {
        let pid = i32::try_from(self.child.id()).expect("a process id fits an i32");
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGTERM,
        )
        .expect("send SIGTERM");
        let status = self.child.wait().expect("wait for backend");
        assert!(status.success(), "graceful shutdown exits 0, got {status}");
        // The reader thread may still be copying the last lines.
        std::thread::sleep(Duration::from_millis(50));
        self.log()
    }
}

impl Drop for BackendProcess {
    fn drop(&mut self) {
        // A test that panicked must not leave servers behind.
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
