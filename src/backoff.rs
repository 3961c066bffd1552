//! Exponential backoff with jitter, as an iterator of delays.
//!
//! When the portal is full, every rejected browser must come back later, and *not all at the same
//! moment*: a plain exponential schedule keeps users who were rejected together in lockstep, so
//! they keep arriving in waves. The jitter kinds here are the three of Marc Brooker's
//! "Exponential Backoff And Jitter" (AWS Architecture Blog, 2015). The shape follows the `backon`
//! crate: a backoff *is* an `Iterator<Item = Duration>`, `None` means give up, builders are
//! `const fn`, and the randomness comes from a seed so tests can assert exact sequences.
//!
//! ```
//! use std::time::Duration;
//! use waitroom::backoff::{Backoff, Jitter};
//!
//! let mut backoff = Backoff::seeded(42)
//!     .with_base(Duration::from_millis(500))
//!     .with_cap(Duration::from_secs(30))
//!     .with_jitter(Jitter::Full)
//!     .with_max_attempts(3);
//! assert!(backoff.next().unwrap() <= Duration::from_millis(500));
//! assert!(backoff.next().unwrap() <= Duration::from_secs(1));
//! assert!(backoff.next().unwrap() <= Duration::from_secs(2));
//! assert_eq!(backoff.next(), None);
//! ```

use std::time::Duration;

use crate::rng::Rng;
use crate::time::duration_millis;

/// How the random part of each delay is drawn.
///
/// With `exp = min(cap, base × 2^attempt)`:
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Jitter {
    /// Uniform in `[0, exp]`: the widest spread, hence the fewest collisions and the least total
    /// work for the server (Brooker's recommendation).
    Full,
    /// `exp / 2` plus uniform in `[0, exp / 2]`: never retries almost immediately, at the cost
    /// of a narrower spread.
    Equal,
    /// Uniform in `[base, previous × 3]`, capped: each delay grows from the last one drawn
    /// rather than from the attempt count.
    Decorrelated,
}

/// An exponential backoff with jitter: an endless (or bounded) iterator of delays.
///
/// # Default
///
/// base 1 s, cap 120 s, [`Jitter::Full`], no attempt limit (the same cap as gRPC's connection
/// backoff).
///
/// All arithmetic saturates: attempt 1000 yields a delay bounded by the cap, never an overflow.
#[derive(Debug, Clone)]
pub struct Backoff {
    rng: Rng,
    base: Duration,
    cap: Duration,
    jitter: Jitter,
    max_attempts: Option<u32>,
    attempt: u32,
    /// The last delay drawn by [`Jitter::Decorrelated`]; `base` after a reset.
    previous: Duration,
}

impl Backoff {
    /// Default base delay: 1 s.
    pub const DEFAULT_BASE: Duration = Duration::from_secs(1);
    /// Default cap: 120 s.
    pub const DEFAULT_CAP: Duration = Duration::from_secs(120);

    /// A backoff with the defaults, drawing its jitter from `seed`.
    ///
    /// # Default
    ///
    /// base 1 s, cap 120 s, [`Jitter::Full`], no attempt limit
    pub const fn seeded(seed: u64) -> Self {
        Backoff {
            rng: Rng::seeded(seed),
            base: Self::DEFAULT_BASE,
            cap: Self::DEFAULT_CAP,
            jitter: Jitter::Full,
            max_attempts: None,
            attempt: 0,
            previous: Self::DEFAULT_BASE,
        }
    }

    /// The delay before jitter at attempt 0; later attempts double it.
    pub const fn with_base(mut self, base: Duration) -> Self {
        self.base = base;
        self.previous = base;
        self
    }

    /// No delay is ever longer than `cap`.
    pub const fn with_cap(mut self, cap: Duration) -> Self {
        self.cap = cap;
        self
    }

    /// How the delays are randomised.
    pub const fn with_jitter(mut self, jitter: Jitter) -> Self {
        self.jitter = jitter;
        self
    }

    /// Yield at most `n` delays, then `None` (give up). `0` gives up at once.
    pub const fn with_max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = Some(n);
        self
    }

    /// Never give up (the default).
    pub const fn without_max_attempts(mut self) -> Self {
        self.max_attempts = None;
        self
    }

    /// Back to attempt 0, after a success.
    ///
    /// The random stream is *not* rewound: two successes in a row must not replay the same
    /// delays, or users reset together would retry together.
    pub fn reset(&mut self) {
        self.attempt = 0;
        self.previous = self.base;
    }

    /// Continues as if `attempt` delays had been produced since the last reset: a reload or
    /// another tab resumes the backoff exactly where it stood, however far, without replaying
    /// draws. Decorrelated jitter, which remembers its previous delay, takes the largest that
    /// delay could have been.
    pub fn resume(&mut self, attempt: u32) {
        self.attempt = attempt;
        self.previous = if attempt == 0 { self.base } else { self.exponential() };
    }

    /// How many delays were produced since the last reset.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// The base delay.
    pub fn base(&self) -> Duration {
        self.base
    }

    /// The cap.
    pub fn cap(&self) -> Duration {
        self.cap
    }

    /// The jitter kind.
    pub fn jitter(&self) -> Jitter {
        self.jitter
    }

    /// The attempt limit, if any.
    pub fn max_attempts(&self) -> Option<u32> {
        self.max_attempts
    }

    /// The longest delay the next call to `next` can return (it may return less), or `None` when
    /// the attempt limit is reached. Lets a display promise "at most …" before drawing.
    pub fn next_upper_bound(&self) -> Option<Duration> {
        if self.exhausted() {
            return None;
        }
        Some(match self.jitter {
            Jitter::Full | Jitter::Equal => self.exponential(),
            Jitter::Decorrelated => self.decorrelated_upper().min(self.cap),
        })
    }

    fn exhausted(&self) -> bool {
        matches!(self.max_attempts, Some(max) if self.attempt >= max)
    }

    /// `min(cap, base × 2^attempt)` in whole milliseconds, saturating.
    fn exponential(&self) -> Duration {
        let base = duration_millis(self.base);
        let doubled = if base == 0 {
            0
        } else if self.attempt >= base.leading_zeros() {
            // Shifting further would push bits out: the true value exceeds u64::MAX ms.
            u64::MAX
        } else {
            base << self.attempt
        };
        Duration::from_millis(doubled).min(self.cap)
    }

    fn decorrelated_upper(&self) -> Duration {
        self.previous.saturating_mul(3)
    }
}

impl Iterator for Backoff {
    type Item = Duration;

    /// The next delay; `None` only once the attempt limit is reached.
    fn next(&mut self) -> Option<Duration> {
        if self.exhausted() {
            return None;
        }
        let delay = match self.jitter {
            Jitter::Full => {
                let exp = self.exponential();
                self.rng.between(Duration::ZERO, exp)
            }
            Jitter::Equal => {
                let exp = self.exponential();
                let half = exp / 2;
                // `exp - half` rather than `half` so an odd millisecond is not lost at the top.
                half + self.rng.between(Duration::ZERO, exp - half)
            }
            Jitter::Decorrelated => {
                let drawn = self.rng.between(self.base, self.decorrelated_upper());
                let sleep = drawn.min(self.cap);
                self.previous = sleep;
                sleep
            }
        };
        self.attempt = self.attempt.saturating_add(1);
        Some(delay)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match self.max_attempts {
            Some(max) => {
                let left = usize::try_from(max.saturating_sub(self.attempt)).unwrap_or(usize::MAX);
                (left, Some(left))
            }
            None => (usize::MAX, None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn millis(backoff: Backoff, n: usize) -> Vec<u64> {
        backoff.take(n).map(|d| d.as_millis() as u64).collect()
    }

    #[test]
    fn defaults_are_one_second_base_two_minute_cap_full_jitter_unbounded() {
        let b = Backoff::seeded(0);
        assert_eq!(b.base(), Duration::from_secs(1));
        assert_eq!(b.cap(), Duration::from_secs(120));
        assert_eq!(b.jitter(), Jitter::Full);
        assert_eq!(b.max_attempts(), None);
        assert_eq!(b.attempt(), 0);
    }

    // The frozen sequences below were computed once from this implementation. If one changes,
    // every browser's schedule for a given seed changes: make sure that is intended.

    #[test]
    fn full_jitter_sequence_is_frozen_for_seed_42() {
        assert_eq!(millis(Backoff::seeded(42), 10), FROZEN_FULL_42);
    }
    const FROZEN_FULL_42: [u64; 10] =
        [742, 319, 1_114, 2_753, 608, 27_784, 13_978, 96_076, 40_792, 74_218];

    #[test]
    fn equal_jitter_sequence_is_frozen_for_seed_42() {
        assert_eq!(millis(Backoff::seeded(42).with_jitter(Jitter::Equal), 10), FROZEN_EQUAL_42);
    }
    const FROZEN_EQUAL_42: [u64; 10] =
        [871, 1_160, 2_557, 5_377, 8_304, 29_892, 38_989, 108_038, 80_396, 97_109];

    #[test]
    fn decorrelated_jitter_sequence_is_frozen_for_seed_42() {
        let b = Backoff::seeded(42).with_jitter(Jitter::Decorrelated);
        assert_eq!(millis(b, 10), FROZEN_DECORRELATED_42);
    }
    const FROZEN_DECORRELATED_42: [u64; 10] =
        [2_483, 2_031, 2_419, 3_153, 1_321, 3_573, 3_122, 7_698, 8_510, 16_171];

    #[test]
    fn different_seeds_spread_users_rejected_together() {
        let first: Vec<u64> = (0..100)
            .map(|seed| millis(Backoff::seeded(seed).with_jitter(Jitter::Full), 4)[3])
            .collect();
        let mut distinct = first.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert!(distinct.len() > 90, "only {} distinct delays", distinct.len());
    }

    #[test]
    fn upper_bound_doubles_until_the_cap_then_stays() {
        let mut b = Backoff::seeded(1)
            .with_base(Duration::from_millis(100))
            .with_cap(Duration::from_millis(1_000));
        let mut bounds = Vec::new();
        for _ in 0..7 {
            bounds.push(b.next_upper_bound().unwrap().as_millis() as u64);
            b.next();
        }
        assert_eq!(bounds, [100, 200, 400, 800, 1_000, 1_000, 1_000]);
    }

    #[test]
    fn attempt_one_thousand_saturates_at_the_cap() {
        for jitter in [Jitter::Full, Jitter::Equal, Jitter::Decorrelated] {
            let mut b = Backoff::seeded(5).with_jitter(jitter);
            for _ in 0..1_000 {
                assert!(b.next().unwrap() <= Duration::from_secs(120));
            }
            assert_eq!(b.attempt(), 1_000);
            assert_eq!(b.next_upper_bound(), Some(Duration::from_secs(120)));
        }
    }

    #[test]
    fn huge_base_and_cap_do_not_overflow() {
        let mut b = Backoff::seeded(8)
            .with_base(Duration::from_millis(u64::MAX / 2))
            .with_cap(Duration::MAX)
            .with_jitter(Jitter::Equal);
        for _ in 0..70 {
            b.next().unwrap();
        }
        let mut d = Backoff::seeded(8)
            .with_base(Duration::MAX)
            .with_cap(Duration::MAX)
            .with_jitter(Jitter::Decorrelated);
        for _ in 0..5 {
            d.next().unwrap();
        }
    }

    #[test]
    fn attempt_counter_saturates_instead_of_wrapping() {
        let mut b = Backoff::seeded(0);
        b.attempt = u32::MAX;
        assert!(b.next().unwrap() <= Duration::from_secs(120));
        assert_eq!(b.attempt(), u32::MAX);
    }

    #[test]
    fn zero_base_gives_zero_delays_rather_than_panicking() {
        let b = Backoff::seeded(3).with_base(Duration::ZERO);
        assert_eq!(millis(b, 3), [0, 0, 0]);
        let d = Backoff::seeded(3).with_base(Duration::ZERO).with_jitter(Jitter::Decorrelated);
        assert_eq!(millis(d, 3), [0, 0, 0]);
    }

    #[test]
    fn base_above_cap_is_capped() {
        for jitter in [Jitter::Full, Jitter::Equal, Jitter::Decorrelated] {
            let b = Backoff::seeded(4)
                .with_base(Duration::from_secs(10))
                .with_cap(Duration::from_secs(2))
                .with_jitter(jitter);
            assert!(millis(b, 20).iter().all(|&ms| ms <= 2_000), "{jitter:?}");
        }
    }

    #[test]
    fn max_attempts_gives_up_with_none_and_counts_down_in_size_hint() {
        let mut b = Backoff::seeded(0).with_max_attempts(2);
        assert_eq!(b.size_hint(), (2, Some(2)));
        assert!(b.next().is_some());
        assert!(b.next().is_some());
        assert_eq!(b.next(), None);
        assert_eq!(b.next(), None);
        assert_eq!(b.next_upper_bound(), None);
        assert_eq!(b.attempt(), 2);
        assert_eq!(Backoff::seeded(0).with_max_attempts(0).next(), None);
        assert!(Backoff::seeded(0).with_max_attempts(1).without_max_attempts().nth(10).is_some());
    }

    #[test]
    fn reset_restarts_the_schedule_but_not_the_random_stream() {
        let mut b = Backoff::seeded(99).with_max_attempts(3);
        let first: Vec<Duration> = b.by_ref().collect();
        assert_eq!(first.len(), 3);
        b.reset();
        assert_eq!(b.attempt(), 0);
        assert_eq!(b.next_upper_bound(), Some(Duration::from_secs(1)));
        let second: Vec<Duration> = b.by_ref().collect();
        assert_eq!(second.len(), 3);
        assert_ne!(first, second, "a reset must not replay the same jitter");
    }

    #[test]
    fn reset_restarts_decorrelated_growth_from_base() {
        let mut b = Backoff::seeded(6).with_jitter(Jitter::Decorrelated);
        for _ in 0..20 {
            b.next();
        }
        b.reset();
        assert_eq!(b.next_upper_bound(), Some(Duration::from_secs(3)));
        let d = b.next().unwrap();
        assert!(d >= Duration::from_secs(1) && d <= Duration::from_secs(3));
    }

    proptest! {
        #[test]
        fn full_jitter_stays_within_zero_and_the_exponential(seed: u64, base in 1u64..10_000, cap in 1u64..200_000) {
            let mut b = Backoff::seeded(seed)
                .with_base(Duration::from_millis(base))
                .with_cap(Duration::from_millis(cap));
            for attempt in 0..40u32 {
                let exp = base.saturating_mul(1u64.checked_shl(attempt).unwrap_or(u64::MAX)).min(cap);
                let d = b.next().unwrap().as_millis() as u64;
                prop_assert!(d <= exp, "attempt {}: {} > {}", attempt, d, exp);
            }
        }

        #[test]
        fn equal_jitter_stays_within_half_and_the_exponential(seed: u64, base in 1u64..10_000, cap in 1u64..200_000) {
            let mut b = Backoff::seeded(seed)
                .with_base(Duration::from_millis(base))
                .with_cap(Duration::from_millis(cap))
                .with_jitter(Jitter::Equal);
            for attempt in 0..40u32 {
                let exp = base.saturating_mul(1u64.checked_shl(attempt).unwrap_or(u64::MAX)).min(cap);
                let d = b.next().unwrap().as_millis() as u64;
                prop_assert!(d >= exp / 2 && d <= exp, "attempt {}: {} not in [{}, {}]", attempt, d, exp / 2, exp);
            }
        }

        #[test]
        fn decorrelated_jitter_stays_within_base_triple_previous_and_cap(seed: u64, base in 1u64..10_000, cap in 1u64..200_000) {
            let mut b = Backoff::seeded(seed)
                .with_base(Duration::from_millis(base))
                .with_cap(Duration::from_millis(cap))
                .with_jitter(Jitter::Decorrelated);
            let mut previous = base;
            for _ in 0..40 {
                let d = b.next().unwrap().as_millis() as u64;
                prop_assert!(d <= cap);
                prop_assert!(d >= base.min(cap));
                prop_assert!(d <= (previous * 3).max(base));
                previous = d;
            }
        }

        #[test]
        fn upper_bound_never_shrinks_between_resets(seed: u64, base in 0u64..10_000, cap in 0u64..200_000, kind in 0..2usize) {
            let jitter = [Jitter::Full, Jitter::Equal][kind];
            let mut b = Backoff::seeded(seed)
                .with_base(Duration::from_millis(base))
                .with_cap(Duration::from_millis(cap))
                .with_jitter(jitter);
            let mut last = Duration::ZERO;
            for _ in 0..80 {
                let bound = b.next_upper_bound().unwrap();
                prop_assert!(bound >= last);
                prop_assert!(bound <= Duration::from_millis(cap));
                let d = b.next().unwrap();
                prop_assert!(d <= bound);
                last = bound;
            }
        }
    }
}
