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

/// A thread on the first core this process may use waking a thread on the last one every
/// few milliseconds, timing how long each woken thread waits for its core: what a thread
/// of this machine waits at that moment, whatever the server does (a request wakes one of
/// the server's threads, from wherever the packet was handled). Measured beside readers,
/// it shows how much of their p99 the machine could account for. The two are pinned
/// apart, as a thread woken on the core it was woken from would start at once; on one
/// core, or where the threads cannot be pinned, there is no figure.
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
        // The first and last cores this process may use (none: the threads stay unpinned
        // and give no figure).
        let apart = allowed_cores().and_then(|cores| {
            let (first, last) = (*cores.first()?, *cores.last()?);
            (first != last).then_some((first, last))
        });
        let waker = std::thread::spawn(move || {
            let Some((first, _)) = apart else { return };
            if pin(first).is_err() {
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
            let Some((_, last)) = apart else {
                return Vec::new();
            };
            if pin(last).is_err() {
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

/// The cores the calling thread may run on.
fn allowed_cores() -> Option<Vec<usize>> {
    let cores = nix::sched::sched_getaffinity(nix::unistd::Pid::from_raw(0)).ok()?;
    Some(
        (0..nix::sched::CpuSet::count())
            .filter(|&core| cores.is_set(core).unwrap_or(false))
            .collect(),
    )
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
