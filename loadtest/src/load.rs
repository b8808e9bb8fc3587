//! The runner: each virtual client loops one step of its workload (one request, or one
//! step of a user's journey) until the deadline; the steps that start after the warm-up
//! and succeed are measured (count, rate, latency). Failures are counted apart, from the
//! first step on, warm-up included: they are about correctness, not speed.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hdrhistogram::Histogram;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::client::Failure;

/// The longest a step may take before it counts as failed (the server answers 408 after
/// 30 s itself), so that a stuck server cannot keep the tool running.
const STEP_TIMEOUT: Duration = Duration::from_secs(40);
/// The largest latency the histograms hold, in microseconds (longer ones are clamped).
const MAX_LATENCY_MICROS: u64 = 60_000_000;

/// What a scenario's virtual clients do, one step at a time.
pub trait Workload: Send + Sync + 'static {
    /// The state of one virtual client: its connection, cookies, account.
    type Client: Send + 'static;

    /// One step; its time is the latency recorded. An error is counted, and the client
    /// goes on with its next step.
    fn step(&self, client: &mut Self::Client) -> impl Future<Output = Result<(), Failure>> + Send;

    /// Whether the run has been cut short before its deadline (the `crash` scenario has
    /// killed the server): the clients stop, and a step that ends after the cut is not
    /// counted, whether it succeeded or failed.
    fn cut_short(&self) -> bool {
        false
    }

    /// When the client may take its next step, if it has to wait (it was answered 503
    /// with a `Retry-After`). The wait is not part of the step's time.
    fn not_before(&self, _client: &Self::Client) -> Option<Instant> {
        None
    }
}

/// How long a scenario runs, and how often each client steps.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Time run before measuring starts.
    pub warmup: Duration,
    /// Time measured.
    pub duration: Duration,
    /// `None`: each client steps again as soon as its step is done (closed loop);
    /// `Some(p)`: steps start on a schedule of one every `p` (a paced client beside a
    /// flood), the clients spread evenly over `p`; a client whose step ran long starts the
    /// next at once, may take one more early to catch up, never more, and goes on in its
    /// own slots.
    pub pace: Option<Duration>,
}

impl Plan {
    /// The same plan with each client stepping once every `pace` (see [`Plan::pace`]).
    pub fn paced(self, pace: Duration) -> Self {
        Self {
            pace: Some(pace),
            ..self
        }
    }
}

/// The results of a run: latencies of the measured steps that succeeded, and every failure.
#[derive(Debug, Clone)]
pub struct Measurement {
    /// Latencies in microseconds.
    latencies: Histogram<u64>,
    /// Steps that succeeded in the measured window.
    steps: u64,
    /// The measured window: from the end of the warm-up to the last step's end.
    window: Duration,
    /// Failures by kind, warm-up included.
    failures: BTreeMap<Failure, u64>,
}

impl Default for Measurement {
    fn default() -> Self {
        Self {
            latencies: Histogram::new_with_bounds(1, MAX_LATENCY_MICROS, 3)
                .expect("constant histogram bounds are valid"),
            steps: 0,
            window: Duration::ZERO,
            failures: BTreeMap::new(),
        }
    }
}

impl Measurement {
    /// Steps that succeeded in the measured window.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// Successful steps per second over the measured window.
    pub fn rate(&self) -> f64 {
        let seconds = self.window.as_secs_f64();
        if seconds > 0.0 {
            self.steps as f64 / seconds
        } else {
            0.0
        }
    }

    /// The latency at quantile `q` (0.5, 0.99) in milliseconds, when any step succeeded.
    pub fn quantile_ms(&self, q: f64) -> Option<f64> {
        (!self.latencies.is_empty()).then(|| self.latencies.value_at_quantile(q) as f64 / 1000.0)
    }

    /// How many steps failed, warm-up included.
    pub fn failure_count(&self) -> u64 {
        self.failures.values().sum()
    }

    /// The failures by kind.
    pub fn failures(&self) -> &BTreeMap<Failure, u64> {
        &self.failures
    }

    /// Counts a failure.
    pub fn fail(&mut self, failure: Failure) {
        *self.failures.entry(failure).or_default() += 1;
    }

    /// Counts `other`'s failures too (a side workload's, say).
    pub fn add_failures(&mut self, other: &Self) {
        for (failure, count) in &other.failures {
            *self.failures.entry(failure.clone()).or_default() += count;
        }
    }

    fn merge(&mut self, other: &Self) {
        // Same bounds on both sides, so adding cannot fail.
        let _ = self.latencies.add(&other.latencies);
        self.steps += other.steps;
        self.window = self.window.max(other.window);
        self.add_failures(other);
    }
}

/// Runs `clients` of `workload` for `plan`'s warm-up and duration, all at once, and
/// returns what they measured together.
pub async fn run<W: Workload>(workload: W, clients: Vec<W::Client>, plan: Plan) -> Measurement {
    run_keeping(workload, clients, plan).await.0
}

/// As [`run`], and gives back the clients, in no particular order, once they have
/// stopped (to look at the state they were left in).
pub async fn run_keeping<W: Workload>(
    workload: W,
    clients: Vec<W::Client>,
    plan: Plan,
) -> (Measurement, Vec<W::Client>) {
    let workload = Arc::new(workload);
    let start = Instant::now();
    let measure_from = start + plan.warmup;
    let count = u32::try_from(clients.len()).unwrap_or(u32::MAX).max(1);
    let mut tasks = JoinSet::new();
    for (index, client) in (0..count).zip(clients) {
        // Paced clients spread over the pace rather than all stepping at once.
        let first = start
            + plan
                .pace
                .map_or(Duration::ZERO, |pace| pace * index / count);
        tasks.spawn(drive(
            Arc::clone(&workload),
            client,
            first,
            measure_from,
            plan,
        ));
    }
    let mut total = Measurement::default();
    let mut stopped = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((measured, client)) => {
                total.merge(&measured);
                stopped.push(client);
            }
            Err(error) => total.fail(Failure::new(format!("a virtual client failed: {error}"))),
        }
    }
    if total.window.is_zero() {
        total.window = plan.duration;
    }
    (total, stopped)
}

/// One virtual client's loop, its first step due at `first`.
async fn drive<W: Workload>(
    workload: Arc<W>,
    mut client: W::Client,
    first: Instant,
    measure_from: Instant,
    plan: Plan,
) -> (Measurement, W::Client) {
    let end = measure_from + plan.duration;
    let mut measured = Measurement::default();
    // When a paced client's next step is due: on a schedule, so that timers rounding up
    // do not slow the rate.
    let mut due = first;
    loop {
        if plan.pace.is_some() {
            tokio::time::sleep_until(due.min(end)).await;
        }
        if let Some(at) = workload.not_before(&client) {
            tokio::time::sleep_until(at.min(end)).await;
        }
        let started = Instant::now();
        if started >= end || workload.cut_short() {
            break;
        }
        let outcome = tokio::time::timeout(STEP_TIMEOUT, workload.step(&mut client))
            .await
            .unwrap_or_else(|_| Err(Failure::new(format!("no answer within {STEP_TIMEOUT:?}"))));
        if workload.cut_short() {
            break;
        }
        let done = Instant::now();
        if started >= measure_from {
            measured.window = done.duration_since(measure_from);
        }
        match outcome {
            Ok(()) if started >= measure_from => {
                measured.steps += 1;
                let micros = u64::try_from(done.duration_since(started).as_micros())
                    .unwrap_or(MAX_LATENCY_MICROS);
                measured.latencies.saturating_record(micros.max(1));
            }
            Ok(()) => {}
            Err(failure) => measured.fail(failure),
        }
        if let Some(pace) = plan.pace {
            // The next slot of this client's own schedule, skipping those more than a pace
            // in the past: a late client takes at most one step early to catch up, and
            // keeps its place among the others. (Timers fire on whole milliseconds, so at
            // a pace of a millisecond or two most steps start a little late; without that
            // one step the rate would sag.)
            let behind = done
                .checked_sub(pace)
                .map_or(Duration::ZERO, |floor| floor.saturating_duration_since(due));
            let slots = behind.as_nanos().div_ceil(pace.as_nanos().max(1)).max(1);
            due += pace * u32::try_from(slots).unwrap_or(u32::MAX);
        }
    }
    (measured, client)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Steps that take 2 ms, and fail every third time.
    struct Ticking;

    impl Workload for Ticking {
        type Client = u32;

        async fn step(&self, count: &mut u32) -> Result<(), Failure> {
            tokio::time::sleep(Duration::from_millis(2)).await;
            *count += 1;
            if count.is_multiple_of(3) {
                Err(Failure::new("every third"))
            } else {
                Ok(())
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn steps_after_the_warmup_are_measured_and_every_failure_counted() {
        let plan = Plan {
            warmup: Duration::from_millis(10),
            duration: Duration::from_millis(100),
            pace: None,
        };
        let measured = run(Ticking, vec![0, 0], plan).await;
        // 55 steps per client in 110 ms, 18 of them failing; of the 50 after the warm-up
        // (the 6th to the 55th), 17 fail.
        assert_eq!(measured.failure_count(), 2 * 18);
        assert_eq!(measured.steps(), 2 * (50 - 17));
        assert!((measured.rate() - 660.0).abs() < 1.0, "{}", measured.rate());
        let p50 = measured.quantile_ms(0.5).unwrap();
        assert!((p50 - 2.0).abs() < 0.01, "{p50}");
    }

    /// Steps that take 2 ms and fail once the run is cut short at 10 ms.
    struct CutAt10Ms {
        cut_at: Instant,
    }

    impl Workload for CutAt10Ms {
        type Client = ();

        async fn step(&self, _: &mut ()) -> Result<(), Failure> {
            tokio::time::sleep(Duration::from_millis(2)).await;
            if self.cut_short() {
                Err(Failure::new("the server has gone"))
            } else {
                Ok(())
            }
        }

        fn cut_short(&self) -> bool {
            Instant::now() >= self.cut_at
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_run_cut_short_stops_and_counts_no_step_that_ended_after_the_cut() {
        let plan = Plan {
            warmup: Duration::ZERO,
            duration: Duration::from_secs(1),
            pace: None,
        };
        let cut_at = Instant::now() + Duration::from_millis(10);
        let measured = run(CutAt10Ms { cut_at }, vec![()], plan).await;
        // Steps end at 2, 4, 6, 8 ms; the one ending at 10 ms failed after the cut.
        assert_eq!(measured.steps(), 4);
        assert_eq!(measured.failure_count(), 0);
        assert!(Instant::now() < cut_at + Duration::from_millis(5));
    }

    #[tokio::test(start_paused = true)]
    async fn a_paced_client_steps_once_per_pace() {
        let plan = Plan {
            warmup: Duration::ZERO,
            duration: Duration::from_millis(100),
            pace: None,
        }
        .paced(Duration::from_millis(10));
        let measured = run(Ticking, vec![0], plan).await;
        // 10 steps, the 3rd, 6th and 9th failing.
        assert_eq!(measured.steps(), 7);
        assert_eq!(measured.failure_count(), 3);
    }

    /// Records when each client steps; client 0's third step takes 25 ms, the others 2.
    struct Recording {
        origin: Instant,
        starts: Arc<std::sync::Mutex<Vec<(u32, u64)>>>,
    }

    impl Workload for Recording {
        type Client = (u32, u32);

        async fn step(&self, (id, steps): &mut (u32, u32)) -> Result<(), Failure> {
            let at = Instant::now().duration_since(self.origin).as_millis();
            self.starts
                .lock()
                .unwrap()
                .push((*id, u64::try_from(at).unwrap()));
            *steps += 1;
            let slow = *id == 0 && *steps == 3;
            tokio::time::sleep(Duration::from_millis(if slow { 25 } else { 2 })).await;
            Ok(())
        }
    }

    #[tokio::test(start_paused = true)]
    async fn paced_clients_are_spread_over_the_pace_and_a_late_one_catches_up_by_one_step() {
        let plan = Plan {
            warmup: Duration::ZERO,
            duration: Duration::from_millis(80),
            pace: None,
        }
        .paced(Duration::from_millis(10));
        let recording = Recording {
            origin: Instant::now(),
            starts: Arc::default(),
        };
        let starts = Arc::clone(&recording.starts);
        run(recording, vec![(0, 0), (1, 0)], plan).await;
        let starts = starts.lock().unwrap().clone();
        let of = |id| -> Vec<u64> {
            starts
                .iter()
                .filter(|(who, _)| *who == id)
                .map(|(_, at)| *at)
                .collect()
        };
        // Client 1 keeps to its schedule, half a pace after client 0.
        assert_eq!(of(1), [5, 15, 25, 35, 45, 55, 65, 75]);
        // Client 0's step at 20 ends at 45: the next (due at 40) starts at once, then the
        // client goes on in its own slots, not client 1's.
        assert_eq!(of(0), [0, 10, 20, 45, 50, 60, 70]);
    }
}
