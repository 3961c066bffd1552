//! The waiting-room state machine: sans-IO, in the style of quinn-proto.
//!
//! Inputs are `handle_*` methods, outputs are [`Machine::poll_action`] and
//! [`Machine::poll_timeout`], and time is always an argument. The browser driver, the simulator
//! and the tests drive this one object, so what the simulator measures is what the browser does.
//!
//! The rule that everything here protects: **no request before its time.** Every scheduled
//! request waits for the later of the server's instruction and our own backoff, plus jitter,
//! and that deadline is persisted so a reload, another tab or a click cannot shorten it.

use std::collections::VecDeque;
use std::time::Duration;

use crate::backoff::Backoff;
use crate::config::{Config, FailPolicy};
use crate::eta::EtaEstimator;
use crate::reply::Reply;
use crate::rng::Rng;
use crate::time::{duration_millis, Timestamp};

mod snapshot_json;
mod stored;
mod view;

pub use stored::CLOCK_SKEW;
pub use view::{Phase, RetryButton, View, PASS_WARNING};

/// Widest jitter added to a native, server-guided return: small, so that the queue order the
/// gate planned is kept, yet enough to spread users told the same instant.
pub const RETURN_JITTER_CAP: Duration = Duration::from_secs(5);
/// Widest jitter added to any other scheduled request (throttled, unavailable, closed).
pub const RETRY_JITTER_CAP: Duration = Duration::from_secs(30);
/// Jitter window after the network comes back: everyone whose Wi-Fi returned together must
/// not come back in the same second.
pub const RECONNECT_JITTER: (Duration, Duration) = (Duration::from_secs(1), Duration::from_secs(6));
/// Shortest wait after a closed reply, whatever the server says.
pub const CLOSED_MIN_DELAY: Duration = Duration::from_secs(60);
/// How long a stored admission without expiry (plain HTTP `2xx`) or a fail-open is honoured
/// after a reload. Past it the page asks the gate again: one admission, or one outage, must
/// not let this browser skip the queue in every later rush.
pub const FINAL_STATE_MEMORY: Duration = Duration::from_secs(300);
/// How long after the poller's deadline a follower waits for its snapshot before taking over
/// (plus a per-tab jitter of up to as much again, so that followers do not all take over at
/// once): the poller persists as it sends, so silence past this means it went quiet (a frozen
/// or crashed tab, one that gave up).
pub const LEADER_GRACE: Duration = Duration::from_secs(5);
/// A snapshot from the future further than this is from a clock that jumped; it is clamped.
pub const MAX_SCHEDULE_AHEAD: Duration = Duration::from_secs(3600 + 60);

/// What the driver must do next.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Send `GET <gate>` now, with the ticket if any, aborting after `timeout`; report the outcome
    /// with [`Machine::handle_reply`].
    Send {
        /// The ticket to send as `?ticket=`.
        ticket: Option<String>,
        /// The pass to renew, sent as `?pass=` ([`Machine::handle_extend`]).
        pass: Option<String>,
        /// Abort the request after this long and report [`crate::reply::Failure::Timeout`].
        timeout: Duration,
        /// A solved proof of work to send as `?challenge=…&solution=…`, once.
        proof: Option<Solution>,
    },
    /// Solve the gate's proof of work without blocking the page: find the number `n` in
    /// `0..=max_number` whose SHA-256 of `challenge` followed by `n` in decimal is `target`,
    /// and report it with [`Machine::handle_solved`] (`None` if the browser cannot).
    Solve {
        /// The prefix to hash.
        challenge: String,
        /// The digest to find, 64 lower-case hexadecimal digits.
        target: String,
        /// The largest number to try.
        max_number: u64,
    },
    /// Store this snapshot for the gate (and tell the other tabs).
    Persist(Snapshot),
    /// The view changed: render [`Machine::view`].
    Render,
    /// The user may log in: remove the guard (put the pass in the form if configured) and go to
    /// `redirect` if the driver's allow-list accepts it.
    Admit {
        /// The gate's pass.
        pass: Option<String>,
        /// Where to go.
        redirect: Option<String>,
    },
    /// The gate has been unreachable for longer than the fail-open delay: let the user in
    /// without a pass (the portal itself decides).
    FailOpen,
    /// Ask again by loading the gate's URL as a page, in place of this one. Only on the gate's
    /// own refusal page ([`Machine::at_page`]): there a fetch that got through would
    /// spend the gate's token, and the navigation after it would need a second one, which a
    /// saturated `limit_req` never has; and a login URL that redirects to single sign-on is
    /// followed by the browser, as a navigation. The snapshot is persisted first: the next page
    /// resumes from it, and a refusal there counts as one more attempt.
    Reload,
}

/// A solved proof of work, sent with the next request ([`crate::wire::CHALLENGE_PARAM`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Solution {
    /// The gate's challenge, as it sent it.
    pub challenge: String,
    /// The number found.
    pub number: u64,
}

/// Where we are, as the user should understand it.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(tag = "kind", rename_all = "snake_case"))]
pub enum Status {
    /// The first request has not been answered yet.
    Checking,
    /// A place in the native queue.
    Queued,
    /// The portal is full (plain 429 / 503, or a reply we could not read).
    Throttled,
    /// The portal is closed.
    Closed {
        /// The operator's message.
        message: Option<String>,
    },
    /// The gate cannot be reached or answers nonsense statuses, or it cannot keep our place
    /// because this browser refuses its cookies: the fail-open / fail-closed policy applies.
    Unavailable {
        /// Since when, for the fail-open delay.
        since: Timestamp,
        /// The gate answered `cookies_required`: the user is asked to enable cookies.
        #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "std::ops::Not::not"))]
        cookies: bool,
    },
    /// Too many failed attempts: polling stopped until the user asks again.
    GaveUp,
    /// In.
    Admitted {
        /// The pass, if the gate gave one.
        pass: Option<String>,
        /// When the pass stops being valid.
        expires_at: Option<Timestamp>,
    },
    /// The gate was unreachable and the policy is fail-open: the guard is lifted.
    FailedOpen,
}

/// The last queue place the gate gave, from which the position is counted down locally.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Place {
    /// Position in the last reply.
    pub position: u64,
    /// When that reply arrived.
    pub at: Timestamp,
    /// Places per minute the queue advances.
    pub advance_per_minute: f64,
    /// The gate's estimate at that time (stored as `eta_ms`, whole milliseconds).
    #[cfg_attr(feature = "serde", serde(rename = "eta_ms", with = "crate::time::serde_millis"))]
    pub eta: Duration,
    /// The position when this browser first joined, for the progress bar.
    pub entry_position: u64,
}

/// Everything needed to resume after a reload or in another tab. Stored per gate, as JSON
/// ([`Snapshot::to_json`], [`Snapshot::from_json`]).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Snapshot {
    /// The ticket, if the gate gave one.
    pub ticket: Option<String>,
    /// No request before this time.
    pub next_at: Timestamp,
    /// Consecutive failed attempts, so a reload does not reset the backoff.
    pub attempt: u32,
    /// What the user sees.
    pub status: Status,
    /// The last queue place.
    pub place: Option<Place>,
    /// When the last reply arrived.
    pub last_update: Option<Timestamp>,
    /// When this snapshot was taken: the newest one wins across tabs.
    pub saved_at: Timestamp,
}

/// Whether the machine is talking to the gate, with what that carries of the proof of work.
#[derive(Debug, Clone, PartialEq)]
enum Activity {
    /// Before [`Machine::handle_start`]: nothing is sent (`data-check="submit"` before the first
    /// submit), though a peer's snapshot is followed.
    NotStarted,
    /// Started, no request out: the next waits for `next_at`.
    Waiting {
        /// A solved proof of work, sent once, with the next request.
        proof: Option<Solution>,
    },
    /// A request is out; its reply is awaited.
    InFlight {
        /// It carries a solution: the overlay says the browser is being verified.
        proving: bool,
    },
    /// The gate's proof of work is being solved ([`Action::Solve`]): no request before it is
    /// done, and no timer (the solution, or the solver's failure, wakes the machine).
    Solving {
        /// The gate's challenge, as it sent it.
        challenge: String,
    },
}

impl Activity {
    const WAITING: Activity = Activity::Waiting { proof: None };

    fn is_waiting(&self) -> bool {
        matches!(self, Activity::Waiting { .. })
    }

    fn is_busy(&self) -> bool {
        matches!(self, Activity::InFlight { .. } | Activity::Solving { .. })
    }

    /// Solving the gate's proof of work, or about to send or sending its solution: what the
    /// overlay calls "verifying".
    fn is_verifying(&self) -> bool {
        matches!(
            self,
            Activity::Solving { .. }
                | Activity::Waiting { proof: Some(_) }
                | Activity::InFlight { proving: true }
        )
    }
}

/// How this page asks the gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Asking {
    /// With a fetch ([`Action::Send`]).
    Fetch,
    /// By loading the gate's URL as a page ([`Action::Reload`]): this page is the gate's
    /// refusal, a quota page ([`Machine::at_page`]).
    Reload,
}

/// This tab's part in polling the gate: one poller per browser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// It polls: it holds the cross-tab lock or won the election (or is alone).
    Poller,
    /// It follows the poller's snapshots ([`Machine::handle_peer`]), and keeps a watchdog.
    Follower,
    /// A follower that polls anyway: the poller went quiet past [`LEADER_GRACE`], or the user
    /// pressed "try again" in this tab. A follower again as soon as a peer's snapshot arrives.
    StandIn,
}

/// The waiting-room state machine.
///
/// Its state is four enums, each carrying the data that exists only in its variants: the
/// [`Status`] the user sees (the operator's message while closed, the pass once in), the
/// `Activity` towards the gate (the challenge while solving, the solution until sent), how
/// this page asks (`Asking`) and its part among tabs (`Role`). Beside them only what every
/// status keeps: the ticket and the place survive a throttle, an outage and going offline
/// (nothing is lost), and the schedule holds across all of them.
#[derive(Debug)]
pub struct Machine {
    fail: FailPolicy,
    fail_open_after: Duration,
    timeout: Duration,
    base_delay: Duration,
    backoff: Backoff,
    rng: Rng,
    eta: EtaEstimator,

    status: Status,
    activity: Activity,
    asking: Asking,
    role: Role,
    /// The gate's ticket: our place, kept whatever the status.
    ticket: Option<String>,
    /// The last place the gate gave, counted down locally, shown while throttled or offline.
    place: Option<Place>,
    /// When the gate last answered.
    last_update: Option<Timestamp>,
    /// No request before this. `None` until started, or told by a peer.
    next_at: Option<Timestamp>,
    /// When the newest snapshot this tab knows of was taken, its own or a peer's.
    saved_at: Timestamp,
    /// This tab's share of the follower watchdog's jitter.
    watchdog_jitter: Duration,
    online: bool,
    /// The overlay went up (or the user tried to log in): it stays up until the user is in.
    overlay_up: bool,
    /// `data-redirect`: where admission leads when the gate names no page.
    redirect: Option<String>,
    /// Whether the driver can solve a proof of work ([`Machine::with_solver`]).
    solver: bool,
    actions: VecDeque<Action>,
}

impl Machine {
    /// A machine for `config`; `seed` drives all its jitter.
    pub fn new(config: &Config, seed: u64) -> Self {
        Machine {
            fail: config.fail,
            fail_open_after: config.fail_open_after,
            timeout: config.timeout,
            base_delay: config.base_delay,
            backoff: config.backoff(seed),
            // Not the backoff's stream shifted by a step (xor with the SplitMix increment would be).
            rng: Rng::seeded(seed.wrapping_mul(0xD1B5_4A32_D192_ED03).rotate_left(29)),
            eta: EtaEstimator::new(),
            status: Status::Checking,
            ticket: None,
            place: None,
            last_update: None,
            next_at: None,
            saved_at: Timestamp::EPOCH,
            activity: Activity::NotStarted,
            asking: Asking::Fetch,
            role: Role::Poller,
            watchdog_jitter: Duration::from_millis(
                seed.rotate_left(17) % duration_millis(LEADER_GRACE).max(1),
            ),
            online: true,
            overlay_up: false,
            redirect: config.redirect.clone(),
            solver: false,
            actions: VecDeque::new(),
        }
    }

    /// Whether the driver solves proofs of work ([`Action::Solve`]): the browser has
    /// `crypto.subtle` (a secure context). Without one, a challenge is waited out with backoff,
    /// as a throttle. Off by default.
    #[must_use]
    pub fn with_solver(mut self, available: bool) -> Self {
        self.solver = available;
        self
    }

    /// Tells the machine which page it runs on: `page_url` and the gate's `gate_url`, both
    /// absolute. Served at the gate's own URL, the page can only be the gate's refusal, a quota
    /// page ([`crate::reply::is_refusal_page`]): then [`Machine::handle_start`] starts as on a
    /// refusal, and every later attempt is an [`Action::Reload`].
    #[must_use]
    pub fn at_page(mut self, page_url: &str, gate_url: &str) -> Self {
        if crate::reply::is_refusal_page(page_url, gate_url) {
            self.asking = Asking::Reload;
        }
        self
    }

    /// Starts, from what was persisted for this gate, if anything.
    ///
    /// A fresh start sends at once (the user just arrived); a restored one keeps its schedule,
    /// its ticket and its place, and sends nothing before the stored time.
    ///
    /// The snapshot is input, range-checked ([`Snapshot::checked`]): an admission or a
    /// fail-open that is old, from the future, or implausible is not honoured; the gate is
    /// asked again, keeping the schedule.
    ///
    /// On the gate's refusal page ([`Machine::at_page`]), the page load was the refused attempt:
    /// nothing is sent at once, and a stored admission is not honoured (see `start_refused`).
    pub fn handle_start(&mut self, now: Timestamp, restored: Option<Snapshot>) {
        if self.asking == Asking::Reload {
            return self.start_refused(now, restored);
        }
        self.activity = Activity::WAITING;
        match restored {
            Some(snapshot) => self.adopt(now, snapshot),
            None => self.next_at = Some(now),
        }
        match &self.status {
            Status::Admitted { pass, .. } => self.admit(pass.clone(), None),
            Status::FailedOpen => self.actions.push_back(Action::FailOpen),
            _ => {}
        }
        self.render();
        self.maybe_send(now);
    }

    /// Starts on a page that is itself the gate's refusal: a quota page served in place of the
    /// gate URL (nginx `error_page 503`). Asking again at once would be the early retry the
    /// widget exists to prevent, so a fresh start waits a backoff delay, plus jitter, as after
    /// any throttled reply; a restored one keeps its schedule.
    ///
    /// The page load was an attempt, refused: a restored snapshot (the previous attempt's page,
    /// or F5) counts one more attempt, so the backoff keeps growing across these page loads. Its
    /// status does not survive: a stored admission was spent on the navigation that the gate has
    /// just turned away, and honouring it again would navigate straight back, in a loop.
    ///
    /// Every later attempt from this page is an [`Action::Reload`].
    fn start_refused(&mut self, now: Timestamp, restored: Option<Snapshot>) {
        if let Some(snapshot) = restored {
            self.adopt(now, snapshot);
        }
        self.activity = Activity::WAITING;
        self.status = Status::Throttled;
        self.last_update = Some(now);
        // At least the base delay: full jitter alone could ask again within milliseconds.
        self.retry_later(now, Some(self.base_delay));
        self.persist(now);
        self.render();
    }

    /// Tells whether this tab runs the polling loop (holds the cross-tab lock). Followers never
    /// send; they mirror the leader through [`Machine::handle_peer`].
    pub fn handle_role(&mut self, now: Timestamp, leader: bool) {
        self.role = match (leader, self.role) {
            (true, _) => Role::Poller,
            // A tab standing in keeps polling until a peer's snapshot says the poller is back.
            (false, Role::StandIn) => Role::StandIn,
            (false, _) => Role::Follower,
        };
        self.maybe_send(now);
    }

    /// Another tab persisted a snapshot. The newer one wins, and the schedule only moves later.
    pub fn handle_peer(&mut self, now: Timestamp, snapshot: Snapshot) {
        // Checked before the comparison: a `saved_at` from the future must not win them all.
        let snapshot = snapshot.checked(now);
        if snapshot.saved_at < self.saved_at {
            return;
        }
        let was_admitted = matches!(self.status, Status::Admitted { .. });
        // The poller is alive after all (or another follower took over): follow it again.
        if self.role == Role::StandIn {
            self.role = Role::Follower;
        }
        self.adopt(now, snapshot);
        match &self.status {
            Status::Admitted { pass, .. } if !was_admitted => self.admit(pass.clone(), None),
            Status::FailedOpen => self.actions.push_back(Action::FailOpen),
            _ => {}
        }
        self.render();
    }

    /// The response to the last [`Action::Send`], classified by [`crate::reply::classify`].
    pub fn handle_reply(&mut self, now: Timestamp, reply: Reply) {
        let in_flight = matches!(self.activity, Activity::InFlight { .. });
        if in_flight {
            self.activity = Activity::WAITING;
        }
        if in_flight && matches!(self.status, Status::Admitted { .. }) {
            // The answer to "extend": a renewed pass for the same admission. Anything else (the
            // gate would not renew it) leaves the admission as it was, running out.
            if let Reply::Admitted { pass: Some(pass), pass_expires_in, .. } = reply {
                let expires_at = pass_expires_in.map(|d| now.saturating_add(d));
                self.status = Status::Admitted { pass: Some(pass.clone()), expires_at };
                self.persist(now);
                self.actions.push_back(Action::Admit { pass: Some(pass), redirect: None });
            }
            self.render();
            return;
        }
        if !in_flight || self.is_final() {
            // A stale answer (the tab lost the lead, a duplicate), or one that arrives after
            // another tab let the user in: it must not put them back in the queue.
            return;
        }
        match reply {
            Reply::Admitted { pass, pass_expires_in, redirect } => {
                self.backoff.reset();
                self.last_update = Some(now);
                let expires_at = pass_expires_in.map(|d| now.saturating_add(d));
                self.status = Status::Admitted { pass: pass.clone(), expires_at };
                self.admit(pass, redirect);
            }
            Reply::Queued { ticket, position, eta, retry_after, advance_per_minute } => {
                self.last_update = Some(now);
                let improved = self.place.as_ref().is_none_or(|p| position < p.position);
                let entry_position = match &self.place {
                    Some(p)
                        if self.ticket.as_deref() == Some(&ticket)
                            || p.entry_position >= position =>
                    {
                        p.entry_position.max(position)
                    }
                    _ => position,
                };
                // A gate that keeps us in place while telling us to come back at once gets our
                // backoff instead: a broken or hostile gate cannot make us hammer it.
                let own = if improved || self.status != Status::Queued {
                    self.backoff.reset();
                    self.base_delay
                } else {
                    self.backoff.next().unwrap_or(self.base_delay)
                };
                self.eta.observe(now, position);
                self.ticket = Some(ticket);
                self.place =
                    Some(Place { position, at: now, advance_per_minute, eta, entry_position });
                self.status = Status::Queued;
                let delay = retry_after.max(own);
                self.schedule(now, delay, RETURN_JITTER_CAP);
            }
            Reply::Closed { message, retry_after } => {
                self.last_update = Some(now);
                self.status = Status::Closed { message };
                let delay = retry_after.unwrap_or(CLOSED_MIN_DELAY).max(CLOSED_MIN_DELAY);
                self.schedule(now, delay, RETRY_JITTER_CAP);
            }
            Reply::Throttled { retry_after, .. } => {
                self.last_update = Some(now);
                // A throttle is an answer from the gate: the portal is alive, only full.
                self.status = Status::Throttled;
                self.retry_later(now, retry_after);
            }
            Reply::Challenge { challenge, target, max_number, retry_after } => {
                // No place yet: the schedule is a throttle's, and solving runs while it counts
                // down (the time spent solving is time waited). Without a solver, the challenge
                // is waited out with backoff: the flood may be over by the next request.
                self.last_update = Some(now);
                self.status = Status::Throttled;
                self.retry_later(now, Some(retry_after));
                if self.solver && self.status == Status::Throttled {
                    let solve = Action::Solve { challenge: challenge.clone(), target, max_number };
                    self.activity = Activity::Solving { challenge };
                    self.actions.push_back(solve);
                }
            }
            Reply::Unavailable(_) => {
                if self.unavailable(now, false) {
                    return;
                }
                self.retry_later(now, None);
            }
            Reply::CookiesRequired { retry_after } => {
                // An answer, but one that cannot lead to a place: as if the gate were down.
                self.last_update = Some(now);
                if self.unavailable(now, true) {
                    return;
                }
                self.retry_later(now, Some(retry_after));
            }
        }
        self.persist(now);
        self.render();
    }

    /// The driver's answer to [`Action::Solve`]: the number found, or `None` when the browser
    /// could not solve (then it is not asked again on this page, and the challenge is waited
    /// out with backoff). The solution goes with the next request, at its scheduled time, or at
    /// once if solving took longer.
    pub fn handle_solved(&mut self, now: Timestamp, number: Option<u64>) {
        let Activity::Solving { challenge } = &mut self.activity else {
            return; // stale: nothing is being solved
        };
        let challenge = std::mem::take(challenge);
        self.activity = match number {
            Some(number) => Activity::Waiting { proof: Some(Solution { challenge, number }) },
            None => {
                self.solver = false;
                Activity::WAITING
            }
        };
        self.render();
        self.maybe_send(now);
    }

    /// A timer armed from [`Machine::poll_timeout`] fired.
    ///
    /// In a follower, this is the watchdog: the poller persisted nothing since its deadline
    /// passed [`LEADER_GRACE`] ago, so this tab takes over.
    pub fn handle_timeout(&mut self, now: Timestamp) {
        if self.role == Role::Follower && self.watchdog_at().is_some_and(|t| now >= t) {
            self.role = Role::StandIn;
        }
        if matches!(self.status, Status::Unavailable { .. })
            && self.fail_open_due(now)
            && !matches!(self.activity, Activity::InFlight { .. })
        {
            self.fail_open();
            self.persist(now);
            self.render();
            return;
        }
        self.maybe_send(now);
    }

    /// The browser went offline or came back. Offline: nothing is sent. Back online: the next
    /// request waits for its schedule *and* a reconnect jitter, so a whole class whose Wi-Fi
    /// returns together does not come back in the same second.
    pub fn handle_online(&mut self, now: Timestamp, online: bool) {
        if self.online == online {
            return;
        }
        self.online = online;
        if online && self.activity != Activity::NotStarted && !self.is_final() && self.polls() {
            // Time offline says nothing about the gate: its fail-open delay starts again.
            if let Status::Unavailable { since, .. } = &mut self.status {
                *since = now;
            }
            let (low, high) = RECONNECT_JITTER;
            let earliest = now.saturating_add(self.rng.between(low, high));
            self.next_at = Some(self.next_at.map_or(earliest, |t| t.max(earliest)));
            self.persist(now);
        }
        self.render();
    }

    /// The page was hidden or shown. A hidden tab keeps its schedule (browsers slow its timers
    /// down); when it is shown again a request that fell due meanwhile goes out.
    pub fn handle_visibility(&mut self, now: Timestamp, visible: bool) {
        if visible {
            self.render();
            self.maybe_send(now);
        }
    }

    /// The user pressed "try again now". Honoured only when the schedule allows it (the button
    /// is disabled otherwise, but a click is never trusted to be early-proof).
    ///
    /// It works from any tab: a follower whose user asks sends this request itself, since the
    /// poller may be the tab that gave up, or one nobody looks at.
    pub fn handle_retry(&mut self, now: Timestamp) {
        if self.next_at.is_some_and(|t| now >= t) {
            if self.status == Status::GaveUp {
                self.backoff.reset();
                self.status = Status::Throttled;
            }
            if self.role == Role::Follower {
                self.role = Role::StandIn;
            }
        }
        self.maybe_send(now);
        self.render();
    }

    /// The user tried to log in, and the guard held the form back: the overlay shows at once,
    /// even while the first check runs, so that nothing seems broken. With
    /// `data-check="submit"`, call [`Machine::handle_start`] first: this is when it starts.
    pub fn handle_blocked_submit(&mut self, _now: Timestamp) {
        self.overlay_up = true;
        self.render();
    }

    /// The user pressed "extend" (warned that the pass runs out, or after it did): one request
    /// with the pass, which the gate renews for the same admission (docs/protocol.md, "Renewing
    /// a pass"). The renewed pass comes back as a new [`Action::Admit`] (the driver puts it in
    /// the form). Nothing without a pass, or while a request is in flight.
    pub fn handle_extend(&mut self, _now: Timestamp) {
        let Status::Admitted { pass: Some(pass), .. } = &self.status else { return };
        if self.activity.is_busy() || !self.online {
            return;
        }
        self.activity = Activity::InFlight { proving: false };
        let (ticket, pass) = (self.ticket.clone(), Some(pass.clone()));
        self.actions.push_back(Action::Send { ticket, pass, timeout: self.timeout, proof: None });
        self.actions.push_back(Action::Render);
    }

    /// The next thing to do, if any.
    #[must_use]
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// When to call [`Machine::handle_timeout`], if at all.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        if !self.activity.is_waiting() || self.is_final() {
            return None;
        }
        if !self.polls() {
            return self.watchdog_at().filter(|_| self.online && self.status != Status::GaveUp);
        }
        let fail_open_at = match self.status {
            Status::Unavailable { since, .. } if self.fail == FailPolicy::Open && self.online => {
                Some(since.saturating_add(self.fail_open_after))
            }
            _ => None,
        };
        let send_at =
            if self.online && self.status != Status::GaveUp { self.next_at } else { None };
        match (send_at, fail_open_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// When a follower takes over if the poller has persisted nothing newer by then.
    fn watchdog_at(&self) -> Option<Timestamp> {
        Some(self.next_at?.saturating_add(LEADER_GRACE).saturating_add(self.watchdog_jitter))
    }

    /// Whether this tab sends: it holds the poller role, or stands in.
    fn polls(&self) -> bool {
        self.role != Role::Follower
    }

    /// Whether [`Machine::handle_start`] was called.
    pub fn is_started(&self) -> bool {
        self.activity != Activity::NotStarted
    }

    /// The time before which nothing is sent.
    pub fn next_allowed(&self) -> Option<Timestamp> {
        self.next_at
    }

    /// What the overlay should show at `now`.
    pub fn view(&self, now: Timestamp) -> View {
        let phase = self.phase();
        let position =
            self.place.as_ref().filter(|_| self.shows_place()).map(|p| local_position(p, now));
        let eta = match (&self.place, position) {
            (Some(p), Some(pos)) => {
                let remaining = p.eta.saturating_sub(now.saturating_duration_since(p.at));
                self.eta.estimate(pos, Some(remaining))
            }
            _ => None,
        };
        let progress_percent = match (&self.place, position) {
            (Some(p), Some(pos)) if p.entry_position > 1 => {
                let done =
                    p.entry_position.saturating_sub(pos) as f64 / (p.entry_position - 1) as f64;
                Some((done * 100.0).clamp(0.0, 100.0) as u8)
            }
            (Some(_), Some(_)) => Some(100),
            _ => None,
        };
        // No countdown once polling stopped (having given up, nothing happens by itself), nor
        // offline, where nothing is sent.
        let polling = self.online
            && !self.is_final()
            && self.status != Status::GaveUp
            && !self.activity.is_busy();
        let next_attempt_in =
            self.next_at.filter(|_| polling).map(|t| t.saturating_duration_since(now));
        let pass_left = match self.status {
            Status::Admitted { expires_at: Some(at), .. } => {
                Some(at.saturating_duration_since(now))
            }
            _ => None,
        };
        let pass_warning = matches!(self.status, Status::Admitted { pass: Some(_), .. })
            && pass_left.is_some_and(|left| left <= view::PASS_WARNING);
        // In any tab: a click in a follower sends from there (see `handle_retry`).
        let retry_allowed = self.activity.is_waiting()
            && self.online
            && !self.is_final()
            && self.next_at.is_some_and(|t| now >= t);
        View {
            phase,
            position,
            ahead: position.map(|p| p.saturating_sub(1)),
            eta,
            progress_percent,
            next_attempt_in,
            last_update: self.last_update,
            retry_in: self
                .next_at
                .filter(|_| self.status == Status::GaveUp)
                .map(|t| t.saturating_duration_since(now))
                .filter(|d| !d.is_zero()),
            pass_left,
            pass_warning,
            failed_open: self.status == Status::FailedOpen,
            closed_message: match &self.status {
                Status::Closed { message } if phase == Phase::Closed => message.clone(),
                _ => None,
            },
            explains_quota: phase.explains_quota(),
            retry: match (retry_allowed, phase) {
                (true, _) => RetryButton::Enabled,
                (false, Phase::GaveUp) => RetryButton::Disabled,
                (false, _) => RetryButton::Hidden,
            },
            // A pass about to run out is warned even to a user let in at once, with no dialog before.
            overlay: self.wants_overlay() || pass_warning,
        }
    }

    /// The current status (for events and tests).
    pub fn status(&self) -> &Status {
        &self.status
    }

    /// The ticket held, if any.
    pub fn ticket(&self) -> Option<&str> {
        self.ticket.as_deref()
    }

    /// The state to persist, as it is now.
    pub fn snapshot(&self, now: Timestamp) -> Snapshot {
        Snapshot {
            ticket: self.ticket.clone(),
            next_at: self.next_at.unwrap_or(now),
            attempt: self.backoff.attempt(),
            status: self.status.clone(),
            place: self.place.clone(),
            last_update: self.last_update,
            saved_at: now,
        }
    }

    fn phase(&self) -> Phase {
        match self.status {
            Status::Admitted { .. } | Status::FailedOpen => Phase::Admitted,
            _ if !self.online => Phase::Offline,
            Status::Checking => Phase::Checking,
            Status::Queued => Phase::Queued,
            Status::Throttled if self.activity.is_verifying() => Phase::Verifying,
            Status::Throttled => Phase::Throttled,
            Status::Closed { .. } => Phase::Closed,
            Status::Unavailable { cookies: true, .. } => Phase::CookiesRequired,
            Status::Unavailable { .. } => Phase::Unavailable,
            Status::GaveUp => Phase::GaveUp,
        }
    }

    /// The place stays on screen while throttled, offline or unavailable: it is not lost.
    /// Not when the gate asks for cookies: without them the place cannot be kept.
    fn shows_place(&self) -> bool {
        self.ticket.is_some()
            && matches!(
                self.status,
                Status::Queued | Status::Throttled | Status::Unavailable { cookies: false, .. }
            )
    }

    fn is_final(&self) -> bool {
        matches!(self.status, Status::Admitted { .. } | Status::FailedOpen)
    }

    fn can_send(&self, now: Timestamp) -> bool {
        self.activity.is_waiting()
            && self.polls()
            && self.online
            && !self.is_final()
            && self.status != Status::GaveUp
            && self.next_at.is_some_and(|t| now >= t)
    }

    fn maybe_send(&mut self, now: Timestamp) {
        if !self.can_send(now) {
            return;
        }
        let proof = match &mut self.activity {
            Activity::Waiting { proof } => proof.take(),
            _ => None,
        };
        self.activity = Activity::InFlight { proving: proof.is_some() };
        if self.asking == Asking::Fetch {
            let (ticket, timeout) = (self.ticket.clone(), self.timeout);
            self.actions.push_back(Action::Send { ticket, pass: None, timeout, proof });
        }
        // Should the page die with the request in flight, the next page waits at least the
        // base delay: twenty F5 presses during a check cost one request, not twenty.
        self.schedule(now, self.base_delay, RETRY_JITTER_CAP);
        self.persist(now);
        if self.asking == Asking::Reload {
            self.actions.push_back(Action::Reload);
        }
    }

    /// After a throttle or a failure: the later of the server's instruction and our backoff.
    fn retry_later(&mut self, now: Timestamp, instruction: Option<Duration>) {
        match self.backoff.next() {
            Some(own) => {
                let delay = instruction.map_or(own, |i| i.max(own));
                self.schedule(now, delay, RETRY_JITTER_CAP);
            }
            // An unreachable gate under fail-open is not given up on: the fail-open delay, not
            // the attempt count, decides when the user goes in; meanwhile retry at the cap.
            None if self.fail == FailPolicy::Open
                && matches!(self.status, Status::Unavailable { .. }) =>
            {
                let delay = instruction.unwrap_or(Duration::ZERO).max(self.backoff.cap());
                self.schedule(now, delay, RETRY_JITTER_CAP);
            }
            None => {
                // Out of attempts: stop polling; the user may ask again after a full cap.
                self.status = Status::GaveUp;
                let delay = instruction.unwrap_or(Duration::ZERO).max(self.base_delay);
                self.schedule(now, delay, RETRY_JITTER_CAP);
            }
        }
    }

    /// Schedules the next request `delay` from now plus a jitter of up to a fifth of the delay
    /// (at least half a second, at most `cap`). Never earlier than an already-stored deadline.
    fn schedule(&mut self, now: Timestamp, delay: Duration, cap: Duration) {
        let window = (delay / 5).clamp(Duration::from_millis(500), cap);
        let at = now.saturating_add(delay).saturating_add(self.rng.between(Duration::ZERO, window));
        self.next_at = Some(self.next_at.map_or(at, |t| t.max(at)));
    }

    /// Enters (or stays in) the unavailable status; true when that fails open at once.
    fn unavailable(&mut self, now: Timestamp, cookies: bool) -> bool {
        let since = match self.status {
            Status::Unavailable { since, .. } => since,
            _ => now,
        };
        self.status = Status::Unavailable { since, cookies };
        if self.fail_open_due(now) {
            self.fail_open();
            return true;
        }
        false
    }

    fn fail_open_due(&self, now: Timestamp) -> bool {
        match self.status {
            // Offline, the gate is not the one failing: losing the Wi-Fi never opens the gate.
            Status::Unavailable { since, .. } => {
                self.fail == FailPolicy::Open
                    && self.online
                    && now >= since.saturating_add(self.fail_open_after)
            }
            _ => false,
        }
    }

    /// Lets the user in: to the gate's page if it named one, else to `data-redirect`.
    fn admit(&mut self, pass: Option<String>, redirect: Option<String>) {
        let redirect = redirect.or_else(|| self.redirect.clone());
        self.actions.push_back(Action::Admit { pass, redirect });
    }

    /// Asks the driver to show [`Machine::view`], noting that the overlay went up: every
    /// `handle_*` that changes what is shown ends here.
    fn render(&mut self) {
        self.overlay_up |= self.wants_overlay();
        self.actions.push_back(Action::Render);
    }

    /// Whether the overlay is up (see [`View::overlay`]).
    ///
    /// Once in, a dialog that was up stays, as a notice that says so (the driver makes it
    /// non-modal).
    fn wants_overlay(&self) -> bool {
        self.is_started()
            && match self.phase() {
                Phase::Checking | Phase::Admitted => self.overlay_up,
                _ => true,
            }
    }

    fn fail_open(&mut self) {
        self.status = Status::FailedOpen;
        self.actions.push_back(Action::FailOpen);
    }

    fn persist(&mut self, now: Timestamp) {
        self.saved_at = now;
        self.actions.push_back(Action::Persist(self.snapshot(now)));
    }

    /// Takes over a persisted or peer snapshot; the schedule never moves earlier.
    fn adopt(&mut self, now: Timestamp, snapshot: Snapshot) {
        let snapshot = snapshot.checked(now);
        let stored = snapshot.next_at;
        self.saved_at = self.saved_at.max(snapshot.saved_at);
        self.next_at = Some(self.next_at.map_or(stored, |t| t.max(stored)));
        // Set the attempt count, not add to it: every peer snapshot would otherwise push the
        // backoff further towards its cap and its attempt limit.
        self.backoff.resume(snapshot.attempt);
        if let Some(p) = &snapshot.place {
            self.eta.observe(p.at, p.position);
        }
        self.ticket = snapshot.ticket;
        self.place = snapshot.place;
        self.last_update = snapshot.last_update;
        self.status = snapshot.status;
    }
}

/// The position counted down from the last reply at the queue's advance rate, never below 1:
/// only the gate can say "your turn".
fn local_position(place: &Place, now: Timestamp) -> u64 {
    let minutes = now.saturating_duration_since(place.at).as_secs_f64() / 60.0;
    let advanced = (minutes * place.advance_per_minute).floor();
    let advanced = if advanced.is_finite() && advanced > 0.0 { advanced as u64 } else { 0 };
    place.position.saturating_sub(advanced).max(1)
}
