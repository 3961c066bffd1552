//! The admission logic of the gate: a FIFO queue behind a token bucket, with server-guided
//! return times. Pure: no clock, no I/O, no serialization; every call takes `now`.
//!
//! The simulator drives this very object for 100 000+ virtual users, so every call is
//! O(log n) and allocates nothing in the steady state (vectors only grow, and reuse their
//! capacity after compaction).
//!
//! # How a ticket lives
//!
//! 1. A newcomer who finds the queue empty and a token in the bucket is admitted at once.
//! 2. Otherwise it gets the next sequence number and a *told time*: when to come back. Told
//!    times are handed out along a schedule cursor that advances by `(1 - a) / r` per newcomer,
//!    where `r` is the admission rate and `a` the estimated no-show rate, so that the holders
//!    who do come back arrive at about `r` per unit of time.
//! 3. Coming back at (or up to 1 s before) its told time with a token available, the holder is
//!    admitted. Without a token, it is told a new time along a retry cursor that spreads present
//!    waiters at the admission rate. Coming back early changes nothing: same told time, same
//!    place.
//! 4. A holder who has not come back within `grace` after its told time is dropped; the tickets
//!    behind it move up.
//!
//! ```
//! use std::time::Duration;
//! use waitroom::time::Timestamp;
//! use waitroom_gate::queue::{Decision, Queue, QueueConfig, Visit};
//!
//! let t0 = Timestamp::from_millis(1_000_000);
//! let mut queue = Queue::new(QueueConfig::new(60.0).with_burst(1.0), t0);
//! assert_eq!(queue.visit(t0, Visit::Fresh), Decision::Admitted { seq: None });
//! let Decision::Queued { seq, position, return_in, .. } = queue.visit(t0, Visit::Fresh) else {
//!     panic!("the bucket is empty");
//! };
//! assert_eq!((position, return_in), (1, Duration::from_secs(1)));
//! let later = t0.saturating_add(return_in);
//! assert_eq!(queue.visit(later, Visit::Ticket(seq)), Decision::Admitted { seq: Some(seq) });
//! ```

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Duration;

use waitroom::time::{duration_millis, Timestamp};

use crate::fenwick::Fenwick;

/// A holder counts as on time up to this long before its told time (clocks and rounding).
const ON_TIME_SLACK_MS: u64 = 1_000;
/// Extra delay, after the widest client jitter, before a told time is judged a no-show.
const CHECK_MARGIN_MS: u64 = 5_000;
/// Weight of the prior in the no-show estimate: as if 20 holders had already come back.
const PRIOR_SHOWS: f64 = 20.0;
/// Effective number of observations of the no-show estimate: older ones fade out, so the
/// estimate follows a crowd whose behaviour changes over the morning.
const ESTIMATE_WINDOW: f64 = 2_000.0;
/// The no-show estimate is capped so that the schedule never collapses into "everyone now".
const MAX_NO_SHOW_RATE: f64 = 0.9;
/// How far past the last issued sequence number a ticket is still restored after a restart.
/// Restoring fills the gap with vacant slots (20 bytes each), so this bounds that memory.
const RESTORE_WINDOW: u64 = 1_000_000;
/// Compaction waits for at least this many dead slots at the front (amortisation).
const COMPACT_MIN: usize = 4_096;

/// Parameters of a [`Queue`].
///
/// # Default
///
/// [`QueueConfig::new`]: `burst` = max(1, r / 6) (10 s of admissions), `grace` = 120 s,
/// `return_jitter` = 5 s. [`Default`] is `new(60.0)`.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueConfig {
    /// Admission rate `r`, per minute. Tokens are added continuously, not at the top of the minute.
    pub admit_per_minute: f64,
    /// Capacity of the token bucket, in admissions; the bucket starts full.
    pub burst: f64,
    /// A ticket whose holder has not come back within `grace` after its told time is dropped.
    pub grace: Duration,
    /// The widest jitter a client adds after its told time; no-shows are judged after it.
    pub return_jitter: Duration,
}

impl QueueConfig {
    /// The defaults for an admission rate of `admit_per_minute`.
    pub fn new(admit_per_minute: f64) -> Self {
        QueueConfig {
            admit_per_minute,
            burst: (admit_per_minute / 6.0).max(1.0),
            grace: Duration::from_secs(120),
            return_jitter: Duration::from_secs(5),
        }
    }

    /// Sets the bucket capacity.
    #[must_use]
    pub fn with_burst(mut self, burst: f64) -> Self {
        self.burst = burst;
        self
    }

    /// Sets the grace period after a told time.
    #[must_use]
    pub fn with_grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// Sets the widest client jitter after a told time.
    #[must_use]
    pub fn with_return_jitter(mut self, jitter: Duration) -> Self {
        self.return_jitter = jitter;
        self
    }
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig::new(60.0)
    }
}

/// Who is knocking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visit {
    /// A newcomer, or a client whose ticket did not verify.
    Fresh,
    /// The holder of a verified ticket with this sequence number.
    Ticket(u64),
}

/// The queue's answer to a [`Visit`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Decision {
    /// Let the visitor in. `seq` is its ticket's number, `None` for a newcomer let straight in.
    Admitted {
        /// The admitted ticket, if the visitor had one.
        seq: Option<u64>,
    },
    /// The visitor waits.
    Queued {
        /// The ticket's sequence number (a newcomer's new one).
        seq: u64,
        /// Live tickets up to and including this one: 1 is next.
        position: u64,
        /// When to come back: the ticket's told time, from now.
        return_in: Duration,
        /// Expected wait until admission (equal to `return_in`: the told time is the predicted turn).
        eta: Duration,
        /// Places per minute the queue moves forward: admissions plus no-shows, `r / (1 - a)`.
        advance_per_minute: f64,
    },
}

/// Counters since the queue was created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QueueStats {
    /// Admissions that consumed a token (tickets, newcomers and [`Queue::admit_anonymous`]).
    pub admitted: u64,
    /// Tickets dropped for not coming back within the grace period.
    pub dropped: u64,
    /// Tickets issued to newcomers.
    pub issued: u64,
    /// Tickets currently waiting.
    pub live: u64,
    /// Tickets unknown to this queue that were restored at their number (gate restart).
    pub restored: u64,
    /// Times a holder came on time but found no token and was told a new time.
    pub retold: u64,
}

/// What the queue remembers of a sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Never issued by this queue: a gap left by restoring a later number.
    Vacant,
    Live,
    /// Admitted; a lost reply is answered again, without a token, until the record is compacted.
    Admitted,
    Dropped,
}

/// One sequence number's record (16 bytes).
#[derive(Debug, Clone, Copy)]
struct Ticket {
    /// The told time, in ms; for an admitted ticket, when it was admitted.
    told_at: u64,
    /// Bumped at every new told time, so that stale heap entries are recognised.
    generation: u32,
    state: State,
    /// Whether its first told time has been judged a show or a no-show (or needs no judging).
    judged: bool,
    /// Whether it has already reserved a slot in the schedule after finding no token.
    retold: bool,
}

/// What to do when a heap entry falls due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    /// Judge whether the holder came back for its first told time.
    Check,
    /// Drop the ticket if its holder is still away.
    Drop,
}

/// A deadline, invalidated lazily by comparing `generation` with the ticket's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Due {
    at: u64,
    seq: u64,
    generation: u32,
    kind: Kind,
}

/// Where a sequence number stands.
enum Lookup {
    /// Its record, by index.
    Record(usize),
    /// Issued once, but compacted away (dropped or admitted long ago).
    Forgotten,
    /// Beyond the last issued number, within the restore window.
    Future,
    /// Too far beyond the last issued number to be one of ours.
    Implausible,
}

/// The admission queue. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct Queue {
    config: QueueConfig,
    /// Admission rate, per ms.
    rate: f64,
    tokens: f64,
    refilled_at: u64,
    /// Sequence number of `records[0]`.
    base: u64,
    /// One record per sequence number from `base`; slot `i + 1` of `order` is `records[i]`.
    records: Vec<Ticket>,
    /// 1 for each live record: positions are prefix sums.
    order: Fenwick,
    /// `records[..head]` can be compacted away.
    head: usize,
    due: BinaryHeap<Reverse<Due>>,
    /// Schedule cursor C for newcomers' told times, in ms.
    schedule: f64,
    /// Retry cursor R for holders who came on time and found no token, in ms.
    retry: f64,
    /// Aged mean of no-show judgements (1 = no-show) and its effective count.
    no_show_mean: f64,
    judgements: f64,
    stats: QueueStats,
    /// Sequence numbers dropped since the last [`Queue::drain_dropped`], when recording.
    dropped_log: Option<Vec<u64>>,
}

impl Queue {
    /// An empty queue with a full bucket.
    ///
    /// # Panics
    ///
    /// If `admit_per_minute` is not a positive finite number or `burst` is below 1.
    pub fn new(config: QueueConfig, now: Timestamp) -> Self {
        assert!(
            config.admit_per_minute.is_finite() && config.admit_per_minute > 0.0,
            "admit_per_minute must be positive, got {}",
            config.admit_per_minute
        );
        assert!(
            config.burst >= 1.0,
            "burst must be at least 1, got {}",
            config.burst
        );
        let now = now.as_millis();
        Queue {
            rate: config.admit_per_minute / 60_000.0,
            tokens: config.burst,
            refilled_at: now,
            base: 1,
            records: Vec::new(),
            order: Fenwick::new(),
            head: 0,
            due: BinaryHeap::new(),
            schedule: now as f64,
            retry: now as f64,
            no_show_mean: 0.0,
            judgements: 0.0,
            stats: QueueStats::default(),
            dropped_log: None,
            config,
        }
    }

    /// The configuration the queue runs with.
    pub fn config(&self) -> &QueueConfig {
        &self.config
    }

    /// Answers a visitor.
    pub fn visit(&mut self, now: Timestamp, visit: Visit) -> Decision {
        let now = now.as_millis();
        self.housekeep(now);
        let Visit::Ticket(seq) = visit else {
            return self.newcomer(now);
        };
        match self.lookup(seq) {
            Lookup::Record(i) => match self.records[i].state {
                State::Live => self.holder_visit(now, i),
                State::Admitted => Decision::Admitted { seq: Some(seq) },
                State::Dropped => self.newcomer(now),
                State::Vacant => self.restore(now, i),
            },
            Lookup::Future => {
                while self.next_seq() < seq {
                    self.push_record(Ticket {
                        told_at: now,
                        generation: 0,
                        state: State::Vacant,
                        judged: true,
                        retold: false,
                    });
                }
                let i = self.push_record(Ticket {
                    told_at: now,
                    generation: 0,
                    state: State::Vacant,
                    judged: true,
                    retold: false,
                });
                self.restore(now, i)
            }
            Lookup::Forgotten | Lookup::Implausible => self.newcomer(now),
        }
    }

    /// The "503 when full" server, for comparisons: admits iff a token is available, ignoring
    /// the queue. Shares the bucket with [`Queue::visit`].
    pub fn admit_anonymous(&mut self, now: Timestamp) -> bool {
        self.housekeep(now.as_millis());
        self.take_token()
    }

    /// Tickets currently waiting.
    pub fn live(&self) -> u64 {
        self.stats.live
    }

    /// Estimated share of told times whose holder does not come back, in `[0, 0.9]`.
    ///
    /// The mean of the judgements so far, shrunk towards 0 by a prior of 20 shows: with
    /// `n` judgements of which `k` no-shows, `k / (n + 20)`, where `n` stops growing at 2 000
    /// (older judgements fade out).
    pub fn no_show_rate(&self) -> f64 {
        let estimate = self.no_show_mean * self.judgements / (self.judgements + PRIOR_SHOWS);
        estimate.min(MAX_NO_SHOW_RATE)
    }

    /// Counters since the queue was created.
    pub fn stats(&self) -> QueueStats {
        self.stats
    }

    /// The earliest time at which the queue has work of its own (a no-show check or a drop),
    /// so that a driver can call [`Queue::handle_timeout`] then. Calls to `visit` do this work
    /// too, so a driver that only answers visits may ignore it.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        self.due
            .peek()
            .map(|Reverse(due)| Timestamp::from_millis(due.at))
    }

    /// Does the work that has fallen due by `now`: refills the bucket, judges no-shows, drops
    /// absent holders.
    pub fn handle_timeout(&mut self, now: Timestamp) {
        self.housekeep(now.as_millis());
    }

    /// Starts (or stops) remembering which tickets are dropped, for [`Queue::drain_dropped`].
    pub fn record_drops(&mut self, on: bool) {
        self.dropped_log = on.then(Vec::new);
    }

    /// The tickets dropped since the last call, when [`Queue::record_drops`] is on.
    pub fn drain_dropped(&mut self) -> impl Iterator<Item = u64> + '_ {
        self.dropped_log.iter_mut().flat_map(|log| log.drain(..))
    }

    /// Bytes held by the queue's allocations (records, order tree, deadlines).
    pub fn heap_bytes(&self) -> usize {
        self.records.capacity() * std::mem::size_of::<Ticket>()
            + self.order.heap_bytes()
            + self.due.capacity() * std::mem::size_of::<Reverse<Due>>()
    }

    fn next_seq(&self) -> u64 {
        self.base + self.records.len() as u64
    }

    fn lookup(&self, seq: u64) -> Lookup {
        if seq < self.base {
            Lookup::Forgotten
        } else if seq < self.next_seq() {
            Lookup::Record((seq - self.base) as usize)
        } else if seq - self.next_seq() < RESTORE_WINDOW {
            Lookup::Future
        } else {
            Lookup::Implausible
        }
    }

    /// Appends a record for the next sequence number; returns its index.
    fn push_record(&mut self, ticket: Ticket) -> usize {
        self.records.push(ticket);
        self.order.push(u32::from(ticket.state == State::Live));
        self.records.len() - 1
    }

    fn position(&self, i: usize) -> u64 {
        self.order.prefix(i + 1)
    }

    fn take_token(&mut self) -> bool {
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            self.stats.admitted += 1;
            true
        } else {
            false
        }
    }

    /// When the bucket will next hold a whole token, in ms.
    fn token_ready_at(&self, now: u64) -> f64 {
        now as f64 + (1.0 - self.tokens).max(0.0) / self.rate
    }

    fn newcomer(&mut self, now: u64) -> Decision {
        if self.stats.live == 0 && self.take_token() {
            return Decision::Admitted { seq: None };
        }
        // Never tell a time before the bucket can serve it: an empty queue with an empty
        // bucket would otherwise send the first waiter back for nothing.
        let told = self.schedule.max(self.token_ready_at(now));
        self.schedule = told + (1.0 - self.no_show_rate()) / self.rate;
        let seq = self.next_seq();
        let told_at = told.ceil() as u64;
        let i = self.push_record(Ticket {
            told_at,
            generation: 0,
            state: State::Live,
            judged: false,
            retold: false,
        });
        self.stats.live += 1;
        self.stats.issued += 1;
        let check_at = told_at + duration_millis(self.config.return_jitter) + CHECK_MARGIN_MS;
        self.due.push(Reverse(Due {
            at: check_at,
            seq,
            generation: 0,
            kind: Kind::Check,
        }));
        self.queued(now, i)
    }

    /// A holder of a live ticket is back.
    fn holder_visit(&mut self, now: u64, i: usize) -> Decision {
        let seq = self.base + i as u64;
        let ticket = self.records[i];
        if now + ON_TIME_SLACK_MS < ticket.told_at {
            // Early (a reload, a hostile client): same told time, same place, nothing else.
            return self.queued(now, i);
        }
        if !ticket.judged {
            self.records[i].judged = true;
            self.judge(false);
        }
        if self.take_token() {
            let record = &mut self.records[i];
            record.state = State::Admitted;
            record.told_at = now;
            self.order.add(i + 1, -1);
            self.stats.live -= 1;
            return Decision::Admitted { seq: Some(seq) };
        }
        self.retell(now, i);
        self.queued(now, i)
    }

    /// A holder came on time and found no token: spread such holders at the admission rate.
    fn retell(&mut self, now: u64, i: usize) {
        let slot = 1.0 / self.rate;
        let told = self.retry.max(now as f64) + slot;
        self.retry = told;
        // Keep newcomers behind this holder (FIFO when the queue is short), and, the first time,
        // reserve one more slot in the schedule: the schedule promised the bucket to others, and
        // without the reservation a small over-estimate of no-shows would starve re-told holders.
        let reserve = if self.records[i].retold { 0.0 } else { slot };
        self.schedule = (self.schedule + reserve).max(told + slot);
        let record = &mut self.records[i];
        record.retold = true;
        record.told_at = told.ceil() as u64;
        record.generation = record.generation.wrapping_add(1);
        let due = Due {
            at: record.told_at + duration_millis(self.config.grace),
            seq: self.base + i as u64,
            generation: record.generation,
            kind: Kind::Drop,
        };
        self.due.push(Reverse(due));
        self.stats.retold += 1;
    }

    /// A ticket this queue never issued (the gate restarted with the same secret): it keeps its
    /// number, hence its place among the tickets of before the restart, told to be here now.
    fn restore(&mut self, now: u64, i: usize) -> Decision {
        let record = &mut self.records[i];
        record.state = State::Live;
        record.told_at = now;
        record.judged = true;
        record.generation = record.generation.wrapping_add(1);
        let due = Due {
            at: now + duration_millis(self.config.grace),
            seq: self.base + i as u64,
            generation: record.generation,
            kind: Kind::Drop,
        };
        self.due.push(Reverse(due));
        self.order.add(i + 1, 1);
        self.stats.live += 1;
        self.stats.restored += 1;
        self.holder_visit(now, i)
    }

    fn queued(&self, now: u64, i: usize) -> Decision {
        let return_in = Duration::from_millis(self.records[i].told_at.saturating_sub(now));
        Decision::Queued {
            seq: self.base + i as u64,
            position: self.position(i),
            return_in,
            eta: return_in,
            advance_per_minute: self.config.admit_per_minute / (1.0 - self.no_show_rate()),
        }
    }

    fn judge(&mut self, no_show: bool) {
        self.judgements = (self.judgements + 1.0).min(ESTIMATE_WINDOW);
        let x = if no_show { 1.0 } else { 0.0 };
        self.no_show_mean += (x - self.no_show_mean) / self.judgements;
    }

    /// Refills the bucket, processes due deadlines and compacts the dead front.
    fn housekeep(&mut self, now: u64) {
        if now > self.refilled_at {
            let earned = (now - self.refilled_at) as f64 * self.rate;
            self.tokens = (self.tokens + earned).min(self.config.burst);
            self.refilled_at = now;
        }
        while let Some(&Reverse(due)) = self.due.peek() {
            if due.at > now {
                break;
            }
            self.due.pop();
            self.fall_due(now, due);
        }
        self.compact(now);
    }

    fn fall_due(&mut self, now: u64, due: Due) {
        let Lookup::Record(i) = self.lookup(due.seq) else {
            return;
        };
        let record = self.records[i];
        if record.state != State::Live || record.generation != due.generation {
            return;
        }
        match due.kind {
            Kind::Check => {
                if !record.judged {
                    self.records[i].judged = true;
                    self.judge(true);
                }
                let drop_at = record.told_at + duration_millis(self.config.grace);
                let next = Due {
                    at: drop_at.max(now),
                    kind: Kind::Drop,
                    ..due
                };
                self.due.push(Reverse(next));
            }
            Kind::Drop => {
                self.records[i].state = State::Dropped;
                self.order.add(i + 1, -1);
                self.stats.live -= 1;
                self.stats.dropped += 1;
                if let Some(log) = &mut self.dropped_log {
                    log.push(due.seq);
                }
            }
        }
    }

    /// Forgets the dead front of the records once it is large, rebuilding the order tree:
    /// O(1) amortised per ticket.
    fn compact(&mut self, now: u64) {
        let grace = duration_millis(self.config.grace);
        while let Some(record) = self.records.get(self.head) {
            let dead = match record.state {
                State::Live => false,
                // A lost admission reply is retried with a ticket that expires `grace` after its
                // told time, which was at most the on-time slack after the admission: the record
                // is not needed after that.
                State::Admitted => now >= record.told_at.saturating_add(grace + ON_TIME_SLACK_MS),
                State::Dropped | State::Vacant => true,
            };
            if !dead {
                break;
            }
            self.head += 1;
        }
        if self.head >= COMPACT_MIN && self.head * 2 >= self.records.len() {
            self.records.drain(..self.head);
            self.base += self.head as u64;
            self.head = 0;
            let live = self
                .records
                .iter()
                .map(|r| u32::from(r.state == State::Live));
            self.order.rebuild(live);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: u64 = 1_700_000_000_000;

    fn at(ms: u64) -> Timestamp {
        Timestamp::from_millis(T0 + ms)
    }

    fn queued(decision: Decision) -> (u64, u64, Duration) {
        match decision {
            Decision::Queued {
                seq,
                position,
                return_in,
                ..
            } => (seq, position, return_in),
            other => panic!("expected queued, got {other:?}"),
        }
    }

    /// 60 per minute, bucket of 1: one admission per second.
    fn one_per_second() -> Queue {
        Queue::new(QueueConfig::new(60.0).with_burst(1.0), at(0))
    }

    #[test]
    fn newcomers_get_positions_one_two_three_in_arrival_order() {
        let mut queue = one_per_second();
        assert_eq!(
            queue.visit(at(0), Visit::Fresh),
            Decision::Admitted { seq: None }
        );
        let positions: Vec<u64> = (0..3)
            .map(|_| queued(queue.visit(at(0), Visit::Fresh)).1)
            .collect();
        assert_eq!(positions, [1, 2, 3]);
        assert_eq!(queue.live(), 3);
    }

    #[test]
    fn told_times_are_spread_at_the_admission_rate() {
        let mut queue = one_per_second();
        queue.visit(at(0), Visit::Fresh);
        let returns: Vec<Duration> = (0..4)
            .map(|_| queued(queue.visit(at(0), Visit::Fresh)).2)
            .collect();
        assert_eq!(returns, [1, 2, 3, 4].map(Duration::from_secs));
    }

    #[test]
    fn holders_returning_at_their_told_times_are_admitted_in_order() {
        let mut queue = one_per_second();
        queue.visit(at(0), Visit::Fresh);
        let tickets: Vec<(u64, Duration)> = (0..50)
            .map(|_| {
                let (seq, _, back) = queued(queue.visit(at(0), Visit::Fresh));
                (seq, back)
            })
            .collect();
        for (k, &(seq, back)) in tickets.iter().enumerate() {
            let now = at(duration_millis(back));
            assert_eq!(
                queue.visit(now, Visit::Ticket(seq)),
                Decision::Admitted { seq: Some(seq) }
            );
            assert_eq!(queue.live(), 49 - k as u64);
        }
        assert_eq!(queue.stats().retold, 0);
    }

    #[test]
    fn the_admission_rate_is_smooth_not_all_at_the_top_of_the_minute() {
        // 120 per minute, bucket of 1: polling every 100 ms admits one every 500 ms, never two.
        let mut queue = Queue::new(QueueConfig::new(120.0).with_burst(1.0), at(0));
        let mut admitted_at = Vec::new();
        for step in 0..=600 {
            if queue.admit_anonymous(at(step * 100)) {
                admitted_at.push(step * 100);
            }
        }
        assert_eq!(admitted_at.len(), 121);
        assert!(
            admitted_at.windows(2).all(|w| w[1] - w[0] == 500),
            "{admitted_at:?}"
        );
    }

    #[test]
    fn an_early_visit_keeps_its_place_and_its_told_time() {
        let mut queue = one_per_second();
        queue.visit(at(0), Visit::Fresh);
        queued(queue.visit(at(0), Visit::Fresh));
        let (seq, position, back) = queued(queue.visit(at(0), Visit::Fresh));
        assert_eq!((position, back), (2, Duration::from_secs(2)));
        // Reloading half a second later: same place, half a second less to wait, no token spent.
        let (again, position, back) = queued(queue.visit(at(500), Visit::Ticket(seq)));
        assert_eq!(
            (again, position, back),
            (seq, 2, Duration::from_millis(1500))
        );
    }

    #[test]
    fn positions_move_up_when_people_ahead_are_admitted() {
        let mut queue = one_per_second();
        queue.visit(at(0), Visit::Fresh);
        let (first, _, _) = queued(queue.visit(at(0), Visit::Fresh));
        let (second, _, _) = queued(queue.visit(at(0), Visit::Fresh));
        let (third, _, _) = queued(queue.visit(at(0), Visit::Fresh));
        assert_eq!(
            queue.visit(at(1000), Visit::Ticket(first)),
            Decision::Admitted { seq: Some(first) }
        );
        assert_eq!(queued(queue.visit(at(1000), Visit::Ticket(third))).1, 2);
        assert_eq!(
            queue.visit(at(2000), Visit::Ticket(second)),
            Decision::Admitted { seq: Some(second) }
        );
        assert_eq!(queued(queue.visit(at(2000), Visit::Ticket(third))).1, 1);
    }

    #[test]
    fn an_absent_holder_is_dropped_after_the_grace_period_and_the_others_move_up() {
        // One admission every 2 minutes, so that the holders behind are told far later.
        let mut queue = Queue::new(QueueConfig::new(0.5), at(0));
        queue.record_drops(true);
        queue.visit(at(0), Visit::Fresh);
        let (absent, _, back) = queued(queue.visit(at(0), Visit::Fresh));
        assert_eq!(back, Duration::from_secs(120));
        queued(queue.visit(at(0), Visit::Fresh));
        let (behind, _, _) = queued(queue.visit(at(0), Visit::Fresh));
        // Still there at 120 s + 120 s - 1 ms; gone at 240 s.
        assert_eq!(queued(queue.visit(at(239_999), Visit::Ticket(behind))).1, 3);
        assert_eq!(queued(queue.visit(at(240_000), Visit::Ticket(behind))).1, 2);
        assert_eq!(queue.drain_dropped().collect::<Vec<_>>(), [absent]);
        assert_eq!(queue.stats().dropped, 1);
        // The dropped holder coming back starts again at the back.
        let (seq, position, _) = queued(queue.visit(at(240_000), Visit::Ticket(absent)));
        assert!(seq > behind);
        assert_eq!(position, 3);
    }

    #[test]
    fn a_holder_on_time_without_a_token_is_retold_behind_the_others_present() {
        let mut queue = one_per_second();
        queue.visit(at(0), Visit::Fresh);
        let (a, _, _) = queued(queue.visit(at(0), Visit::Fresh)); // told at 1 s
        let (b, _, _) = queued(queue.visit(at(0), Visit::Fresh)); // told at 2 s
                                                                  // A stranger takes the 1 s token; `a` finds the bucket empty and is told 1 s later.
        assert!(queue.admit_anonymous(at(1000)));
        let (_, position, back) = queued(queue.visit(at(1000), Visit::Ticket(a)));
        assert_eq!((position, back), (1, Duration::from_secs(1)));
        assert_eq!(
            queue.visit(at(2000), Visit::Ticket(a)),
            Decision::Admitted { seq: Some(a) }
        );
        // `b` then finds no token either, and is told to come at 3 s.
        assert_eq!(
            queued(queue.visit(at(2000), Visit::Ticket(b))).2,
            Duration::from_secs(1)
        );
        assert_eq!(queue.stats().retold, 2);
    }

    #[test]
    fn an_admitted_ticket_is_admitted_again_without_a_token_when_its_reply_was_lost() {
        let mut queue = one_per_second();
        queue.visit(at(0), Visit::Fresh);
        let (seq, _, _) = queued(queue.visit(at(0), Visit::Fresh));
        assert_eq!(
            queue.visit(at(1000), Visit::Ticket(seq)),
            Decision::Admitted { seq: Some(seq) }
        );
        assert_eq!(
            queue.visit(at(1100), Visit::Ticket(seq)),
            Decision::Admitted { seq: Some(seq) }
        );
        assert_eq!(queue.stats().admitted, 2);
        assert!(
            !queue.admit_anonymous(at(1100)),
            "the revisit must not have refilled or spent"
        );
    }

    #[test]
    fn a_ticket_from_before_a_restart_keeps_its_place() {
        let mut queue = one_per_second();
        queue.visit(at(0), Visit::Fresh);
        // Tickets 500 and 300 of the previous run come back; a newcomer queues behind both.
        assert_eq!(
            queued(queue.visit(at(0), Visit::Ticket(500))),
            (500, 1, Duration::from_secs(1))
        );
        assert_eq!(queued(queue.visit(at(0), Visit::Ticket(300))).1, 1);
        let (newcomer, position, _) = queued(queue.visit(at(0), Visit::Fresh));
        assert_eq!((newcomer, position), (501, 3));
        assert_eq!(queue.stats().restored, 2);
        // A number far beyond anything issued is not ours: a new place at the back.
        let (seq, position, _) = queued(queue.visit(at(0), Visit::Ticket(u64::MAX)));
        assert_eq!((seq, position), (502, 4));
    }

    #[test]
    fn the_no_show_estimate_converges_and_widens_the_schedule() {
        // 10 % of holders never come back; the others come back at their told time.
        let mut queue = Queue::new(QueueConfig::new(600.0).with_burst(1.0), at(0));
        let mut pending: Vec<(u64, u64)> = Vec::new(); // (told_at, seq)
        let mut now = 0;
        for k in 0..20_000u64 {
            now += 90; // newcomers a little faster than admissions: the queue grows slowly
            pending.retain(|&(told, seq)| {
                if told > now {
                    return true;
                }
                queue.visit(at(now), Visit::Ticket(seq));
                false
            });
            if let Decision::Queued { seq, return_in, .. } = queue.visit(at(now), Visit::Fresh) {
                if k % 10 != 0 {
                    pending.push((now + duration_millis(return_in), seq));
                }
            }
        }
        let a = queue.no_show_rate();
        assert!((a - 0.1).abs() < 0.02, "no-show estimate {a}");
        let Decision::Queued {
            advance_per_minute, ..
        } = queue.visit(at(now), Visit::Fresh)
        else {
            panic!("the queue is not empty");
        };
        assert!((advance_per_minute - 600.0 / (1.0 - a)).abs() < 1e-9);
    }

    #[test]
    fn dead_records_are_compacted_and_positions_stay_right() {
        let mut queue = Queue::new(QueueConfig::new(6_000.0).with_burst(1.0), at(0));
        let mut now = 0;
        for _ in 0..30_000 {
            now += 5;
            if let Decision::Queued { seq, return_in, .. } = queue.visit(at(now), Visit::Fresh) {
                // Everyone comes back on time: the front keeps dying.
                let back = at(now + duration_millis(return_in));
                queue.visit(back.max(at(now)), Visit::Ticket(seq));
            }
        }
        assert!(queue.base > 1, "compaction never ran");
        assert!(queue.records.len() < 30_000);
        let (_, position, _) = queued(queue.visit(at(now), Visit::Fresh));
        assert_eq!(position, queue.live());
    }

    /// Memory and time for a million live tickets (about 0.4 s in a debug build);
    /// `cargo test --release -p waitroom-gate million -- --nocapture` prints the numbers.
    #[test]
    fn a_million_live_tickets_fit_in_well_under_100_mb() {
        let started = std::time::Instant::now();
        let mut queue = Queue::new(QueueConfig::new(60.0), at(0));
        for _ in 0..1_000_000 {
            queue.visit(at(0), Visit::Fresh);
        }
        let filled = started.elapsed();
        let started = std::time::Instant::now();
        let mut sum = 0;
        for seq in (1..1_000_000).step_by(7) {
            if let Decision::Queued { position, .. } = queue.visit(at(1), Visit::Ticket(seq)) {
                sum += position;
            }
        }
        let polled = started.elapsed();
        let bytes = queue.heap_bytes();
        println!(
            "1M live: {:.1} MB, fill {filled:?}, 142 858 polls {polled:?} (checksum {sum})",
            bytes as f64 / 1e6
        );
        assert!(queue.live() >= 999_990);
        assert!(bytes < 100_000_000, "{bytes} bytes");
    }

    /// Throughput in the simulator's steady state: a 100 000-deep queue, everyone polling.
    /// `cargo test --release -p waitroom-gate throughput -- --ignored --nocapture`.
    #[test]
    #[ignore = "a benchmark: run in release"]
    fn steady_state_throughput() {
        let mut queue = Queue::new(QueueConfig::new(6_000.0), at(0));
        let mut seqs = Vec::new();
        for _ in 0..100_000 {
            if let Decision::Queued { seq, .. } = queue.visit(at(0), Visit::Fresh) {
                seqs.push(seq);
            }
        }
        let started = std::time::Instant::now();
        let calls = 10_000_000u64;
        let mut now = 0;
        for k in 0..calls {
            now += 1;
            let visit = if k % 10 == 0 {
                Visit::Fresh
            } else {
                Visit::Ticket(seqs[(k as usize * 7919) % seqs.len()])
            };
            if let Decision::Queued { seq, .. } = queue.visit(at(now), visit) {
                if k % 10 == 0 {
                    let slot = (k as usize / 10) % seqs.len();
                    seqs[slot] = seq;
                }
            }
        }
        let elapsed = started.elapsed();
        println!(
            "{calls} visits in {elapsed:?}: {:.0} ns each; {:?}",
            elapsed.as_nanos() as f64 / calls as f64,
            queue.stats()
        );
    }
}
