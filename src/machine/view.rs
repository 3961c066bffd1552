//! What the overlay shows, decided here rather than in the browser driver: the [`Phase`] (the
//! one status line) and the [`View`] (every number under it).

use std::time::Duration;

use crate::eta::EtaRange;
use crate::time::Timestamp;

/// Where the user is, as one short status line (see [`crate::messages::Messages::heading`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Asking the gate whether there is room.
    Checking,
    /// Waiting with a place in the queue.
    Queued,
    /// Told to come back later (429/503 without a queue place).
    Throttled,
    /// Solving the gate's proof of work before it gives a place (the gate is being flooded).
    Verifying,
    /// The browser is offline.
    Offline,
    /// The portal is closed (maintenance).
    Closed,
    /// The gate does not answer (network error, timeout, 5xx).
    Unavailable,
    /// The browser refuses the gate's cookies, so it cannot keep a place in the queue.
    CookiesRequired,
    /// The attempt limit was reached.
    GaveUp,
    /// Admitted: the user may log in.
    Admitted,
}

impl Phase {
    /// Whether the quota message explains this phase: while waiting for a turn, yes; when the
    /// portal is closed, unreachable, or the user is in, it would mislead.
    pub fn explains_quota(self) -> bool {
        matches!(
            self,
            Phase::Checking | Phase::Queued | Phase::Throttled | Phase::Verifying | Phase::Offline
        )
    }

    /// Whether the page works on its own in this phase (a check, a queue, a retry on its
    /// schedule), which the status line's pulsing dot shows. In the others (closed, given up,
    /// cookies refused, admitted) nothing happens by itself, and nothing on screen moves
    /// (RGAA 13.8).
    pub fn in_progress(self) -> bool {
        matches!(
            self,
            Phase::Checking
                | Phase::Queued
                | Phase::Throttled
                | Phase::Offline
                | Phase::Unavailable
        )
    }

    /// Every phase, in the order above.
    pub const ALL: [Phase; 10] = [
        Phase::Checking,
        Phase::Queued,
        Phase::Throttled,
        Phase::Verifying,
        Phase::Offline,
        Phase::Closed,
        Phase::Unavailable,
        Phase::CookiesRequired,
        Phase::GaveUp,
        Phase::Admitted,
    ];
}

/// How long before the pass runs out the user is warned and offered to extend it: WCAG 2.2.1
/// asks for at least 20 s to react; a minute leaves time to read the warning too.
pub const PASS_WARNING: Duration = Duration::from_secs(60);

/// Everything the overlay shows, in numbers; `messages` turns it into words.
#[derive(Debug, Clone, PartialEq)]
pub struct View {
    /// The headline state.
    pub phase: Phase,
    /// Position, counted down locally between replies.
    pub position: Option<u64>,
    /// People ahead (`position - 1`).
    pub ahead: Option<u64>,
    /// Wait estimate, pessimistic.
    pub eta: Option<EtaRange>,
    /// Progress from the entry position, 0 to 100.
    pub progress_percent: Option<u8>,
    /// Time left before the next automatic attempt; none offline, where nothing is sent, nor
    /// once polling stopped.
    pub next_attempt_in: Option<Duration>,
    /// When the last reply arrived.
    pub last_update: Option<Timestamp>,
    /// The operator's message, while the portal is closed.
    pub closed_message: Option<String>,
    /// Whether the quota message under the title explains this phase ([`Phase::explains_quota`]).
    pub explains_quota: bool,
    /// The "try again now" button.
    pub retry: RetryButton,
    /// Whether the overlay is up. Nothing shows while the first check runs, so that users let
    /// in at once see no flash, unless they already tried to log in and wonder why nothing
    /// happens; once up, it stays up until the user is in.
    pub overlay: bool,
    /// How long until "try again now" works, while it is shown but not yet usable (given up):
    /// a disabled control always says why, and until when.
    pub retry_in: Option<Duration>,
    /// Admitted with a pass that expires: the time left to log in with it.
    pub pass_left: Option<Duration>,
    /// The pass runs out within [`PASS_WARNING`] (or has): warn, and offer to extend it.
    pub pass_warning: bool,
    /// In because the gate was unreachable (fail-open), not because it admitted the user.
    pub failed_open: bool,
}

/// The "try again now" button, shown only where pressing it can do something: elsewhere the
/// next attempt is automatic, and a button that stays grey only puzzles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryButton {
    /// Not shown.
    Hidden,
    /// Shown but disabled (`aria-disabled`, so that a focused button keeps the focus): having
    /// given up, until the schedule allows a new attempt.
    Disabled,
    /// Pressing it sends a request now.
    Enabled,
}
