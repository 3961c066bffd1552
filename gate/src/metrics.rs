//! Prometheus metrics, through the `prometheus-client` crate: `GET /metrics` in the
//! OpenMetrics text format (which Prometheus reads), without a token. `--metrics-listen ADDR`
//! serves it on another address instead (an internal port the Internet cannot reach).
//!
//! | metric | type | what |
//! |---|---|---|
//! | `waitroom_queue_length` | gauge | tickets waiting |
//! | `waitroom_admit_per_minute` | gauge | admission rate now (the admin API may change it) |
//! | `waitroom_closed` | gauge | 1 while the gate is closed |
//! | `waitroom_no_show_rate` | gauge | observed share of told holders who do not come back |
//! | `waitroom_last_in_line_eta_seconds` | gauge | wait of the last in line |
//! | `waitroom_admitted_total` | counter | admissions |
//! | `waitroom_joined_total` | counter | tickets issued to newcomers |
//! | `waitroom_no_show_total` | counter | tickets dropped: holder not back within the grace period |
//! | `waitroom_requests_total{outcome}` | counter | status requests: `admitted`, `queued`, `closed` (by the operator), `refused` (full queue, too many places for one address, cookies refused, robots and `HEAD`), `challenged` (asked for a proof of work), `error` (bad request) |
//! | `waitroom_pow_difficulty` | gauge | largest number of the challenge a newcomer gets now (hashes at worst); 0 when none is asked |
//! | `waitroom_pow_join_attempts_per_minute` | gauge | join attempts without a solution in the last minute, which the difficulty follows |
//! | `waitroom_pow_challenges_issued_total` | counter | challenges sent |
//! | `waitroom_pow_challenges_solved_total` | counter | solutions accepted (each spent once) |
//! | `waitroom_pow_challenges_refused_total` | counter | solutions refused: wrong, replayed, expired, another browser's, forged |
//! | `waitroom_status_latency_seconds` | histogram | time to answer a status request, in the handler |
//!
//! The queue's figures are read at scrape time; per request, the gate only increments one
//! pre-created counter and observes one histogram value (atomics, no allocation, no lock).

use std::fmt;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// The content type of the exposition.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// What became of a status request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Let in with a pass.
    Admitted,
    /// Given (or kept) a place.
    Queued,
    /// Told the gate is closed by the operator.
    Closed,
    /// Turned away: full queue, an address holding too many places, cookies refused, a robot.
    Refused,
    /// A bad request, or the gate could not answer.
    Error,
    /// Asked for a proof of work before a place.
    Challenged,
}

impl Outcome {
    const ALL: [Outcome; 6] = [
        Outcome::Admitted,
        Outcome::Queued,
        Outcome::Closed,
        Outcome::Refused,
        Outcome::Error,
        Outcome::Challenged,
    ];

    fn label(self) -> &'static str {
        match self {
            Outcome::Admitted => "admitted",
            Outcome::Queued => "queued",
            Outcome::Closed => "closed",
            Outcome::Refused => "refused",
            Outcome::Error => "error",
            Outcome::Challenged => "challenged",
        }
    }
}

/// The queue's figures, read at scrape time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QueueFigures {
    /// Tickets waiting.
    pub queue_length: u64,
    /// Admissions per minute.
    pub admit_per_minute: f64,
    /// Whether the gate is closed.
    pub closed: bool,
    /// Observed no-show rate.
    pub no_show_rate: f64,
    /// Seconds until the last in line's turn.
    pub last_in_line_eta_seconds: u64,
    /// Admissions so far.
    pub admitted: u64,
    /// Tickets issued so far.
    pub joined: u64,
    /// Tickets dropped so far.
    pub dropped: u64,
    /// The proof of work asked of a newcomer now (its largest number), 0 for none.
    pub pow_difficulty: u64,
    /// Join attempts without a solution in the last minute.
    pub join_attempts_per_minute: u64,
}

/// What became of a proof of work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PowEvent {
    /// A challenge was sent.
    Issued,
    /// A solution was accepted.
    Solved,
    /// A solution was refused.
    Refused,
}

/// The gate's metrics and their registry.
pub struct Metrics {
    registry: Registry,
    requests: [Counter; 6],
    latency: Histogram,
    queue_length: Gauge,
    admit_per_minute: Gauge<f64, AtomicU64>,
    closed: Gauge,
    no_show_rate: Gauge<f64, AtomicU64>,
    last_eta: Gauge,
    admitted: Counter,
    joined: Counter,
    no_show: Counter,
    pow_difficulty: Gauge,
    join_attempts: Gauge,
    pow: [Counter; 3],
    /// Scrapes one at a time: the counters follow the queue's totals by increments.
    scrape: std::sync::Mutex<()>,
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// Every metric registered, at zero.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let requests: [Counter; 6] = Default::default();
        let latency = Histogram::new(exponential_buckets(0.000_05, 2.0, 16));
        let metrics = Metrics {
            requests,
            latency,
            queue_length: Gauge::default(),
            admit_per_minute: Gauge::default(),
            closed: Gauge::default(),
            no_show_rate: Gauge::default(),
            last_eta: Gauge::default(),
            admitted: Counter::default(),
            joined: Counter::default(),
            no_show: Counter::default(),
            pow_difficulty: Gauge::default(),
            join_attempts: Gauge::default(),
            pow: Default::default(),
            scrape: std::sync::Mutex::new(()),
            registry: Registry::default(),
        };
        let requests_family = RequestsFamily(metrics.requests.clone());
        registry.register("waitroom_requests", "Status requests, by outcome", requests_family);
        registry.register(
            "waitroom_status_latency_seconds",
            "Time to answer a status request, in the handler",
            metrics.latency.clone(),
        );
        registry.register("waitroom_queue_length", "Tickets waiting", metrics.queue_length.clone());
        registry.register(
            "waitroom_admit_per_minute",
            "Admissions per minute now",
            metrics.admit_per_minute.clone(),
        );
        registry.register("waitroom_closed", "1 while the gate is closed", metrics.closed.clone());
        registry.register(
            "waitroom_no_show_rate",
            "Observed share of told holders who do not come back",
            metrics.no_show_rate.clone(),
        );
        registry.register(
            "waitroom_last_in_line_eta_seconds",
            "Wait of the last in line",
            metrics.last_eta.clone(),
        );
        registry.register("waitroom_admitted", "Admissions", metrics.admitted.clone());
        registry.register("waitroom_joined", "Tickets issued to newcomers", metrics.joined.clone());
        registry.register(
            "waitroom_no_show",
            "Tickets dropped: holder not back within the grace period",
            metrics.no_show.clone(),
        );
        registry.register(
            "waitroom_pow_difficulty",
            "Largest number of the proof of work a newcomer is asked now (hashes at worst); 0 for none",
            metrics.pow_difficulty.clone(),
        );
        registry.register(
            "waitroom_pow_join_attempts_per_minute",
            "Join attempts without a solution in the last minute",
            metrics.join_attempts.clone(),
        );
        for (event, name, help) in [
            (PowEvent::Issued, "waitroom_pow_challenges_issued", "Proof-of-work challenges sent"),
            (PowEvent::Solved, "waitroom_pow_challenges_solved", "Proof-of-work solutions accepted"),
            (
                PowEvent::Refused,
                "waitroom_pow_challenges_refused",
                "Proof-of-work solutions refused: wrong, replayed, expired, another browser's, forged",
            ),
        ] {
            registry.register(name, help, metrics.pow[event as usize].clone());
        }
        Metrics { registry, ..metrics }
    }

    /// Counts a proof-of-work event.
    pub fn pow(&self, event: PowEvent) {
        self.pow[event as usize].inc();
    }

    /// Counts a status request and how long it took.
    pub fn request(&self, outcome: Outcome, took: Duration) {
        self.requests[outcome as usize].inc();
        self.latency.observe(took.as_secs_f64());
    }

    /// The exposition, with the queue's `figures`.
    pub fn encode(&self, figures: QueueFigures) -> String {
        let _one = self.scrape.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        self.queue_length.set(figures.queue_length as i64);
        self.admit_per_minute.set(figures.admit_per_minute);
        self.closed.set(i64::from(figures.closed));
        self.no_show_rate.set(figures.no_show_rate);
        self.last_eta.set(figures.last_in_line_eta_seconds as i64);
        self.pow_difficulty.set(i64::try_from(figures.pow_difficulty).unwrap_or(i64::MAX));
        self.join_attempts.set(i64::try_from(figures.join_attempts_per_minute).unwrap_or(i64::MAX));
        for (counter, total) in [
            (&self.admitted, figures.admitted),
            (&self.joined, figures.joined),
            (&self.no_show, figures.dropped),
        ] {
            counter.inc_by(total.saturating_sub(counter.get()));
        }
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

/// `waitroom_requests_total{outcome}`, one pre-created counter per outcome, so that a request
/// takes no lock and allocates nothing to be counted.
#[derive(Debug, Clone)]
struct RequestsFamily([Counter; 6]);

impl prometheus_client::encoding::EncodeMetric for RequestsFamily {
    fn encode(
        &self,
        mut encoder: prometheus_client::encoding::MetricEncoder,
    ) -> Result<(), fmt::Error> {
        for (outcome, counter) in Outcome::ALL.iter().zip(&self.0) {
            let labels = [("outcome", outcome.label())];
            counter.encode(encoder.encode_family(&labels)?)?;
        }
        Ok(())
    }

    fn metric_type(&self) -> prometheus_client::metrics::MetricType {
        prometheus_client::metrics::MetricType::Counter
    }
}
