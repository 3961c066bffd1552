//! A small seeded pseudo-random number generator.
//!
//! The core takes no randomness from the environment: drivers pass a seed in (from
//! `crypto.getRandomValues` in the browser, from a counter in the simulator), so every schedule is
//! reproducible in tests. SplitMix64 is enough here: jitter needs spread, not secrecy, and the
//! whole generator is a handful of instructions and eight bytes of state, which matters in a wasm
//! module downloaded by every pupil.

use std::time::Duration;

use crate::time::duration_millis;

/// Small seeded PRNG (SplitMix64). Deterministic: same seed, same sequence on every platform.
///
/// Not suitable for secrets (tickets and passes are signed by the gate, not drawn from here).
///
/// ```
/// use std::time::Duration;
/// use waitroom::rng::Rng;
///
/// let mut rng = Rng::seeded(7);
/// let delay = rng.between(Duration::from_millis(500), Duration::from_millis(1_500));
/// assert!(delay >= Duration::from_millis(500) && delay <= Duration::from_millis(1_500));
/// ```
#[derive(Debug, Clone)]
pub struct Rng {
    state: u64,
}

impl Rng {
    /// A generator whose sequence is fully determined by `seed`. Every seed, including zero, is
    /// fine: SplitMix64 has no bad seeds.
    pub const fn seeded(seed: u64) -> Self {
        Rng { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        // Constants from Steele, Lea and Flood, "Fast splittable pseudorandom number generators"
        // (2014), as in Vigna's reference `splitmix64.c`.
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`, with 53 bits of precision (every value is a multiple of 2⁻⁵³, so 1.0
    /// itself can never come out).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in `[low, high]` at millisecond resolution; `low` itself if `high < low`.
    ///
    /// The result never leaves `[low, high]`: bounds with a sub-millisecond part are rounded
    /// inwards, and when no whole millisecond lies between them, `low` is returned.
    pub fn between(&mut self, low: Duration, high: Duration) -> Duration {
        if high <= low {
            return low;
        }
        let low_ms = ceil_millis(low);
        let high_ms = duration_millis(high);
        if high_ms < low_ms {
            return low;
        }
        let offset = match (high_ms - low_ms).checked_add(1) {
            Some(span) => self.below(span),
            // The span covers all of u64: every draw is already uniform over it.
            None => self.next_u64(),
        };
        Duration::from_millis(low_ms.saturating_add(offset))
    }

    /// Uniform in `[0, n)` for `n > 0`, without the modulo bias of `next_u64() % n`.
    ///
    /// Lemire's multiply-shift method ("Fast Random Integer Generation in an Interval", 2019):
    /// one multiplication in the common case, and a rejection loop that runs again with
    /// probability below `n / 2⁶⁴`, which for millisecond spans is never in practice.
    fn below(&mut self, n: u64) -> u64 {
        debug_assert!(n > 0);
        let mut product = u128::from(self.next_u64()) * u128::from(n);
        let mut low_bits = product as u64;
        if low_bits < n {
            let threshold = n.wrapping_neg() % n;
            while low_bits < threshold {
                product = u128::from(self.next_u64()) * u128::from(n);
                low_bits = product as u64;
            }
        }
        (product >> 64) as u64
    }
}

/// Whole milliseconds in `d`, rounded up (saturating), so that `low` never moves below itself.
fn ceil_millis(d: Duration) -> u64 {
    let whole = duration_millis(d);
    if d.subsec_nanos() % 1_000_000 == 0 {
        whole
    } else {
        whole.saturating_add(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    // Named explicitly: proptest's prelude also exports a trait called `Rng`.
    use super::Rng;
    use proptest::prelude::*;

    #[test]
    fn splitmix64_matches_the_reference_sequence() {
        // Reference values of Vigna's splitmix64.c for seed 1234567 (also used by other
        // ports), so that the browser, the simulator and the gate all draw the same numbers.
        let mut rng = Rng::seeded(1_234_567);
        let got: Vec<u64> = (0..5).map(|_| rng.next_u64()).collect();
        assert_eq!(
            got,
            [
                6_457_827_717_110_365_317,
                3_203_168_211_198_807_973,
                9_817_491_932_198_370_423,
                4_593_380_528_125_082_431,
                16_408_922_859_458_223_821,
            ]
        );
    }

    #[test]
    fn seed_zero_is_not_degenerate() {
        let mut rng = Rng::seeded(0);
        assert_eq!(rng.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_ne!(rng.next_u64(), rng.next_u64());
    }

    #[test]
    fn same_seed_gives_same_sequence_and_clones_continue_it() {
        let mut a = Rng::seeded(42);
        let mut b = Rng::seeded(42);
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
        let mut c = a.clone();
        assert_eq!(a.next_u64(), c.next_u64());
    }

    #[test]
    fn between_draws_frozen_values_for_a_seed() {
        let mut rng = Rng::seeded(2021);
        let got: Vec<u64> = (0..6)
            .map(|_| rng.between(Duration::from_millis(1_000), Duration::from_millis(5_000)))
            .map(|d| d.as_millis() as u64)
            .collect();
        assert_eq!(got, FROZEN_BETWEEN_2021);
    }
    const FROZEN_BETWEEN_2021: [u64; 6] = [2_042, 4_962, 3_069, 2_627, 1_374, 2_957];

    #[test]
    fn between_with_inverted_bounds_returns_low_without_drawing() {
        let mut rng = Rng::seeded(1);
        let low = Duration::from_secs(5);
        assert_eq!(rng.between(low, Duration::from_secs(1)), low);
        assert_eq!(rng.between(low, low), low);
        // Nothing was consumed: the stream is where a fresh generator starts.
        assert_eq!(rng.next_u64(), Rng::seeded(1).next_u64());
    }

    #[test]
    fn between_never_rounds_outside_sub_millisecond_bounds() {
        let mut rng = Rng::seeded(3);
        let low = Duration::from_micros(1_500);
        let high = Duration::from_micros(1_700);
        assert_eq!(rng.between(low, high), low);
        for _ in 0..100 {
            let d = rng.between(Duration::from_micros(1_500), Duration::from_micros(3_200));
            assert!(d == Duration::from_millis(2) || d == Duration::from_millis(3), "{d:?}");
        }
    }

    #[test]
    fn between_survives_the_largest_durations() {
        let mut rng = Rng::seeded(9);
        let d = rng.between(Duration::ZERO, Duration::MAX);
        assert!(d <= Duration::MAX);
        let huge = Duration::from_millis(u64::MAX);
        assert!(
            rng.between(huge - Duration::from_millis(3), Duration::MAX)
                >= huge - Duration::from_millis(3)
        );
    }

    #[test]
    fn between_reaches_both_ends_of_a_small_range() {
        let mut rng = Rng::seeded(11);
        let mut seen = [false; 4];
        for _ in 0..1_000 {
            let d = rng.between(Duration::from_millis(10), Duration::from_millis(13));
            seen[(d.as_millis() - 10) as usize] = true;
        }
        assert_eq!(seen, [true; 4]);
    }

    proptest! {
        #[test]
        fn next_f64_stays_in_the_unit_interval(seed: u64) {
            let mut rng = Rng::seeded(seed);
            for _ in 0..32 {
                let x = rng.next_f64();
                prop_assert!((0.0..1.0).contains(&x));
            }
        }

        #[test]
        fn between_stays_within_bounds(seed: u64, low in 0u64..10_000_000, span in 0u64..10_000_000) {
            let mut rng = Rng::seeded(seed);
            let (low, high) = (Duration::from_millis(low), Duration::from_millis(low + span));
            let d = rng.between(low, high);
            prop_assert!(d >= low && d <= high);
            prop_assert_eq!(d.subsec_nanos() % 1_000_000, 0);
        }
    }
}
