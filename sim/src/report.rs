//! The report: a markdown table for people, one JSON object for scripts.

use std::fmt::Write as _;

use serde::Serialize;

use crate::metrics::Metrics;
use crate::scenario::Scenario;

/// Everything a run produced, as `--format json` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct Report<'a> {
    /// The scenario.
    pub scenario: &'a Scenario,
    /// One entry per strategy, in the order asked.
    pub strategies: &'a [Metrics],
    /// Wall-clock time of the whole run, in seconds.
    pub elapsed_s: f64,
}

impl Report<'_> {
    /// One JSON object.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("the report always serializes")
    }

    /// A markdown table, with the scenario above it.
    pub fn to_markdown(&self) -> String {
        let s = self.scenario;
        let mut out = String::new();
        let burst = s.queue_config().burst;
        let _ = writeln!(
            out,
            "{} users, {} arrivals over {} s, {} admissions/min (bucket {:.0}), {} % abandon, \
             RTT median {} ms, seed {}\n",
            s.users,
            match s.arrival {
                crate::scenario::Arrival::Uniform => "uniform",
                crate::scenario::Arrival::Burst => "burst",
            },
            s.arrival_window_s,
            s.admit_per_minute,
            burst,
            s.abandon * 100.0,
            s.latency_ms,
            s.seed
        );
        out.push_str(
            "| strategy | requests | req/admitted | peak req/s | peak / arrival peak | capacity used \
             | order kept | mean wait | p50 wait | p99 wait | ideal FIFO mean wait | extra wait | admitted | abandoned | not admitted |\n",
        );
        out.push_str(
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
        );
        for m in self.strategies {
            let _ = writeln!(
                out,
                "| {} | {} | {:.2} | {} | {:.2} | {} | {:.2} % | {} | {} | {} | {} | {:+.2} % | {} | {} | {}{} |",
                m.name,
                m.requests,
                m.requests_per_admitted,
                m.peak_rps,
                m.peak_ratio,
                m.capacity_used.map_or("—".to_string(), |c| format!("{:.2} %", c * 100.0)),
                m.order_kept * 100.0,
                minutes(m.mean_wait_s),
                minutes(m.p50_wait_s),
                minutes(m.p99_wait_s),
                minutes(m.mean_ideal_wait_s),
                m.extra_wait_ratio * 100.0,
                m.admitted,
                m.abandoned,
                m.not_admitted,
                if m.time_limit_hit { " (time limit)" } else { "" },
            );
        }
        let _ = writeln!(
            out,
            "\nPeak arrival rate {} /s (1-s buckets); wall time {:.1} s.",
            self.strategies.first().map_or(0, |m| m.peak_arrival_rps),
            self.elapsed_s
        );
        out
    }
}

/// `12m34s`, or `4.2s` under a minute.
fn minutes(seconds: f64) -> String {
    if !seconds.is_finite() {
        return "—".to_string();
    }
    if seconds < 60.0 {
        return format!("{seconds:.1}s");
    }
    let total = seconds.round() as u64;
    format!("{}m{:02}s", total / 60, total % 60)
}

#[cfg(test)]
mod tests {
    use super::minutes;

    #[test]
    fn waits_read_in_minutes_and_seconds() {
        assert_eq!(minutes(754.4), "12m34s");
        assert_eq!(minutes(4.24), "4.2s");
        assert_eq!(minutes(f64::NAN), "—");
    }
}
