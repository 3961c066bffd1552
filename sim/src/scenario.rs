//! The crowd: who arrives when, who gives up when, and how long the network takes.
//!
//! Everything here is drawn once from the scenario's seed and shared by every strategy, so the
//! strategies are compared on exactly the same people.

use std::time::Duration;

use waitroom::machine::RETURN_JITTER_CAP;
use waitroom::rng::Rng;
use waitroom::time::Timestamp;
use waitroom_gate::queue::QueueConfig;

/// Virtual time zero: 6 April 2021, 08:00 in Paris, the morning the school portals fell over.
pub const T0: Timestamp = Timestamp::from_millis(1_617_688_800_000);

/// Share of the users who come in the first [`BURST_SPAN_MS`] of a [`Arrival::Burst`] crowd.
pub const BURST_SHARE: f64 = 0.6;
/// The "top of the hour" of a [`Arrival::Burst`] crowd, in ms.
pub const BURST_SPAN_MS: u64 = 5_000;

/// How arrivals spread over the arrival window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Arrival {
    /// Uniformly over the window.
    Uniform,
    /// 60 % in the first 5 s ("top of the hour"), the rest uniformly over the window.
    Burst,
}

/// The parameters of one run.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Scenario {
    /// Number of users.
    pub users: u32,
    /// Arrivals fall in `[0, arrival_window)` after [`T0`], in seconds.
    pub arrival_window_s: f64,
    /// How they fall.
    pub arrival: Arrival,
    /// Admission rate of the portal, per minute.
    pub admit_per_minute: f64,
    /// Token bucket capacity (admissions); `None` is the gate's default (10 s of admissions).
    pub burst: Option<f64>,
    /// The no-show rate the gate assumes before it has observed any.
    pub expected_no_show: f64,
    /// Probability that a user gives up before its turn.
    pub abandon: f64,
    /// Median round-trip time of a request, in ms.
    pub latency_ms: f64,
    /// Seed of everything random.
    pub seed: u64,
    /// Virtual time after which a strategy's run stops, admitted or not, in seconds.
    pub time_limit_s: f64,
}

impl Default for Scenario {
    /// The default scenario: 100 000 users over 2 minutes, 2 000 admissions a minute.
    fn default() -> Self {
        Scenario {
            users: 100_000,
            arrival_window_s: 120.0,
            arrival: Arrival::Uniform,
            admit_per_minute: 2_000.0,
            burst: None,
            expected_no_show: 0.0,
            abandon: 0.05,
            latency_ms: 80.0,
            seed: 1,
            time_limit_s: 6.0 * 3600.0,
        }
    }
}

impl Scenario {
    /// The gate's queue configuration for this scenario: the gate's defaults at this rate, with
    /// the widget's widest return jitter so that no-shows are judged after it.
    pub fn queue_config(&self) -> QueueConfig {
        let config = QueueConfig::new(self.admit_per_minute)
            .with_return_jitter(RETURN_JITTER_CAP)
            .with_expected_no_show(self.expected_no_show);
        match self.burst {
            Some(burst) => config.with_burst(burst),
            None => config,
        }
    }

    /// The time limit in ms after [`T0`].
    pub fn time_limit_ms(&self) -> u64 {
        (self.time_limit_s * 1_000.0) as u64
    }
}

/// The users of a scenario, indexed by arrival rank.
#[derive(Debug, Clone, PartialEq)]
pub struct Crowd {
    /// When each user arrives (sends its first request), ms after [`T0`], non-decreasing.
    pub arrival: Vec<u64>,
    /// When each user gives up if not admitted by then, ms after [`T0`]; `u64::MAX` for the
    /// users who never give up.
    pub abandon_at: Vec<u64>,
    /// A seed per user, for its own jitter (the same user draws the same seed in every strategy).
    pub seed: Vec<u64>,
}

impl Crowd {
    /// Draws the crowd of `scenario`.
    ///
    /// An abandoning user (probability `abandon`) leaves at a uniformly random time in
    /// `(arrival, ideal]`, where `ideal` is its admission time through a perfect FIFO server with
    /// the scenario's rate and bucket if nobody left. A user that server would admit at once
    /// never abandons: there is no time in which to give up.
    pub fn draw(scenario: &Scenario) -> Crowd {
        let mut rng = Rng::seeded(scenario.seed);
        let n = scenario.users as usize;
        let window = (scenario.arrival_window_s * 1_000.0).max(1.0);
        let in_burst = match scenario.arrival {
            Arrival::Uniform => 0,
            Arrival::Burst => (n as f64 * BURST_SHARE).round() as usize,
        };
        let burst_span = (BURST_SPAN_MS as f64).min(window);
        let mut arrival: Vec<u64> = (0..n)
            .map(|i| {
                let span = if i < in_burst { burst_span } else { window };
                (rng.next_f64() * span) as u64
            })
            .collect();
        arrival.sort_unstable();

        let config = scenario.queue_config();
        let ideal = ideal_fifo(&arrival, config.admit_per_minute, config.burst);
        let abandon_at = arrival
            .iter()
            .zip(&ideal)
            .map(|(&a, &admit)| {
                let leaves = rng.next_f64() < scenario.abandon;
                let latest = admit.floor() as u64;
                if leaves && latest > a {
                    a + 1 + (rng.next_f64() * (latest - a) as f64) as u64
                } else {
                    u64::MAX
                }
            })
            .collect();
        let seed = (0..n).map(|_| rng.next_u64()).collect();
        Crowd { arrival, abandon_at, seed }
    }

    /// Number of users.
    pub fn len(&self) -> usize {
        self.arrival.len()
    }

    /// Whether there is nobody.
    pub fn is_empty(&self) -> bool {
        self.arrival.is_empty()
    }
}

/// Admission times (ms, fractional) of users arriving at `arrivals` (non-decreasing, ms) through a
/// perfect FIFO server: a token bucket of `burst` admissions, full at time 0, refilled
/// continuously at `per_minute`, serving users strictly in arrival order with zero latency.
///
/// This is the best any strategy could do with the same capacity, and the reference for the
/// extra wait.
pub fn ideal_fifo(arrivals: &[u64], per_minute: f64, burst: f64) -> Vec<f64> {
    let rate = per_minute / 60_000.0;
    let mut tokens = burst;
    let mut refilled_at = 0.0_f64;
    let mut previous = 0.0_f64;
    arrivals
        .iter()
        .map(|&a| {
            let now = (a as f64).max(previous);
            tokens = (tokens + (now - refilled_at) * rate).min(burst);
            refilled_at = now;
            let admit = if tokens >= 1.0 {
                tokens -= 1.0;
                now
            } else {
                let ready = now + (1.0 - tokens) / rate;
                tokens = 0.0;
                refilled_at = ready;
                ready
            };
            previous = admit;
            admit
        })
        .collect()
}

/// Round-trip times: log-normal, with the median the scenario gives and a 99th percentile five
/// times it (σ = ln 5 / 2.326).
///
/// Drawn from a table of 4 096 quantiles, so that a draw costs one random number and one load:
/// poll-3s alone draws about fifty million of them. The table stops at the 99.99th percentile
/// (12.7 × the median), which no fetch timeout of the widget comes near at realistic medians.
#[derive(Debug, Clone)]
pub struct Latency {
    table: Box<[u32; LATENCY_POINTS]>,
}

const LATENCY_POINTS: usize = 4_096;
/// σ of the log-normal: `exp(2.326 σ) = 5`.
const LATENCY_SIGMA: f64 = 0.691_9;

impl Latency {
    /// Round-trip times with median `median_ms` (at least 2 ms, so each leg takes at least 1 ms).
    pub fn new(median_ms: f64) -> Self {
        let mut table = Box::new([0u32; LATENCY_POINTS]);
        for (i, slot) in table.iter_mut().enumerate() {
            let p = (i as f64 + 0.5) / LATENCY_POINTS as f64;
            let rtt = median_ms * (LATENCY_SIGMA * normal_quantile(p)).exp();
            *slot = rtt.round().clamp(2.0, u32::MAX as f64) as u32;
        }
        Latency { table }
    }

    /// One round-trip time, in ms.
    pub fn draw(&self, rng: &mut Rng) -> u32 {
        self.table[(rng.next_u64() >> 52) as usize]
    }

    /// The longest round trip this model ever draws.
    pub fn max(&self) -> Duration {
        Duration::from_millis(u64::from(self.table[LATENCY_POINTS - 1]))
    }
}

/// Inverse of the standard normal CDF (Acklam's rational approximation, relative error
/// below 1.2e-9: far finer than a millisecond table needs).
fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < 0.024_25 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.024_25 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ideal_fifo_serves_the_bucket_at_once_then_one_user_per_token() {
        // 60 a minute = one token per second; a bucket of 2.
        let admits = ideal_fifo(&[0, 0, 0, 0, 10_000], 60.0, 2.0);
        assert_eq!(admits, [0.0, 0.0, 1_000.0, 2_000.0, 10_000.0]);
    }

    #[test]
    fn ideal_fifo_refills_while_idle_but_never_beyond_the_bucket() {
        let admits = ideal_fifo(&[0, 100_000, 100_000, 100_000], 60.0, 2.0);
        assert_eq!(admits, [0.0, 100_000.0, 100_000.0, 101_000.0]);
    }

    #[test]
    fn latency_has_the_asked_median_and_a_p99_five_times_it() {
        let latency = Latency::new(80.0);
        assert_eq!(latency.table[LATENCY_POINTS / 2], 80);
        let p99 = latency.table[(LATENCY_POINTS as f64 * 0.99) as usize];
        assert!((395..=405).contains(&p99), "{p99}");
    }

    #[test]
    fn a_burst_crowd_puts_sixty_percent_in_the_first_five_seconds() {
        let scenario = Scenario { users: 10_000, arrival: Arrival::Burst, ..Scenario::default() };
        let crowd = Crowd::draw(&scenario);
        let early = crowd.arrival.iter().filter(|&&a| a < BURST_SPAN_MS).count();
        // 6 000 in the burst plus the uniform rest's share of the first 5 s (4 000 × 5 / 120).
        assert!((6_100..=6_250).contains(&early), "{early}");
    }

    #[test]
    fn abandoners_leave_between_arrival_and_their_ideal_turn() {
        let scenario = Scenario { users: 20_000, abandon: 0.5, ..Scenario::default() };
        let crowd = Crowd::draw(&scenario);
        let config = scenario.queue_config();
        let ideal = ideal_fifo(&crowd.arrival, config.admit_per_minute, config.burst);
        let mut leaving = 0;
        for ((&leaves, &arrival), &admit) in crowd.abandon_at.iter().zip(&crowd.arrival).zip(&ideal)
        {
            if leaves != u64::MAX {
                leaving += 1;
                assert!(leaves > arrival);
                assert!(leaves as f64 <= admit.floor());
            }
        }
        assert!((9_000..=10_500).contains(&leaving), "{leaving}");
    }
}
