//! `--sweep`: the matrix of mornings the gate's schedule must hold up in — 0 to 30 % of pupils
//! giving up, uniform and burst arrivals, 100 000 and 1 000 000 pupils, several seeds — and one
//! table of the figures against the targets, with each miss named.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::metrics::Metrics;
use crate::scenario::{Arrival, Crowd, Scenario};
use crate::strategy::Strategy;

/// The targets of issue 13, for the widget's native protocol.
pub mod target {
    /// Capacity used, at least.
    pub const CAPACITY: f64 = 0.98;
    /// Extra wait over a perfect FIFO server, at most.
    pub const EXTRA_WAIT: f64 = 0.03;
    /// Requests per admitted user, at most.
    pub const REQUESTS: f64 = 2.3;
    /// Peak requests per second over the arrival peak, at most.
    pub const PEAK: f64 = 1.1;
    /// Share of the pairs of admitted users admitted in arrival order, at least.
    pub const ORDER: f64 = 0.99;
}

/// One morning of the matrix.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Morning {
    /// Pupils.
    pub users: u32,
    /// Admissions per minute: 100 000 pupils at 2 000 a minute, 1 000 000 at 20 000.
    pub admit_per_minute: f64,
    /// Arrival window, in seconds.
    pub arrival_window_s: f64,
    /// How they arrive.
    pub arrival: Arrival,
    /// Share who give up.
    pub abandon: f64,
}

impl Morning {
    /// The scenario of this morning with `seed`, the other parameters at their defaults.
    pub fn scenario(&self, seed: u64) -> Scenario {
        Scenario {
            users: self.users,
            admit_per_minute: self.admit_per_minute,
            arrival_window_s: self.arrival_window_s,
            arrival: self.arrival,
            abandon: self.abandon,
            seed,
            ..Scenario::default()
        }
    }

    fn label(&self) -> String {
        let size = if self.users >= 1_000_000 {
            format!("{} M", self.users / 1_000_000)
        } else {
            format!("{} k", self.users / 1_000)
        };
        let arrival = match self.arrival {
            Arrival::Uniform => "uniform",
            Arrival::Burst => "burst",
        };
        format!("{size}, {arrival}, {:.0} % give up", self.abandon * 100.0)
    }
}

/// The matrix: 100 000 pupils in 2 minutes at 2 000 admissions a minute (the default
/// scenario) and 1 000 000 in 10 minutes at 20 000 a minute, each with uniform and burst
/// arrivals and 0, 10, 20 and 30 % giving up.
pub fn mornings() -> Vec<Morning> {
    let mut out = Vec::new();
    for (users, admit_per_minute, arrival_window_s) in
        [(100_000, 2_000.0, 120.0), (1_000_000, 20_000.0, 600.0)]
    {
        for arrival in [Arrival::Uniform, Arrival::Burst] {
            for abandon in [0.0, 0.1, 0.2, 0.3] {
                out.push(Morning { users, admit_per_minute, arrival_window_s, arrival, abandon });
            }
        }
    }
    out
}

/// The mean figures of one strategy on one morning over its seeds.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The morning.
    pub morning: Morning,
    /// The strategy.
    pub strategy: Strategy,
    /// Seeds run.
    pub seeds: u64,
    /// Means over the seeds.
    pub requests_per_admitted: f64,
    /// The floor of requests per admitted user for this crowd: two per admitted user (the
    /// place, the admission), one for those admitted at once, and one per user who gave up,
    /// over the admitted. At 30 % giving up it is above the 2.3 target.
    pub floor: f64,
    /// Peak ÷ arrival peak.
    pub peak_ratio: f64,
    /// Capacity used.
    pub capacity_used: f64,
    /// Extra wait.
    pub extra_wait: f64,
    /// Pairs in order.
    pub order_kept: f64,
}

impl Row {
    fn from_runs(morning: Morning, strategy: Strategy, runs: &[Metrics]) -> Row {
        let n = runs.len() as f64;
        let mean = |f: &dyn Fn(&Metrics) -> f64| runs.iter().map(f).sum::<f64>() / n;
        Row {
            morning,
            strategy,
            seeds: runs.len() as u64,
            requests_per_admitted: mean(&|m| m.requests_per_admitted),
            floor: mean(&|m| {
                let at_once = m.admitted_by_requests[0];
                (2 * m.admitted - at_once + m.abandoned) as f64 / m.admitted as f64
            }),
            peak_ratio: mean(&|m| m.peak_ratio),
            capacity_used: mean(&|m| m.capacity_used.unwrap_or(f64::NAN)),
            extra_wait: mean(&|m| m.extra_wait_ratio),
            order_kept: mean(&|m| m.order_kept),
        }
    }

    /// The targets this row misses, by name.
    pub fn misses(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.requests_per_admitted > target::REQUESTS {
            out.push("requests");
        }
        if self.peak_ratio > target::PEAK {
            out.push("peak");
        }
        if self.capacity_used.is_nan() || self.capacity_used < target::CAPACITY {
            out.push("capacity");
        }
        if self.extra_wait > target::EXTRA_WAIT {
            out.push("wait");
        }
        if self.order_kept < target::ORDER {
            out.push("order");
        }
        out
    }
}

/// Runs `strategies` on every morning of `mornings`: `seeds` seeds (1, 2, …) for the first
/// strategy, one (seed 1) for the others, which are references; `threads` runs at a time,
/// the largest first. Rows come in the order of `mornings`, then of `strategies`.
pub fn run(mornings: &[Morning], strategies: &[Strategy], seeds: u64, threads: usize) -> Vec<Row> {
    let mut jobs: Vec<(usize, usize, u64)> = Vec::new();
    for m in 0..mornings.len() {
        for (s, _) in strategies.iter().enumerate() {
            let n = if s == 0 { seeds.max(1) } else { 1 };
            jobs.extend((1..=n).map(|seed| (m, s, seed)));
        }
    }
    jobs.sort_by_key(|&(m, s, _)| {
        (std::cmp::Reverse(mornings[m].users), strategies[s].cost_rank())
    });
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(usize, usize, u64, Metrics)>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..threads.clamp(1, jobs.len().max(1)) {
            scope.spawn(|| loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                let Some(&(m, s, seed)) = jobs.get(k) else { break };
                let scenario = mornings[m].scenario(seed);
                let crowd = Crowd::draw(&scenario);
                let metrics = crate::run_one(&scenario, &crowd, strategies[s]).metrics;
                results
                    .lock()
                    .expect("no worker panics while holding the lock")
                    .push((m, s, seed, metrics));
            });
        }
    });
    let mut results = results.into_inner().expect("workers are done");
    // Means summed in seed order, so that they do not depend on which thread finished first.
    results.sort_by_key(|&(m, s, seed, _)| (m, s, seed));
    let mut rows = Vec::new();
    for (m, morning) in mornings.iter().enumerate() {
        for (s, &strategy) in strategies.iter().enumerate() {
            let runs: Vec<Metrics> = results
                .iter()
                .filter(|(rm, rs, _, _)| (*rm, *rs) == (m, s))
                .map(|(_, _, _, metrics)| metrics.clone())
                .collect();
            if !runs.is_empty() {
                rows.push(Row::from_runs(*morning, strategy, &runs));
            }
        }
    }
    rows
}

/// One markdown table; the first strategy's misses are named in the last column.
pub fn to_markdown(rows: &[Row]) -> String {
    let mut out = String::from(
        "| morning | strategy | seeds | req/admitted (floor) | peak ÷ arrival peak | capacity used \
         | extra wait | pairs in order | misses |\n|---|---|---:|---:|---:|---:|---:|---:|---|\n",
    );
    for row in rows {
        let misses = row.misses();
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.2} ({:.2}) | {:.2} | {:.2} % | {:+.2} % | {:.2} % | {} |",
            row.morning.label(),
            row.strategy.name(),
            row.seeds,
            row.requests_per_admitted,
            row.floor,
            row.peak_ratio,
            row.capacity_used * 100.0,
            row.extra_wait * 100.0,
            row.order_kept * 100.0,
            if misses.is_empty() { "—".to_string() } else { misses.join(", ") },
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_matrix_covers_both_sizes_both_arrivals_and_zero_to_thirty_percent() {
        let all = mornings();
        assert_eq!(all.len(), 16);
        assert!(all.iter().any(|m| m.users == 1_000_000 && m.arrival == Arrival::Burst));
        let abandon: Vec<f64> = all.iter().take(4).map(|m| m.abandon).collect();
        assert_eq!(abandon, [0.0, 0.1, 0.2, 0.3]);
    }

    #[test]
    fn a_row_names_each_target_it_misses() {
        let row = Row {
            morning: mornings()[0],
            strategy: Strategy::WaitroomNative,
            seeds: 1,
            requests_per_admitted: 2.31,
            floor: 2.0,
            peak_ratio: 1.1,
            capacity_used: 0.979,
            extra_wait: 0.03,
            order_kept: 0.99,
        };
        assert_eq!(row.misses(), ["requests", "capacity"]);
    }

    #[test]
    fn a_small_sweep_averages_its_seeds_and_keeps_the_order_asked() {
        let small = [Morning {
            users: 2_000,
            admit_per_minute: 600.0,
            arrival_window_s: 20.0,
            arrival: Arrival::Burst,
            abandon: 0.2,
        }];
        let strategies = [Strategy::WaitroomNative, Strategy::WaitroomHttp];
        let rows = run(&small, &strategies, 2, 2);
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[0].strategy, rows[0].seeds), (Strategy::WaitroomNative, 2));
        assert_eq!((rows[1].strategy, rows[1].seeds), (Strategy::WaitroomHttp, 1));
        let again = run(&small, &strategies, 2, 1);
        assert_eq!(rows, again, "the same figures whatever the number of threads");
        for row in &rows {
            assert!(row.floor > 1.0 && row.requests_per_admitted >= row.floor - 1e-9, "{row:?}");
        }
    }
}
