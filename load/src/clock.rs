//! One clock for the virtual users and the in-process gate.
//!
//! The core takes wall-clock [`Timestamp`]s, tokio sleeps until monotonic [`Instant`]s. Reading
//! the wall clock once and counting from there on the monotonic clock keeps the two in step, so
//! a deadline from [`Machine::poll_timeout`](waitroom::machine::Machine::poll_timeout) is slept
//! to the millisecond, and the in-process gate sees the very same `now` as its clients.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;
use waitroom::time::{duration_millis, Timestamp};

/// Wall-clock time counted on the monotonic clock from the moment of [`Clock::start`].
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    origin: Instant,
    origin_ms: u64,
}

impl Clock {
    /// Reads the wall clock once; every later reading is that plus monotonic time elapsed.
    pub fn start() -> Self {
        let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        Clock { origin: Instant::now(), origin_ms: duration_millis(since_epoch) }
    }

    /// The current time, for the core.
    pub fn now(&self) -> Timestamp {
        Timestamp::from_millis(
            self.origin_ms.saturating_add(duration_millis(self.origin.elapsed())),
        )
    }

    /// Time since [`Clock::start`].
    pub fn elapsed(&self) -> Duration {
        self.origin.elapsed()
    }

    /// The instant at which [`Clock::now`] reaches `at` (the start, for a time before it).
    pub fn instant_at(&self, at: Timestamp) -> Instant {
        self.origin + Duration::from_millis(at.as_millis().saturating_sub(self.origin_ms))
    }

    /// The instant `offset` after the start.
    pub fn instant_after(&self, offset: Duration) -> Instant {
        self.origin + offset
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sleeping_until_a_timestamp_wakes_at_or_after_it() {
        let clock = Clock::start();
        let target = Timestamp::from_millis(clock.origin_ms + 1234);
        let instant = clock.instant_at(target);
        assert_eq!(instant - clock.origin, Duration::from_millis(1234));
        // Times before the start map to the start rather than underflowing.
        assert_eq!(clock.instant_at(Timestamp::EPOCH), clock.origin);
    }
}
