//! What the screen-reader live region says, and when.
//!
//! A live region that speaks every second makes a page unusable with a screen reader, and one
//! that never speaks leaves a blind pupil guessing. The [`Announcer`] speaks at once whatever
//! changes what the user must do or know: a new phase (admitted, let in by fail-open, offline,
//! closed, an error…) and reaching the front of the queue. The number of people ahead, which
//! changes all the time, is spoken at most once every [`MIN_POSITION_INTERVAL`], and only when
//! it moved by at least a tenth, or within the last [`FRONT_OF_QUEUE`] places.
//!
//! What is spoken is what is shown: the very sentences of the overlay's lines
//! ([`crate::messages::spoken`]), never a reworded summary that could disagree with the screen.

use std::time::Duration;

use crate::machine::{Phase, View};
use crate::messages::{spoken, Messages};
use crate::time::Timestamp;

/// Shortest time between two announcements of the place in the queue.
pub const MIN_POSITION_INTERVAL: Duration = Duration::from_secs(30);
/// From this position on, every change is worth saying (still no more often than the interval,
/// except reaching the front, said at once).
pub const FRONT_OF_QUEUE: u64 = 10;

/// Decides the live region's next sentence from successive views.
#[derive(Debug, Clone, Default)]
pub struct Announcer {
    phase: Option<Phase>,
    /// The position last spoken and when.
    spoken: Option<(u64, Timestamp)>,
    /// Admitted: the pass's time left at the last view, and whether its warning was spoken.
    pass_left: Option<Duration>,
    warned: bool,
}

impl Announcer {
    /// An announcer that has said nothing yet: its first update speaks.
    pub fn new() -> Self {
        Self::default()
    }

    /// The text to announce for `view` at `now`, or `None` to stay quiet.
    pub fn update(&mut self, now: Timestamp, view: &View, messages: &Messages) -> Option<String> {
        let ahead = view.ahead.map(|n| messages.ahead(n));
        let eta = view.eta.as_ref().map(|e| messages.eta(e.low, e.high));
        let place = [ahead.as_deref(), eta.as_deref()];
        let renewed = self.pass_left.zip(view.pass_left).is_some_and(|(was, now)| now > was);
        self.pass_left = view.pass_left;
        if renewed {
            // Extended: the new time is said at once, and a new warning will come.
            self.warned = false;
            return Some(messages.status(view));
        }
        if view.pass_warning && !self.warned && self.phase == Some(Phase::Admitted) {
            self.warned = true;
            return Some(messages.pass_warning().to_string());
        }
        if self.phase != Some(view.phase) {
            self.phase = Some(view.phase);
            self.spoken = view.position.map(|p| (p, now));
            let status = messages.status(view);
            let heading = Some(status.as_str());
            // A notice that first appears to warn (the user was let in at once) says why.
            self.warned = view.pass_warning;
            let warning = view.pass_warning.then(|| messages.pass_warning());
            let lines = match view.phase {
                Phase::Queued => [heading, place[0], place[1]],
                Phase::Closed => [heading, view.closed_message.as_deref(), None],
                _ => [heading, warning, None],
            };
            return Some(spoken(lines.into_iter().flatten()));
        }
        let position = view.position.filter(|_| view.phase == Phase::Queued)?;
        let due = match self.spoken {
            None => true,
            Some((last, _)) if position == last => false,
            // The front of the queue: the user is about to be let in; no pacing holds it back.
            Some(_) if position <= 1 => true,
            Some((last, at)) => {
                now.saturating_duration_since(at) >= MIN_POSITION_INTERVAL
                    && (position <= FRONT_OF_QUEUE
                        || position.abs_diff(last).saturating_mul(10) >= last)
            }
        };
        if !due {
            return None;
        }
        self.spoken = Some((position, now));
        Some(spoken(place.into_iter().flatten()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eta::EtaRange;
    use crate::machine::RetryButton;
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
            closed_message: None,
            explains_quota: phase.explains_quota(),
            retry: RetryButton::Hidden,
            overlay: true,
            retry_in: None,
            pass_left: None,
            pass_warning: false,
            failed_open: false,
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
    fn a_proof_of_work_is_said_once_with_why_the_wait_pauses() {
        let mut a = Announcer::new();
        a.update(at(0), &view(Phase::Throttled, None), &fr());
        assert_eq!(
            a.update(at(1), &view(Phase::Verifying, None), &fr()).as_deref(),
            Some("Votre appareil fait une vérification contre les robots. Cela prend quelques secondes.")
        );
        assert_eq!(a.update(at(2), &view(Phase::Verifying, None), &fr()), None, "said once");
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
    fn first_queued_view_speaks_the_status_the_people_ahead_and_the_wait_as_shown() {
        let mut a = Announcer::new();
        assert_eq!(
            a.update(T0, &view(Phase::Queued, Some(40)), &fr()).as_deref(),
            Some(
                "Vous êtes dans la file d’attente. 39 personnes avant vous. \
                 Temps d’attente\u{a0}: entre 2 et 5\u{a0}minutes."
            )
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
        assert_eq!(
            spoken[0].1,
            "69 personnes avant vous. Temps d’attente\u{a0}: entre 2 et 5\u{a0}minutes."
        );
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
            Some("Vous n’avez plus internet. Votre place est gardée.")
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

    #[test]
    fn reaching_the_front_is_announced_at_once_whatever_the_pacing() {
        let mut a = Announcer::new();
        a.update(T0, &view(Phase::Queued, Some(3)), &fr());
        assert_eq!(a.update(at(1), &view(Phase::Queued, Some(2)), &fr()), None, "paced");
        assert_eq!(
            a.update(at(2), &view(Phase::Queued, Some(1)), &fr()).as_deref(),
            Some(
                "Personne avant vous\u{a0}: c’est bientôt à vous. \
                 Temps d’attente\u{a0}: entre 2 et 5\u{a0}minutes."
            )
        );
        assert_eq!(a.update(at(3), &view(Phase::Queued, Some(1)), &fr()), None, "said once");
    }

    #[test]
    fn admission_fail_open_and_errors_are_announced_at_once_right_after_a_position() {
        for (phase, said) in [
            (Phase::Admitted, "C’est votre tour\u{202f}! Vous pouvez vous connecter."),
            (Phase::Unavailable, "Le portail ne répond pas pour le moment."),
            (Phase::GaveUp, "Le portail ne répond toujours pas."),
            (Phase::CookiesRequired, "Activez les cookies pour garder votre place."),
            (Phase::Throttled, "Le portail est plein pour le moment."),
        ] {
            let mut a = Announcer::new();
            a.update(T0, &view(Phase::Queued, Some(40)), &fr());
            let next = view(phase, None);
            assert_eq!(a.update(T0, &next, &fr()).as_deref(), Some(said), "{phase:?}");
        }
    }

    #[test]
    fn admission_says_how_long_the_pass_lasts_and_fail_open_says_what_it_means() {
        let mut a = Announcer::new();
        a.update(T0, &view(Phase::Queued, Some(2)), &fr());
        let admitted =
            View { pass_left: Some(Duration::from_secs(300)), ..view(Phase::Admitted, None) };
        assert_eq!(
            a.update(at(1), &admitted, &fr()).as_deref(),
            Some("C’est votre tour\u{202f}! Vous avez 5\u{a0}minutes pour vous connecter.")
        );
        let mut a = Announcer::new();
        a.update(T0, &view(Phase::Unavailable, None), &fr());
        let failed_open = View { failed_open: true, ..view(Phase::Admitted, None) };
        assert_eq!(
            a.update(at(1), &failed_open, &fr()).as_deref(),
            Some("La file d’attente ne répond pas. Vous pouvez essayer de vous connecter.")
        );
    }

    #[test]
    fn what_is_spoken_is_what_is_shown_for_every_phase_and_place() {
        let m = fr();
        for phase in Phase::ALL {
            for position in [None, Some(1), Some(2), Some(12_345)] {
                let mut a = Announcer::new();
                let v = view(phase, position);
                let said = a.update(T0, &v, &m).unwrap();
                // The lines the overlay shows for this view, in its order.
                let ahead = v.ahead.map(|n| m.ahead(n));
                let eta = v.eta.as_ref().map(|e| m.eta(e.low, e.high));
                let mut shown = vec![m.heading(phase).to_string()];
                if phase == Phase::Queued {
                    shown.extend(ahead.into_iter().chain(eta));
                }
                assert_eq!(said, shown.join(" "), "{phase:?} at {position:?}");
            }
        }
    }

    #[test]
    fn the_pass_warning_is_spoken_once_and_an_extension_at_once() {
        let mut a = Announcer::new();
        let admitted = |left: u64| View {
            pass_left: Some(Duration::from_secs(left)),
            pass_warning: left <= 60,
            ..view(Phase::Admitted, None)
        };
        assert!(a.update(T0, &admitted(300), &fr()).is_some(), "the admission");
        assert_eq!(a.update(at(1), &admitted(299), &fr()), None);
        assert_eq!(
            a.update(at(240), &admitted(60), &fr()).as_deref(),
            Some("Votre temps est presque fini. Appuyez sur «\u{a0}Prolonger\u{a0}» pour avoir plus de temps.")
        );
        assert_eq!(a.update(at(241), &admitted(59), &fr()), None, "once");
        assert_eq!(
            a.update(at(242), &admitted(358), &fr()).as_deref(),
            Some("C’est votre tour\u{202f}! Vous avez 5\u{a0}minutes pour vous connecter.")
        );
        assert!(
            a.update(at(540), &admitted(60), &fr()).is_some(),
            "warned again before the new end"
        );
    }
}
