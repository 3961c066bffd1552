//! Single use: "spend this identifier once", the one piece of state a proof of work needs.
//!
//! A challenge is stateless (signed, see [`crate::proof_of_work`]), so nothing but this set
//! stops one solution from being replayed for a thousand places. The gate asks
//! [`SpendOnce::spend_once`] and nothing else; a shared store implements the same call as
//! one atomic command, e.g. Redis `SET {room}:spent:<id> 1 NX PXAT <expires_ms>` (true when
//! it answers `OK`), whose key expiry bounds memory as [`SpentInMemory`]'s sweep does.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;

use waitroom::time::Timestamp;

/// Identifiers spent once, each remembered until it expires.
pub trait SpendOnce: Send + Sync + fmt::Debug {
    /// Marks `id` spent until `expires`, at `now`: `true` the first time, `false` when it was
    /// spent before and has not expired, or when the set cannot remember one more (full: the
    /// caller refuses the solution rather than let a replay through).
    fn spend_once(&self, id: u64, expires: Timestamp, now: Timestamp) -> bool;
}

/// Most identifiers [`SpentInMemory`] holds by default: a million solved challenges within one
/// challenge lifetime, about 40 MiB at worst.
pub const DEFAULT_SPENT_CAPACITY: usize = 1_000_000;

/// The single-instance [`SpendOnce`]: a map from identifier to expiry (ms), swept of expired
/// entries whenever it has doubled since the last sweep (O(1) amortised), and never larger
/// than its capacity.
#[derive(Debug)]
pub struct SpentInMemory {
    capacity: usize,
    inner: Mutex<Spent>,
}

#[derive(Debug, Default)]
struct Spent {
    expires_by_id: HashMap<u64, u64>,
    sweep_at_len: usize,
}

impl SpentInMemory {
    /// An empty set that holds at most `capacity` identifiers.
    pub fn new(capacity: usize) -> Self {
        SpentInMemory { capacity: capacity.max(1), inner: Mutex::default() }
    }

    /// Identifiers held (unexpired ones, and expired ones not yet swept).
    pub fn len(&self) -> usize {
        self.lock().expires_by_id.len()
    }

    /// Whether none is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Spent> {
        // The map stays consistent whatever panicked while holding it.
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl SpendOnce for SpentInMemory {
    fn spend_once(&self, id: u64, expires: Timestamp, now: Timestamp) -> bool {
        let now = now.as_millis();
        let mut spent = self.lock();
        if spent.expires_by_id.get(&id).is_some_and(|&until| until > now) {
            return false;
        }
        let len = spent.expires_by_id.len();
        if len >= spent.sweep_at_len || len >= self.capacity {
            spent.expires_by_id.retain(|_, until| *until > now);
            spent.sweep_at_len = (spent.expires_by_id.len() * 2).max(1024);
            if spent.expires_by_id.len() >= self.capacity {
                return false;
            }
        }
        spent.expires_by_id.insert(id, expires.as_millis());
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Timestamp = Timestamp::from_millis(1_700_000_000_000);

    fn at(ms: u64) -> Timestamp {
        Timestamp::from_millis(NOW.as_millis() + ms)
    }

    #[test]
    fn an_identifier_is_spent_once_until_it_expires() {
        let spent = SpentInMemory::new(10);
        assert!(spent.spend_once(7, at(1_000), NOW));
        assert!(!spent.spend_once(7, at(1_000), NOW));
        assert!(!spent.spend_once(7, at(9_000), at(999)), "a longer expiry does not reopen it");
        assert!(spent.spend_once(8, at(1_000), NOW));
        // Past its expiry, nothing signed with it verifies any more: it may be forgotten.
        assert!(spent.spend_once(7, at(2_000), at(1_000)));
    }

    #[test]
    fn a_full_set_refuses_rather_than_forgets_and_frees_room_as_entries_expire() {
        let spent = SpentInMemory::new(3);
        for id in 0..3 {
            assert!(spent.spend_once(id, at(1_000), NOW));
        }
        assert!(!spent.spend_once(3, at(1_000), NOW), "full: refused");
        assert!(!spent.spend_once(0, at(1_000), NOW), "and what it holds stays spent");
        assert!(spent.spend_once(3, at(5_000), at(1_000)), "room once the others expired");
        assert_eq!(spent.len(), 1);
    }

    #[test]
    fn a_million_short_lived_spends_leave_only_the_unexpired_ones() {
        let spent = SpentInMemory::new(DEFAULT_SPENT_CAPACITY);
        for id in 0..1_000_000u64 {
            // One a millisecond, each remembered for a second.
            assert!(spent.spend_once(id, at(id + 1_000), at(id)));
        }
        assert!(spent.len() < 2_100, "{} held", spent.len());
    }
}
