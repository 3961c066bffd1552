//! Wall-clock instants passed into the core.
//!
//! The core never reads a clock. Drivers hand it a [`Timestamp`]: `Date.now()` in the browser,
//! virtual time in the simulator. It is wall-clock time (milliseconds since the Unix epoch) rather
//! than a monotonic instant because the schedule is persisted and must survive a page reload.

use std::time::Duration;

/// Milliseconds since the Unix epoch. Stored (and serialized) as that bare number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize), serde(transparent))]
pub struct Timestamp(u64);

impl Timestamp {
    /// The Unix epoch.
    pub const EPOCH: Timestamp = Timestamp(0);

    /// A timestamp `ms` milliseconds after the Unix epoch.
    pub const fn from_millis(ms: u64) -> Self {
        Timestamp(ms)
    }

    /// Milliseconds since the Unix epoch.
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// `self + d`, saturating at the far future.
    #[must_use]
    pub fn saturating_add(self, d: Duration) -> Self {
        Timestamp(self.0.saturating_add(duration_millis(d)))
    }

    /// `self - d`, saturating at the epoch.
    #[must_use]
    pub fn saturating_sub(self, d: Duration) -> Self {
        Timestamp(self.0.saturating_sub(duration_millis(d)))
    }

    /// How long after `earlier` this is, or zero when `earlier` is later.
    pub fn saturating_duration_since(self, earlier: Timestamp) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }
}

/// A duration in whole milliseconds, saturating instead of overflowing.
pub fn duration_millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// A [`Duration`] serialized as whole milliseconds (`#[serde(with = "crate::time::serde_millis")]`),
/// the layout stored snapshots have always had.
#[cfg(feature = "serde")]
pub mod serde_millis {
    use std::time::Duration;

    /// Writes `d` as whole milliseconds.
    pub fn serialize<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(super::duration_millis(*d))
    }

    /// Reads whole milliseconds.
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        <u64 as serde::Deserialize>::deserialize(d).map(Duration::from_millis)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates_instead_of_overflowing() {
        let far = Timestamp::from_millis(u64::MAX - 1);
        assert_eq!(far.saturating_add(Duration::from_secs(10)).as_millis(), u64::MAX);
        assert_eq!(Timestamp::EPOCH.saturating_sub(Duration::from_secs(1)), Timestamp::EPOCH);
        assert_eq!(
            Timestamp::from_millis(1_000).saturating_duration_since(Timestamp::from_millis(4_000)),
            Duration::ZERO
        );
        assert_eq!(
            Timestamp::from_millis(4_000).saturating_duration_since(Timestamp::from_millis(1_500)),
            Duration::from_millis(2_500)
        );
    }
}
