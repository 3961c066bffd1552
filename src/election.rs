//! Which tab polls, when the browser has no Web Locks: a heartbeat election over a
//! `BroadcastChannel`.
//!
//! The leader says "I lead" every [`HEARTBEAT`]. A tab that has heard no leader for [`LEASE`]
//! takes the lead; when two leaders hear each other (two tabs opened together), the one with the
//! higher id steps down, so they settle within one heartbeat. A new tab waits one lease before
//! leading, so it does not poll beside a live leader it has not heard yet.

use std::time::Duration;

use crate::time::Timestamp;

/// How often the leader announces itself.
pub const HEARTBEAT: Duration = Duration::from_millis(1_000);
/// How long without a heartbeat before a follower takes the lead (three missed heartbeats,
/// as background tabs may run their timers late).
pub const LEASE: Duration = Duration::from_millis(3_000);

/// One tab's view of the election.
#[derive(Debug, Clone)]
pub struct Election {
    id: u32,
    leading: bool,
    /// When another leader was last heard (or this tab started listening).
    heard_at: Timestamp,
}

impl Election {
    /// A follower with a random `id`, listening from `now`.
    pub fn new(now: Timestamp, id: u32) -> Self {
        Election { id, leading: false, heard_at: now }
    }

    /// This tab's id, to send in heartbeats.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// Whether this tab polls.
    pub fn is_leader(&self) -> bool {
        self.leading
    }

    /// Another tab announced that it leads.
    pub fn handle_heartbeat(&mut self, now: Timestamp, from: u32) {
        if from == self.id {
            return;
        }
        if self.leading && from > self.id {
            return; // it will step down when it hears us
        }
        self.leading = false;
        self.heard_at = now;
    }

    /// Called every [`HEARTBEAT`]; returns whether to send a heartbeat (that is, whether this tab
    /// leads).
    pub fn handle_tick(&mut self, now: Timestamp) -> bool {
        if !self.leading && now.saturating_duration_since(self.heard_at) >= LEASE {
            self.leading = true;
        }
        self.leading
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: Timestamp = Timestamp::from_millis(1_775_462_400_000);

    fn at(ms: u64) -> Timestamp {
        T0.saturating_add(Duration::from_millis(ms))
    }

    #[test]
    fn a_lone_tab_leads_after_one_lease() {
        let mut e = Election::new(T0, 7);
        assert!(!e.handle_tick(at(2_000)));
        assert!(e.handle_tick(at(3_000)));
    }

    #[test]
    fn a_new_tab_that_hears_a_leader_follows() {
        let mut e = Election::new(T0, 1);
        for s in 1..10 {
            e.handle_heartbeat(at(s * 1_000 - 500), 9);
            assert!(!e.handle_tick(at(s * 1_000)));
        }
    }

    #[test]
    fn two_leaders_settle_on_the_lower_id() {
        let (mut a, mut b) = (Election::new(T0, 3), Election::new(T0, 5));
        assert!(a.handle_tick(at(3_000)) && b.handle_tick(at(3_000)));
        a.handle_heartbeat(at(3_001), 5);
        b.handle_heartbeat(at(3_001), 3);
        assert!(a.is_leader() && !b.is_leader());
    }

    #[test]
    fn a_follower_takes_over_when_the_leader_goes_quiet() {
        let mut e = Election::new(T0, 4);
        e.handle_heartbeat(at(1_000), 2);
        assert!(!e.handle_tick(at(3_500)));
        assert!(e.handle_tick(at(4_000)));
    }
}
