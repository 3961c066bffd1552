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
//! 2. Otherwise it gets the next sequence number and a *told time*: when to come back, its
//!    predicted turn. That is the *next free slot* at the end of the schedule: the schedule
//!    cursor, which advances by `(1 - a) / r` per newcomer (`r` the admission rate, `a` the
//!    no-show rate the cursor assumes), but never before the newcomer's turn as the current
//!    estimate sees it, `now + (S + (1 - â) E + 1 - tokens) / r`, where `S` holders stand by
//!    (below), `E` holders are *expected* (told, not back yet, not judged absent) and `â` is
//!    the no-show estimate. So what was told while the estimate was lower is corrected for
//!    everyone told after, rather than carried forward.
//! 3. While the gate has judged nobody, `a` is at least [`STANDBY_HEDGE`] (fading out over
//!    the first few hundred judgements): told times lean early rather than late, since a
//!    holder told too late leaves a slot nobody can take, and one told too early only stands
//!    by.
//! 4. Coming back at (or up to 1 s before) its told time with a token available, the holder
//!    is admitted. Coming back early changes nothing — same told time, same place — unless
//!    the bucket is about to overflow because the holders told for now are absent: then the
//!    *ready* holder present takes the slot, if nobody standing by is ahead of it.
//! 5. Coming back on time and finding no token (the schedule over-booked), the holder *stands
//!    by*: it is told the next free slot at the end of the schedule, exactly, one more
//!    request. The deficit stops there. (Handing it the next token instead takes the slot of
//!    the holder told for then, who finds no token either: one re-tell per holder until the
//!    end of the queue, which is what the simulator showed for the earlier "retry cursor".)
//! 6. A holder who has not come back within `grace` after its told time is dropped; the
//!    tickets behind it move up.
//!
//! No told time ever moves earlier: a holder standing by is told a slot after every slot
//! handed out so far, and an early visit keeps its told time (a proptest checks this).
//!
//! # In a shared store (Redis, Valkey)
//!
//! With `--store redis://…` every gate instance serves the same queue: [`crate::store`] runs
//! these very steps, function for function, as one Lua script (`src/store/queue.lua`, run with
//! `EVALSHA`), one atomic call per visit, like a call here under the gate's mutex:
//!
//! | here | in the store (keys `waitroom:{room}:…`) |
//! |---|---|
//! | `tokens`, `refilled_at`, `schedule`, `last_told`, `expected`, the no-show estimate, [`QueueStats`] | fields of the hash `…:q`, refilled on every call |
//! | sequence numbers | the field `next` of `…:q`, from the room's creation time in µs |
//! | `order` (positions) | the sorted set `…:live` scored by number: `ZCOUNT` |
//! | `lane_live`, `restored_from` | the sorted set `…:lane` scored by signed told time; keys `…:r:<seq>` |
//! | `standby_order` | the sorted set `…:sb`: `ZCOUNT` below a number |
//! | ticket records | a hash `…:t:<seq>` per ticket, expiring once it cannot be needed |
//! | `due` (checks, drops) | the sorted set `…:due` scored by time, drained by whoever calls first |
//! | compaction | key expiry |
//!
//! `gate/tests/redis.rs` drives this queue and the script with the same 8 000 calls and checks
//! that every decision is the same, to the millisecond.
//!
//! The simulator measures this algorithm against a crowd that gives up (0 to 30 %) and
//! arrives all at once (`waitroom-sim --sweep`, see `sim/README.md`).
//!
//! # After a restart
//!
//! The queue lives in memory, so a restarted gate knows none of the tickets its users hold.
//! Two rules keep their places honest:
//!
//! - **Numbers are never reissued.** The gate starts each queue's numbering at a clock-derived
//!   [`QueueConfig::first_seq`] (Unix time in µs), above anything an earlier instance issued, so
//!   an old ticket can never name a newcomer's place (two people sharing one place).
//! - **Old tickets go ahead of new ones, in their own order.** The [`RESTORE_LANE`] numbers
//!   just below `first_seq` are a lane for verified tickets of an earlier instance
//!   (`seq < first_seq`). Each one that comes back takes the next lane number, and every lane
//!   place is ahead of every newcomer of this instance. The gate signs the told time into each
//!   ticket ([`Visit::Signed`]), so the lane orders its places by that time (then by the old
//!   number), whoever comes back first, and keeps it: a holder who comes back early is told
//!   the same time again and is not admitted before it. Newcomers are told times after the
//!   latest restored one. The gate re-signs the ticket with the lane number; the same old
//!   ticket coming back again finds the same lane place. When the lane is full, old tickets
//!   start again at the back like newcomers.
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
use std::collections::{BinaryHeap, HashMap};
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
/// The no-show rate the schedule cursor assumes while the gate has judged nobody yet: the top
/// of the range a morning rush shows (0 to 30 % give up). It fades out linearly over the first
/// [`SURE_AFTER`] judgements. A told time is never earlier than the holder's turn as the
/// current estimate sees it, so the hedge only matters once the estimate rises above the prior.
pub const STANDBY_HEDGE: f64 = 0.3;
/// Judgements after which the hedge has faded out.
const SURE_AFTER: f64 = 300.0;
/// How many tickets of an earlier instance a queue restores, in the lane of sequence numbers
/// just below [`QueueConfig::first_seq`]. Each costs about 40 bytes, allocated as they come back.
pub const RESTORE_LANE: u64 = 65_536;
/// Sequence numbers stay below this, so that they never look like the gate's pass identifiers
/// for newcomers admitted without a ticket (which start at 2^63).
const MAX_FIRST_SEQ: u64 = 1 << 62;
/// Compaction waits for at least this many dead slots at the front (amortisation).
const COMPACT_MIN: usize = 4_096;
/// Deadlines a visit processes at most, and dead records it steps over: a visit never pays
/// for a backlog (300 000 absent holders falling due at once); a driver's timer calls
/// [`Queue::tidy`] for the rest.
const VISIT_STEPS: usize = 64;

/// Parameters of a [`Queue`].
///
/// # Default
///
/// [`QueueConfig::new`]: `burst` = max(2, r / 6) (10 s of admissions), `grace` = 120 s,
/// `return_jitter` = 5 s, `first_seq` = 1 (no restored lane). [`Default`] is `new(60.0)`.
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
    /// The first newcomer's sequence number. Tickets numbered below it come from an earlier
    /// instance and are restored in the lane of the [`RESTORE_LANE`] numbers below it (fewer
    /// when `first_seq` is small): see [After a restart](self#after-a-restart).
    pub first_seq: u64,
    /// The no-show rate expected before any is observed (0 to 0.9): the share of told holders
    /// who will not come back, from the previous morning, say. Told times handed out before the
    /// first no-show can be judged are spaced with it; observations then take over.
    pub expected_no_show: f64,
}

impl QueueConfig {
    /// The defaults for an admission rate of `admit_per_minute`.
    pub fn new(admit_per_minute: f64) -> Self {
        QueueConfig {
            admit_per_minute,
            // Ten seconds of admissions, and at least two: a bucket of one loses capacity
            // whenever a holder is a second late (its jitter), as the simulator showed.
            burst: (admit_per_minute / 6.0).max(2.0),
            grace: Duration::from_secs(120),
            return_jitter: Duration::from_secs(5),
            first_seq: 1,
            expected_no_show: 0.0,
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

    /// Sets the no-show rate expected before any is observed (clamped to 0–0.9).
    #[must_use]
    pub fn with_expected_no_show(mut self, rate: f64) -> Self {
        self.expected_no_show =
            if rate.is_finite() { rate.clamp(0.0, MAX_NO_SHOW_RATE) } else { 0.0 };
        self
    }

    /// Sets the first newcomer's sequence number. A restarted gate passes a number above any
    /// its earlier instances issued (the gate uses the Unix time in µs), so that old tickets are
    /// restored ahead of its newcomers instead of colliding with them.
    #[must_use]
    pub fn with_first_seq(mut self, first_seq: u64) -> Self {
        self.first_seq = first_seq;
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
    /// The holder of a verified ticket with this sequence number. Should the ticket come from
    /// an earlier instance, it is restored as told to be here now.
    Ticket(u64),
    /// The holder of a verified ticket that also says when its holder was told to come back:
    /// should it come from an earlier instance, it is restored in the order of that time.
    Signed {
        /// The ticket's sequence number.
        seq: u64,
        /// When its holder was told to come back.
        told: Timestamp,
    },
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
    /// Tickets of an earlier instance restored in the lane (gate restart).
    pub restored: u64,
    /// Times a holder came on time but found no token and was told a new time.
    pub retold: u64,
}

/// What the queue remembers of a sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
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
    /// Whether its holder has visited since the ticket was issued, on time or not: a slow
    /// poller (a 20 s refresh page) is present even if it comes back after the check.
    returned: bool,
    /// Expected: not yet back on time and not judged absent; counted at `1 - a` in turns.
    expected: bool,
    /// Standing by at the end of the schedule after finding no token on time: present, so no
    /// early visitor behind it may take a spare token before it.
    standby: bool,
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

/// Where a record is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    /// `lane[j]`: a ticket of an earlier instance, numbered `lane_base + j`.
    Lane(usize),
    /// `records[i]`: a newcomer of this instance, numbered `base + i`.
    Main(usize),
}

/// Where a sequence number stands.
enum Lookup {
    /// Its record.
    Record(Slot),
    /// Issued once, but compacted away (dropped or admitted long ago).
    Forgotten,
    /// Below `first_seq` and not restored yet: a ticket of an earlier instance.
    Earlier,
    /// At or beyond the next number to issue: not one of ours.
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
    /// Sequence number of `lane[0]`: `first_seq` minus the lane's capacity.
    lane_base: u64,
    /// Restored tickets of an earlier instance, in the order they came back; never compacted
    /// (at most [`RESTORE_LANE`] records).
    lane: Vec<Ticket>,
    /// The order key of `lane[j]`: its signed told time (ms) and its earlier number.
    lane_keys: Vec<(u64, u64)>,
    /// The keys of the live lane records, sorted: a record's position in the lane is its
    /// key's rank. Every live lane record is ahead of every main record.
    lane_live: Vec<(u64, u64)>,
    /// The lane index given to each earlier ticket, so that it finds its place again.
    restored_from: HashMap<u64, usize>,
    due: BinaryHeap<Reverse<Due>>,
    /// Schedule cursor C: the next free slot at the end of the schedule, in ms.
    schedule: f64,
    /// The latest slot handed out (to a newcomer or a holder standing by), in ms: a holder
    /// standing by goes at least one gap after it, so that it never shares a slot.
    last_told: f64,
    /// Expected records (not yet back on time, not judged absent), lane included.
    expected: u64,
    /// 1 for each main record standing by, by slot like `order`; and the lane's count.
    standby_order: Fenwick,
    lane_standby: u64,
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
    /// If `admit_per_minute` is not a positive finite number, `burst` is below 1 or
    /// `first_seq` is 2^62 or more.
    pub fn new(config: QueueConfig, now: Timestamp) -> Self {
        assert!(
            config.admit_per_minute.is_finite() && config.admit_per_minute > 0.0,
            "admit_per_minute must be positive, got {}",
            config.admit_per_minute
        );
        assert!(config.burst >= 1.0, "burst must be at least 1, got {}", config.burst);
        assert!(
            config.first_seq < MAX_FIRST_SEQ,
            "first_seq must be below 2^62, got {}",
            config.first_seq
        );
        let now = now.as_millis();
        // Sequence number 0 is never issued, so the lane never reaches it.
        let lane_base = config.first_seq - RESTORE_LANE.min(config.first_seq.saturating_sub(1));
        Queue {
            rate: config.admit_per_minute / 60_000.0,
            tokens: config.burst,
            refilled_at: now,
            base: config.first_seq,
            records: Vec::new(),
            order: Fenwick::new(),
            head: 0,
            lane_base,
            lane: Vec::new(),
            lane_keys: Vec::new(),
            lane_live: Vec::new(),
            restored_from: HashMap::new(),
            due: BinaryHeap::new(),
            schedule: now as f64,
            last_told: now as f64,
            expected: 0,
            standby_order: Fenwick::new(),
            lane_standby: 0,
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
        self.housekeep(now, VISIT_STEPS);
        let (seq, told) = match visit {
            Visit::Fresh => return self.newcomer(now),
            Visit::Ticket(seq) => (seq, None),
            Visit::Signed { seq, told } => (seq, Some(told.as_millis())),
        };
        match self.lookup(seq) {
            Lookup::Record(slot) => match self.record(slot).state {
                State::Live => self.holder_visit(now, slot),
                State::Admitted => Decision::Admitted { seq: Some(self.seq_of(slot)) },
                State::Dropped => self.newcomer(now),
            },
            Lookup::Earlier if self.lane_has_room() => self.restore(now, seq, told),
            Lookup::Earlier | Lookup::Forgotten | Lookup::Implausible => self.newcomer(now),
        }
    }

    /// The "503 when full" server, for comparisons: admits iff a token is available, ignoring
    /// the queue. Shares the bucket with [`Queue::visit`].
    pub fn admit_anonymous(&mut self, now: Timestamp) -> bool {
        self.housekeep(now.as_millis(), VISIT_STEPS);
        self.take_token()
    }

    /// Whether `visit` would take a new place at the back (a newcomer, or a ticket whose place
    /// is gone), rather than an existing or a restored one: what a cap on the queue refuses.
    pub fn would_join(&self, visit: Visit) -> bool {
        let (Visit::Ticket(seq) | Visit::Signed { seq, .. }) = visit else {
            return true;
        };
        match self.lookup(seq) {
            Lookup::Record(slot) => self.record(slot).state == State::Dropped,
            Lookup::Earlier => !self.lane_has_room(),
            Lookup::Forgotten | Lookup::Implausible => true,
        }
    }

    /// When ticket `seq` was admitted, while the queue remembers it (see
    /// [`Decision::Admitted`]: a lost reply is answered again until then). The gate signs the
    /// pass from this time, so that the same admission always gives the same pass.
    pub fn admitted_at(&self, seq: u64) -> Option<Timestamp> {
        let Lookup::Record(slot) = self.lookup(seq) else { return None };
        let record = self.record(slot);
        (record.state == State::Admitted).then(|| Timestamp::from_millis(record.told_at))
    }

    /// Tickets currently waiting.
    pub fn live(&self) -> u64 {
        self.stats.live
    }

    /// Estimated share of told times whose holder does not come back, in `[0, 0.9]`.
    ///
    /// The mean of the judgements so far, shrunk towards the expected rate `e`
    /// ([`QueueConfig::expected_no_show`], 0 unless set) by a prior worth 20 holders: with `n`
    /// judgements of which `k` no-shows, `(k + 20 e) / (n + 20)`, where `n` stops growing at
    /// 2 000 (older judgements fade out).
    pub fn no_show_rate(&self) -> f64 {
        let estimate = (self.no_show_mean * self.judgements
            + self.config.expected_no_show * PRIOR_SHOWS)
            / (self.judgements + PRIOR_SHOWS);
        estimate.min(MAX_NO_SHOW_RATE)
    }

    /// Counters since the queue was created.
    pub fn stats(&self) -> QueueStats {
        self.stats
    }

    /// The earliest time at which the queue has work of its own (a no-show check or a drop),
    /// so that a driver can call [`Queue::handle_timeout`] or [`Queue::tidy`] then. Calls to
    /// `visit` do some of this work too (at most 64 deadlines each), so a driver that answers
    /// many visits keeps up without a timer, but only a timer clears a backlog.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        self.due.peek().map(|Reverse(due)| Timestamp::from_millis(due.at))
    }

    /// Does all the work that has fallen due by `now`: refills the bucket, judges no-shows,
    /// drops absent holders, forgets the dead front.
    pub fn handle_timeout(&mut self, now: Timestamp) {
        while self.tidy(now, usize::MAX) {}
    }

    /// Does at most `max_steps` deadlines' worth of the work fallen due by `now` (and steps
    /// over as many dead records); returns whether some is left. A server calls it on a timer,
    /// in short batches between which requests are served.
    pub fn tidy(&mut self, now: Timestamp, max_steps: usize) -> bool {
        self.housekeep(now.as_millis(), max_steps)
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
        (self.records.capacity() + self.lane.capacity()) * std::mem::size_of::<Ticket>()
            + self.order.heap_bytes()
            + (self.lane_keys.capacity() + self.lane_live.capacity())
                * std::mem::size_of::<(u64, u64)>()
            + self.standby_order.heap_bytes()
            + self.restored_from.capacity() * 2 * std::mem::size_of::<u64>()
            + self.due.capacity() * std::mem::size_of::<Reverse<Due>>()
    }

    /// Changes the admission rate (and the bucket's capacity) at `now`, at once.
    ///
    /// No told time ever moves earlier, and nobody is asked to come back all at once:
    ///
    /// - **Lower**: every told time still ahead is stretched by `old / new` from `now`
    ///   (`now + (T - now) · old / new`), with the schedule cursor and every deadline, so the
    ///   queue keeps its order and its spacing grows to the new rate. A holder learns its new
    ///   time when it next polls (at its old time, as it was told), not before.
    /// - **Higher**: told times stay as they were (they are promises); the extra capacity goes
    ///   to holders present early when the bucket would overflow, and to newcomers, whose turn
    ///   is computed at the new rate but never before the end of the schedule already told.
    ///
    /// # Panics
    ///
    /// If `admit_per_minute` is not a positive finite number or `burst` is below 1.
    pub fn set_rate(&mut self, now: Timestamp, admit_per_minute: f64, burst: f64) {
        assert!(
            admit_per_minute.is_finite() && admit_per_minute > 0.0,
            "admit_per_minute must be positive, got {admit_per_minute}"
        );
        assert!(burst >= 1.0, "burst must be at least 1, got {burst}");
        let now_ms = now.as_millis();
        // Tokens earned so far are earned at the old rate.
        self.housekeep(now_ms, 0);
        let stretch = self.config.admit_per_minute / admit_per_minute;
        if stretch > 1.0 {
            let start = now_ms as f64;
            // Nobody need wait longer than the whole queue takes at the new rate: a rate
            // lowered, raised and lowered again does not stretch the same wait twice.
            let horizon = start + (self.stats.live as f64 + 1.0) * 60_000.0 / admit_per_minute;
            self.remap_times(
                |t| if t > start { (start + (t - start) * stretch).min(horizon.max(t)) } else { t },
                0,
            );
        }
        self.config.admit_per_minute = admit_per_minute;
        self.config.burst = burst;
        self.rate = admit_per_minute / 60_000.0;
        self.tokens = self.tokens.min(burst);
    }

    /// Brings back a queue left untouched (no visit, no tidy-up) since `closed_at`, the gate
    /// having been closed: every told time, deadline and the schedule move later by the time
    /// it was closed, so every holder keeps its place and its wait; no deadline (drop or
    /// no-show judgement) falls before `hold_until`, so that holders told to stay away while
    /// it was closed have time to come back; and the bucket is as it was when it closed.
    pub fn reopen(&mut self, closed_at: Timestamp, now: Timestamp, hold_until: Timestamp) {
        let closed_for = now.as_millis().saturating_sub(closed_at.as_millis());
        self.refilled_at += closed_for;
        let shift = closed_for as f64;
        self.remap_times(|t| t + shift, hold_until.as_millis());
    }

    /// Applies `f` (non-decreasing, `f(t) >= t`) to every live told time, the schedule and
    /// every deadline (then at least `floor`). The order tree and the lane's order keys do not
    /// depend on told times, so only the deadline heap is rebuilt: O(n), for an operator's
    /// change, not per request.
    fn remap_times(&mut self, f: impl Fn(f64) -> f64, floor: u64) {
        let map = |t: u64| (f(t as f64).ceil() as u64).max(t);
        for record in self.records.iter_mut().chain(self.lane.iter_mut()) {
            if record.state == State::Live {
                record.told_at = map(record.told_at);
            }
        }
        self.schedule = f(self.schedule).max(self.schedule);
        self.last_told = f(self.last_told).max(self.last_told);
        let mut due = std::mem::take(&mut self.due).into_vec();
        let grace = duration_millis(self.config.grace);
        let check = duration_millis(self.config.return_jitter) + CHECK_MARGIN_MS;
        for Reverse(d) in &mut due {
            d.at = map(d.at).max(floor);
            // A deadline keeps its distance after its ticket's told time.
            if let Lookup::Record(slot) = self.lookup(d.seq) {
                let record = self.record(slot);
                if record.state == State::Live && record.generation == d.generation {
                    let after = if d.kind == Kind::Check { check } else { grace };
                    d.at = d.at.max(record.told_at.saturating_add(after));
                }
            }
        }
        self.due = BinaryHeap::from(due);
    }

    /// The told time of live ticket `seq`, if any: when its holder was last told to come back.
    pub fn told_at(&self, seq: u64) -> Option<Timestamp> {
        let Lookup::Record(slot) = self.lookup(seq) else { return None };
        let record = self.record(slot);
        (record.state == State::Live).then(|| Timestamp::from_millis(record.told_at))
    }

    /// The latest told time handed out so far (the last in line's), if later than `now`.
    pub fn last_told_at(&self, now: Timestamp) -> Timestamp {
        Timestamp::from_millis((self.last_told.ceil() as u64).max(now.as_millis()))
    }

    fn next_seq(&self) -> u64 {
        self.base + self.records.len() as u64
    }

    fn lookup(&self, seq: u64) -> Lookup {
        if seq >= self.config.first_seq {
            if seq < self.base {
                Lookup::Forgotten
            } else if seq < self.next_seq() {
                Lookup::Record(Slot::Main((seq - self.base) as usize))
            } else {
                Lookup::Implausible
            }
        } else if seq >= self.lane_base && seq - self.lane_base < self.lane.len() as u64 {
            // A lane number this queue gave. (An earlier instance's numbers lie far below the
            // lane: it started at least the lane's width of microseconds earlier.)
            Lookup::Record(Slot::Lane((seq - self.lane_base) as usize))
        } else if let Some(&j) = self.restored_from.get(&seq) {
            Lookup::Record(Slot::Lane(j))
        } else {
            Lookup::Earlier
        }
    }

    fn lane_has_room(&self) -> bool {
        (self.lane.len() as u64) < self.config.first_seq - self.lane_base
    }

    fn seq_of(&self, slot: Slot) -> u64 {
        match slot {
            Slot::Lane(j) => self.lane_base + j as u64,
            Slot::Main(i) => self.base + i as u64,
        }
    }

    fn record(&self, slot: Slot) -> &Ticket {
        match slot {
            Slot::Lane(j) => &self.lane[j],
            Slot::Main(i) => &self.records[i],
        }
    }

    fn record_mut(&mut self, slot: Slot) -> &mut Ticket {
        match slot {
            Slot::Lane(j) => &mut self.lane[j],
            Slot::Main(i) => &mut self.records[i],
        }
    }

    /// Takes a live record out of the order (admitted or dropped).
    fn leave_order(&mut self, slot: Slot) {
        match slot {
            Slot::Lane(j) => {
                if let Ok(rank) = self.lane_live.binary_search(&self.lane_keys[j]) {
                    self.lane_live.remove(rank);
                }
            }
            Slot::Main(i) => self.order.add(i + 1, -1),
        }
        self.stats.live -= 1;
    }

    /// Appends a record for the next sequence number; returns its index.
    fn push_record(&mut self, ticket: Ticket) -> usize {
        self.records.push(ticket);
        self.order.push(u32::from(ticket.state == State::Live));
        self.standby_order.push(u32::from(ticket.standby));
        self.expected += u64::from(ticket.expected);
        self.records.len() - 1
    }

    /// Marks a record as no longer expected (back on time, judged absent, admitted, dropped).
    fn unexpect(&mut self, slot: Slot) {
        let record = self.record_mut(slot);
        if record.expected {
            record.expected = false;
            self.expected -= 1;
        }
    }

    /// Puts a record in or out of the standby set.
    fn set_standby(&mut self, slot: Slot, on: bool) {
        if self.record(slot).standby == on {
            return;
        }
        self.record_mut(slot).standby = on;
        match slot {
            Slot::Lane(_) if on => self.lane_standby += 1,
            Slot::Lane(_) => self.lane_standby -= 1,
            Slot::Main(i) => self.standby_order.add(i + 1, if on { 1 } else { -1 }),
        }
    }

    /// Holders standing by ahead of `slot` (for a lane record, the whole lane's: the lane is
    /// small and only lives after a restart).
    fn standby_ahead(&self, slot: Slot) -> u64 {
        match slot {
            Slot::Lane(_) => self.lane_standby,
            Slot::Main(i) => self.lane_standby + self.standby_order.prefix(i),
        }
    }

    /// Holders standing by: came on time, found no token, and were told the next free slot
    /// at the end of the schedule.
    pub fn standing_by(&self) -> u64 {
        self.lane_standby + self.standby_order.prefix(self.standby_order.len())
    }

    fn position(&self, slot: Slot) -> u64 {
        match slot {
            Slot::Lane(j) => match self.lane_live.binary_search(&self.lane_keys[j]) {
                Ok(rank) | Err(rank) => rank as u64 + 1,
            },
            Slot::Main(i) => self.lane_live.len() as u64 + self.order.prefix(i + 1),
        }
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
        let told = self.next_free_slot(now);
        self.last_told = told;
        self.schedule = told + (1.0 - self.telling_no_show_rate()) / self.rate;
        let seq = self.next_seq();
        let told_at = told.ceil() as u64;
        let i = self.push_record(Ticket {
            told_at,
            generation: 0,
            state: State::Live,
            judged: false,
            returned: false,
            expected: true,
            standby: false,
        });
        self.stats.live += 1;
        self.stats.issued += 1;
        let check_at =
            told_at.saturating_add(duration_millis(self.config.return_jitter) + CHECK_MARGIN_MS);
        self.due.push(Reverse(Due { at: check_at, seq, generation: 0, kind: Kind::Check }));
        self.queued(now, Slot::Main(i))
    }

    fn admit(&mut self, now: u64, slot: Slot) -> Decision {
        self.unexpect(slot);
        self.set_standby(slot, false);
        let record = self.record_mut(slot);
        record.state = State::Admitted;
        record.told_at = now;
        self.leave_order(slot);
        Decision::Admitted { seq: Some(self.seq_of(slot)) }
    }

    /// A holder of a live ticket is back.
    fn holder_visit(&mut self, now: u64, slot: Slot) -> Decision {
        self.record_mut(slot).returned = true;
        let ticket = *self.record(slot);
        if now + ON_TIME_SLACK_MS < ticket.told_at {
            // Early (a reload, a poller, a hostile client): same told time, same place — unless
            // the bucket is about to overflow because the holders told for now are absent and
            // this one is due within the bucket's span. Then the next present ticket takes the
            // slot rather than letting capacity go to waste — but never ahead of a holder
            // standing by, who was present first. Not a restored holder: its told time is its
            // only promise after a restart.
            let horizon = self.config.burst / self.rate;
            let due_soon =
                matches!(slot, Slot::Main(_)) && (ticket.told_at as f64) <= now as f64 + horizon;
            if due_soon
                && self.tokens >= self.config.burst - 1.0
                && self.standby_ahead(slot) == 0
                && self.take_token()
            {
                return self.admit(now, slot);
            }
            return self.queued(now, slot);
        }
        self.unexpect(slot);
        if self.take_token() {
            return self.admit(now, slot);
        }
        self.stand_by(now, slot);
        self.queued(now, slot)
    }

    /// The next free slot at the end of the schedule, in ms: the schedule cursor, but never
    /// before the turn of someone behind everyone as the current estimate sees it (those
    /// standing by, the expected holders but the share that will not show, then them), nor
    /// before the bucket can serve it. So what was told while the estimate was lower, or
    /// hedged, is corrected at once for everyone told after, rather than carried forward.
    fn next_free_slot(&self, now: u64) -> f64 {
        let ahead = self.standing_by() as f64 + (1.0 - self.no_show_rate()) * self.expected as f64;
        let turn = now as f64 + (ahead + 1.0 - self.tokens).max(0.0) / self.rate;
        self.schedule.max(turn).max(self.token_ready_at(now))
    }

    /// A holder came on time and found no token: the schedule over-booked. It stands by for the
    /// next free slot at the end of the schedule, ahead of every later newcomer, and is told it
    /// exactly: one more request for it, and the deficit stops here. (Handing it the next token
    /// instead would take the slot of the holder told for then, who would find no token either:
    /// one re-tell per holder until the end of the queue, as the simulator showed.)
    fn stand_by(&mut self, now: u64, slot: Slot) {
        let gap = 1.0 / self.rate;
        let told = self
            .schedule
            .max(self.last_told + gap)
            .max(now as f64 + gap)
            .max(self.record(slot).told_at as f64);
        self.schedule = told + gap;
        self.last_told = told;
        self.set_standby(slot, true);
        let grace = duration_millis(self.config.grace);
        let seq = self.seq_of(slot);
        let record = self.record_mut(slot);
        record.told_at = told.ceil() as u64;
        record.generation = record.generation.wrapping_add(1);
        let due = Due {
            at: record.told_at.saturating_add(grace),
            seq,
            generation: record.generation,
            kind: Kind::Drop,
        };
        self.due.push(Reverse(due));
        self.stats.retold += 1;
    }

    /// A verified ticket of an earlier instance (the gate restarted with the same secret): it
    /// takes the next lane number, ahead of this instance's newcomers, placed among the other
    /// restored ones by the time it was told (without one, told to be here now: it came back
    /// when it was told to, or it would have expired).
    fn restore(&mut self, now: u64, earlier_seq: u64, told: Option<u64>) -> Decision {
        let told_at = told.unwrap_or(now);
        let j = self.lane.len();
        let key = (told_at, earlier_seq);
        // Holders mostly come back in their told order: the insertion is usually at the end.
        let rank = self.lane_live.partition_point(|k| *k < key);
        self.lane_live.insert(rank, key);
        self.lane_keys.push(key);
        // Newcomers of this instance queue behind the restored places: the earlier instance
        // promised the slots up to this told time to its own holders.
        self.schedule = self.schedule.max(told_at as f64 + 1.0 / self.rate);
        self.lane.push(Ticket {
            told_at,
            generation: 0,
            state: State::Live,
            judged: true,
            returned: true,
            expected: false,
            standby: false,
        });
        self.restored_from.insert(earlier_seq, j);
        let slot = Slot::Lane(j);
        self.due.push(Reverse(Due {
            at: told_at.max(now) + duration_millis(self.config.grace),
            seq: self.seq_of(slot),
            generation: 0,
            kind: Kind::Drop,
        }));
        self.stats.live += 1;
        self.stats.restored += 1;
        self.holder_visit(now, slot)
    }

    fn queued(&self, now: u64, slot: Slot) -> Decision {
        let return_in = Duration::from_millis(self.record(slot).told_at.saturating_sub(now));
        Decision::Queued {
            seq: self.seq_of(slot),
            position: self.position(slot),
            return_in,
            eta: return_in,
            advance_per_minute: self.config.admit_per_minute / (1.0 - self.no_show_rate()),
        }
    }

    /// The no-show rate the schedule cursor assumes: [`Queue::scheduling_no_show_rate`], or while
    /// the gate is still unsure, at least [`STANDBY_HEDGE`] fading out over [`SURE_AFTER`]
    /// judgements.
    fn telling_no_show_rate(&self) -> f64 {
        let unsure = (1.0 - self.judgements / SURE_AFTER).max(0.0);
        self.scheduling_no_show_rate().max(STANDBY_HEDGE * unsure)
    }

    /// The no-show rate the schedule assumes: the estimate less half its standard error.
    /// Over-booking costs more than under-booking (holders who find no token are re-told
    /// into slots already promised), so the schedule leans to the low side while the estimate
    /// is still noisy; with many judgements the two converge.
    fn scheduling_no_show_rate(&self) -> f64 {
        let p = self.no_show_rate();
        let n = self.judgements + PRIOR_SHOWS;
        (p - 0.5 * (p * (1.0 - p) / n).sqrt()).max(0.0)
    }

    fn judge(&mut self, no_show: bool) {
        self.judgements = (self.judgements + 1.0).min(ESTIMATE_WINDOW);
        let x = if no_show { 1.0 } else { 0.0 };
        self.no_show_mean += (x - self.no_show_mean) / self.judgements;
    }

    /// Refills the bucket, processes at most `max_steps` due deadlines and compacts the dead
    /// front; returns whether work is left.
    fn housekeep(&mut self, now: u64, max_steps: usize) -> bool {
        if now > self.refilled_at {
            let earned = (now - self.refilled_at) as f64 * self.rate;
            self.tokens = (self.tokens + earned).min(self.config.burst);
            self.refilled_at = now;
        }
        let mut steps = 0;
        while let Some(&Reverse(due)) = self.due.peek() {
            if due.at > now {
                break;
            }
            if steps == max_steps {
                return true;
            }
            steps += 1;
            self.due.pop();
            self.fall_due(now, due);
        }
        self.compact(now, max_steps)
    }

    fn fall_due(&mut self, now: u64, due: Due) {
        let Lookup::Record(slot) = self.lookup(due.seq) else {
            return;
        };
        let record = *self.record(slot);
        if due.kind == Kind::Check && !record.judged {
            // Shows and no-shows are both counted here, at the same delay after the told time,
            // so that while the queue ramps up neither is counted sooner than the other.
            self.record_mut(slot).judged = true;
            self.judge(!(record.returned || record.state == State::Admitted));
        }
        if record.state != State::Live || record.generation != due.generation {
            return;
        }
        match due.kind {
            Kind::Check => {
                // Not back on time: no longer expected (if it comes late, it is still served).
                self.unexpect(slot);
                let drop_at = record.told_at.saturating_add(duration_millis(self.config.grace));
                let next = Due { at: drop_at.max(now), kind: Kind::Drop, ..due };
                self.due.push(Reverse(next));
            }
            Kind::Drop => {
                self.unexpect(slot);
                self.set_standby(slot, false);
                self.record_mut(slot).state = State::Dropped;
                self.leave_order(slot);
                self.stats.dropped += 1;
                if let Some(log) = &mut self.dropped_log {
                    log.push(due.seq);
                }
            }
        }
    }

    /// Forgets the dead front of the records once it is large, rebuilding the order tree:
    /// O(1) amortised per ticket.
    fn compact(&mut self, now: u64, max_steps: usize) -> bool {
        let grace = duration_millis(self.config.grace);
        let mut steps = 0;
        while let Some(record) = self.records.get(self.head) {
            if steps == max_steps {
                return true;
            }
            steps += 1;
            let dead = match record.state {
                State::Live => false,
                // A lost admission reply is retried with a ticket that expires `grace` after its
                // told time, which was at most the on-time slack after the admission: the record
                // is not needed after that.
                State::Admitted => now >= record.told_at.saturating_add(grace + ON_TIME_SLACK_MS),
                State::Dropped => true,
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
            let live = self.records.iter().map(|r| u32::from(r.state == State::Live));
            self.order.rebuild(live);
            self.standby_order.rebuild(self.records.iter().map(|r| u32::from(r.standby)));
        }
        false
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
            Decision::Queued { seq, position, return_in, .. } => (seq, position, return_in),
            other => panic!("expected queued, got {other:?}"),
        }
    }

    /// 60 per minute, bucket of 1: one admission per second.
    fn one_per_second() -> Queue {
        Queue::new(QueueConfig::new(60.0).with_burst(1.0), at(0))
    }

    /// `n` newcomers at t0 into a queue of one per second; their numbers and told times (ms).
    fn crowd_at_t0(queue: &mut Queue, n: usize) -> Vec<(u64, u64)> {
        (0..n)
            .filter_map(|_| match queue.visit(at(0), Visit::Fresh) {
                Decision::Queued { seq, return_in, .. } => {
                    Some((seq, T0 + duration_millis(return_in)))
                }
                Decision::Admitted { .. } => None,
            })
            .collect()
    }

    #[test]
    fn a_lower_rate_stretches_told_times_never_earlier_and_serves_them_in_order() {
        let mut queue = one_per_second();
        let told = crowd_at_t0(&mut queue, 40);
        assert_eq!(told.len(), 39);
        // Halved 5 s in: what lay 20 s ahead now lies 40 s ahead.
        queue.set_rate(at(5_000), 30.0, 1.0);
        let mut admitted = Vec::new();
        for &(seq, old) in &told {
            // Each holder comes back when it was told, and learns its new time.
            let now = Timestamp::from_millis(old.max(T0 + 5_000));
            match queue.visit(now, Visit::Ticket(seq)) {
                Decision::Admitted { .. } => admitted.push(seq),
                Decision::Queued { return_in, .. } => {
                    let new = now.as_millis() + duration_millis(return_in);
                    assert!(new >= old, "ticket {seq} told {old}, now {new}: earlier");
                    if old > T0 + 5_000 + 1_000 {
                        let stretched = T0 + 5_000 + 2 * (old - T0 - 5_000);
                        assert!(new.abs_diff(stretched) <= 1, "{seq}: {new} vs {stretched}");
                    }
                }
            }
        }
        // Their new times keep the order and the spacing, doubled: no two holders at once.
        // (Those all present at the change, late for their times, found one token between
        // them and stood by at the end of the schedule, as without a change.)
        let mut new: Vec<u64> =
            told.iter().filter_map(|&(seq, _)| queue.told_at(seq)).map(|t| t.as_millis()).collect();
        assert_eq!(new.len(), told.len() - admitted.len());
        new.sort_unstable();
        for pair in new.windows(2) {
            assert!(pair[1] >= pair[0] + 1_999, "{new:?}");
        }
        let mut sorted = admitted.clone();
        sorted.sort_unstable();
        assert_eq!(admitted, sorted, "served out of order");
    }

    #[test]
    fn a_higher_rate_keeps_every_told_time() {
        let mut queue = one_per_second();
        let told = crowd_at_t0(&mut queue, 30);
        queue.set_rate(at(3_000), 600.0, 100.0);
        for &(seq, old) in &told {
            assert_eq!(queue.told_at(seq), Some(Timestamp::from_millis(old)));
        }
        // A newcomer is told no earlier than the last in line.
        let (_, _, wait) = queued(queue.visit(at(3_000), Visit::Fresh));
        assert!(T0 + 3_000 + duration_millis(wait) >= told.last().unwrap().1);
    }

    #[test]
    fn a_queue_reopened_after_an_hour_keeps_every_place_and_wait() {
        let mut queue = one_per_second();
        let told = crowd_at_t0(&mut queue, 20);
        // Closed 5 s in for an hour: nobody visits, the tidy-up does not run.
        let hour = 3_600_000;
        let reopened = at(5_000 + hour);
        queue.reopen(at(5_000), reopened, at(5_000 + hour + 330_000));
        assert_eq!(queue.live(), 19);
        for &(seq, old) in &told {
            assert_eq!(queue.told_at(seq), Some(Timestamp::from_millis(old + hour)));
        }
        // Those told for after the reopening, asking early, find their place and time.
        for (k, &(seq, old)) in told.iter().enumerate().skip(10) {
            let (same, position, wait) = queued(queue.visit(reopened, Visit::Ticket(seq)));
            assert_eq!((same, position), (seq, k as u64 + 1));
            assert_eq!(reopened.as_millis() + duration_millis(wait), old + hour);
        }
        // Told 4 s after t0, the fourth holder is still there 330 s after the reopening.
        let (seq, _) = told[3];
        let late = at(5_000 + hour + 320_000);
        queue.tidy(late, usize::MAX);
        assert!(queue.told_at(seq).is_some(), "dropped while it was told to stay away");
        assert_eq!(queue.visit(late, Visit::Ticket(seq)), Decision::Admitted { seq: Some(seq) });
    }

    #[test]
    fn an_expected_no_show_rate_spaces_the_first_told_times_before_any_is_observed() {
        let told = |expected: f64| {
            let config = QueueConfig::new(60.0).with_burst(1.0).with_expected_no_show(expected);
            let mut queue = Queue::new(config, at(0));
            queue.visit(at(0), Visit::Fresh);
            (0..3)
                .map(|_| queued(queue.visit(at(0), Visit::Fresh)).2.as_millis())
                .collect::<Vec<_>>()
        };
        // One a second by default; with half the holders expected to stay away, the schedule
        // assumes 0.444 (the expectation less half its standard error over a prior of 20).
        assert_eq!(told(0.0), [1_000, 2_000, 3_000]);
        assert_eq!(told(0.5), [1_000, 1_556, 2_112]);
        // Out-of-range expectations are clamped, never trusted.
        assert_eq!(
            QueueConfig::new(60.0).with_expected_no_show(7.0).expected_no_show,
            MAX_NO_SHOW_RATE
        );
        assert_eq!(QueueConfig::new(60.0).with_expected_no_show(f64::NAN).expected_no_show, 0.0);
    }

    #[test]
    fn an_early_present_holder_takes_the_slot_an_absent_one_would_waste() {
        let mut queue = Queue::new(QueueConfig::new(60.0).with_burst(2.0), at(0));
        queue.visit(at(0), Visit::Fresh);
        queue.visit(at(0), Visit::Fresh);
        let (_absent, _, _) = queued(queue.visit(at(0), Visit::Fresh)); // told at 1 s
        let (_, _, _) = queued(queue.visit(at(0), Visit::Fresh)); // told at 2 s
        let (c, _, back) = queued(queue.visit(at(0), Visit::Fresh)); // told at 3 s
        assert_eq!(back, Duration::from_secs(3));
        // Half a token in the bucket: nothing is wasted yet, so an early visit waits its turn.
        assert_eq!(queued(queue.visit(at(500), Visit::Ticket(c))).2, Duration::from_millis(2_500));
        // At 1.5 s the holder told for 1 s is absent and the bucket is filling up towards its
        // cap: the present holder takes that slot instead of letting it go to waste.
        assert_eq!(queue.visit(at(1_500), Visit::Ticket(c)), Decision::Admitted { seq: Some(c) });
    }

    #[test]
    fn newcomers_get_positions_one_two_three_in_arrival_order() {
        let mut queue = one_per_second();
        assert_eq!(queue.visit(at(0), Visit::Fresh), Decision::Admitted { seq: None });
        let positions: Vec<u64> =
            (0..3).map(|_| queued(queue.visit(at(0), Visit::Fresh)).1).collect();
        assert_eq!(positions, [1, 2, 3]);
        assert_eq!(queue.live(), 3);
    }

    #[test]
    fn told_times_are_spread_at_the_admission_rate() {
        let mut queue = one_per_second();
        queue.visit(at(0), Visit::Fresh);
        let returns: Vec<Duration> =
            (0..4).map(|_| queued(queue.visit(at(0), Visit::Fresh)).2).collect();
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
            assert_eq!(queue.visit(now, Visit::Ticket(seq)), Decision::Admitted { seq: Some(seq) });
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
        assert!(admitted_at.windows(2).all(|w| w[1] - w[0] == 500), "{admitted_at:?}");
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
        assert_eq!((again, position, back), (seq, 2, Duration::from_millis(1500)));
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
        let mut queue = Queue::new(QueueConfig::new(0.5).with_burst(1.0), at(0));
        queue.record_drops(true);
        queue.visit(at(0), Visit::Fresh);
        let (absent, _, back) = queued(queue.visit(at(0), Visit::Fresh));
        assert_eq!(back, Duration::from_secs(120));
        queued(queue.visit(at(0), Visit::Fresh));
        let (behind, _, _) = queued(queue.visit(at(0), Visit::Fresh));
        // Still there at 120 s + 120 s - 1 ms; gone at 240 s. (A stranger takes the token
        // first, or the early `behind` would take the slot its absent holder leaves unused.)
        assert!(queue.admit_anonymous(at(239_999)));
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
    fn a_holder_on_time_without_a_token_stands_by_at_the_end_and_the_deficit_stops_there() {
        let mut queue = one_per_second();
        queue.visit(at(0), Visit::Fresh);
        let (a, _, _) = queued(queue.visit(at(0), Visit::Fresh)); // told at 1 s
        let (b, _, _) = queued(queue.visit(at(0), Visit::Fresh)); // told at 2 s
        let (c, _, _) = queued(queue.visit(at(0), Visit::Fresh)); // told at 3 s
                                                                  // A stranger takes the 1 s token: `a` finds the bucket empty and stands by for the next
                                                                  // free slot, after `c`'s, told exactly when.
        assert!(queue.admit_anonymous(at(1000)));
        let (_, position, back) = queued(queue.visit(at(1000), Visit::Ticket(a)));
        assert_eq!((position, back), (1, Duration::from_secs(3)));
        assert_eq!(queue.standing_by(), 1);
        // `b` and `c` keep their slots: nobody else is re-told.
        for (seq, second) in [(b, 2), (c, 3)] {
            let now = at(second * 1000);
            assert_eq!(queue.visit(now, Visit::Ticket(seq)), Decision::Admitted { seq: Some(seq) });
        }
        assert_eq!(queue.visit(at(4000), Visit::Ticket(a)), Decision::Admitted { seq: Some(a) });
        // The next newcomer comes after the slot `a` took.
        assert_eq!(queued(queue.visit(at(4000), Visit::Fresh)).2, Duration::from_secs(1));
        assert_eq!((queue.stats().retold, queue.standing_by()), (1, 0));
    }

    #[test]
    fn a_ready_pupil_is_never_admitted_ahead_of_an_earlier_one_standing_by() {
        // Bucket of 2, one token a second: `x` told for 1 s, `j` 2 s, `k` 3 s, `l` 4 s, `m` 5 s.
        let run = |j_stands_by: bool| {
            let mut queue = Queue::new(QueueConfig::new(60.0).with_burst(2.0), at(0));
            queue.visit(at(0), Visit::Fresh);
            queue.visit(at(0), Visit::Fresh);
            let seqs: Vec<u64> =
                (0..5).map(|_| queued(queue.visit(at(0), Visit::Fresh)).0).collect();
            let (j, m) = (seqs[1], seqs[4]);
            if j_stands_by {
                // Strangers take both tokens at 2 s; `j`, on time, finds none and stands by.
                assert!(queue.admit_anonymous(at(2000)) && queue.admit_anonymous(at(2000)));
                let (_, _, back) = queued(queue.visit(at(2000), Visit::Ticket(j)));
                assert_eq!(back, Duration::from_secs(4), "the next free slot, after `m`'s");
            }
            // At 3.5 s the bucket holds a spare token (`x` and `k` are absent) and `m`, due at
            // 5 s, is present early: it may take the token only if nobody present came first.
            queue.visit(at(3_500), Visit::Ticket(m))
        };
        assert!(matches!(run(false), Decision::Admitted { .. }), "the spare token is taken");
        assert!(matches!(run(true), Decision::Queued { .. }), "`j` stood by first");
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
        assert!(!queue.admit_anonymous(at(1100)), "the revisit must not have refilled or spent");
    }

    mod told_times {
        use std::collections::HashMap;

        use proptest::prelude::*;

        use super::*;

        /// What a crowd may do at each step: wait, arrive, come back with the `k`-th ticket
        /// issued, or be a stranger taking a token.
        #[derive(Debug, Clone)]
        enum Step {
            Wait(u64),
            Arrive,
            Back(usize),
            Stranger,
            /// The operator sets the rate to this many admissions per minute.
            Rate(u32),
            /// The gate is closed for this many ms, then reopened.
            Closed(u64),
        }

        fn step() -> impl Strategy<Value = Step> {
            prop_oneof![
                (0u64..4_000).prop_map(Step::Wait),
                Just(Step::Arrive),
                any::<usize>().prop_map(Step::Back),
                Just(Step::Stranger),
                (1u32..10_000).prop_map(Step::Rate),
                (0u64..600_000).prop_map(Step::Closed),
            ]
        }

        proptest! {
            #[test]
            fn nobody_is_ever_told_to_come_back_earlier_than_before(
                steps in proptest::collection::vec(step(), 1..400),
                burst in 1u32..5,
                per_minute in prop_oneof![Just(60.0), Just(600.0), Just(6_000.0)],
            ) {
                let config = QueueConfig::new(per_minute).with_burst(f64::from(burst));
                let mut queue = Queue::new(config, at(0));
                let mut now = 0;
                let mut issued: Vec<u64> = Vec::new();
                let mut told: HashMap<u64, u64> = HashMap::new();
                let mut last_newcomer_told = 0;
                for step in steps {
                    let visit = match step {
                        Step::Wait(ms) => { now += ms; continue; }
                        Step::Stranger => { queue.admit_anonymous(at(now)); continue; }
                        Step::Rate(per_minute) => {
                            let per_minute = f64::from(per_minute);
                            queue.set_rate(at(now), per_minute, (per_minute / 6.0).max(f64::from(burst)));
                            continue;
                        }
                        Step::Closed(ms) => {
                            let closed_at = now;
                            now += ms;
                            queue.reopen(at(closed_at), at(now), at(now + 335_000));
                            continue;
                        }
                        Step::Arrive => Visit::Fresh,
                        Step::Back(_) if issued.is_empty() => continue,
                        Step::Back(k) => Visit::Ticket(issued[k % issued.len()]),
                    };
                    if let Decision::Queued { seq, return_in, .. } = queue.visit(at(now), visit) {
                        let at_ms = now + duration_millis(return_in);
                        if let Some(&before) = told.get(&seq) {
                            prop_assert!(at_ms >= before, "{seq}: told {at_ms} after {before}");
                        } else {
                            // A new place: newcomers are told in their queue order.
                            prop_assert!(at_ms >= last_newcomer_told, "{seq} told before the last newcomer");
                            last_newcomer_told = at_ms;
                            issued.push(seq);
                        }
                        told.insert(seq, at_ms);
                    }
                }
            }
        }
    }

    /// Microseconds since the epoch at `at(0)`: what the gate passes as the first number.
    const RESTARTED_AT: u64 = T0 * 1_000;

    /// One admission per second, numbering from [`RESTARTED_AT`], its bucket already spent.
    fn restarted() -> Queue {
        let config = QueueConfig::new(60.0).with_burst(1.0).with_first_seq(RESTARTED_AT);
        let mut queue = Queue::new(config, at(0));
        assert!(queue.admit_anonymous(at(0)));
        queue
    }

    #[test]
    fn newcomers_are_numbered_from_the_first_seq() {
        let mut queue = restarted();
        let seqs: Vec<u64> = (0..3).map(|_| queued(queue.visit(at(0), Visit::Fresh)).0).collect();
        assert_eq!(seqs, [RESTARTED_AT, RESTARTED_AT + 1, RESTARTED_AT + 2]);
    }

    #[test]
    fn tickets_of_an_earlier_instance_go_ahead_of_newcomers_in_the_order_they_come_back() {
        // The earlier instance gave places 1, 2, 3 (numbers 1..=3); then the gate restarted.
        let mut before = one_per_second();
        before.visit(at(0), Visit::Fresh);
        let old: Vec<u64> = (0..3).map(|_| queued(before.visit(at(0), Visit::Fresh)).0).collect();
        let mut queue = restarted();
        let (newcomer, position, _) = queued(queue.visit(at(0), Visit::Fresh));
        assert_eq!((newcomer, position), (RESTARTED_AT, 1));
        // The old holders come back in their told order: lane numbers, positions 1, 2, 3.
        let lane = RESTARTED_AT - RESTORE_LANE;
        let mut restored = Vec::new();
        for (k, &seq) in old.iter().enumerate() {
            let (new_seq, position, back) = queued(queue.visit(at(1), Visit::Ticket(seq)));
            assert_eq!((new_seq, position), (lane + k as u64, k as u64 + 1));
            assert!(back > Duration::ZERO, "no token: told a later time");
            restored.push(new_seq);
        }
        assert_eq!(queued(queue.visit(at(1), Visit::Ticket(newcomer))).1, 4);
        // Coming back with the re-signed ticket, or the old one again, keeps the same place.
        assert_eq!(queued(queue.visit(at(2), Visit::Ticket(restored[1]))).0, restored[1]);
        assert_eq!(queued(queue.visit(at(2), Visit::Ticket(old[1]))).0, restored[1]);
        assert_eq!(queue.live(), 4);
        assert_eq!(queue.stats().restored, 3);
    }

    #[test]
    fn restored_tickets_keep_their_told_order_whoever_comes_back_first_and_wait_for_their_time() {
        // The earlier instance told five holders (numbers 1..=5) to come at 10, 11, … 14 s;
        // it restarted at 0 with a full bucket of two.
        let config = QueueConfig::new(60.0).with_burst(2.0).with_first_seq(RESTARTED_AT);
        let mut queue = Queue::new(config, at(0));
        let told = |seq: u64| at(9_000 + seq * 1_000);
        // They come back in reverse order, all of them early: nobody is let in before their
        // told time, though the bucket is full, and the last to come back is first in line.
        let mut lane = [0; 6];
        for seq in (1..=5).rev() {
            let (new_seq, position, back) =
                queued(queue.visit(at(0), Visit::Signed { seq, told: told(seq) }));
            assert_eq!(position, 1, "each is ahead of those told later");
            assert_eq!(back, Duration::from_millis(9_000 + seq * 1_000), "the same told time");
            lane[seq as usize] = new_seq;
        }
        for seq in 1..=5 {
            let again = queue.visit(at(1), Visit::Ticket(lane[seq as usize]));
            assert_eq!(queued(again).1, seq, "original order, whatever the order of return");
        }
        // A newcomer is told a time after every restored one.
        let (_, position, back) = queued(queue.visit(at(1), Visit::Fresh));
        assert_eq!(position, 6);
        assert!(back >= Duration::from_secs(14), "{back:?}");
        // Each comes back at its told time and is admitted then, in the original order.
        for seq in 1..=5 {
            let now = told(seq);
            let early = Timestamp::from_millis(now.as_millis() - ON_TIME_SLACK_MS - 1);
            assert!(matches!(
                queue.visit(early, Visit::Ticket(lane[seq as usize])),
                Decision::Queued { .. }
            ));
            let admitted = queue.visit(now, Visit::Ticket(lane[seq as usize]));
            assert_eq!(admitted, Decision::Admitted { seq: Some(lane[seq as usize]) });
            assert_eq!(queue.admitted_at(lane[seq as usize]), Some(now));
        }
        assert_eq!(queue.stats().admitted, 5);
    }

    #[test]
    fn a_restored_holder_with_a_token_is_admitted_and_its_lost_reply_answered_again() {
        let config = QueueConfig::new(60.0).with_first_seq(RESTARTED_AT);
        let mut queue = Queue::new(config, at(0));
        let lane = RESTARTED_AT - RESTORE_LANE;
        assert_eq!(queue.visit(at(0), Visit::Ticket(42)), Decision::Admitted { seq: Some(lane) });
        assert_eq!(queue.visit(at(100), Visit::Ticket(42)), Decision::Admitted { seq: Some(lane) });
        assert_eq!(queue.stats().admitted, 1);
        assert_eq!(queue.live(), 0);
    }

    #[test]
    fn an_absent_restored_holder_is_dropped_and_then_starts_again_at_the_back() {
        let mut queue = restarted();
        queue.record_drops(true);
        let (restored, _, back) = queued(queue.visit(at(0), Visit::Ticket(7)));
        let gone = at(duration_millis(back) + 120_000);
        queue.handle_timeout(gone);
        assert_eq!(queue.drain_dropped().collect::<Vec<_>>(), [restored]);
        assert!(queue.admit_anonymous(gone));
        assert_eq!(queued(queue.visit(gone, Visit::Fresh)).0, RESTARTED_AT);
        let (seq, position, _) = queued(queue.visit(gone, Visit::Ticket(7)));
        assert_eq!((seq, position), (RESTARTED_AT + 1, 2));
    }

    #[test]
    fn when_the_lane_is_full_earlier_tickets_start_again_at_the_back() {
        let mut queue = restarted();
        for seq in 1..=RESTORE_LANE {
            queue.visit(at(0), Visit::Ticket(seq));
        }
        assert_eq!(queue.stats().restored, RESTORE_LANE);
        let (seq, position, _) = queued(queue.visit(at(0), Visit::Ticket(RESTORE_LANE + 1)));
        assert_eq!((seq, position), (RESTARTED_AT, RESTORE_LANE + 1));
    }

    #[test]
    fn a_queue_numbering_from_one_restores_nothing_and_strange_numbers_start_at_the_back() {
        let mut queue = one_per_second();
        queue.visit(at(0), Visit::Fresh);
        assert_eq!(queued(queue.visit(at(0), Visit::Ticket(0))), (1, 1, Duration::from_secs(1)));
        // Numbers this queue has not issued yet are not ours: a new place at the back.
        for strange in [500, u64::MAX] {
            let (seq, _, _) = queued(queue.visit(at(0), Visit::Ticket(strange)));
            assert!(seq < 10, "{seq}");
        }
        assert_eq!(queue.live(), 3);
        assert_eq!(queue.stats().restored, 0);
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
        let Decision::Queued { advance_per_minute, .. } = queue.visit(at(now), Visit::Fresh) else {
            panic!("the queue is not empty");
        };
        assert!((advance_per_minute - 600.0 / (1.0 - a)).abs() < 1e-9);
    }

    #[test]
    fn a_visit_never_pays_for_a_backlog_and_tidy_clears_it_in_bounded_steps() {
        // 300 000 holders who never come back, all told for the same minute or so.
        let mut queue = Queue::new(QueueConfig::new(600_000.0).with_burst(1.0), at(0));
        queue.record_drops(true);
        queue.visit(at(0), Visit::Fresh);
        for _ in 0..300_000 {
            queued(queue.visit(at(0), Visit::Fresh));
        }
        // Long after the grace period every one of them is due to be dropped.
        let later = at(3_600_000);
        let (_, position, _) = queued(queue.visit(later, Visit::Fresh));
        assert!(position > 300_000 - 2 * VISIT_STEPS as u64, "{position}");
        assert!(queue.stats().dropped <= VISIT_STEPS as u64);
        // The timer's batches finish the job; each does at most its share.
        let mut batches = 0;
        let mut before = queue.stats().dropped;
        while queue.tidy(later, 4_096) {
            let dropped = queue.stats().dropped;
            assert!(dropped - before <= 4_096);
            before = dropped;
            batches += 1;
        }
        assert!(batches >= 300_000 / 4_096, "{batches}");
        assert_eq!(queue.stats().dropped, 300_000);
        assert_eq!(queue.drain_dropped().count(), 300_000);
        assert_eq!(queue.live(), 1);
        assert!(queue.records.len() < 10_000, "the dead front was not compacted");
    }

    #[test]
    fn would_join_tells_a_new_place_from_an_existing_one() {
        let mut queue = one_per_second();
        queue.record_drops(true);
        queue.visit(at(0), Visit::Fresh);
        let (seq, _, _) = queued(queue.visit(at(0), Visit::Fresh));
        assert!(queue.would_join(Visit::Fresh));
        assert!(!queue.would_join(Visit::Ticket(seq)));
        assert!(queue.would_join(Visit::Ticket(seq + 1_000)), "not issued yet");
        queue.handle_timeout(at(1_000 + 120_000));
        assert_eq!(queue.drain_dropped().collect::<Vec<_>>(), [seq]);
        assert!(queue.would_join(Visit::Ticket(seq)), "dropped: its holder starts again");
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
