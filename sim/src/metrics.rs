//! The figures of a run, and the small pure functions that define them.
//!
//! Every definition is in the README too; keep the two in step.

use serde::Serialize;

use crate::engine::{Fate, Outcome, NEVER};
use crate::scenario::{ideal_fifo, Crowd, Scenario};

/// The figures of one strategy on one scenario. Times in seconds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metrics {
    /// The strategy's name.
    pub name: &'static str,
    /// Requests the server received.
    pub requests: u64,
    /// `requests / admitted`.
    pub requests_per_admitted: f64,
    /// Most requests the server received in one second (1-s buckets from the start).
    pub peak_rps: u32,
    /// Most users arriving in one second (same buckets).
    pub peak_arrival_rps: u32,
    /// `peak_rps / peak_arrival_rps`.
    pub peak_ratio: f64,
    /// Share of the admission capacity of the busy window that admitted a user; `None` when no
    /// request was ever refused (nobody waited). See [`capacity_used`].
    pub capacity_used: Option<f64>,
    /// Share of the pairs of admitted users admitted in their arrival order. See [`order_kept`].
    pub order_kept: f64,
    /// Mean wait of admitted users: from arrival to the admission reaching them.
    pub mean_wait_s: f64,
    /// Median wait.
    pub p50_wait_s: f64,
    /// 99th percentile of the wait.
    pub p99_wait_s: f64,
    /// Mean wait of the same users through a perfect FIFO server ([`ideal_fifo`]).
    pub mean_ideal_wait_s: f64,
    /// `mean_wait / mean_ideal_wait - 1`.
    pub extra_wait_ratio: f64,
    /// Users who gave up before being admitted.
    pub abandoned: u64,
    /// Users admitted.
    pub admitted: u64,
    /// Users still waiting when the run stopped (only at the time limit).
    pub not_admitted: u64,
    /// Admissions whose reply reached a user who had already left.
    pub wasted_admissions: u64,
    /// Admitted users by the number of requests they sent: 1, 2, 3, 4, 5, 6 or more.
    pub admitted_by_requests: [u64; 6],
    /// Start and length of the busy window.
    pub busy_window_start_s: Option<f64>,
    /// Length of the busy window (see [`capacity_used`]).
    pub busy_window_s: Option<f64>,
    /// When the last admission happened.
    pub last_admission_s: Option<f64>,
    /// Whether the run stopped at the time limit.
    pub time_limit_hit: bool,
    /// The gate queue's counters, for strategies that use its tickets.
    pub queue: Option<QueueCounters>,
}

/// What the gate queue counted during a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct QueueCounters {
    /// Tickets issued.
    pub issued: u64,
    /// Times a holder came on time, found no token and was told a new time.
    pub retold: u64,
    /// Tickets dropped for not coming back within the grace period.
    pub dropped: u64,
}

/// Computes the figures of `outcome`.
pub fn measure(scenario: &Scenario, crowd: &Crowd, outcome: &Outcome) -> Metrics {
    let config = scenario.queue_config();
    let count = |fate| outcome.fate.iter().filter(|&&f| f == fate).count() as u64;
    let (admitted, abandoned, waiting) =
        (count(Fate::Admitted), count(Fate::Abandoned), count(Fate::Waiting));
    let requests: u64 = outcome.requests.iter().map(|&r| u64::from(r)).sum();

    let arrivals_per_second = per_second(&crowd.arrival);
    let peak_rps = peak(&outcome.requests_per_second);
    let peak_arrival_rps = peak(&arrivals_per_second);

    // Admitted users, in arrival order.
    let users: Vec<usize> =
        (0..crowd.len()).filter(|&u| outcome.fate[u] == Fate::Admitted).collect();
    let served: Vec<u64> = users.iter().map(|&u| outcome.served_at[u]).collect();
    let waits_ms: Vec<u64> =
        users.iter().map(|&u| outcome.admitted_at[u] - crowd.arrival[u]).collect();
    let arrivals: Vec<u64> = users.iter().map(|&u| crowd.arrival[u]).collect();
    let ideal = ideal_fifo(&arrivals, config.admit_per_minute, config.burst);
    let mean_ideal_wait_s =
        mean(ideal.iter().zip(&arrivals).map(|(&admit, &a)| admit - a as f64)) / 1_000.0;

    let last_admission = served.iter().copied().max();
    let window = match (outcome.first_refusal, last_admission) {
        (Some(start), Some(end)) if end > start => Some((start, end)),
        _ => None,
    };
    let mut sorted_waits = waits_ms.clone();
    sorted_waits.sort_unstable();
    let mean_wait_s = mean(waits_ms.iter().map(|&w| w as f64)) / 1_000.0;
    let mut by_requests = [0u64; 6];
    for &u in &users {
        by_requests[(outcome.requests[u] as usize).clamp(1, 6) - 1] += 1;
    }
    let uses_tickets = matches!(outcome.strategy.server(), crate::strategy::Server::Queue);
    Metrics {
        name: outcome.strategy.name(),
        requests,
        requests_per_admitted: requests as f64 / admitted as f64,
        peak_rps,
        peak_arrival_rps,
        peak_ratio: f64::from(peak_rps) / f64::from(peak_arrival_rps),
        capacity_used: window
            .map(|(start, end)| capacity_used(&served, start, end, config.admit_per_minute)),
        order_kept: order_kept(&served),
        mean_wait_s,
        p50_wait_s: percentile(&sorted_waits, 0.50).map_or(f64::NAN, |w| w as f64 / 1_000.0),
        p99_wait_s: percentile(&sorted_waits, 0.99).map_or(f64::NAN, |w| w as f64 / 1_000.0),
        mean_ideal_wait_s,
        extra_wait_ratio: mean_wait_s / mean_ideal_wait_s - 1.0,
        abandoned,
        admitted,
        not_admitted: waiting,
        wasted_admissions: outcome.wasted_admissions,
        admitted_by_requests: by_requests,
        busy_window_start_s: window.map(|(start, _)| start as f64 / 1_000.0),
        busy_window_s: window.map(|(start, end)| (end - start) as f64 / 1_000.0),
        last_admission_s: last_admission.map(|t| t as f64 / 1_000.0),
        time_limit_hit: outcome.time_limit_hit,
        queue: uses_tickets.then_some(QueueCounters {
            issued: outcome.queue.issued,
            retold: outcome.queue.retold,
            dropped: outcome.queue.dropped,
        }),
    }
}

/// Counts per 1-s bucket of times in ms (bucket `k` is `[k s, (k + 1) s)`).
pub fn per_second(times_ms: &[u64]) -> Vec<u32> {
    let mut buckets = Vec::new();
    for &t in times_ms.iter().filter(|&&t| t != NEVER) {
        let k = (t / 1_000) as usize;
        if k >= buckets.len() {
            buckets.resize(k + 1, 0);
        }
        buckets[k] += 1;
    }
    buckets
}

/// The largest bucket, 0 for none.
pub fn peak(buckets: &[u32]) -> u32 {
    buckets.iter().copied().max().unwrap_or(0)
}

/// Admission capacity used while users wait.
///
/// The busy window runs from `start`, when the server first turned a request away (the bucket
/// was empty: from then on every token can serve somebody), to `end`, the last admission. The
/// figure is the number of admissions (times in `served`, ms) in `[start, end]` divided by what
/// the server could admit in that time, `rate × (end - start)`. It can exceed 1 only by the
/// fraction of a token left in the bucket at `start`.
pub fn capacity_used(served: &[u64], start: u64, end: u64, per_minute: f64) -> f64 {
    let admissions = served.iter().filter(|&&t| (start..=end).contains(&t)).count();
    admissions as f64 / (per_minute / 60_000.0 * (end - start) as f64)
}

/// Share of the pairs `(i, j)`, `i` arrived before `j` (index order), that were admitted in that
/// order: `1 - inversions / (n (n - 1) / 2)`, where an inversion is `admitted[i] > admitted[j]`.
/// Admissions in the same millisecond count as in order. 1 for fewer than two users.
pub fn order_kept(admitted_in_arrival_order: &[u64]) -> f64 {
    let n = admitted_in_arrival_order.len() as u64;
    if n < 2 {
        return 1.0;
    }
    let pairs = n * (n - 1) / 2;
    1.0 - count_inversions(admitted_in_arrival_order) as f64 / pairs as f64
}

/// Number of pairs `i < j` with `values[i] > values[j]`, by merge sort in O(n log n).
pub fn count_inversions(values: &[u64]) -> u64 {
    let mut work = values.to_vec();
    let mut buffer = vec![0; values.len()];
    sort_counting(&mut work, &mut buffer)
}

fn sort_counting(values: &mut [u64], buffer: &mut [u64]) -> u64 {
    let n = values.len();
    if n < 2 {
        return 0;
    }
    let mid = n / 2;
    let mut inversions = {
        let (left, right) = values.split_at_mut(mid);
        let (left_buffer, right_buffer) = buffer.split_at_mut(mid);
        sort_counting(left, left_buffer) + sort_counting(right, right_buffer)
    };
    let (mut i, mut j, mut k) = (0, mid, 0);
    while i < mid && j < n {
        if values[i] <= values[j] {
            buffer[k] = values[i];
            i += 1;
        } else {
            // values[j] jumps ahead of every value left in the left half.
            inversions += (mid - i) as u64;
            buffer[k] = values[j];
            j += 1;
        }
        k += 1;
    }
    buffer[k..k + mid - i].copy_from_slice(&values[i..mid]);
    k += mid - i;
    buffer[k..n].copy_from_slice(&values[j..n]);
    values.copy_from_slice(&buffer[..n]);
    inversions
}

/// Nearest-rank percentile of `sorted` (ascending), `p` in `(0, 1]`: the smallest value with at
/// least a share `p` of the values at or below it.
pub fn percentile(sorted: &[u64], p: f64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len() as f64).ceil().max(1.0) as usize;
    Some(sorted[rank.min(sorted.len()) - 1])
}

fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let (sum, n) = values.fold((0.0, 0u64), |(s, n), v| (s + v, n + 1));
    sum / n as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inversions_of_a_hand_made_sequence() {
        // Pairs out of order: (3,1) (3,2) (5,4) (5,2) (4,2) (3,2)… counted by hand: 3>1, 3>2,
        // 5>4, 5>2, 4>2 → 5. Equal values are never inversions.
        assert_eq!(count_inversions(&[3, 1, 5, 4, 2]), 5);
        assert_eq!(count_inversions(&[1, 2, 2, 3]), 0);
        assert_eq!(count_inversions(&[2, 2, 1]), 2);
        assert_eq!(count_inversions(&[5, 4, 3, 2, 1]), 10);
        assert_eq!(count_inversions(&[]), 0);
    }

    #[test]
    fn inversions_match_the_quadratic_count() {
        let mut rng = waitroom::rng::Rng::seeded(9);
        let values: Vec<u64> = (0..500).map(|_| rng.next_u64() % 50).collect();
        let mut slow = 0;
        for i in 0..values.len() {
            for j in i + 1..values.len() {
                slow += u64::from(values[i] > values[j]);
            }
        }
        assert_eq!(count_inversions(&values), slow);
    }

    #[test]
    fn order_kept_is_the_share_of_pairs_in_order() {
        assert_eq!(order_kept(&[10, 20, 30, 40]), 1.0);
        assert_eq!(order_kept(&[40, 30, 20, 10]), 0.0);
        // One swap among 4 users: 1 of 6 pairs.
        assert_eq!(order_kept(&[10, 30, 20, 40]), 1.0 - 1.0 / 6.0);
        assert_eq!(order_kept(&[7]), 1.0);
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let sorted: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&sorted, 0.5), Some(50));
        assert_eq!(percentile(&sorted, 0.99), Some(99));
        assert_eq!(percentile(&sorted, 1.0), Some(100));
        assert_eq!(percentile(&[7], 0.99), Some(7));
        assert_eq!(percentile(&[], 0.5), None);
    }

    #[test]
    fn capacity_used_counts_admissions_in_the_busy_window_against_the_rate() {
        // 60 a minute = 1 per second; window of 10 s; admissions at 1..=10 s and one outside.
        let served: Vec<u64> = (1..=10).map(|s| s * 1_000).chain([20_000]).collect();
        assert_eq!(capacity_used(&served, 0, 10_000, 60.0), 1.0);
        assert_eq!(capacity_used(&served[..5], 0, 10_000, 60.0), 0.5);
    }

    #[test]
    fn per_second_buckets_and_their_peak() {
        let buckets = per_second(&[0, 999, 1_000, 3_500, 3_600, 3_999, NEVER]);
        assert_eq!(buckets, [2, 1, 0, 3]);
        assert_eq!(peak(&buckets), 3);
        assert_eq!(peak(&[]), 0);
    }
}
