//! What the screen-reader live region says, and when.
//!
//! A live region that speaks every second makes a page unusable with a screen reader, and one
//! that never speaks leaves a blind pupil guessing. The [`Announcer`] speaks when the phase
//! changes (queued, offline, closed…) and when the place in the queue moved in a way worth
//! interrupting for: at most once every [`MIN_POSITION_INTERVAL`], and only when the position
//! moved by at least a tenth, or entered the last [`FRONT_OF_QUEUE`] places.

use std::time::Duration;

use crate::machine::{Phase, View};
use crate::messages::Messages;
use crate::time::Timestamp;

/// Shortest time between two position announcements.
pub const MIN_POSITION_INTERVAL: Duration = Duration::from_secs(30);
/// From this position on, every change is worth saying (still no more often than the interval).
pub const FRONT_OF_QUEUE: u64 = 10;

/// Decides the live region's next sentence from successive views.
#[derive(Debug, Clone, Default)]
pub struct Announcer {
    phase: Option<Phase>,
    /// The position last spoken and when.
    spoken: Option<(u64, Timestamp)>,
}

impl Announcer {
    /// An announcer that has said nothing yet: its first update speaks.
    pub fn new() -> Self {
        Self::default()
    }

    /// The sentence to announce for `view` at `now`, or `None` to stay quiet.
    pub fn update(&mut self, now: Timestamp, view: &View, messages: &Messages) -> Option<String> {
        let eta_high = view.eta.as_ref().map(|e| e.high);
        if self.phase != Some(view.phase) {
            self.phase = Some(view.phase);
            self.spoken = view.position.map(|p| (p, now));
            return Some(match (view.phase, view.position, &view.closed_message) {
                (Phase::Queued, Some(p), _) => messages.announce_position(p, eta_high),
                (Phase::Closed, _, Some(m)) => [messages.heading(Phase::Closed), ". ", m].concat(),
                (phase, _, _) => messages.heading(phase).to_string(),
            });
        }
        let position = view.position.filter(|_| view.phase == Phase::Queued)?;
        let due = match self.spoken {
            None => true,
            Some((last, at)) => {
                now.saturating_duration_since(at) >= MIN_POSITION_INTERVAL
                    && position != last
                    && (position <= FRONT_OF_QUEUE
                        || position.abs_diff(last).saturating_mul(10) >= last)
            }
        };
        if !due {
            return None;
        }
        self.spoken = Some((position, now));
        Some(messages.announce_position(position, eta_high))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eta::EtaRange;
    use crate::messages::Language;

    const T0: Timestamp = Timestamp::from_millis(1_775_462_400_000);

    fn at(secs: u64) -> Timestamp {
        T0.saturating_add(Duration::from_secs(secs))
    }

    fn fr() -> Messages {
        Messages::new(Language::Fr, None, None)
    }

    fn view(phase: Phase, position: Option<u64>) -> View {
        View {
            phase,
            position,
            ahead: position.map(|p| p.saturating_sub(1)),
            eta: position.map(|_| EtaRange {
                low: Duration::from_secs(120),
                high: Duration::from_secs(300),
            }),
            progress_percent: None,
            next_attempt_in: None,
            last_update: None,
            retry_enabled: false,
            closed_message: None,
        }
    }

    /// Feeds one view per second from `from` to `to` seconds with the position given by `pos`.
    fn speak_each_second(
        a: &mut Announcer,
        from: u64,
        to: u64,
        pos: impl Fn(u64) -> u64,
    ) -> Vec<(u64, String)> {
        (from..=to)
            .filter_map(|s| {
                a.update(at(s), &view(Phase::Queued, Some(pos(s))), &fr()).map(|t| (s, t))
            })
            .collect()
    }

    #[test]
    fn positions_at_the_ends_of_the_range_never_overflow() {
        let mut a = Announcer::new();
        a.update(at(0), &view(Phase::Queued, Some(u64::MAX)), &fr());
        // u64::MAX × 10 would trap the whole widget (panic = "abort"): it saturates instead.
        assert!(a.update(at(60), &view(Phase::Queued, Some(1)), &fr()).is_some());
        assert!(a.update(at(120), &view(Phase::Queued, Some(u64::MAX)), &fr()).is_some());
    }

    #[test]
    fn first_queued_view_speaks_the_place_and_the_pessimistic_wait() {
        let mut a = Announcer::new();
        assert_eq!(
            a.update(T0, &view(Phase::Queued, Some(40)), &fr()).as_deref(),
            Some("Vous êtes maintenant 40e dans la file, attente estimée au plus 5\u{a0}min.")
        );
    }

    #[test]
    fn a_steady_view_ticking_every_second_stays_quiet() {
        let mut a = Announcer::new();
        a.update(T0, &view(Phase::Queued, Some(500)), &fr());
        assert_eq!(speak_each_second(&mut a, 1, 600, |_| 500), vec![]);
    }

    #[test]
    fn small_moves_far_back_are_not_announced() {
        let mut a = Announcer::new();
        a.update(T0, &view(Phase::Queued, Some(1000)), &fr());
        // 1000 → 920 over ten minutes: less than a tenth, never spoken.
        assert_eq!(speak_each_second(&mut a, 1, 600, |s| 1000 - s * 80 / 600), vec![]);
    }

    #[test]
    fn a_tenth_closer_is_announced_but_never_twice_in_thirty_seconds() {
        let mut a = Announcer::new();
        a.update(T0, &view(Phase::Queued, Some(100)), &fr());
        // One place a second: 90 is reached at 10 s, but the interval holds it until 30 s (70).
        let spoken = speak_each_second(&mut a, 1, 75, |s| 100 - s);
        let times: Vec<u64> = spoken.iter().map(|(s, _)| *s).collect();
        assert_eq!(times, vec![30, 60]);
        assert!(spoken[0].1.starts_with("Vous êtes maintenant 70e"));
    }

    #[test]
    fn near_the_front_every_change_counts_at_the_interval() {
        let mut a = Announcer::new();
        a.update(T0, &view(Phase::Queued, Some(10)), &fr());
        // 10 → 9 is a tenth of 10 anyway; 9 → 8 is less, yet at the front it is spoken.
        let spoken = speak_each_second(&mut a, 1, 90, |s| 10 - s / 30);
        let times: Vec<u64> = spoken.iter().map(|(s, _)| *s).collect();
        assert_eq!(times, vec![30, 60, 90]);
    }

    #[test]
    fn a_phase_change_is_announced_at_once() {
        let mut a = Announcer::new();
        a.update(T0, &view(Phase::Queued, Some(40)), &fr());
        assert_eq!(
            a.update(at(1), &view(Phase::Offline, Some(40)), &fr()).as_deref(),
            Some("Connexion internet perdue\u{a0}: votre place est gardée")
        );
        assert_eq!(a.update(at(2), &view(Phase::Offline, Some(40)), &fr()), None);
        assert!(a.update(at(3), &view(Phase::Queued, Some(40)), &fr()).is_some());
    }

    #[test]
    fn closed_speaks_the_operator_message_after_the_heading() {
        let mut a = Announcer::new();
        let mut closed = view(Phase::Closed, None);
        closed.closed_message = Some("Maintenance jusqu'à 9 h.".to_string());
        assert_eq!(
            a.update(T0, &closed, &fr()).as_deref(),
            Some("Le portail est fermé pour le moment. Maintenance jusqu'à 9 h.")
        );
    }
}
