//! How long until the user's turn, as an honest range.
//!
//! A single number ("4 min") is read as a promise, and a promise broken makes people reload. So
//! the estimate is a range whose upper end errs on the long side: the user should be pleasantly
//! surprised, never let down. The gate's own estimate is preferred (it sees the whole queue);
//! without one, the advance rate is measured from the positions the user has been shown.

use std::time::Duration;

use crate::time::Timestamp;

/// Longest estimate we ever show (two days); beyond that a number means nothing.
pub const MAX_ESTIMATE: Duration = Duration::from_secs(48 * 3600);

/// Slack added to the upper end: even a queue about to admit us may take a poll or two.
const SLACK: Duration = Duration::from_secs(30);

/// Smoothing time constant of the rate, in seconds: a sample spanning `TAU_SECS` moves the
/// estimate halfway to it. Long enough to ride over the steps of a queue that advances a few
/// places at a time, short enough to follow a change of admission rate within minutes.
const TAU_SECS: f64 = 120.0;

/// Observations closer together than this do not make a sample (two tabs reporting the same poll
/// a few milliseconds apart would otherwise produce absurd rates); the earlier one stays the anchor.
const MIN_SAMPLE: Duration = Duration::from_secs(1);

/// A wait estimate, `low <= high`, both at most [`MAX_ESTIMATE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EtaRange {
    /// The shortest wait to expect.
    pub low: Duration,
    /// The longest wait to expect (what the display promises "at most").
    pub high: Duration,
}

/// Estimates the queue's advance rate from the positions reported over time.
#[derive(Debug, Clone, Default)]
pub struct EtaEstimator {
    /// The last observation used as the start of the next sample.
    anchor: Option<(Timestamp, u64)>,
    /// Places per second, smoothed.
    rate: Option<f64>,
}

impl EtaEstimator {
    /// An estimator that knows nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that the user was at `position` at `now`.
    ///
    /// The rate is an exponentially weighted moving average of (drop in position / elapsed time)
    /// between observations, each sample weighted by how long it spans, so that many short polls
    /// count no more than one long one. Observations earlier than the last one are ignored (a
    /// clock step back must not yield a negative rate), and a position that goes *up* (a new
    /// ticket, a queue reset) discards the rate: it described another queue.
    pub fn observe(&mut self, now: Timestamp, position: u64) {
        let Some((then, previous)) = self.anchor else {
            self.anchor = Some((now, position));
            return;
        };
        if now < then {
            return;
        }
        if position > previous {
            self.rate = None;
            self.anchor = Some((now, position));
            return;
        }
        let elapsed = now.saturating_duration_since(then);
        if elapsed < MIN_SAMPLE {
            return;
        }
        let elapsed = elapsed.as_secs_f64();
        let sample = (previous - position) as f64 / elapsed;
        // elapsed / (elapsed + tau) behaves like 1 - e^(-elapsed/tau) for this purpose (0 for a
        // short sample, towards 1 for a long one) without pulling `exp` into the wasm module.
        let weight = elapsed / (elapsed + TAU_SECS);
        self.rate = Some(match self.rate {
            Some(rate) => rate + weight * (sample - rate),
            None => sample,
        });
        self.anchor = Some((now, position));
    }

    /// The smoothed advance rate in places per second, once two observations far enough apart
    /// have been made since the last reset.
    pub fn rate_per_sec(&self) -> Option<f64> {
        self.rate
    }

    /// Forgets everything (a new ticket).
    pub fn reset(&mut self) {
        *self = Self::default();
    }

    /// The wait for someone at `position`.
    ///
    /// The server's estimate wins when given: `[0.9 × eta, 1.5 × eta + 30 s]`. Otherwise
    /// `x = position / rate`: `[0.8 × x, 1.6 × x + 30 s]`. `None` when nothing is known, including
    /// a rate of zero (a stalled queue has no honest ETA). The ranges are lopsided on purpose:
    /// queues slow down more often than they speed up. Both ends are clamped to [`MAX_ESTIMATE`].
    pub fn estimate(&self, position: u64, server_eta: Option<Duration>) -> Option<EtaRange> {
        let (center, low_factor, high_factor) = match server_eta {
            Some(eta) => (eta.as_secs_f64(), 0.9, 1.5),
            None => {
                let rate = self.rate.filter(|r| r.is_finite() && *r > 0.0)?;
                (position as f64 / rate, 0.8, 1.6)
            }
        };
        let low = secs_floor(center * low_factor);
        let high = secs_ceil(center * high_factor).saturating_add(SLACK).min(MAX_ESTIMATE);
        Some(EtaRange { low: low.min(high), high })
    }
}

/// Seconds → duration, rounded down to the millisecond, clamped to `[0, MAX_ESTIMATE]`.
fn secs_floor(secs: f64) -> Duration {
    from_millis_f64((secs * 1000.0).floor())
}

/// Seconds → duration, rounded up to the millisecond, clamped to `[0, MAX_ESTIMATE]`.
fn secs_ceil(secs: f64) -> Duration {
    from_millis_f64((secs * 1000.0).ceil())
}

fn from_millis_f64(ms: f64) -> Duration {
    let max = MAX_ESTIMATE.as_millis() as f64;
    if ms.is_nan() || ms <= 0.0 {
        Duration::ZERO
    } else if ms >= max {
        MAX_ESTIMATE
    } else {
        Duration::from_millis(ms as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at_secs(s: u64) -> Timestamp {
        Timestamp::from_millis(s * 1000)
    }
    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn nothing_known_gives_no_estimate() {
        let mut eta = EtaEstimator::new();
        assert_eq!(eta.estimate(10, None), None);
        eta.observe(at_secs(0), 100);
        assert_eq!(eta.rate_per_sec(), None);
        assert_eq!(eta.estimate(100, None), None);
    }

    #[test]
    fn rate_is_the_drop_over_elapsed_time() {
        let mut eta = EtaEstimator::new();
        eta.observe(at_secs(0), 100);
        eta.observe(at_secs(60), 70);
        assert_eq!(eta.rate_per_sec(), Some(0.5));
        // x = 70 / 0.5 = 140 s → [112 s, 224 s + 30 s]
        assert_eq!(eta.estimate(70, None), Some(EtaRange { low: secs(112), high: secs(254) }));
    }

    #[test]
    fn later_samples_are_weighted_by_their_span() {
        let mut eta = EtaEstimator::new();
        eta.observe(at_secs(0), 100);
        eta.observe(at_secs(60), 70);
        eta.observe(at_secs(120), 40);
        assert_eq!(eta.rate_per_sec(), Some(0.5));
        // A 60 s sample with no advance: weight 60 / (60 + 120) = 1/3 → 0.5 × 2/3.
        eta.observe(at_secs(180), 40);
        let rate = eta.rate_per_sec().unwrap();
        assert!((rate - 1.0 / 3.0).abs() < 1e-12, "{rate}");
    }

    #[test]
    fn time_going_backwards_is_ignored() {
        let mut eta = EtaEstimator::new();
        eta.observe(at_secs(100), 100);
        eta.observe(at_secs(160), 70);
        eta.observe(at_secs(50), 10);
        assert_eq!(eta.rate_per_sec(), Some(0.5));
        // The anchor is still (160 s, 70): 20 places in 20 s, weighted 20 / (20 + 120).
        eta.observe(at_secs(180), 50);
        let expected = 0.5 + (20.0 / 140.0) * (1.0 - 0.5);
        assert_eq!(eta.rate_per_sec(), Some(expected));
    }

    #[test]
    fn a_position_increase_resets_the_rate() {
        let mut eta = EtaEstimator::new();
        eta.observe(at_secs(0), 100);
        eta.observe(at_secs(60), 70);
        eta.observe(at_secs(90), 500);
        assert_eq!(eta.rate_per_sec(), None);
        assert_eq!(eta.estimate(500, None), None);
        eta.observe(at_secs(100), 490);
        assert_eq!(eta.rate_per_sec(), Some(1.0));
    }

    #[test]
    fn observations_within_a_second_do_not_make_a_sample() {
        let mut eta = EtaEstimator::new();
        eta.observe(Timestamp::from_millis(0), 100);
        eta.observe(Timestamp::from_millis(500), 90);
        assert_eq!(eta.rate_per_sec(), None);
        eta.observe(Timestamp::from_millis(2_000), 80);
        assert_eq!(eta.rate_per_sec(), Some(10.0));
    }

    #[test]
    fn a_stalled_queue_has_no_estimate() {
        let mut eta = EtaEstimator::new();
        eta.observe(at_secs(0), 100);
        eta.observe(at_secs(60), 100);
        assert_eq!(eta.rate_per_sec(), Some(0.0));
        assert_eq!(eta.estimate(100, None), None);
    }

    #[test]
    fn the_server_estimate_wins() {
        let mut eta = EtaEstimator::new();
        eta.observe(at_secs(0), 100);
        eta.observe(at_secs(10), 0);
        assert_eq!(
            eta.estimate(50, Some(secs(100))),
            Some(EtaRange { low: secs(90), high: secs(180) })
        );
        assert_eq!(
            EtaEstimator::new().estimate(1, Some(Duration::ZERO)),
            Some(EtaRange { low: Duration::ZERO, high: secs(30) })
        );
    }

    #[test]
    fn estimates_are_clamped_to_two_days() {
        let e = EtaEstimator::new().estimate(1, Some(Duration::MAX)).unwrap();
        assert_eq!(e, EtaRange { low: MAX_ESTIMATE, high: MAX_ESTIMATE });
        let e = EtaEstimator::new().estimate(1, Some(secs(40 * 3600))).unwrap();
        assert_eq!(e, EtaRange { low: secs(36 * 3600), high: MAX_ESTIMATE });
        let mut slow = EtaEstimator::new();
        slow.observe(at_secs(0), u64::MAX);
        slow.observe(at_secs(u64::MAX / 2000), u64::MAX - 1);
        let e = slow.estimate(u64::MAX, None).unwrap();
        assert_eq!(e.high, MAX_ESTIMATE);
    }

    #[test]
    fn reset_forgets_the_rate() {
        let mut eta = EtaEstimator::new();
        eta.observe(at_secs(0), 100);
        eta.observe(at_secs(60), 70);
        eta.reset();
        assert_eq!(eta.rate_per_sec(), None);
        eta.observe(at_secs(61), 69);
        assert_eq!(eta.rate_per_sec(), None);
    }

    proptest! {
        #[test]
        fn estimates_are_ordered_bounded_and_pessimistic(
            observations in proptest::collection::vec((0u64..1_000_000_000, 0u64..10_000_000), 0..20),
            position in 0u64..10_000_000,
            server_secs in proptest::option::of(0u64..1_000_000),
        ) {
            let mut eta = EtaEstimator::new();
            for (ms, pos) in observations {
                eta.observe(Timestamp::from_millis(ms), pos);
                if let Some(rate) = eta.rate_per_sec() {
                    prop_assert!(rate.is_finite() && rate >= 0.0);
                }
            }
            if let Some(range) = eta.estimate(position, server_secs.map(Duration::from_secs)) {
                prop_assert!(range.low <= range.high);
                prop_assert!(range.high <= MAX_ESTIMATE);
                prop_assert!(range.high >= SLACK.min(MAX_ESTIMATE));
                if let Some(s) = server_secs {
                    let server = Duration::from_secs(s);
                    prop_assert!(range.low <= server);
                    prop_assert!(range.high >= server.min(MAX_ESTIMATE));
                }
            }
        }
    }
}
