//! Stored state is input, not truth.
//!
//! `localStorage` may hold a snapshot from a year ago, from a build with another clock, or
//! written by another script on the page, and a `storage` event carries whatever a peer (or
//! that script) wrote. Every field is range-checked here, the way [`crate::reply::from_wire`]
//! checks the gate's replies, and every time is clamped relative to now; a final state
//! (admitted, failed open) is honoured only while it is recent and plausible, otherwise the
//! gate is asked again.

use std::time::Duration;

use super::{Place, Snapshot, Status, FINAL_STATE_MEMORY, MAX_SCHEDULE_AHEAD};
use crate::reply::{
    cut, is_token, MAX_ADVANCE_PER_MINUTE, MAX_ETA, MAX_MESSAGE_CHARS, MAX_PASS_LIFETIME,
    MAX_POSITION,
};
use crate::time::Timestamp;

/// How far ahead of this tab's clock a snapshot may have been taken (another tab's clock, a
/// clock corrected since) and still vouch for an admission.
pub const CLOCK_SKEW: Duration = Duration::from_secs(60);

impl Snapshot {
    /// The snapshot with every field in range at `now`:
    /// - times (`saved_at`, `last_update`, the place's `at`, an outage's `since`) never after
    ///   `now`; the schedule at most [`MAX_SCHEDULE_AHEAD`] ahead, and one taken by a clock
    ///   ahead of ours keeps its delay, counted from now;
    /// - a ticket or pass that is not a token is dropped (a ticket with its place);
    /// - the place's numbers within the bounds `from_wire` applies, or no place;
    /// - an admission or a fail-open taken more than [`FINAL_STATE_MEMORY`] ago, or more than
    ///   [`CLOCK_SKEW`] in the future, an expired pass or one valid longer than a pass can be,
    ///   becomes [`Status::Checking`]: the gate is asked again.
    #[must_use]
    pub fn checked(mut self, now: Timestamp) -> Snapshot {
        let saved_at = self.saved_at;
        let recent = saved_at <= now.saturating_add(CLOCK_SKEW)
            && now.saturating_duration_since(saved_at) <= FINAL_STATE_MEMORY;
        // Taken by a clock ahead of ours: its schedule keeps its delay, counted from now.
        let ahead = self.saved_at.saturating_duration_since(now);
        self.saved_at = self.saved_at.min(now);
        self.next_at =
            self.next_at.saturating_sub(ahead).min(now.saturating_add(MAX_SCHEDULE_AHEAD));
        self.last_update = self.last_update.map(|t| t.min(now));
        if !self.ticket.as_deref().is_none_or(is_token) {
            self.ticket = None;
            self.place = None;
        }
        self.place = self.place.and_then(|p| p.checked(now));
        self.status = match self.status {
            Status::Closed { message } => {
                Status::Closed { message: message.map(|m| cut(&m, MAX_MESSAGE_CHARS)) }
            }
            Status::Unavailable { since, cookies } => {
                Status::Unavailable { since: since.min(now), cookies }
            }
            Status::Admitted { pass, expires_at }
                if recent
                    && pass.as_deref().is_none_or(is_token)
                    && expires_at.is_none_or(|e| {
                        let latest = saved_at.saturating_add(MAX_PASS_LIFETIME + CLOCK_SKEW);
                        e > now && e <= latest
                    }) =>
            {
                Status::Admitted { pass, expires_at }
            }
            Status::FailedOpen if recent => Status::FailedOpen,
            Status::Admitted { .. } | Status::FailedOpen => Status::Checking,
            status => status,
        };
        self
    }
}

impl Place {
    fn checked(self, now: Timestamp) -> Option<Place> {
        if !(1..=MAX_POSITION).contains(&self.position) {
            return None;
        }
        let advance = self.advance_per_minute;
        Some(Place {
            position: self.position,
            at: self.at.min(now),
            advance_per_minute: if advance.is_finite() && advance >= 0.0 {
                advance.min(MAX_ADVANCE_PER_MINUTE)
            } else {
                0.0
            },
            eta: self.eta.min(MAX_ETA),
            entry_position: self.entry_position.clamp(self.position, MAX_POSITION),
        })
    }
}
