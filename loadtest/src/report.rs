//! The results as Markdown: the machine, the options, the server's memory, one table row
//! per scenario (or per case of a scenario), the sections some scenarios add (a memory
//! series, a table by database size), and every failure.

use std::fmt::{self, Write as _};
use std::time::Duration;

use crate::load::Measurement;
use crate::machine::{self, Memory};
use crate::options::{Options, ScenarioName};

/// One row of the results: a scenario's.
#[derive(Debug)]
pub struct Outcome {
    /// The scenario.
    pub name: ScenarioName,
    /// Which part of the scenario, when it has several rows (`readers`, `1M refresh`).
    pub case: String,
    /// Virtual clients at once, as shown.
    pub concurrency: String,
    /// What they measured.
    pub measurement: Measurement,
    /// Comparisons and memory.
    pub notes: Vec<String>,
}

impl Outcome {
    /// The name shown in the table: the scenario's, and its case when it has one.
    pub fn label(&self) -> String {
        if self.case.is_empty() {
            self.name.as_str().to_owned()
        } else {
            format!("{} {}", self.name.as_str(), self.case)
        }
    }
}

/// A part of the report of its own, after the table: a heading and Markdown.
#[derive(Debug)]
pub struct Section {
    /// The heading.
    pub title: String,
    /// The Markdown under it.
    pub body: String,
}

/// What a run found.
#[derive(Debug)]
pub struct Report {
    machine: String,
    options: String,
    server: String,
    /// The server's memory after it started.
    pub memory_idle: Option<Memory>,
    /// The server's memory after the last scenario.
    pub memory_after: Option<Memory>,
    /// How much the server logged.
    pub log_bytes: u64,
    /// One per scenario that ran (or per case of one).
    pub outcomes: Vec<Outcome>,
    /// What scenarios report beyond their rows.
    pub sections: Vec<Section>,
    /// What went wrong beyond failed requests: a scenario that could not start, a server
    /// that died or did not stop cleanly.
    pub problems: Vec<String>,
}

impl Report {
    /// An empty report for a run with `options` on `database`.
    pub fn new(options: &Options, database: &str) -> Self {
        let plan = options.plan();
        let scenarios: Vec<&str> = options
            .scenario_list()
            .into_iter()
            .map(|name| name.as_str())
            .collect();
        Self {
            machine: format!(
                "{} cores, {}; load average {} at start",
                machine::cores(),
                machine::cpu_model(),
                machine::load_average().map_or("?".to_owned(), |load| format!("{load:.2}"))
            ),
            options: format!(
                "scenarios {}; {} per scenario after {} of warm-up; generator on {} thread(s); \
                 database {database}; JWT_ALG {}; RUST_LOG {}",
                scenarios.join(","),
                seconds(plan.duration),
                seconds(plan.warmup),
                options.threads,
                options.jwt_alg.as_str(),
                options.rust_log,
            ),
            server: options.server_bin().display().to_string(),
            memory_idle: None,
            memory_after: None,
            log_bytes: 0,
            outcomes: Vec::new(),
            sections: Vec::new(),
            problems: Vec::new(),
        }
    }

    /// No request failed and the server ran and stopped cleanly.
    pub fn passed(&self) -> bool {
        self.problems.is_empty() && self.failed_requests() == 0
    }

    /// One line saying why the run did not pass.
    pub fn failure_summary(&self) -> String {
        format!(
            "{} request(s) failed, {} other problem(s)",
            self.failed_requests(),
            self.problems.len()
        )
    }

    fn failed_requests(&self) -> u64 {
        self.outcomes
            .iter()
            .map(|outcome| outcome.measurement.failure_count())
            .sum()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let memory =
            |memory: Option<Memory>| memory.map_or("?".to_owned(), |m| machine::mib(m.rss_kib));
        writeln!(f, "## Load test\n")?;
        writeln!(f, "- Machine: {}", self.machine)?;
        writeln!(f, "- Options: {}", self.options)?;
        write!(f, "- Server: {}", self.server)?;
        // Scenarios that start servers of their own report their memory themselves.
        if self.memory_idle.is_some() || self.memory_after.is_some() {
            write!(
                f,
                "; RSS {} idle, {} after",
                memory(self.memory_idle),
                memory(self.memory_after),
            )?;
            if let Some(after) = self.memory_after {
                write!(f, " (peak {})", machine::mib(after.peak_kib))?;
            }
            write!(f, "; log {}", machine::mib(self.log_bytes / 1024))?;
        }
        writeln!(f, "\n")?;
        writeln!(
            f,
            "| scenario | concurrency | requests | req/s | p50 ms | p99 ms | errors | notes |"
        )?;
        writeln!(f, "|---|---:|---:|---:|---:|---:|---:|---|")?;
        for outcome in &self.outcomes {
            let m = &outcome.measurement;
            writeln!(
                f,
                "| {} | {} | {} | {:.0} | {} | {} | {} | {} |",
                outcome.label(),
                outcome.concurrency,
                m.steps(),
                m.rate(),
                millis(m.quantile_ms(0.5)),
                millis(m.quantile_ms(0.99)),
                m.failure_count(),
                outcome.notes.join("; "),
            )?;
        }
        let mut failures = String::new();
        for outcome in &self.outcomes {
            for (failure, count) in outcome.measurement.failures() {
                writeln!(failures, "- {}: {count}× {failure}", outcome.label())?;
            }
        }
        for section in &self.sections {
            write!(f, "\n### {}\n\n{}", section.title, section.body)?;
        }
        if !failures.is_empty() {
            write!(f, "\nFailed requests:\n\n{failures}")?;
        }
        if !self.problems.is_empty() {
            writeln!(f, "\nProblems:\n")?;
            for problem in &self.problems {
                writeln!(f, "- {problem}")?;
            }
        }
        Ok(())
    }
}

/// A Markdown table: a header row, then the rows; the first column is left-aligned, the
/// others right-aligned (they hold figures).
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut text = format!("| {} |\n|---|", header.join(" | "));
    text.push_str(&"---:|".repeat(header.len().saturating_sub(1)));
    text.push('\n');
    for row in rows {
        text.push_str(&format!("| {} |\n", row.join(" | ")));
    }
    text
}

fn seconds(duration: Duration) -> String {
    format!("{} s", duration.as_secs_f64())
}

/// Milliseconds with three significant figures or so.
pub fn millis(ms: Option<f64>) -> String {
    match ms {
        None => "—".to_owned(),
        Some(ms) if ms < 10.0 => format!("{ms:.2}"),
        Some(ms) if ms < 100.0 => format!("{ms:.1}"),
        Some(ms) => format!("{ms:.0}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latencies_keep_about_three_figures() {
        assert_eq!(millis(Some(0.2049)), "0.20");
        assert_eq!(millis(Some(37.26)), "37.3");
        assert_eq!(millis(Some(1234.4)), "1234");
        assert_eq!(millis(None), "—");
        assert_eq!(seconds(Duration::from_millis(200)), "0.2 s");
    }

    #[test]
    fn tables_align_figures_right() {
        let rows = vec![vec!["a".to_owned(), "1".to_owned()]];
        assert_eq!(
            table(&["name", "count"], &rows),
            "| name | count |\n|---|---:|\n| a | 1 |\n"
        );
    }
}
