//! The event queue: a calendar of 1-ms slots for the next minute, a heap for what lies beyond.
//!
//! Virtual time has millisecond resolution and almost every event falls within a minute of
//! now (a request's arrival at the server, a reload, a poll), so a ring of per-millisecond
//! slots makes scheduling and taking the next event O(1). A binary heap over 100 000 pending
//! users costs 17 cache-missing levels per event, which made poll-3s's 44 million requests
//! several times slower. Slots keep their capacity, so the steady state allocates nothing.
//!
//! Events of the same millisecond come out in the order they were scheduled, except that those
//! scheduled more than [`HORIZON_MS`] ahead come before those scheduled later within it: a
//! fixed rule, so a run stays a pure function of its seed.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Slots in the ring: events less than this many ms ahead go straight into their slot.
pub const HORIZON_MS: u64 = 1 << 16;
const MASK: u64 = HORIZON_MS - 1;

/// A time-ordered queue of `T`, for times that never go backwards.
#[derive(Debug)]
pub struct Calendar<T> {
    /// The millisecond being served.
    now: u64,
    /// How many events of the current slot were already taken.
    head: usize,
    slots: Vec<Vec<T>>,
    /// Events in `slots`.
    near: usize,
    /// Events at or beyond `now + HORIZON_MS`, by time then scheduling order.
    far: BinaryHeap<Reverse<(u64, u64, Wrapper<T>)>>,
    far_seq: u64,
}

/// Orders nothing: the heap's key is the `(time, seq)` in front of it.
#[derive(Debug)]
struct Wrapper<T>(T);

impl<T> PartialEq for Wrapper<T> {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}
impl<T> Eq for Wrapper<T> {}
impl<T> PartialOrd for Wrapper<T> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for Wrapper<T> {
    fn cmp(&self, _: &Self) -> std::cmp::Ordering {
        std::cmp::Ordering::Equal
    }
}

impl<T: Copy> Calendar<T> {
    /// An empty calendar starting at time 0.
    pub fn new() -> Self {
        Calendar {
            now: 0,
            head: 0,
            slots: (0..HORIZON_MS).map(|_| Vec::new()).collect(),
            near: 0,
            far: BinaryHeap::new(),
            far_seq: 0,
        }
    }

    /// Schedules `item` at `at`, which must not be before the last time taken.
    pub fn push(&mut self, at: u64, item: T) {
        debug_assert!(at >= self.now, "scheduled in the past: {at} < {}", self.now);
        let at = at.max(self.now);
        if at - self.now < HORIZON_MS {
            self.slots[(at & MASK) as usize].push(item);
            self.near += 1;
        } else {
            self.far_seq += 1;
            self.far.push(Reverse((at, self.far_seq, Wrapper(item))));
        }
    }

    /// The earliest event and its time.
    pub fn pop(&mut self) -> Option<(u64, T)> {
        loop {
            let slot = &mut self.slots[(self.now & MASK) as usize];
            if let Some(&item) = slot.get(self.head) {
                self.head += 1;
                self.near -= 1;
                return Some((self.now, item));
            }
            slot.clear();
            self.head = 0;
            if self.near == 0 {
                // Nothing within the horizon: jump to the next far event.
                let Reverse((at, _, _)) = self.far.peek()?;
                self.now = *at;
            } else {
                self.now += 1;
            }
            // Keep every event of the horizon in the ring.
            while let Some(Reverse((at, _, _))) = self.far.peek() {
                if *at - self.now >= HORIZON_MS {
                    break;
                }
                let Some(Reverse((at, _, Wrapper(item)))) = self.far.pop() else { unreachable!() };
                self.slots[(at & MASK) as usize].push(item);
                self.near += 1;
            }
        }
    }
}

impl<T: Copy> Default for Calendar<T> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_come_out_in_time_order_near_and_far() {
        let mut calendar = Calendar::new();
        let mut rng = waitroom::rng::Rng::seeded(5);
        let mut expected = Vec::new();
        for i in 0..2_000u32 {
            let at = rng.next_u64() % (4 * HORIZON_MS);
            calendar.push(at, i);
            expected.push((at, i));
        }
        let mut got = Vec::new();
        let mut now = 0;
        while let Some((at, i)) = calendar.pop() {
            assert!(at >= now);
            now = at;
            got.push((at, i));
            // Events scheduled while running, some at the current time.
            if i < 500 {
                let later = at + u64::from(i % 3) * 700;
                calendar.push(later, i + 10_000);
                expected.push((later, i + 10_000));
            }
        }
        assert_eq!(got.len(), expected.len());
        let mut times: Vec<u64> = got.iter().map(|&(at, _)| at).collect();
        let sorted = {
            let mut t = times.clone();
            t.sort_unstable();
            t
        };
        assert_eq!(times, sorted);
        times.dedup();
        got.sort_unstable();
        expected.sort_unstable();
        assert_eq!(got, expected);
    }

    #[test]
    fn same_millisecond_events_keep_their_scheduling_order() {
        let mut calendar = Calendar::new();
        for i in 0..5 {
            calendar.push(7, i);
        }
        let got: Vec<u32> = std::iter::from_fn(|| calendar.pop()).map(|(_, i)| i).collect();
        assert_eq!(got, [0, 1, 2, 3, 4]);
    }
}
