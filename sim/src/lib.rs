//! Stampede simulator for waitroom.
//!
//! Drives the *same* core [`waitroom::machine::Machine`] the browser runs, for every virtual
//! user of the widget's strategies, against the *same* admission logic the gate runs
//! ([`waitroom_gate::queue::Queue`]), in virtual time, and compares it with what people and
//! other waiting rooms do. See `sim/README.md` for the model and the definition of every figure.
#![deny(missing_docs, missing_debug_implementations)]

pub mod calendar;
pub mod chart;
pub mod engine;
pub mod metrics;
pub mod report;
pub mod scenario;
pub mod server;
pub mod strategy;
pub mod sweep;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use engine::Outcome;
use metrics::Metrics;
use scenario::{Crowd, Scenario};
use strategy::Strategy;

/// One strategy's figures and its request rate over time (for the chart).
#[derive(Debug, Clone, PartialEq)]
pub struct StrategyRun {
    /// The figures.
    pub metrics: Metrics,
    /// Requests the server received in each second.
    pub requests_per_second: Vec<u32>,
    /// Admissions in each second (by the server's clock).
    pub admissions_per_second: Vec<u32>,
    /// The queue's no-show estimate at the start of each second.
    pub no_show_estimate: Vec<f32>,
    /// Live tickets at the start of each second.
    pub live: Vec<u32>,
    /// Holders re-told in each second (came on time, found no token).
    pub retold_per_second: Vec<u64>,
}

/// Runs every strategy of `strategies` on the crowd of `scenario`, each on a fresh queue, on
/// `threads` threads (the longest runs start first). The result is in the order of
/// `strategies` and does not depend on `threads`.
pub fn run_all(scenario: &Scenario, strategies: &[Strategy], threads: usize) -> Vec<StrategyRun> {
    let crowd = Crowd::draw(scenario);
    let mut order: Vec<usize> = (0..strategies.len()).collect();
    order.sort_by_key(|&i| strategies[i].cost_rank());
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<StrategyRun>>> = Mutex::new(vec![None; strategies.len()]);
    std::thread::scope(|scope| {
        for _ in 0..threads.clamp(1, strategies.len().max(1)) {
            scope.spawn(|| loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                let Some(&i) = order.get(k) else { break };
                let run = run_one(scenario, &crowd, strategies[i]);
                results.lock().expect("no worker panics while holding the lock")[i] = Some(run);
            });
        }
    });
    results
        .into_inner()
        .expect("workers are done")
        .into_iter()
        .map(|r| r.expect("every strategy ran"))
        .collect()
}

/// Runs one strategy on `crowd`.
pub fn run_one(scenario: &Scenario, crowd: &Crowd, strategy: Strategy) -> StrategyRun {
    let outcome: Outcome = engine::run(scenario, crowd, strategy);
    StrategyRun {
        metrics: metrics::measure(scenario, crowd, &outcome),
        admissions_per_second: metrics::per_second(&outcome.served_at),
        requests_per_second: outcome.requests_per_second,
        no_show_estimate: outcome.no_show_estimate,
        live: outcome.live,
        retold_per_second: outcome.retold.windows(2).map(|w| w[1] - w[0]).collect(),
    }
}
