//! The discrete-event loop: one strategy, one fresh gate queue, the whole crowd, virtual time.
//!
//! Events are small `Copy` values in a [`Calendar`] (per-millisecond slots), taken in time order
//! and, within a millisecond, in a fixed order, so a run is a pure function of the scenario's seed.
//!
//! A request is sent at time `s`; its round-trip time `rtt` is drawn then; the server handles it
//! at `s + rtt / 2` (the same [`Queue`] the gate runs) and the reply reaches the user at `s + rtt`.
//! Clients other than the widget react to a reply with a delay that does not depend on its
//! content, so their next request is scheduled straight away and costs one event. The
//! widget's users are each a core [`Machine`], driven as the browser drives it: `Send` actions
//! become requests, replies go through `handle_reply`, and `poll_timeout` arms a timer event.
//! With the native protocol they talk to the whole reference gate ([`GateState::answer`]:
//! signed tickets, the queue, the reply it builds); everyone else talks to a bare [`Queue`].

use std::sync::Arc;
use std::time::Duration;

use waitroom::backoff::Backoff;
use waitroom::config::{Config, Protocol};
use waitroom::machine::{Action, Machine, Solution};
use waitroom::reply::Reply;
use waitroom::rng::Rng;
use waitroom::time::{duration_millis, Timestamp};
use waitroom::wire::StatusReply;
use waitroom_gate::proof_of_work::number_of;
use waitroom_gate::queue::{Decision, Queue, QueueStats, Visit};
use waitroom_gate::server::{GateState, Proof, StatusAnswer};

use crate::calendar::Calendar;
use crate::scenario::{Crowd, Latency, Scenario, T0};
use crate::server::{classify_answer, gate, plain_reply, SECRET};
use crate::strategy::{Client, Server, Strategy};

/// Time between two requests of the flooding address: 1 000 a second.
const FLOOD_GAP_MS: u64 = 1;

/// The flooding address (a documentation address): the pupils are in-process clients, each
/// its own.
fn flood_address() -> waitroom_gate::fairness::ClientKey {
    waitroom_gate::fairness::ClientKey::of(std::net::Ipv4Addr::new(203, 0, 113, 66).into())
}

/// The address of the `k`-th request of the many-address flood: cycling through 198.18.0.0/16
/// (RFC 2544's benchmarking range), 65 536 addresses, each under the cap on places per address.
fn many_address(k: u64) -> waitroom_gate::fairness::ClientKey {
    let [_, _, hi, lo] = (k as u32).to_be_bytes();
    waitroom_gate::fairness::ClientKey::of(std::net::Ipv4Addr::new(198, 18, hi, lo).into())
}

/// SHA-256 a second of a low-end phone (ALTCHA's figure for a Galaxy A14 in Chrome), the
/// pupils' speed in `waitroom-native-pow-flood`: the search for number `n` tries `0..=n`, so it
/// takes `(n + 1) / HASHES_PER_SECOND` seconds of virtual time.
pub const HASHES_PER_SECOND: u64 = 90_000;

/// Virtual milliseconds a pupil's phone spends finding number `n` (rounded up).
pub fn solving_ms(n: u64) -> u64 {
    (n + 1).saturating_mul(1_000).div_ceil(HASHES_PER_SECOND)
}

/// "Never", for times.
pub const NEVER: u64 = u64::MAX;

/// What became of a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// Still waiting when the run stopped.
    Waiting,
    /// Admitted (the admission reached the user before it gave up).
    Admitted,
    /// Gave up before being admitted.
    Abandoned,
}

/// The raw record of one strategy's run, from which [`crate::metrics`] computes the figures.
/// Times are in ms after [`T0`].
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The strategy run.
    pub strategy: Strategy,
    /// Per user (arrival rank).
    pub fate: Vec<Fate>,
    /// Per user: when the admission reply reached it, or [`NEVER`].
    pub admitted_at: Vec<u64>,
    /// Per user: when the server admitted it (took the token), or [`NEVER`].
    pub served_at: Vec<u64>,
    /// Per user: requests the server received from it.
    pub requests: Vec<u32>,
    /// Requests the server received in each second.
    pub requests_per_second: Vec<u32>,
    /// When the server first turned a request away: the start of the busy window.
    pub first_refusal: Option<u64>,
    /// Admissions whose reply reached a user who had already given up: capacity lost.
    pub wasted_admissions: u64,
    /// When the run stopped.
    pub end: u64,
    /// Whether it stopped at the time limit with users still waiting.
    pub time_limit_hit: bool,
    /// The queue's own counters at the end.
    pub queue: QueueStats,
    /// The queue's no-show estimate at the start of each second.
    pub no_show_estimate: Vec<f32>,
    /// Live tickets at the start of each second.
    pub live: Vec<u32>,
    /// The queue's count of re-told holders at the start of each second (cumulative).
    pub retold: Vec<u64>,
    /// Proof-of-work challenges the gate answered the pupils (not the flood).
    pub challenges: u64,
    /// Fresh requests the flood sent.
    pub flood_requests: u64,
    /// Those that took a place in the queue (the others were challenged or turned away).
    pub flood_places: u64,
    /// When the flood took its last place, if it took any.
    pub flood_last_place: Option<u64>,
    /// When the gate first asked anyone (pupil or flood) for a proof of work.
    pub first_challenge: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A widget user opens the page.
    Arrive,
    /// A widget's timer fires.
    Timer,
    /// A request reaches the server.
    AtServer,
    /// A reply reaches a widget.
    Reply,
    /// A user gives up.
    Abandon,
    /// The flood sends one more fresh request (`waitroom-native-flood`,
    /// `waitroom-native-pow-flood`).
    Flood,
    /// A pupil's phone has found the number of its challenge.
    Solved,
}

#[derive(Debug, Clone, Copy)]
struct Event {
    user: u32,
    kind: Kind,
}

/// Per-strategy client state.
enum Clients {
    Reload { min: Duration, max: Duration },
    Poll { period: u64 },
    Backoff(Vec<Backoff>),
    Machines(Machines),
}

struct Machines {
    protocol: Protocol,
    machines: Vec<Machine>,
    /// The reply in flight towards each user.
    replies: Vec<Option<Reply>>,
    /// The timer armed for each user, or [`NEVER`]: a timer event that does not match is stale.
    armed: Vec<u64>,
    /// The ticket each machine sent with its request in flight, as the gate signed it.
    tickets: Vec<Option<String>>,
    /// The solved challenge each machine sent with its request in flight, if any.
    proofs: Vec<Option<Solution>>,
    /// The number each machine is searching for, found at its [`Kind::Solved`] event.
    solving: Vec<Option<u64>>,
}

/// The server side.
enum Backend {
    /// The gate's queue alone: plain 503s from its bucket, or tickets that are bare numbers.
    Queue(Box<Queue>),
    /// The whole reference gate, for the widget's native protocol.
    Gate(Arc<GateState>),
}

impl Backend {
    fn with_queue<T>(&mut self, f: impl FnOnce(&mut Queue) -> T) -> T {
        match self {
            Backend::Queue(queue) => f(queue),
            Backend::Gate(gate) => gate.with_queue(f),
        }
    }
}

/// What the server decided for one request.
enum Answer {
    /// The plain 503 server: admitted or not.
    Plain(bool),
    /// The bare queue.
    Decision(Decision),
    /// The reference gate.
    Gate(StatusAnswer),
}

struct Sim<'a> {
    crowd: &'a Crowd,
    server: Server,
    clients: Clients,
    backend: Backend,
    rng: Rng,
    latency: Latency,
    events: Calendar<Event>,
    /// Return leg of the request in flight from each user.
    back_leg: Vec<u32>,
    /// The ticket each poller sends to the bare queue (0 = none; it numbers tickets from 1).
    ticket: Vec<u64>,
    /// Users neither admitted nor gone.
    unresolved: usize,
    out: Outcome,
}

/// Runs `strategy` for `crowd` on a fresh queue.
///
/// # Panics
///
/// If the scenario's round trips can exceed the widget's fetch timeout: the model has no
/// timeouts (see the README).
pub fn run(scenario: &Scenario, crowd: &Crowd, strategy: Strategy) -> Outcome {
    let latency = Latency::new(scenario.latency_ms);
    let config = Config::for_gate("/waitroom/status");
    assert!(
        latency.max() < config.timeout,
        "--latency-ms {} gives round trips up to {:?}, beyond the widget's {:?} fetch timeout",
        scenario.latency_ms,
        latency.max(),
        config.timeout
    );
    let n = crowd.len();
    let clients = match strategy.client() {
        Client::Reload { min, max } => Clients::Reload { min, max },
        Client::Poll { period } => Clients::Poll { period: duration_millis(period) },
        Client::Backoff { jitter, base, cap } => Clients::Backoff(
            crowd
                .seed
                .iter()
                .map(|&s| Backoff::seeded(s).with_base(base).with_cap(cap).with_jitter(jitter))
                .collect(),
        ),
        Client::Machine { protocol } => {
            let config = Config { protocol, ..config };
            let solver = strategy == Strategy::WaitroomNativePowFlood;
            Clients::Machines(Machines {
                protocol,
                machines: crowd
                    .seed
                    .iter()
                    .map(|&s| Machine::new(&config, s).with_solver(solver))
                    .collect(),
                replies: vec![None; n],
                armed: vec![NEVER; n],
                tickets: vec![None; n],
                proofs: vec![None; n],
                solving: vec![None; n],
            })
        }
    };
    let mut sim = Sim {
        crowd,
        server: strategy.server(),
        clients,
        backend: match (strategy.client(), strategy.server()) {
            (Client::Machine { .. }, Server::Queue) => {
                Backend::Gate(gate(scenario, strategy == Strategy::WaitroomNativePowFlood))
            }
            _ => Backend::Queue(Box::new(Queue::new(scenario.queue_config(), T0))),
        },
        // Each strategy draws its network and reloads from its own stream of the scenario's seed.
        rng: Rng::seeded(
            scenario.seed ^ (0xA076_1D64_78BD_642F_u64.wrapping_mul(strategy as u64 + 1)),
        ),
        latency,
        events: Calendar::new(),
        back_leg: vec![0; n],
        ticket: vec![0; n],
        unresolved: n,
        out: Outcome {
            strategy,
            fate: vec![Fate::Waiting; n],
            admitted_at: vec![NEVER; n],
            served_at: vec![NEVER; n],
            requests: vec![0; n],
            requests_per_second: Vec::new(),
            first_refusal: None,
            wasted_admissions: 0,
            end: 0,
            time_limit_hit: false,
            queue: QueueStats::default(),
            no_show_estimate: Vec::new(),
            live: Vec::new(),
            retold: Vec::new(),
            challenges: 0,
            flood_requests: 0,
            flood_places: 0,
            flood_last_place: None,
            first_challenge: None,
        },
    };
    sim.run(scenario.time_limit_ms());
    sim.out.queue = sim.backend.with_queue(|q| q.stats());
    sim.out
}

impl Sim<'_> {
    fn run(&mut self, limit: u64) {
        let machines = matches!(self.clients, Clients::Machines(_));
        for user in 0..self.crowd.len() {
            let arrival = self.crowd.arrival[user];
            if machines {
                self.push(arrival, Kind::Arrive, user);
            } else {
                self.send(user, arrival);
            }
            let leaves = self.crowd.abandon_at[user];
            if leaves != NEVER {
                self.push(leaves, Kind::Abandon, user);
            }
        }
        if matches!(
            self.out.strategy,
            Strategy::WaitroomNativeFlood | Strategy::WaitroomNativePowFlood
        ) {
            self.push(0, Kind::Flood, 0);
        }
        while self.unresolved > 0 {
            let Some((at, event)) = self.events.pop() else {
                break;
            };
            if at > limit {
                self.out.time_limit_hit = true;
                self.out.end = limit;
                return;
            }
            self.out.end = at;
            while (self.out.live.len() as u64) * 1_000 <= at {
                let (estimate, live, stats) =
                    self.backend.with_queue(|q| (q.no_show_rate(), q.live(), q.stats()));
                self.out.no_show_estimate.push(estimate as f32);
                self.out.live.push(live as u32);
                self.out.retold.push(stats.retold);
            }
            let user = event.user as usize;
            match event.kind {
                Kind::AtServer => self.at_server(user, at),
                Kind::Flood => self.flood(at),
                Kind::Solved => {
                    let number = self.machines().solving[user].take();
                    if !self.present(user, at) {
                        continue;
                    }
                    self.machines().machines[user].handle_solved(stamp(at), number);
                    self.drain(user, at);
                }
                Kind::Abandon => {
                    if self.out.fate[user] == Fate::Waiting {
                        self.out.fate[user] = Fate::Abandoned;
                        self.unresolved -= 1;
                    }
                }
                Kind::Arrive => {
                    let now = stamp(at);
                    self.machines().machines[user].handle_start(now, None);
                    self.drain(user, at);
                }
                Kind::Timer => {
                    let m = self.machines();
                    if m.armed[user] != at {
                        continue; // re-armed since
                    }
                    m.armed[user] = NEVER;
                    if !self.present(user, at) {
                        continue;
                    }
                    self.machines().machines[user].handle_timeout(stamp(at));
                    self.drain(user, at);
                }
                Kind::Reply => {
                    let m = self.machines();
                    let reply = m.replies[user].take().expect("a reply event has its reply");
                    m.machines[user].handle_reply(stamp(at), reply);
                    self.drain(user, at);
                }
            }
        }
    }

    /// One fresh request of the flood, which never comes back and never solves a challenge
    /// (from one address, or from the next address of a /16 with proof of work); the next one
    /// [`FLOOD_GAP_MS`] later, until the last pupil has arrived. Not counted among the pupils'
    /// requests.
    fn flood(&mut self, at: u64) {
        if let Backend::Gate(gate) = &self.backend {
            let address = match self.out.strategy {
                Strategy::WaitroomNativePowFlood => many_address(self.out.flood_requests),
                _ => flood_address(),
            };
            let answer = gate.answer_at_address(stamp(at), None, address);
            self.out.flood_requests += 1;
            match answer.body {
                StatusReply::Queued(_) | StatusReply::Admitted(_) => {
                    self.out.flood_places += 1;
                    self.out.flood_last_place = Some(at);
                }
                StatusReply::Challenge(_) => {
                    self.out.first_challenge.get_or_insert(at);
                }
                _ => {}
            }
        }
        let last_arrival = self.crowd.arrival.last().copied().unwrap_or(0);
        if at + FLOOD_GAP_MS <= last_arrival {
            self.push(at + FLOOD_GAP_MS, Kind::Flood, 0);
        }
    }

    fn push(&mut self, at: u64, kind: Kind, user: usize) {
        self.events.push(at, Event { user: user as u32, kind });
    }

    fn machines(&mut self) -> &mut Machines {
        match &mut self.clients {
            Clients::Machines(m) => m,
            _ => unreachable!("only widget users have machine events"),
        }
    }

    /// Whether `user` is still there, waiting, at `at`.
    fn present(&self, user: usize, at: u64) -> bool {
        self.out.fate[user] == Fate::Waiting && at < self.crowd.abandon_at[user]
    }

    /// `user` sends a request at `at`.
    fn send(&mut self, user: usize, at: u64) {
        let rtt = self.latency.draw(&mut self.rng);
        let out = rtt / 2;
        self.back_leg[user] = rtt - out;
        self.push(at + u64::from(out), Kind::AtServer, user);
    }

    /// The server handles a request from `user` at `at`.
    fn at_server(&mut self, user: usize, at: u64) {
        let now = stamp(at);
        self.out.requests[user] += 1;
        let second = (at / 1_000) as usize;
        if second >= self.out.requests_per_second.len() {
            self.out.requests_per_second.resize(second + 1, 0);
        }
        self.out.requests_per_second[second] += 1;

        let answer = match (&mut self.backend, self.server) {
            (Backend::Gate(gate), _) => {
                let (ticket, solution) = match &self.clients {
                    Clients::Machines(m) => (m.tickets[user].as_deref(), m.proofs[user].as_ref()),
                    _ => (None, None),
                };
                let number = solution.map(|s| s.number.to_string());
                let proof = solution
                    .zip(number.as_deref())
                    .map(|(s, number)| Proof { challenge: &s.challenge, solution: number });
                let answer = gate.answer_with_proof(now, ticket, proof, None);
                if matches!(answer.body, StatusReply::Challenge(_)) {
                    self.out.challenges += 1;
                    self.out.first_challenge.get_or_insert(at);
                }
                Answer::Gate(answer)
            }
            (Backend::Queue(queue), Server::Plain { .. }) => {
                Answer::Plain(queue.admit_anonymous(now))
            }
            (Backend::Queue(queue), Server::Queue) => {
                let visit = match self.ticket[user] {
                    0 => Visit::Fresh,
                    seq => Visit::Ticket(seq),
                };
                Answer::Decision(queue.visit(now, visit))
            }
        };
        let admitted = match &answer {
            Answer::Plain(admitted) => *admitted,
            Answer::Decision(Decision::Admitted { .. }) => true,
            Answer::Decision(Decision::Queued { seq, .. }) => {
                self.ticket[user] = *seq;
                false
            }
            Answer::Gate(answer) => answer.status == 200,
        };
        if !admitted && self.out.first_refusal.is_none() {
            self.out.first_refusal = Some(at);
        }
        let reply_at = at + u64::from(self.back_leg[user]);
        let reaches_user = self.present(user, reply_at);
        if admitted {
            if reaches_user {
                self.out.fate[user] = Fate::Admitted;
                self.out.admitted_at[user] = reply_at;
                self.out.served_at[user] = at;
                self.unresolved -= 1;
            } else {
                self.out.wasted_admissions += 1;
            }
        }
        if !reaches_user {
            return;
        }
        if let Clients::Machines(m) = &mut self.clients {
            let at = stamp(reply_at);
            let reply = match (answer, self.server) {
                (Answer::Gate(answer), _) => classify_answer(&answer, m.protocol, at),
                (Answer::Plain(admitted), Server::Plain { retry_after_s }) => {
                    plain_reply(admitted, retry_after_s, m.protocol, at)
                }
                _ => unreachable!("widget users talk to the gate or to a plain 503"),
            };
            m.replies[user] = Some(reply);
            self.push(reply_at, Kind::Reply, user);
            return;
        }
        if admitted {
            return;
        }
        let next = match &mut self.clients {
            Clients::Reload { min, max } => duration_millis(self.rng.between(*min, *max)),
            Clients::Poll { period } => *period,
            Clients::Backoff(backoffs) => {
                duration_millis(backoffs[user].next().expect("no attempt limit"))
            }
            Clients::Machines(_) => unreachable!("handled above"),
        };
        let send_at = reply_at + next;
        if send_at < self.crowd.abandon_at[user] {
            self.send(user, send_at);
        }
    }

    /// Carries out what `user`'s machine asks for at `at`, then re-arms its timer.
    fn drain(&mut self, user: usize, at: u64) {
        while let Some(action) = self.machines().machines[user].poll_action() {
            match action {
                Action::Send { ticket, proof, .. } => {
                    let m = self.machines();
                    m.tickets[user] = ticket;
                    m.proofs[user] = proof;
                    self.send(user, at);
                }
                // The phone searches `0..=n` at HASHES_PER_SECOND: the engine reads `n` with
                // the gate's key instead of spending the hashes, and charges their time.
                Action::Solve { challenge, .. } => {
                    let number = number_of(SECRET, &challenge);
                    let done = at + number.map_or(0, solving_ms);
                    self.machines().solving[user] = number;
                    self.push(done, Kind::Solved, user);
                }
                Action::Admit { .. } => {
                    debug_assert_eq!(
                        self.out.fate[user],
                        Fate::Admitted,
                        "the machine admits only on an admission"
                    );
                }
                Action::FailOpen => {
                    unreachable!(
                        "neither server ever fails: a widget failing open is a simulator bug"
                    )
                }
                // Only a quota page reloads itself, and the simulator starts none.
                Action::Persist(_) | Action::Render | Action::Reload => {}
            }
        }
        let m = self.machines();
        let deadline = m.machines[user]
            .poll_timeout()
            .map_or(NEVER, |t| t.as_millis().saturating_sub(T0.as_millis()).max(at));
        if deadline != m.armed[user] {
            m.armed[user] = deadline;
            if deadline != NEVER {
                self.push(deadline, Kind::Timer, user);
            }
        }
    }
}

/// Virtual time `at` (ms after [`T0`]) as the wall-clock timestamp the core works with.
pub fn stamp(at: u64) -> Timestamp {
    Timestamp::from_millis(T0.as_millis() + at)
}
