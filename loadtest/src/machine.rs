//! The host: its cores and CPU, how long it takes to wake a thread, and a process's memory
//! as Linux reports it.

use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Cores this process may use.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// The CPU's model name from `/proc/cpuinfo`.
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split_once(':'))
                .map(|(_, model)| model.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned())
}

/// The 1-minute load average, to tell a busy machine's figures from a quiet one's.
pub fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// A thread on the first core waking a thread on the last one every few milliseconds,
/// timing how long each woken thread waits for its core: the floor under every request's
/// latency at that moment, whatever the server does (a request wakes one of the server's
/// threads, from wherever the packet was handled). Measured beside readers, it tells the
/// machine's share of their p99 from the server's. The two are pinned apart, as a thread
/// woken on the core it was woken from would start at once; on one core, or where the
/// threads cannot be pinned, there is no figure.
pub struct WakeProbe {
    waker: JoinHandle<()>,
    woken: JoinHandle<Vec<Duration>>,
    stop: mpsc::Sender<()>,
}

impl WakeProbe {
    /// Starts waking a thread every `pace`.
    pub fn start(pace: Duration) -> Self {
        let (stop, stopped) = mpsc::channel::<()>();
        let (wake, wakes) = mpsc::channel::<Instant>();
        let last = cores().saturating_sub(1);
        let waker = std::thread::spawn(move || {
            if last == 0 || pin(0).is_err() {
                return;
            }
            // Each wake-up leaves when the pace has passed or the probe stops.
            while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(pace) {
                if wake.send(Instant::now()).is_err() {
                    break;
                }
            }
        });
        let woken = std::thread::spawn(move || {
            if last == 0 || pin(last).is_err() {
                return Vec::new();
            }
            wakes.iter().map(|sent| sent.elapsed()).collect()
        });
        Self { waker, woken, stop }
    }

    /// Stops, and returns the p99 of the waits in milliseconds (`None` without a wake-up).
    pub fn finish(self) -> Option<f64> {
        drop(self.stop);
        self.waker.join().ok()?;
        let mut waits = self.woken.join().ok()?;
        waits.sort_unstable();
        let at = (waits.len() * 99).div_ceil(100).checked_sub(1)?;
        Some(waits.get(at)?.as_secs_f64() * 1000.0)
    }
}

/// Keeps the calling thread on core `core`.
fn pin(core: usize) -> nix::Result<()> {
    let mut cores = nix::sched::CpuSet::new();
    cores.set(core)?;
    nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &cores)
}

/// A process's resident memory, in KiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Memory {
    /// Resident now (`VmRSS`).
    pub rss_kib: u64,
    /// The most it has been resident (`VmHWM`).
    pub peak_kib: u64,
}

impl Memory {
    /// The memory of process `pid`, while it runs.
    pub fn of(pid: u32) -> Option<Self> {
        parse_status(&std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?)
    }
}

/// Reads `VmRSS` and `VmHWM` (`VmRSS:\t  12345 kB`) from a `/proc/PID/status` text.
fn parse_status(status: &str) -> Option<Memory> {
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
            .and_then(|value| value.split_whitespace().next()?.parse().ok())
    };
    Some(Memory {
        rss_kib: field("VmRSS")?,
        peak_kib: field("VmHWM")?,
    })
}

/// KiB as MiB with one decimal.
pub fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resident_and_peak_memory_are_read_from_proc_status() {
        let status =
            "Name:\tbackend\nVmPeak:\t  900000 kB\nVmHWM:\t   61440 kB\nVmRSS:\t   40960 kB\n";
        assert_eq!(
            parse_status(status),
            Some(Memory {
                rss_kib: 40960,
                peak_kib: 61440
            })
        );
        assert_eq!(parse_status("Name:\tzombie\n"), None);
        assert_eq!(mib(61440), "60.0 MiB");
    }

    #[test]
    fn this_process_has_memory() {
        let memory = Memory::of(std::process::id()).unwrap();
        assert!(memory.peak_kib >= memory.rss_kib && memory.rss_kib > 0);
    }
}
