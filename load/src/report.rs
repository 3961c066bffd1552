//! The figures of a run, computed from what every user saw, as markdown or JSON.

use std::fmt::Write as _;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::user::{Outcome, UserOutcome};

/// What was run.
#[derive(Debug, Clone, Serialize)]
pub struct Setup {
    /// The status URL the users polled.
    pub gate: String,
    /// Whether the gate ran in this process (and so shared its cores with the users).
    pub in_process: bool,
    /// Virtual users.
    pub users: u64,
    /// Seconds over which they arrived, evenly spaced.
    pub arrival_window_s: f64,
    /// The in-process gate's admission rate (`None` for an external gate).
    pub admit_per_minute: Option<f64>,
    /// The in-process gate's burst (`None` for the gate's default or an external gate).
    pub burst: Option<f64>,
    /// The cap on the run, in seconds.
    pub max_seconds: f64,
}

/// Latency or wait percentiles, in milliseconds.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Percentiles {
    /// Median.
    pub p50_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Largest.
    pub max_ms: f64,
}

/// The figures of one run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// What was run.
    pub setup: Setup,
    /// Users the gate let in.
    pub admitted: u64,
    /// Users whose machine gave up on the gate and failed open.
    pub failed_open: u64,
    /// Users still outside when the cap was reached.
    pub not_admitted_by_cap: u64,
    /// Every request sent and answered (or failed).
    pub requests: u64,
    /// Requests that got `200`.
    pub responses_200: u64,
    /// Requests that got `503` (queued).
    pub responses_503: u64,
    /// Requests that got any other status, timed out, or failed.
    pub errors: u64,
    /// `requests / admitted` (the theoretical floor is 1 for a user let in at once and 2 for
    /// one told when to come back).
    pub requests_per_admitted: f64,
    /// The most requests one user sent.
    pub max_requests_per_user: u64,
    /// Users per second arriving during the arrival window.
    pub arrival_rate_per_s: f64,
    /// Mean requests per second, over the seconds from the first request to the last.
    pub request_rate_mean_per_s: f64,
    /// Requests in the busiest one-second bucket.
    pub request_rate_peak_per_s: u64,
    /// Which second (from the start) that was.
    pub request_rate_peak_second: u64,
    /// Request latency as the users saw it (send to last body byte).
    pub latency: Percentiles,
    /// From arrival to admission, for the admitted.
    pub wait: Percentiles,
    /// Of the pairs of admitted users, the share admitted in the order they arrived (1 is a
    /// perfect FIFO; the widget's return jitter of up to a fifth of the wait swaps neighbours).
    pub pairs_in_order: f64,
    /// Admissions per minute between the 10th and the 90th percentile of admission times:
    /// the queue's steady rate, past the initial burst and before the tail.
    pub steady_admissions_per_minute: f64,
    /// Wall time of the run, in seconds.
    pub wall_s: f64,
    /// Each user's arrival and admission, in arrival order (not serialized).
    #[serde(skip)]
    pub users: Vec<(Duration, Option<Duration>)>,
}

impl Report {
    /// Computes the figures from every user's outcome.
    pub fn new(setup: Setup, outcomes: &[UserOutcome], wall: Duration) -> Self {
        let admitted = count(outcomes, |o| o.admitted_at.is_some());
        let failed_open = count(outcomes, |o| o.failed_open && o.admitted_at.is_none());
        let requests: Vec<_> = outcomes.iter().flat_map(|o| &o.requests).collect();
        let status = |code| count(&requests, |r| r.outcome == Outcome::Status(code));
        let (responses_200, responses_503) = (status(200), status(503));

        let mut per_second: Vec<u64> = Vec::new();
        for r in &requests {
            let second = r.sent_at.as_secs() as usize;
            if per_second.len() <= second {
                per_second.resize(second + 1, 0);
            }
            per_second[second] += 1;
        }
        let first = per_second.iter().position(|&n| n > 0).unwrap_or(0);
        let active = &per_second[first.min(per_second.len())..];
        let (peak_second, peak) = per_second
            .iter()
            .enumerate()
            .max_by_key(|&(second, &n)| (n, std::cmp::Reverse(second)))
            .map_or((0, 0), |(second, &n)| (second as u64, n));

        let latency = percentiles(requests.iter().map(|r| r.latency));
        let wait = percentiles(
            outcomes.iter().filter_map(|o| Some(o.admitted_at?.saturating_sub(o.arrived_at))),
        );
        Report {
            admitted,
            failed_open,
            not_admitted_by_cap: setup.users - admitted - failed_open,
            requests: requests.len() as u64,
            responses_200,
            responses_503,
            errors: requests.len() as u64 - responses_200 - responses_503,
            requests_per_admitted: ratio(requests.len() as u64, admitted),
            max_requests_per_user: outcomes
                .iter()
                .map(|o| o.requests.len() as u64)
                .max()
                .unwrap_or(0),
            arrival_rate_per_s: setup.users as f64 / setup.arrival_window_s.max(1e-3),
            request_rate_mean_per_s: ratio(requests.len() as u64, active.len() as u64),
            request_rate_peak_per_s: peak,
            request_rate_peak_second: peak_second,
            latency,
            wait,
            wall_s: wall.as_secs_f64(),
            pairs_in_order: pairs_in_order(outcomes),
            steady_admissions_per_minute: steady_rate(outcomes),
            users: outcomes.iter().map(|o| (o.arrived_at, o.admitted_at)).collect(),
            setup,
        }
    }

    /// The report as a markdown table, one figure a row.
    pub fn to_markdown(&self) -> String {
        let s = &self.setup;
        let mut out = String::new();
        let gate = if s.in_process {
            format!(
                "in-process gate at {}, {} admissions/min, burst {}",
                s.gate,
                s.admit_per_minute.unwrap_or_default(),
                s.burst.map_or_else(|| "default (rate / 6)".to_string(), |b| b.to_string())
            )
        } else {
            format!("external gate at {}", s.gate)
        };
        let _ = writeln!(
            out,
            "**waitroom-load**: {} users over {} s, {gate}, cap {} s\n",
            s.users, s.arrival_window_s, s.max_seconds
        );
        let ms = |p: Percentiles| format!("{:.2} / {:.2} / {:.2}", p.p50_ms, p.p99_ms, p.max_ms);
        let rows = [
            ("users admitted", self.admitted.to_string()),
            ("users failed open", self.failed_open.to_string()),
            ("users not admitted by the cap", self.not_admitted_by_cap.to_string()),
            ("requests total", self.requests.to_string()),
            (
                "responses 200 / 503 / errors",
                format!("{} / {} / {}", self.responses_200, self.responses_503, self.errors),
            ),
            ("requests per admitted user", format!("{:.3}", self.requests_per_admitted)),
            ("most requests by one user", self.max_requests_per_user.to_string()),
            ("arrival rate (users/s)", format!("{:.1}", self.arrival_rate_per_s)),
            ("gate request rate, mean (req/s)", format!("{:.1}", self.request_rate_mean_per_s)),
            (
                "gate request rate, peak (req/s)",
                format!(
                    "{} (second {})",
                    self.request_rate_peak_per_s, self.request_rate_peak_second
                ),
            ),
            ("latency p50 / p99 / max (ms)", ms(self.latency)),
            ("wait to admission p50 / p99 / max (ms)", ms(self.wait)),
            ("pairs admitted in arrival order", format!("{:.2} %", self.pairs_in_order * 100.0)),
            ("steady admissions per minute", format!("{:.1}", self.steady_admissions_per_minute)),
            ("wall time (s)", format!("{:.2}", self.wall_s)),
        ];
        out.push_str("| figure | value |\n|---|---|\n");
        for (name, value) in rows {
            let _ = writeln!(out, "| {name} | {value} |");
        }
        out
    }
}

/// Of the pairs of admitted users, the share admitted in arrival order (ties count as in order).
fn pairs_in_order(outcomes: &[UserOutcome]) -> f64 {
    let mut users: Vec<(Duration, Duration)> =
        outcomes.iter().filter_map(|o| Some((o.arrived_at, o.admitted_at?))).collect();
    users.sort_by_key(|&(arrived, _)| arrived);
    let (mut in_order, mut pairs) = (0u64, 0u64);
    for (i, &(_, first)) in users.iter().enumerate() {
        for &(_, second) in &users[i + 1..] {
            pairs += 1;
            in_order += u64::from(first <= second);
        }
    }
    if pairs == 0 {
        1.0
    } else {
        in_order as f64 / pairs as f64
    }
}

/// Admissions per minute between the 10th and the 90th percentile of admission times.
fn steady_rate(outcomes: &[UserOutcome]) -> f64 {
    let mut times: Vec<Duration> = outcomes.iter().filter_map(|o| o.admitted_at).collect();
    times.sort();
    if times.len() < 10 {
        return 0.0;
    }
    let (from, to) = (times.len() / 10, times.len() * 9 / 10);
    let span = times[to].saturating_sub(times[from]).as_secs_f64();
    if span == 0.0 {
        return 0.0;
    }
    (to - from) as f64 / span * 60.0
}

fn count<T>(items: &[T], f: impl Fn(&T) -> bool) -> u64 {
    items.iter().filter(|item| f(item)).count() as u64
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// Percentiles of `durations`, recorded in microseconds (3 significant digits, up to an hour).
fn percentiles(durations: impl Iterator<Item = Duration>) -> Percentiles {
    let mut histogram =
        Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds");
    for d in durations {
        histogram.saturating_record(u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1));
    }
    if histogram.is_empty() {
        return Percentiles::default();
    }
    let ms = |us: u64| us as f64 / 1000.0;
    Percentiles {
        p50_ms: ms(histogram.value_at_quantile(0.50)),
        p99_ms: ms(histogram.value_at_quantile(0.99)),
        max_ms: ms(histogram.max()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::user::RequestRecord;

    fn user(arrived_ms: u64, sent_ms: &[u64], admitted_ms: Option<u64>) -> UserOutcome {
        UserOutcome {
            arrived_at: Duration::from_millis(arrived_ms),
            requests: sent_ms
                .iter()
                .map(|&ms| RequestRecord {
                    sent_at: Duration::from_millis(ms),
                    latency: Duration::from_millis(2),
                    outcome: Outcome::Status(if Some(ms) == admitted_ms { 200 } else { 503 }),
                })
                .collect(),
            admitted_at: admitted_ms.map(Duration::from_millis),
            failed_open: false,
        }
    }

    #[test]
    fn rates_count_the_seconds_from_the_first_request_to_the_last() {
        let setup = Setup {
            gate: "http://127.0.0.1:1/waitroom/status".into(),
            in_process: true,
            users: 3,
            arrival_window_s: 2.0,
            admit_per_minute: Some(60.0),
            burst: None,
            max_seconds: 10.0,
        };
        let outcomes = [
            user(1_000, &[1_000], Some(1_000)),
            user(1_500, &[1_500, 3_200], Some(3_200)),
            user(2_000, &[2_000, 3_900], None),
        ];
        let report = Report::new(setup, &outcomes, Duration::from_secs(4));
        assert_eq!((report.admitted, report.not_admitted_by_cap), (2, 1));
        assert_eq!((report.requests, report.responses_200, report.responses_503), (5, 2, 3));
        assert_eq!(report.requests_per_admitted, 2.5);
        // Seconds 1, 2 and 3: 2, 1 and 2 requests; the quiet second 0 does not dilute the mean.
        assert!((report.request_rate_mean_per_s - 5.0 / 3.0).abs() < 1e-9);
        assert_eq!((report.request_rate_peak_per_s, report.request_rate_peak_second), (2, 1));
        assert!((report.wait.max_ms - 1_700.0).abs() < 2.0, "{:?}", report.wait);
        assert_eq!(report.latency.p50_ms, 2.0);
    }
}
