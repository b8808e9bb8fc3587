//! The servers' resident memory over a run: sampled at a fixed interval, with each
//! server's peak, and how much it still grew over the run's second half (memory that
//! levels off grows little there).

use std::time::Duration;

use tokio::time::Instant;

use crate::machine::Memory;

/// One reading of every server's memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sample {
    /// Time since sampling started.
    pub at: Duration,
    /// Each server's RSS in KiB, in the order of their pids (none once it has exited).
    pub rss_kib: Vec<Option<u64>>,
}

/// The readings of a run, and each server's peak at its end.
#[derive(Debug, Clone, Default)]
pub struct Series {
    /// In time order, the first at the start.
    pub samples: Vec<Sample>,
    /// Each server's peak RSS (`VmHWM`) in KiB when sampling ended.
    pub peaks_kib: Vec<Option<u64>>,
}

impl Series {
    /// Server `index`'s readings: time and KiB.
    pub fn of(&self, index: usize) -> Vec<(Duration, u64)> {
        self.samples
            .iter()
            .filter_map(|sample| Some((sample.at, (*sample.rss_kib.get(index)?)?)))
            .collect()
    }
}

/// Reads the memory of `pids` now, then every `every`, and a last time at `until`.
pub async fn sample(pids: &[u32], every: Duration, until: Instant) -> Series {
    let read = || -> Vec<Option<u64>> {
        pids.iter()
            .map(|pid| Memory::of(*pid).map(|memory| memory.rss_kib))
            .collect()
    };
    let start = Instant::now();
    let mut series = Series::default();
    let mut next = start;
    loop {
        let now = Instant::now();
        series.samples.push(Sample {
            at: now.duration_since(start),
            rss_kib: read(),
        });
        if now >= until {
            break;
        }
        next += every;
        tokio::time::sleep_until(next.min(until)).await;
    }
    series.peaks_kib = pids
        .iter()
        .map(|pid| Memory::of(*pid).map(|memory| memory.peak_kib))
        .collect();
    series
}

/// How much the last reading exceeds the first one taken at or after half the run, as a
/// fraction (0.05: 5% more); none with fewer than two readings in that half.
pub fn second_half_growth(readings: &[(Duration, u64)]) -> Option<f64> {
    let (end, last) = *readings.last()?;
    let (_, middle) = *readings.iter().find(|(at, _)| *at >= end / 2)?;
    let from_middle = readings.iter().filter(|(at, _)| *at >= end / 2).count();
    (from_middle >= 2 && middle > 0).then(|| last as f64 / middle as f64 - 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn readings(values: &[u64]) -> Vec<(Duration, u64)> {
        values
            .iter()
            .enumerate()
            .map(|(i, value)| (Duration::from_secs(10 * i as u64), *value))
            .collect()
    }

    #[test]
    fn growth_is_measured_from_the_middle_of_the_run_to_its_end() {
        // 0, 10, …, 60 s: the middle reading is the one at 30 s.
        let levelled = readings(&[20, 60, 80, 100, 101, 102, 105]);
        let growth = second_half_growth(&levelled).unwrap();
        assert!((growth - 0.05).abs() < 1e-9, "{growth}");
        let leaking = readings(&[20, 40, 60, 80, 100, 120, 160]);
        assert!((second_half_growth(&leaking).unwrap() - 1.0).abs() < 1e-9);
    }

    #[test]
    fn a_single_reading_says_nothing_about_growth() {
        assert_eq!(second_half_growth(&readings(&[50])), None);
        assert_eq!(second_half_growth(&[]), None);
    }

    #[tokio::test(start_paused = true)]
    async fn this_process_is_sampled_at_each_interval_and_at_the_end() {
        let until = Instant::now() + Duration::from_millis(2500);
        let series = sample(&[std::process::id()], Duration::from_secs(1), until).await;
        let times: Vec<u128> = series.samples.iter().map(|s| s.at.as_millis()).collect();
        assert_eq!(times, [0, 1000, 2000, 2500]);
        assert!(series.of(0).iter().all(|(_, kib)| *kib > 0));
        assert!(series.peaks_kib[0].is_some());
    }
}
