//! The HTTP gate: the native wire protocol over axum, in front of one [`Queue`].
//!
//! - `GET /waitroom/status[?ticket=…]`: `200` admitted (with a pass, also as a cookie) or `503`
//!   queued with `Retry-After` (or closed, or `cookies_required`). Every reply sets the
//!   browser's `waitroom_id` cookie, to which each ticket and pass is bound ([`crate::browser`]).
//! - `POST /waitroom/verify` `{"pass":…, "browser":…, "consume":…}`: whether a pass is valid
//!   for that browser, its id and expiry; `consume` makes it single-use.
//! - `GET /waitroom/auth`: `204` when the request carries a valid pass and the cookie it is
//!   bound to, `401` otherwise; for nginx `auth_request` (see `docs/nginx-auth.conf`).
//! - `GET /waitroom/health`: `200` while the gate serves, `503` while a shared store is
//!   unreachable, for load balancers; no queue record.
//!
//! Every reply under `/waitroom` is JSON with `Cache-Control: no-store`; every reply at all
//! has `X-Content-Type-Options: nosniff`. Tests start it in-process with [`serve`] on
//! `127.0.0.1:0` and a fake [`Clock`].
//!
//! # Under load
//!
//! - The accept loop ([`crate::connections`]) times out slow and idle connections, caps the
//!   request head and the number of connections.
//! - [`protect`] sheds load: past [`GateConfig::max_in_flight`] requests at once, a newcomer is
//!   answered at once `503` with `Retry-After` and a JSON error rather than queued in memory; a
//!   request that takes longer than [`GateConfig::request_timeout`] (a slow body) gets `408`.
//! - `HEAD`, crawlers, health checks and prefetches ([`takes_no_place`]) never take a place.

use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, DefaultBodyLimit, RawQuery, Request, State};
use axum::http::header::{HeaderMap, USER_AGENT, X_CONTENT_TYPE_OPTIONS};
use axum::http::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_MAX_AGE, CACHE_CONTROL, ORIGIN, RETRY_AFTER,
    SET_COOKIE, VARY,
};
use axum::http::Method;
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Extension;
use axum::{Json, Router};
use serde::Serialize;
use tokio::sync::Semaphore;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;
use tracing::{debug, info, warn};
use waitroom::time::{duration_millis, Timestamp};
use waitroom::wire::{
    Admitted, Challenge, Closed, CookiesRequired, ErrorReply, Queued, StatusReply, VerifyReply,
    VerifyRequest, AUTH_PATH, CHALLENGE_PARAM, PASS_PARAM, SOLUTION_PARAM, STATUS_PATH,
    TICKET_PARAM, VERIFY_PATH,
};

use crate::admin::{AdminState, AdminToken, ClosedState, History};
use crate::browser::{self, BrowserId, ID_COOKIE};
use crate::connections::{self, Limits};
use crate::fairness::{ClientKey, JoinLedger, DEFAULT_MAX_PER_ADDRESS};
use crate::metrics::{Metrics, Outcome, PowEvent, QueueFigures};
use crate::proof_of_work::{
    self, JoinRate, PowConfig, SolutionError, CHALLENGE_RETRY, CHALLENGE_TTL,
};
use crate::queue::{Decision, Queue, QueueConfig, Visit};
use crate::spent::{SpendOnce, SpentInMemory, DEFAULT_SPENT_CAPACITY};
use crate::static_files::{self, Root};
use crate::store::{RedisStore, SharedState, SharedVisit, StoreError, StoreUrl, STORE_RETRY};
use crate::token::{Binding, PassVerifier, Signer, TicketClaims, TokenError};

/// Longest ticket (or pass) accepted in the query string, in bytes (a real one is under 100).
pub const MAX_TICKET_LEN: usize = 512;
/// How many times one admission's pass can be renewed: WCAG 2.2.1 (RGAA 13.1) asks that a time
/// limit can be extended at least ten times. Each renewal adds one pass lifetime, so a pass
/// lives at most eleven lifetimes after its admission (55 minutes with the default 300 s).
pub const MAX_PASS_RENEWALS: u32 = 10;
/// Default cap on the tickets waiting: about 52 MiB of queue (50 bytes a ticket, measured by
/// `make loadtest`), 8 h 20 min of waiting at 2 000 admissions a minute.
pub const DEFAULT_MAX_QUEUE: u64 = 1_000_000;
/// Name of the cookie that carries the pass.
pub const PASS_COOKIE: &str = browser::PASS_COOKIE;
/// How long a closed gate asks clients to stay away.
const CLOSED_RETRY: Duration = Duration::from_secs(300);
/// How late after `CLOSED_RETRY` a client told to stay away may come back (the widget's
/// widest jitter on a closed reply, 30 s, and a margin): no ticket is dropped before.
const CLOSED_COMEBACK: Duration = Duration::from_secs(35);
/// How long a newcomer refused by a full queue is asked to stay away.
const FULL_RETRY: Duration = Duration::from_secs(120);
/// What a newcomer refused by a full queue reads (the widget shows it as the "closed" notice).
pub const FULL_MESSAGE: &str = "La file d'attente est complète pour le moment. Cette page réessaiera toute seule dans quelques minutes : inutile de la recharger.";
/// What a newcomer refused because its address holds too many places reads.
pub const ADDRESS_MESSAGE: &str = "Trop de places sont déjà réservées depuis votre réseau. Cette page réessaiera toute seule dans quelques minutes : inutile de la recharger.";
/// How often the tidy-up timer runs, and how many deadlines it handles per hold of the lock.
const TIDY_PERIOD: Duration = Duration::from_millis(250);
const TIDY_BATCH: usize = 4_096;
/// The health check calls the shared store unreachable when no tidy-up (every
/// [`TIDY_PERIOD`], each call bounded to a second) has reached it for this long.
const STORE_SILENCE: Duration = Duration::from_secs(3);
/// How often the tidy-up logs its counts (at info), when something happened.
const TIDY_LOG_PERIOD: Duration = Duration::from_secs(60);
/// How long a browser that refuses cookies is asked to wait before asking again.
const COOKIES_RETRY: Duration = Duration::from_secs(10);
/// What `cookies_required` says to clients other than the widget (which has its own words).
const COOKIES_MESSAGE: &str = "Ce navigateur n’a pas renvoyé le cookie waitroom_id : activez les cookies pour garder votre place dans la file. / This browser did not send back the waitroom_id cookie: enable cookies to keep your place in the queue.";
/// Response header of `GET /waitroom/auth` naming the pass, for `auth_request_set`.
pub const PASS_ID_HEADER: &str = "x-waitroom-pass-id";
/// Largest accepted `POST /waitroom/verify` body.
const MAX_VERIFY_BODY: usize = 4096;
/// Path of the health check for load balancers.
pub const HEALTH_PATH: &str = "/waitroom/health";
/// How long a shed request is asked to stay away: the load is a matter of seconds.
const SHED_RETRY: Duration = Duration::from_secs(2);
/// How long a request that takes no place (`HEAD`, a crawler) is asked to stay away.
const NO_PLACE_RETRY: Duration = Duration::from_secs(300);
/// Substrings of a `User-Agent` (lower case) that declare a robot, a health check or a link
/// preview: a client that will never wait for its turn. A browser's never contains them.
const NO_PLACE_AGENTS: &[&str] = &[
    "bot",
    "crawl",
    "spider",
    "slurp",
    "facebookexternalhit",
    "preview",
    "health",
    "monitor",
    "kube-probe",
    "pingdom",
    "uptime",
];

/// Where the gate reads the time: the system clock in production, a fake one in tests.
pub type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

/// The system's wall clock, in ms since the Unix epoch.
pub fn system_clock() -> Clock {
    Arc::new(|| {
        let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        Timestamp::from_millis(duration_millis(since_epoch))
    })
}

/// Everything the gate needs to run.
///
/// # Default
///
/// [`GateConfig::new`]: 60 admissions per minute, burst max(2, r / 6), grace 120 s, passes
/// valid 300 s, open, no CORS origin, no static files, the system clock, numbering from the
/// start time in microseconds; [`Limits::default`], 512 requests at once, 10 s per request,
/// [`DEFAULT_MAX_QUEUE`] tickets waiting, [`DEFAULT_MAX_PER_ADDRESS`] places per address, the
/// peer address (no proxy header trusted), proof of work in [`PowConfig::default`] (`auto`).
#[derive(Clone)]
pub struct GateConfig {
    /// Admissions per minute.
    pub admit_per_minute: f64,
    /// Token bucket capacity; `None` for the queue's default.
    pub burst: Option<f64>,
    /// How long after its told time a ticket is kept for an absent holder.
    pub grace: Duration,
    /// How long a pass stays valid.
    pub pass_ttl: Duration,
    /// HMAC key for tickets and passes.
    pub secret: Vec<u8>,
    /// When set, the gate is closed and every status reply carries this message.
    pub closed: Option<String>,
    /// Origins allowed to read replies cross-origin, with credentials (exact match).
    pub cors_origins: Vec<String>,
    /// Directory served at `/`, if any.
    pub www: Option<PathBuf>,
    /// The time source.
    pub clock: Clock,
    /// The queue's first sequence number; `None` for the clock's time in microseconds when the
    /// gate starts, above anything an earlier instance issued (see the queue's docs on restarts).
    pub first_seq: Option<u64>,
    /// The no-show rate the queue assumes before it has observed any (see
    /// [`QueueConfig::expected_no_show`]); 0 by default.
    pub expected_no_show: f64,
    /// Timeouts and caps of the accept loop.
    pub limits: Limits,
    /// Requests handled at once; past it, requests are shed with a fast `503`.
    pub max_in_flight: usize,
    /// Longest a request may take, body included; then `408`.
    pub request_timeout: Duration,
    /// Most tickets waiting at once; past it a newcomer is told to come back later, and
    /// takes no place.
    pub max_queue: u64,
    /// Places one address (an IPv6 /64) may hold at once; see [`crate::fairness`].
    pub max_per_address: u32,
    /// Header in which a trusted reverse proxy gives the client's address (`X-Forwarded-For`,
    /// `X-Real-IP`); `None` to count the connection's peer address.
    pub client_address_header: Option<String>,
    /// Whether to believe `X-Forwarded-Proto: https` from the proxy in front, to mark cookies
    /// `Secure` (the gate itself speaks plain HTTP). Off by default: only for a gate reachable
    /// through that proxy alone.
    pub trust_forwarded_proto: bool,
    /// Bearer tokens of the admin API (`/waitroom/admin/…`), each with the label its changes
    /// are logged under; none, and the API is off.
    pub admin_tokens: Vec<AdminToken>,
    /// Whether the gate's own listener serves `GET /metrics`; off when `--metrics-listen`
    /// serves it elsewhere ([`serve_with_metrics`]).
    pub metrics_on_main: bool,
    /// When newcomers are asked for a proof of work ([`crate::proof_of_work`]).
    pub proof_of_work: PowConfig,
    /// Where the queue lives: this gate's memory, or a Redis shared with other instances
    /// ([`crate::store`]).
    pub store: StoreUrl,
    /// The queue's name in a shared store, so that one Redis serves several portals.
    pub room: String,
}

impl GateConfig {
    /// The defaults, with `secret`.
    pub fn new(secret: Vec<u8>) -> Self {
        GateConfig {
            admit_per_minute: 60.0,
            burst: None,
            grace: Duration::from_secs(120),
            pass_ttl: Duration::from_secs(300),
            secret,
            closed: None,
            cors_origins: Vec::new(),
            www: None,
            clock: system_clock(),
            first_seq: None,
            expected_no_show: 0.0,
            limits: Limits::default(),
            max_in_flight: 512,
            request_timeout: Duration::from_secs(10),
            max_queue: DEFAULT_MAX_QUEUE,
            max_per_address: DEFAULT_MAX_PER_ADDRESS,
            client_address_header: None,
            trust_forwarded_proto: false,
            admin_tokens: Vec::new(),
            metrics_on_main: true,
            proof_of_work: PowConfig::default(),
            store: StoreUrl::Memory,
            room: "default".to_string(),
        }
    }

    /// The bucket capacity at `admit_per_minute`: the configured one, else the queue's default.
    pub fn burst_at(&self, admit_per_minute: f64) -> f64 {
        self.burst.unwrap_or_else(|| QueueConfig::new(admit_per_minute).burst)
    }

    fn queue_config(&self, now: Timestamp) -> QueueConfig {
        // A restart takes far longer than a millisecond, and an instance issues far fewer than a
        // million numbers a second: numbers from the start time in µs never meet an earlier
        // instance's (unless the clock steps back, which NTP does not do by minutes).
        let first_seq = self.first_seq.unwrap_or_else(|| now.as_millis().saturating_mul(1_000));
        let config = QueueConfig::new(self.admit_per_minute)
            .with_grace(self.grace)
            .with_first_seq(first_seq)
            .with_expected_no_show(self.expected_no_show);
        match self.burst {
            Some(burst) => config.with_burst(burst),
            None => config,
        }
    }
}

impl fmt::Debug for GateConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GateConfig")
            .field("admit_per_minute", &self.admit_per_minute)
            .field("burst", &self.burst)
            .field("grace", &self.grace)
            .field("pass_ttl", &self.pass_ttl)
            .field("secret", &format_args!("<{} bytes>", self.secret.len()))
            .field("closed", &self.closed)
            .field("cors_origins", &self.cors_origins)
            .field("www", &self.www)
            .field("first_seq", &self.first_seq)
            .field("expected_no_show", &self.expected_no_show)
            .field("limits", &self.limits)
            .field("max_in_flight", &self.max_in_flight)
            .field("request_timeout", &self.request_timeout)
            .field("max_queue", &self.max_queue)
            .field("max_per_address", &self.max_per_address)
            .field("client_address_header", &self.client_address_header)
            .field("trust_forwarded_proto", &self.trust_forwarded_proto)
            .field("admin_tokens", &self.admin_tokens)
            .field("proof_of_work", &self.proof_of_work)
            .field("store", &self.store)
            .field("room", &self.room)
            .finish_non_exhaustive()
    }
}

/// The state shared by all requests: the queue behind a briefly held mutex, and the signer.
pub struct GateState {
    config: GateConfig,
    queue: Mutex<Queue>,
    signer: Signer,
    /// Signs and checks tickets: `signer` in memory; with a shared store, a key drawn from the
    /// secret and the room, so that a ticket of one room is a stranger in another (not an
    /// earlier instance's, to be restored ahead of its queue). Passes stay signed with the
    /// secret, which the portal's login handler checks.
    tickets: Signer,
    /// Passes checked by `/waitroom/verify` and `/waitroom/auth`, with the single-use memory.
    passes: PassVerifier,
    /// Identifiers of passes given to newcomers admitted without a ticket: 2^63 plus the
    /// queue's first number, so that they never look like a sequence number nor repeat an
    /// earlier instance's.
    next_pass_id: AtomicU64,
    /// Events counted since the tidy-up last logged them (logged one by one at debug only).
    dropped: AtomicU64,
    refused_full: AtomicU64,
    refused_address: AtomicU64,
    /// Whether the gate has said once that requests carry a proxy's address header it was not
    /// told to trust (see [`GateState::client_of`]).
    warned_untrusted_proxy: AtomicBool,
    /// Places held per address; locked only inside the queue's lock.
    ledger: Mutex<JoinLedger>,
    /// The binding of the one browser that in-process drivers ([`GateState::answer`]) act as.
    in_process: Binding,
    /// Whether the gate is closed: read by every request without a lock; the notice itself is
    /// in `closure`.
    closed: AtomicBool,
    closure: Mutex<Option<Closure>>,
    /// Arrivals and admissions per minute, for the admin API; written inside the queue's lock.
    history: Mutex<History>,
    /// The last [`MAX_CLOSURES`] closures, `(since, reopened)`: tickets issued before one are
    /// accepted that much past their expiry.
    closures: Mutex<Vec<(Timestamp, Timestamp)>>,
    /// Prometheus metrics.
    metrics: Metrics,
    /// Join attempts of the last minute, which the proof of work follows; locked only inside
    /// the queue's lock.
    join_rate: Mutex<JoinRate>,
    /// Challenges solved, each accepted once.
    spent: Box<dyn SpendOnce>,
    /// Identifiers of challenges, from the queue's first number (never an earlier instance's).
    next_challenge_id: AtomicU64,
    /// When the gate last logged a store failure (ms): at most one warning every 10 s.
    store_warned_at: AtomicU64,
    /// The shared store, when the queue lives in Redis rather than in `queue`.
    shared: Option<RedisStore>,
    /// Tickets waiting in the shared store, as of the last tidy-up (for the health check).
    shared_live: AtomicU64,
    /// When a tidy-up last reached the shared store (ms; 0: never yet), for the health check.
    shared_reached_at: AtomicU64,
    /// The shared store's admission rate as of the last tidy-up (`f64` bits), which the proof
    /// of work compares the join attempts with.
    shared_rate: AtomicU64,
    /// Join attempts this instance saw and has not yet reported to the shared store.
    unreported_joins: AtomicU64,
    /// The room's join attempts over the last minute, every instance's, as of the last
    /// tidy-up: behind a round-robin balancer each instance sees only its share of a flood.
    shared_joins: AtomicU64,
}

/// A proof of work as a request carries it (`?challenge=…&solution=…`), not yet verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Proof<'a> {
    /// The signed challenge, as the gate sent it.
    pub challenge: &'a str,
    /// The number found, in decimal.
    pub solution: &'a str,
}

/// Headers a reverse proxy writes the client's address into.
const PROXY_ADDRESS_HEADERS: [&str; 3] = ["x-forwarded-for", "x-real-ip", "forwarded"];

/// Closures remembered for the tickets issued before them.
const MAX_CLOSURES: usize = 16;

/// Why and since when the gate is closed, and until when if the operator said.
#[derive(Debug, Clone, PartialEq)]
pub struct Closure {
    /// What clients read.
    pub message: String,
    /// When it closed: the queue is left untouched from then on.
    pub since: Timestamp,
    /// When it reopens by itself, if set.
    pub until: Option<Timestamp>,
}

impl fmt::Debug for GateState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GateState").field("config", &self.config).finish_non_exhaustive()
    }
}

impl GateState {
    /// A fresh gate: empty queue, full bucket.
    ///
    /// # Panics
    ///
    /// If the admission rate is not positive, the burst is below 1 or the first sequence number
    /// is 2^62 or more (see [`Queue::new`]); with a Redis store, if the room name is not
    /// [`crate::store::valid_room`] or the URL unreadable (`main` checks both first).
    pub fn new(config: GateConfig) -> Arc<Self> {
        let now = (config.clock)();
        let mut queue = Queue::new(config.queue_config(now), now);
        queue.record_drops(true);
        let signer = Signer::new(&config.secret);
        let id_base = id_base(config.first_seq, queue.config().first_seq);
        let shared = match &config.store {
            StoreUrl::Memory => None,
            StoreUrl::Redis(url) => {
                assert!(crate::store::valid_room(&config.room), "bad room name {:?}", config.room);
                let store = RedisStore::new(
                    url,
                    &config.room,
                    queue.config(),
                    config.max_per_address,
                    config.first_seq,
                );
                Some(store.unwrap_or_else(|message| panic!("--store: {message}")))
            }
        };
        let tickets = match &config.store {
            StoreUrl::Memory => Signer::new(&config.secret),
            StoreUrl::Redis(_) => {
                Signer::new(&crate::store::room_key(&config.secret, &config.room))
            }
        };
        Arc::new(GateState {
            tickets,
            shared,
            shared_live: AtomicU64::new(0),
            shared_reached_at: AtomicU64::new(0),
            shared_rate: AtomicU64::new(config.admit_per_minute.to_bits()),
            unreported_joins: AtomicU64::new(0),
            shared_joins: AtomicU64::new(0),
            store_warned_at: AtomicU64::new(0),
            next_pass_id: AtomicU64::new((1 << 63) | id_base),
            in_process: signer.binding(&BrowserId::from_bytes([0; 16])),
            passes: PassVerifier::new(&config.secret),
            signer,
            queue: Mutex::new(queue),
            dropped: AtomicU64::new(0),
            refused_full: AtomicU64::new(0),
            refused_address: AtomicU64::new(0),
            warned_untrusted_proxy: AtomicBool::new(false),
            ledger: Mutex::new(JoinLedger::new(config.max_per_address)),
            closed: AtomicBool::new(config.closed.is_some()),
            closure: Mutex::new(config.closed.clone().map(|message| Closure {
                message,
                since: now,
                until: None,
            })),
            history: Mutex::new(History::default()),
            closures: Mutex::new(Vec::new()),
            metrics: Metrics::new(),
            join_rate: Mutex::new(JoinRate::default()),
            spent: Box::new(SpentInMemory::new(DEFAULT_SPENT_CAPACITY)),
            next_challenge_id: AtomicU64::new(id_base),
            config,
        })
    }

    /// The reply when the shared store does not answer: `503` `store_unavailable` with
    /// `Retry-After`, so that the widget backs off and its fail-open or fail-closed policy
    /// applies; nobody is admitted. Logged at most once every 10 s.
    pub fn store_unavailable(&self, now: Timestamp, failure: &StoreError) -> Response {
        let last = self.store_warned_at.load(Ordering::Relaxed);
        if now.as_millis().saturating_sub(last) >= 10_000
            && self
                .store_warned_at
                .compare_exchange(last, now.as_millis(), Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            warn!(%failure, "the shared store does not answer: replying 503 store_unavailable");
        }
        let mut response = error(
            StatusCode::SERVICE_UNAVAILABLE,
            "store_unavailable",
            "The gate cannot reach its queue's store just now; try again in a few seconds.",
        );
        response.headers_mut().insert(RETRY_AFTER, HeaderValue::from(STORE_RETRY.as_secs()));
        response
    }

    /// The shared store, when the queue lives in Redis.
    pub fn shared_store(&self) -> Option<&RedisStore> {
        self.shared.as_ref()
    }

    /// The current time, from the configured clock.
    pub fn now(&self) -> Timestamp {
        (self.config.clock)()
    }

    /// The configuration the gate runs with.
    pub fn config(&self) -> &GateConfig {
        &self.config
    }

    /// What `GET /waitroom/status` answers at `now` to a client holding `ticket` (as sent, not
    /// yet verified), for in-process drivers: the demo's synthetic crowd, the simulator and
    /// tests, all acting as one browser that keeps its cookies. See [`GateState::answer_for`].
    pub fn answer(&self, now: Timestamp, ticket: Option<&str>) -> StatusAnswer {
        self.answer_from(now, ticket, None, None, self.in_process, true)
    }

    /// [`GateState::answer`] for an in-process client at address `client`, whose places are
    /// counted and capped like a browser's: for drivers that model a flood (the simulator).
    pub fn answer_at_address(
        &self,
        now: Timestamp,
        ticket: Option<&str>,
        client: ClientKey,
    ) -> StatusAnswer {
        self.answer_from(now, ticket, None, Some(client), self.in_process, true)
    }

    /// [`GateState::answer_at_address`] with a proof of work: for drivers that model the
    /// browsers and bots that solve challenges (the simulator, tests).
    pub fn answer_with_proof(
        &self,
        now: Timestamp,
        ticket: Option<&str>,
        proof: Option<Proof<'_>>,
        client: Option<ClientKey>,
    ) -> StatusAnswer {
        self.answer_from(now, ticket, proof, client, self.in_process, true)
    }

    /// Renews `pass`, presented at `now` by the browser `browser`: a new pass for the same
    /// admission (same id, same issue time), valid one more pass lifetime from its expiry, or
    /// from now when it has already expired. So the time limit after admission is never
    /// hidden: a pupil warned that time is running out extends it, and one who comes back a
    /// little late is let in again, never put back in the queue.
    ///
    /// It takes no admission and touches no queue: one admission per place still holds, and
    /// the admission rate stays exact. `None` (the request is then answered as any other: by
    /// its ticket, or with a new place) when the pass is not this browser's, is forged, has
    /// logged in already ([`PassVerifier::consume`]), expired more than one lifetime ago, or
    /// was renewed [`MAX_PASS_RENEWALS`] times (a renewal after expiry counts for up to two).
    pub fn renew(&self, now: Timestamp, pass: &str, browser: &BrowserId) -> Option<StatusAnswer> {
        if let Some(closed) = self.closed_answer(now) {
            return Some(closed);
        }
        let ttl = self.config.pass_ttl;
        // Accepted up to one lifetime after its expiry: the pupil who logged in a little late.
        let late = now.saturating_sub(ttl);
        let claims = self.signer.verify_pass(pass, Some(browser), late).ok()?;
        let lifetime = claims.expires.saturating_duration_since(claims.issued);
        if self.passes.is_used(claims.id) || lifetime >= ttl.saturating_mul(MAX_PASS_RENEWALS + 1) {
            debug!(id = claims.id, "pass not renewed: used, or renewed too often");
            return None;
        }
        let expires = claims.expires.max(now).saturating_add(ttl);
        let renewed = self.signer.sign_pass(claims.id, claims.issued, expires, claims.binding);
        info!(id = claims.id, late = now >= claims.expires, "pass renewed");
        let pass_expires_in =
            expires.as_millis().div_ceil(1000).saturating_sub(now.as_millis() / 1000);
        Some(StatusAnswer {
            status: 200,
            retry_after_s: None,
            body: StatusReply::Admitted(Admitted {
                pass: renewed,
                pass_expires_in,
                redirect: None,
            }),
        })
    }

    /// [`GateState::renew`] with the passes used (consumed at login) kept in the shared store.
    /// The error is the store's.
    pub async fn renew_shared(
        &self,
        store: &RedisStore,
        now: Timestamp,
        pass: &str,
        browser: &BrowserId,
    ) -> Result<Option<StatusAnswer>, StoreError> {
        let late = now.saturating_sub(self.config.pass_ttl);
        if let Ok(claims) = self.signer.verify_pass(pass, Some(browser), late) {
            if store.nonce_used(&format!("pass:{}", claims.id)).await? {
                debug!(id = claims.id, "pass not renewed: used");
                return Ok(None);
            }
        }
        Ok(self.renew(now, pass, browser))
    }

    /// What `GET /waitroom/status` answers at `now` to a request from `client` (whose places
    /// are counted and capped at [`GateConfig::max_per_address`], see [`crate::fairness`];
    /// `None`, for in-process clients, is not limited), from the browser whose `waitroom_id`
    /// binds to `binding` (`had_cookie`: it sent that cookie, rather than being given it just
    /// now), holding `ticket`: the closed notice, `cookies_required`, a proof-of-work
    /// challenge (a newcomer during a flood, without a valid `proof`), or the queue's decision,
    /// with a ticket or pass bound to that browser.
    ///
    /// A ticket of another browser admits nobody: its bearer starts at the back. A ticket of
    /// ours coming back without any cookie means the browser drops cookies; it is told so
    /// rather than queued again at the back at each poll.
    pub fn answer_from(
        &self,
        now: Timestamp,
        ticket: Option<&str>,
        proof: Option<Proof<'_>>,
        client: Option<ClientKey>,
        binding: Binding,
        had_cookie: bool,
    ) -> StatusAnswer {
        if let Some(answer) = self.closed_answer(now) {
            return answer;
        }
        let visit = match self.visit_of(now, ticket, binding, had_cookie) {
            Ok(visit) => visit,
            Err(answer) => return answer,
        };
        let solved = proof.is_some_and(|proof| self.spend_proof(proof, binding, now));
        let max_queue = self.config.max_queue;
        let visited = self.with_queue(|queue| {
            let mut ledger = self.lock_ledger();
            let joins = queue.would_join(visit);
            // Read, and counted, before any refusal: a flood the full queue turns away is
            // still a flood.
            let challenge = joins.then(|| self.flood_difficulty(queue, now, !solved)).flatten();
            if joins && queue.live() >= max_queue {
                return Err(Refusal::Away(&self.refused_full, FULL_MESSAGE));
            }
            if joins && client.is_some_and(|client| !ledger.may_join(client)) {
                return Err(Refusal::Away(&self.refused_address, ADDRESS_MESSAGE));
            }
            if let Some(max_number) = challenge.filter(|_| !solved) {
                return Err(Refusal::Challenge(max_number));
            }
            let admitted_before = queue.stats().admitted;
            let decision = queue.visit(now, visit);
            let spent = queue.stats().admitted > admitted_before;
            let admitted_at = match decision {
                Decision::Admitted { seq: Some(seq) } => queue.admitted_at(seq),
                _ => None,
            };
            if joins || spent {
                self.lock_history().count(now, joins, spent);
            }
            match (decision, client) {
                (Decision::Queued { seq, .. }, Some(client)) if joins => {
                    ledger.joined(seq, client);
                }
                (Decision::Admitted { seq: Some(seq) }, _) if spent => ledger.left(seq),
                _ => {}
            }
            self.note_dropped(queue, &mut ledger);
            Ok((decision, spent, admitted_at))
        });
        match visited {
            Ok((decision, spent, admitted_at)) => {
                self.decided(now, visit, decision, spent, binding, admitted_at.unwrap_or(now), None)
            }
            Err(Refusal::Challenge(max_number)) => self.challenge(now, max_number, binding),
            Err(Refusal::Away(counter, message)) => Self::refused(counter, message, visit, client),
        }
    }

    /// [`GateState::answer_from`] on the queue in the shared store, for an HTTP request: one
    /// round trip to the store, bounded by its timeout. The closed check, the caps and the
    /// queue's decision are taken by the store in one atomic call, for every instance at once.
    ///
    /// # Errors
    ///
    /// When the store does not answer in time: the caller answers `503` and admits nobody.
    ///
    /// The proof of work follows the room's join attempts (this instance's at once, every
    /// instance's as of the last tidy-up, [`GateState::joins_per_minute`]) and the rate of the
    /// last tidy-up; a solution is spent once across every instance, in the store.
    #[allow(clippy::too_many_arguments)]
    pub async fn answer_shared(
        &self,
        store: &RedisStore,
        now: Timestamp,
        ticket: Option<&str>,
        proof: Option<Proof<'_>>,
        client: Option<ClientKey>,
        binding: Binding,
        had_cookie: bool,
    ) -> Result<StatusAnswer, StoreError> {
        let visit = match self.visit_of(now, ticket, binding, had_cookie) {
            Ok(visit) => visit,
            Err(answer) => return Ok(answer),
        };
        if visit == Visit::Fresh {
            let solved = match proof {
                Some(proof) => self.spend_proof_shared(store, proof, binding, now).await?,
                None => false,
            };
            let rate = f64::from_bits(self.shared_rate.load(Ordering::Relaxed));
            let mut joins = self.join_rate.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            if !solved {
                joins.count(now);
                self.unreported_joins.fetch_add(1, Ordering::Relaxed);
            }
            let difficulty =
                self.config.proof_of_work.difficulty(self.joins_per_minute(&mut joins, now), rate);
            drop(joins);
            if let Some(max_number) = difficulty.filter(|_| !solved) {
                return Ok(self.challenge(now, max_number, binding));
            }
        }
        let hold = CLOSED_RETRY + CLOSED_COMEBACK + self.config.grace;
        let (visited, dropped) =
            store.visit(now, visit, client, self.config.max_queue, hold).await?;
        self.dropped.fetch_add(dropped, Ordering::Relaxed);
        Ok(match visited {
            SharedVisit::Closed(closure) => match self.remember_closure(closure) {
                Some(closure) => Self::closed_reply(&closure, now),
                None => return Err(StoreError("the store's closure has no start".to_string())),
            },
            SharedVisit::Full => Self::refused(&self.refused_full, FULL_MESSAGE, visit, client),
            SharedVisit::Address => {
                Self::refused(&self.refused_address, ADDRESS_MESSAGE, visit, client)
            }
            SharedVisit::Decided { decision, spent, admitted_at, anonymous } => {
                let pass_id = anonymous.map(|n| (1 << 63) | n);
                self.decided(now, visit, decision, spent, binding, admitted_at, pass_id)
            }
        })
    }

    /// The closed notice, or the cookies-required one, or else the visit a request makes.
    fn visit_of(
        &self,
        now: Timestamp,
        ticket: Option<&str>,
        binding: Binding,
        had_cookie: bool,
    ) -> Result<Visit, StatusAnswer> {
        Ok(match ticket.map(|t| self.verify_ticket(t, now)) {
            None => Visit::Fresh,
            Some(Ok(claims)) if claims.binding.matches(&binding) => {
                Visit::Signed { seq: claims.seq, told: claims.told }
            }
            Some(Ok(_)) if !had_cookie => {
                debug!("ticket back without its browser's cookie: cookies required");
                return Err(StatusAnswer::unavailable(
                    COOKIES_RETRY,
                    StatusReply::CookiesRequired(CookiesRequired {
                        message: Some(COOKIES_MESSAGE.to_string()),
                        retry_after_ms: duration_millis(COOKIES_RETRY),
                    }),
                ));
            }
            Some(Ok(_)) => {
                debug!("ticket of another browser: a place at the back");
                Visit::Fresh
            }
            Some(Err(reason)) => {
                // Whatever is wrong with it, the holder starts again at the back: never a better place.
                debug!(%reason, "ticket refused");
                Visit::Fresh
            }
        })
    }

    /// A newcomer refused a place (queue full, or its address holds its cap), counted.
    fn refused(
        counter: &AtomicU64,
        message: &str,
        visit: Visit,
        client: Option<ClientKey>,
    ) -> StatusAnswer {
        counter.fetch_add(1, Ordering::Relaxed);
        debug!(?visit, ?client, message, "refused");
        StatusAnswer::unavailable(
            FULL_RETRY,
            StatusReply::Closed(Closed {
                message: Some(message.to_string()),
                retry_after_ms: duration_millis(FULL_RETRY),
            }),
        )
    }

    /// Logs the queue's decision and signs its reply (`pass_id` for a newcomer let straight
    /// in by a shared store; this instance numbers its own otherwise).
    #[allow(clippy::too_many_arguments)]
    fn decided(
        &self,
        now: Timestamp,
        visit: Visit,
        decision: Decision,
        spent: bool,
        binding: Binding,
        admitted_at: Timestamp,
        pass_id: Option<u64>,
    ) -> StatusAnswer {
        debug!(?visit, ?decision, "status");
        if let Decision::Admitted { seq } = decision {
            if spent {
                info!(ticket = seq, "admitted");
            } else {
                // A lost reply asked again: the admission was logged the first time.
                debug!(ticket = seq, "admission replayed");
            }
        }
        self.reply(now, decision, binding, admitted_at, pass_id)
    }

    /// Whether `proof` is a valid solution for the browser bound to `binding` at `now`,
    /// spending it if so: of two requests with the same solution, one gets a place.
    fn spend_proof(&self, proof: Proof<'_>, binding: Binding, now: Timestamp) -> bool {
        let checked =
            proof_of_work::verify(&self.signer, proof.challenge, proof.solution, binding, now)
                .and_then(|claims| {
                    if self.spent.spend_once(claims.id, claims.expires, now) {
                        Ok(claims)
                    } else {
                        Err(SolutionError::Replayed)
                    }
                });
        match checked {
            Ok(claims) => {
                debug!(id = claims.id, max_number = claims.max_number, "proof of work accepted");
                self.metrics.pow(PowEvent::Solved);
                true
            }
            Err(reason) => {
                debug!(%reason, "proof of work refused");
                self.metrics.pow(PowEvent::Refused);
                false
            }
        }
    }

    /// [`GateState::spend_proof`] with the spent set in the shared store. The error is the
    /// store's.
    async fn spend_proof_shared(
        &self,
        store: &RedisStore,
        proof: Proof<'_>,
        binding: Binding,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let checked =
            proof_of_work::verify(&self.signer, proof.challenge, proof.solution, binding, now);
        let fresh = match &checked {
            Ok(claims) => {
                let ttl = Duration::from_millis(
                    claims.expires.as_millis().saturating_sub(now.as_millis()) + 1_000,
                );
                store.use_nonce(&format!("pow:{}", claims.id), ttl).await?
            }
            Err(_) => false,
        };
        match checked {
            Ok(claims) if fresh => {
                debug!(id = claims.id, max_number = claims.max_number, "proof of work accepted");
                self.metrics.pow(PowEvent::Solved);
                Ok(true)
            }
            Ok(_) => {
                debug!(reason = %SolutionError::Replayed, "proof of work refused");
                self.metrics.pow(PowEvent::Refused);
                Ok(false)
            }
            Err(reason) => {
                debug!(%reason, "proof of work refused");
                self.metrics.pow(PowEvent::Refused);
                Ok(false)
            }
        }
    }

    /// The proof of work a newcomer is asked for at `now`, if the gate is flooded; counts this
    /// join attempt first when `attempt` (it carries no valid solution). Inside the queue's
    /// lock, which reads the admission rate now in force.
    fn flood_difficulty(&self, queue: &Queue, now: Timestamp, attempt: bool) -> Option<u64> {
        let mut rate = self.join_rate.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if attempt {
            rate.count(now);
        }
        let attempts = rate.per_minute(now);
        self.config.proof_of_work.difficulty(attempts, queue.config().admit_per_minute)
    }

    /// The proof of work now, and the join attempts of the last minute it follows.
    pub fn pow_state(&self, now: Timestamp) -> (Option<u64>, u64) {
        self.with_queue(|queue| {
            let attempts = self
                .join_rate
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .per_minute(now);
            let difficulty =
                self.config.proof_of_work.difficulty(attempts, queue.config().admit_per_minute);
            (difficulty, attempts)
        })
    }

    /// A challenge of `max_number` for the browser bound to `binding`, valid for
    /// [`CHALLENGE_TTL`]: no place, no record.
    fn challenge(&self, now: Timestamp, max_number: u64, binding: Binding) -> StatusAnswer {
        let id = self.next_challenge_id.fetch_add(1, Ordering::Relaxed);
        let issued = proof_of_work::issue(
            &self.signer,
            id,
            now.saturating_add(CHALLENGE_TTL),
            max_number,
            binding,
        );
        self.metrics.pow(PowEvent::Issued);
        debug!(id, max_number, "proof of work asked");
        StatusAnswer::unavailable(
            CHALLENGE_RETRY,
            StatusReply::Challenge(Challenge {
                challenge: issued.challenge,
                target: issued.target,
                max_number,
                retry_after_ms: duration_millis(CHALLENGE_RETRY),
            }),
        )
    }

    /// The wire reply to a queue [`Decision`] taken at `now`: a pass signed from the time of
    /// the admission (`admitted_at`), so that a lost reply answered again gives the same pass,
    /// or a ticket with its told time; both bound to `binding`.
    fn reply(
        &self,
        now: Timestamp,
        decision: Decision,
        binding: Binding,
        admitted_at: Timestamp,
        pass_id: Option<u64>,
    ) -> StatusAnswer {
        match decision {
            Decision::Admitted { seq } => {
                let id = seq
                    .or(pass_id)
                    .unwrap_or_else(|| self.next_pass_id.fetch_add(1, Ordering::Relaxed));
                let expires = admitted_at.saturating_add(self.config.pass_ttl);
                let pass = self.signer.sign_pass(id, admitted_at, expires, binding);
                // As the pass says: its expiry is rounded up to the second.
                let expires_s = expires.as_millis().div_ceil(1000);
                let pass_expires_in = expires_s.saturating_sub(now.as_millis() / 1000);
                StatusAnswer {
                    status: 200,
                    retry_after_s: None,
                    body: StatusReply::Admitted(Admitted { pass, pass_expires_in, redirect: None }),
                }
            }
            Decision::Queued { seq, position, return_in, eta, advance_per_minute } => {
                // The widget never polls sooner than a second; saying so keeps the JSON field and
                // the header equal (Retry-After = ceil(retry_after_ms / 1000)).
                let retry_after = return_in.max(Duration::from_secs(1));
                let told_at = now.saturating_add(retry_after);
                let expires = told_at.saturating_add(self.config.grace);
                StatusAnswer::unavailable(
                    retry_after,
                    StatusReply::Queued(Queued {
                        ticket: self.tickets.sign_ticket(seq, now, expires, told_at, binding),
                        position,
                        eta_seconds: duration_millis(eta).div_ceil(1000),
                        retry_after_ms: duration_millis(retry_after),
                        advance_per_minute,
                    }),
                )
            }
        }
    }

    /// Counts (and logs at debug) the tickets `queue` dropped since the last call, and frees
    /// their places in the ledger.
    fn note_dropped(&self, queue: &mut Queue, ledger: &mut JoinLedger) {
        let mut count = 0;
        for seq in queue.drain_dropped() {
            debug!(seq, "dropped: not back within the grace period");
            ledger.left(seq);
            count += 1;
        }
        self.dropped.fetch_add(count, Ordering::Relaxed);
    }

    /// The places held per address. Taken inside the queue's lock, never alone.
    fn lock_ledger(&self) -> std::sync::MutexGuard<'_, JoinLedger> {
        self.ledger.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A ticket's claims, if it verifies at `now`, or would have but for the time the gate was
    /// closed after it was issued (its holder was told to stay away, then): a place kept while
    /// closed is not lost with its ticket. The queue remains the judge of the place itself.
    fn verify_ticket(&self, ticket: &str, now: Timestamp) -> Result<TicketClaims, TokenError> {
        let checked = self.tickets.verify_ticket(ticket, now);
        if checked != Err(TokenError::Expired) {
            return checked;
        }
        let closures = self.lock_closures().clone();
        let all: u64 =
            closures.iter().map(|(since, until)| until.as_millis() - since.as_millis()).sum();
        if all == 0 {
            return checked;
        }
        // Checked below exactly; this only reads the claims of a ticket that could qualify.
        let window = duration_millis(CLOSED_RETRY + CLOSED_COMEBACK + self.config.grace);
        let claims = self.tickets.verify_ticket(
            ticket,
            Timestamp::from_millis(now.as_millis().saturating_sub(all + window)),
        )?;
        let after = closures.iter().filter(|(since, _)| *since >= claims.issued);
        let extension: u64 =
            after.clone().map(|(since, until)| until.as_millis() - since.as_millis()).sum();
        // As the queue keeps the places: the holder told to stay away for 5 minutes (and a
        // jitter) then has its grace.
        let held = after
            .map(|(_, until)| {
                until.saturating_add(CLOSED_RETRY + CLOSED_COMEBACK + self.config.grace)
            })
            .max();
        if claims.expires.as_millis().saturating_add(extension) > now.as_millis()
            || held.is_some_and(|held| held > now)
        {
            Ok(claims)
        } else {
            Err(TokenError::Expired)
        }
    }

    fn lock_closures(&self) -> std::sync::MutexGuard<'_, Vec<(Timestamp, Timestamp)>> {
        self.closures.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn lock_history(&self) -> std::sync::MutexGuard<'_, History> {
        self.history.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn lock_closure(&self) -> std::sync::MutexGuard<'_, Option<Closure>> {
        self.closure.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The closed notice, while the gate is closed at `now`; reopens it first if its `until`
    /// has passed. One relaxed load while open.
    fn closed_answer(&self, now: Timestamp) -> Option<StatusAnswer> {
        if !self.closed.load(Ordering::Acquire) {
            return None;
        }
        let closure = self.lock_closure().clone()?;
        if closure.until.is_some_and(|until| until <= now) {
            self.open(now, "schedule");
            return None;
        }
        Some(Self::closed_reply(&closure, now))
    }

    /// The closed notice for `closure` at `now`.
    fn closed_reply(closure: &Closure, now: Timestamp) -> StatusAnswer {
        // Back when it reopens, if the operator said when (the widget waits at least 60 s).
        let retry = closure
            .until
            .map_or(CLOSED_RETRY, |until| {
                Duration::from_millis(until.as_millis().saturating_sub(now.as_millis()))
            })
            .clamp(Duration::from_secs(1), CLOSED_RETRY);
        StatusAnswer::unavailable(
            retry,
            StatusReply::Closed(Closed {
                message: Some(closure.message.clone()),
                retry_after_ms: duration_millis(retry),
            }),
        )
    }

    /// Takes the shared store's closure as this instance's (for the tickets issued before a
    /// closure, and the admin state); returns it if the room is closed.
    fn remember_closure(&self, stored: crate::store::StoredClosure) -> Option<Closure> {
        let closure = match (stored.message, stored.since) {
            (Some(message), Some(since)) => Some(Closure { message, since, until: stored.until }),
            _ => None,
        };
        *self.lock_closure() = closure.clone();
        self.closed.store(closure.is_some(), Ordering::Release);
        *self.lock_closures() = stored.past;
        closure
    }

    /// The closure in force, if any.
    pub fn closure(&self) -> Option<Closure> {
        self.lock_closure().clone()
    }

    /// Closes the gate at `now` with `message`, until `until` if set; `who` is logged. Queued
    /// tickets keep their places: the queue is left untouched until [`GateState::open`]. An
    /// already closed gate takes the new message and end, and stays closed since it closed.
    pub fn close(&self, now: Timestamp, message: String, until: Option<Timestamp>, who: &str) {
        let mut closure = self.lock_closure();
        let since = closure.as_ref().map_or(now, |c| c.since);
        info!(
            target: "waitroom::admin",
            who,
            what = "close",
            at = now.as_millis(),
            message = message.as_str(),
            until = until.map(|t| t.as_millis()),
            "admin: gate closed"
        );
        *closure = Some(Closure { message, since, until });
        self.closed.store(true, Ordering::Release);
    }

    /// Opens the gate at `now`, if closed: every queued ticket's told time and deadline move
    /// later by the time the gate was closed (see [`Queue::reopen`]), so each keeps its place
    /// and its wait, and those told to stay away have time to come back. Returns whether it
    /// was closed. `who` is logged.
    pub fn open(&self, now: Timestamp, who: &str) -> bool {
        // The queue's lock first, as everywhere: no visit in between sees a half-opened gate.
        self.with_queue(|queue| {
            let mut closure = self.lock_closure();
            let Some(closed) = closure.take() else { return false };
            let hold_until = now.saturating_add(CLOSED_RETRY + CLOSED_COMEBACK + self.config.grace);
            queue.reopen(closed.since, now, hold_until);
            let mut closures = self.lock_closures();
            if closures.len() == MAX_CLOSURES {
                closures.remove(0);
            }
            closures.push((closed.since, now));
            self.closed.store(false, Ordering::Release);
            info!(
                target: "waitroom::admin",
                who,
                what = "open",
                at = now.as_millis(),
                closed_for_s = now.as_millis().saturating_sub(closed.since.as_millis()) / 1000,
                live = queue.live(),
                "admin: gate opened"
            );
            true
        })
    }

    /// Sets the admission rate at `now`, at once (see [`Queue::set_rate`]: no told time moves
    /// earlier); the bucket's capacity follows unless `--burst` fixed it. `who` is logged.
    pub fn set_rate(&self, now: Timestamp, admit_per_minute: f64, who: &str) {
        let burst = self.config.burst_at(admit_per_minute);
        self.with_queue(|queue| {
            let from = queue.config().admit_per_minute;
            queue.set_rate(now, admit_per_minute, burst);
            info!(
                target: "waitroom::admin",
                who,
                what = "rate",
                at = now.as_millis(),
                from,
                to = admit_per_minute,
                burst,
                live = queue.live(),
                "admin: admission rate changed"
            );
        });
    }

    /// What the operator sees at `now`: see [`AdminState`].
    pub fn admin_state(&self, now: Timestamp) -> AdminState {
        let (queue_length, admit_per_minute, burst, no_show_rate, last_told, standing_by, stats) =
            self.with_queue(|queue| {
                (
                    queue.live(),
                    queue.config().admit_per_minute,
                    queue.config().burst,
                    queue.no_show_rate(),
                    queue.last_told_at(now),
                    queue.standing_by(),
                    queue.stats(),
                )
            });
        let state = AdminState {
            now: now.as_millis() / 1000,
            queue_length,
            admit_per_minute,
            burst,
            no_show_rate,
            last_in_line_eta_seconds: 0,
            standing_by,
            closed: None,
            admitted_total: stats.admitted,
            joined_total: stats.issued,
            dropped_total: stats.dropped,
            minutes: self.lock_history().recent(now),
        };
        with_closure(state, self.closure(), last_told, now)
    }

    /// The Prometheus exposition at `now`.
    pub fn metrics_text(&self, now: Timestamp) -> String {
        self.exposition(&self.admin_state(now), now)
    }

    /// The exposition of `state`, with the proof of work as it stands at `now`.
    fn exposition(&self, state: &AdminState, now: Timestamp) -> String {
        let join_attempts_per_minute = self.joins_per_minute(
            &mut self.join_rate.lock().unwrap_or_else(|poisoned| poisoned.into_inner()),
            now,
        );
        let pow_difficulty =
            self.config.proof_of_work.difficulty(join_attempts_per_minute, state.admit_per_minute);
        self.metrics.encode(QueueFigures {
            queue_length: state.queue_length,
            admit_per_minute: state.admit_per_minute,
            closed: state.closed.is_some(),
            no_show_rate: state.no_show_rate,
            last_in_line_eta_seconds: state.last_in_line_eta_seconds,
            admitted: state.admitted_total,
            joined: state.joined_total,
            dropped: state.dropped_total,
            pow_difficulty: pow_difficulty.unwrap_or(0),
            join_attempts_per_minute,
        })
    }

    /// A pass checked against the shared store's used nonces (`consume`: and marked used, on
    /// every instance at once). The outer error is the store's.
    async fn check_shared(
        &self,
        store: &RedisStore,
        pass: &str,
        browser: Option<&BrowserId>,
        now: Timestamp,
        consume: bool,
    ) -> Result<Result<crate::token::PassClaims, TokenError>, StoreError> {
        let claims = match self.passes.check(pass, browser, now) {
            Ok(claims) => claims,
            Err(reason) => return Ok(Err(reason)),
        };
        let name = format!("pass:{}", claims.id);
        let used = if consume {
            // Remembered until the pass expires, and a second more for the clocks.
            let ttl = claims.expires_in(now) + Duration::from_secs(1);
            !store.use_nonce(&name, ttl).await?
        } else {
            store.nonce_used(&name).await?
        };
        Ok(if used { Err(TokenError::AlreadyUsed) } else { Ok(claims) })
    }

    /// What the operator sees at `now`, from the shared store if the queue lives there.
    ///
    /// # Errors
    ///
    /// When the store does not answer in time.
    pub async fn admin_state_now(&self, now: Timestamp) -> Result<AdminState, StoreError> {
        let Some(store) = &self.shared else { return Ok(self.admin_state(now)) };
        let shared: SharedState = store.state(now).await?;
        let closure = self.remember_closure(shared.closure);
        let state = AdminState {
            now: now.as_millis() / 1000,
            queue_length: shared.live,
            admit_per_minute: shared.admit_per_minute,
            burst: shared.burst,
            no_show_rate: shared.no_show_rate,
            last_in_line_eta_seconds: 0,
            standing_by: shared.standing_by,
            closed: None,
            admitted_total: shared.admitted,
            joined_total: shared.issued,
            dropped_total: shared.dropped,
            minutes: shared
                .minutes
                .iter()
                .map(|&(minute, arrivals, admissions)| crate::admin::Minute {
                    start: minute * 60,
                    arrivals,
                    admissions,
                })
                .collect(),
        };
        Ok(with_closure(state, closure, shared.last_told, now))
    }

    /// [`GateState::set_rate`], on the shared store if the queue lives there.
    ///
    /// # Errors
    ///
    /// When the store does not answer in time: nothing changed, or the change is not known.
    pub async fn set_rate_now(
        &self,
        now: Timestamp,
        admit_per_minute: f64,
        who: &str,
    ) -> Result<(), StoreError> {
        let Some(store) = &self.shared else {
            self.set_rate(now, admit_per_minute, who);
            return Ok(());
        };
        let burst = self.config.burst_at(admit_per_minute);
        let from = store.set_rate(now, admit_per_minute, burst).await?;
        info!(target: "waitroom::admin", who, what = "rate", at = now.as_millis(), from, to = admit_per_minute, burst, room = self.config.room.as_str(), "admin: admission rate changed");
        Ok(())
    }

    /// [`GateState::close`], on the shared store if the queue lives there.
    ///
    /// # Errors
    ///
    /// When the store does not answer in time.
    pub async fn close_now(
        &self,
        now: Timestamp,
        message: String,
        until: Option<Timestamp>,
        who: &str,
    ) -> Result<(), StoreError> {
        let Some(store) = &self.shared else {
            self.close(now, message, until, who);
            return Ok(());
        };
        let closure = store.close(now, &message, until).await?;
        self.remember_closure(closure);
        info!(target: "waitroom::admin", who, what = "close", at = now.as_millis(), message = message.as_str(), until = until.map(|t| t.as_millis()), room = self.config.room.as_str(), "admin: gate closed");
        Ok(())
    }

    /// [`GateState::open`], on the shared store if the queue lives there.
    ///
    /// # Errors
    ///
    /// When the store does not answer in time.
    pub async fn open_now(&self, now: Timestamp, who: &str) -> Result<bool, StoreError> {
        let Some(store) = &self.shared else { return Ok(self.open(now, who)) };
        let hold = CLOSED_RETRY + CLOSED_COMEBACK + self.config.grace;
        let since = store.open(now, hold).await?;
        if let Some(since) = since {
            info!(target: "waitroom::admin", who, what = "open", at = now.as_millis(), closed_for_s = now.as_millis().saturating_sub(since.as_millis()) / 1000, room = self.config.room.as_str(), "admin: gate opened");
        }
        Ok(since.is_some())
    }

    /// [`GateState::metrics_text`], from the shared store if the queue lives there.
    ///
    /// # Errors
    ///
    /// When the store does not answer in time.
    pub async fn metrics_text_now(&self, now: Timestamp) -> Result<String, StoreError> {
        Ok(self.exposition(&self.admin_state_now(now).await?, now))
    }

    /// Places `client` holds now.
    pub fn held_by(&self, client: ClientKey) -> u32 {
        self.with_queue(|_| self.lock_ledger().held(client))
    }

    /// Who the request comes from: the address in the trusted proxy header
    /// ([`GateConfig::client_address_header`]) if set and readable, else the peer's.
    ///
    /// Behind a reverse proxy without `--client-address-header`, every pupil has the proxy's
    /// address and the per-address cap becomes a cap on the whole portal: the first request
    /// that carries a proxy's address header then logs one warning saying so.
    pub fn client_of(&self, headers: &HeaderMap, peer: Option<IpAddr>) -> Option<ClientKey> {
        let Some(name) = self.config.client_address_header.as_deref() else {
            if PROXY_ADDRESS_HEADERS.iter().any(|h| headers.contains_key(*h))
                && !self.warned_untrusted_proxy.swap(true, Ordering::Relaxed)
            {
                warn!(
                    max_per_address = self.config.max_per_address,
                    "requests come through a proxy (X-Forwarded-For, X-Real-IP or Forwarded) but \
                     --client-address-header is not set: every client counts as the proxy's \
                     address, so the per-address cap applies to the whole portal; set \
                     --client-address-header to the header the proxy writes"
                );
            }
            return peer.map(ClientKey::of);
        };
        ClientKey::from_header(headers, name).or_else(|| peer.map(ClientKey::of))
    }

    /// One batch of the tidy-up at `now` (see [`Queue::tidy`]); returns whether work is left.
    pub fn tidy(&self, now: Timestamp) -> bool {
        // A closed gate leaves its queue untouched (nobody is dropped for obeying the notice),
        // but reopens when its time comes.
        if self.closed_answer(now).is_some() {
            return false;
        }
        self.with_queue(|queue| {
            let more = queue.tidy(now, TIDY_BATCH);
            self.note_dropped(queue, &mut self.lock_ledger());
            more
        })
    }

    /// Runs the tidy-up for ever: every 250 ms, in batches of 4 096 deadlines between which
    /// the lock is released, so that no request waits behind a backlog; logs its counts at
    /// info once a minute when something happened.
    pub async fn tidy_up(self: Arc<Self>) {
        let mut logged_at = tokio::time::Instant::now();
        loop {
            tokio::time::sleep(TIDY_PERIOD).await;
            if let Some(store) = &self.shared {
                self.tidy_shared(store).await;
                continue;
            }
            while self.tidy(self.now()) {
                tokio::task::yield_now().await;
            }
            if logged_at.elapsed() >= TIDY_LOG_PERIOD {
                logged_at = tokio::time::Instant::now();
                let dropped = self.dropped.swap(0, Ordering::Relaxed);
                let refused_full = self.refused_full.swap(0, Ordering::Relaxed);
                let refused_address = self.refused_address.swap(0, Ordering::Relaxed);
                if dropped + refused_full + refused_address > 0 {
                    let (live, addresses) =
                        self.with_queue(|queue| (queue.live(), self.lock_ledger().addresses()));
                    info!(
                        dropped,
                        refused_full,
                        refused_address,
                        live,
                        addresses,
                        "tidy-up: in the last minute"
                    );
                }
            }
        }
    }

    /// The tidy-up of the shared store: every instance calls it, whoever comes first handles
    /// what fell due (each batch is atomic); it also brings this instance the room's closure.
    async fn tidy_shared(&self, store: &RedisStore) {
        let hold = CLOSED_RETRY + CLOSED_COMEBACK + self.config.grace;
        loop {
            let now = self.now();
            let joins = self.unreported_joins.swap(0, Ordering::Relaxed);
            match store.tidy(now, TIDY_BATCH, hold, joins).await {
                Ok(tidied) => {
                    self.shared_reached_at.store(now.as_millis(), Ordering::Relaxed);
                    self.dropped.fetch_add(tidied.dropped, Ordering::Relaxed);
                    self.shared_live.store(tidied.live, Ordering::Relaxed);
                    self.shared_rate.store(tidied.admit_per_minute.to_bits(), Ordering::Relaxed);
                    self.shared_joins.store(tidied.joins_per_minute, Ordering::Relaxed);
                    self.remember_closure(tidied.closure);
                    if !tidied.more {
                        return;
                    }
                }
                Err(failure) => {
                    // Counted again at the next tidy-up that reaches the store.
                    self.unreported_joins.fetch_add(joins, Ordering::Relaxed);
                    debug!(%failure, "tidy-up: the store does not answer");
                    return;
                }
            }
        }
    }

    /// Join attempts over the last minute, as the proof of work judges a flood: this
    /// instance's own count, seen at once, or the room's across every instance on a shared
    /// store (as of the last tidy-up, 250 ms at most), whichever is larger.
    fn joins_per_minute(&self, joins: &mut JoinRate, now: Timestamp) -> u64 {
        joins.per_minute(now).max(self.shared_joins.load(Ordering::Relaxed))
    }

    /// Whether a request reached the gate over HTTPS, as far as the gate may believe: through
    /// a trusted proxy's `X-Forwarded-Proto` (the gate itself serves plain HTTP).
    fn over_https(&self, headers: &HeaderMap) -> bool {
        self.config.trust_forwarded_proto
            && headers
                .get("x-forwarded-proto")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(',').next())
                .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"))
    }

    /// Runs `f` on the queue, holding its lock for the duration (keep it short).
    pub fn with_queue<T>(&self, f: impl FnOnce(&mut Queue) -> T) -> T {
        // A panic while holding the lock leaves the queue consistent enough to go on serving.
        let mut queue = self.queue.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut queue)
    }
}

/// Why a newcomer gets no place.
enum Refusal<'a> {
    /// Turned away with `message`, counted in the counter.
    Away(&'a AtomicU64, &'static str),
    /// Asked for a proof of work of this difficulty first.
    Challenge(u64),
}

/// What the status endpoint answers, before HTTP: status code, `Retry-After` and JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusAnswer {
    /// `200` admitted, `503` queued or closed.
    pub status: u16,
    /// The `Retry-After` header in whole seconds (at least 1), on a `503`.
    pub retry_after_s: Option<u64>,
    /// The body.
    pub body: StatusReply,
}

impl StatusAnswer {
    /// A `503` asking to come back after `retry_after`, rounded up to whole seconds.
    fn unavailable(retry_after: Duration, body: StatusReply) -> Self {
        StatusAnswer {
            status: 503,
            retry_after_s: Some(duration_millis(retry_after).div_ceil(1000).max(1)),
            body,
        }
    }

    /// The `Retry-After` header as the widget reads it.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after_s.map(Duration::from_secs)
    }

    /// This answer as the widget's state machine receives it, through the same range checks
    /// as an HTTP reply ([`waitroom::reply::from_wire`]) but without the JSON: for in-process
    /// drivers (the demo crowd, tests in virtual time).
    pub fn into_reply(self) -> waitroom::reply::Reply {
        let retry_after = self.retry_after();
        waitroom::reply::from_wire(self.body, self.status, retry_after)
    }
}

/// The `/waitroom` API, without a fallback, so that other routers (the demo) can be merged in.
pub fn router(state: Arc<GateState>) -> Router {
    let not_found = || async { error(StatusCode::NOT_FOUND, "not_found", "No such endpoint.") };
    Router::new()
        .route(STATUS_PATH, get(status).options(preflight).fallback(method_not_allowed))
        .route(HEALTH_PATH, get(health).fallback(method_not_allowed))
        .route(
            VERIFY_PATH,
            axum::routing::post(verify)
                .options(preflight)
                .fallback(method_not_allowed)
                .layer(DefaultBodyLimit::max(MAX_VERIFY_BODY)),
        )
        .route(AUTH_PATH, get(auth).fallback(method_not_allowed))
        .merge(crate::admin::router(state.clone()))
        .merge(crate::admin::ops_router())
        .route("/waitroom", axum::routing::any(not_found))
        .route("/waitroom/{*rest}", axum::routing::any(not_found))
        .layer(middleware::from_fn_with_state(state.clone(), api_headers))
        .with_state(state)
}

/// The whole gate: [`router`], plus the static files of `www` (or JSON 404s) everywhere else,
/// behind [`protect`].
pub fn app(state: Arc<GateState>) -> Router {
    let www = state.config.www.clone();
    let config = state.config.clone();
    let api = if config.metrics_on_main {
        router(state.clone()).merge(metrics_router(state))
    } else {
        router(state)
    };
    let app = match www {
        Some(dir) => api.fallback_service(static_files(&dir, ServeDir::new(&dir))),
        None => {
            api.fallback(|| async { error(StatusCode::NOT_FOUND, "not_found", "Nothing here.") })
        }
    };
    protect(app, &config)
}

/// `service` (a file service for `dir`) behind [`static_files::guard`]: no dotfile, no symlink
/// out of `dir`.
///
/// Precompressed siblings are served when the browser accepts them: `file.br`, else
/// `file.gz`, with `Content-Encoding` and the original `Content-Type` (`make build` writes them
/// next to the widget's files), so every pupil downloads the compressed sizes of the README,
/// with no compression work per request.
pub fn static_files(dir: &std::path::Path, service: ServeDir) -> Router {
    Router::new()
        .fallback_service(service.precompressed_br().precompressed_gzip())
        .layer(middleware::from_fn_with_state(Root::new(dir), static_files::guard))
}

/// What every reply of the gate goes through: load shedding past
/// [`GateConfig::max_in_flight`], a [`GateConfig::request_timeout`], and
/// `X-Content-Type-Options: nosniff`.
pub fn protect(app: Router, config: &GateConfig) -> Router {
    let limiter = Limiter {
        permits: Arc::new(Semaphore::new(config.max_in_flight.max(1))),
        timeout: config.request_timeout,
    };
    app.layer(middleware::from_fn_with_state(limiter, shed)).layer(
        SetResponseHeaderLayer::overriding(
            X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
    )
}

/// Serves the gate on `listener` until the future is dropped or the listener fails.
pub async fn serve(listener: tokio::net::TcpListener, config: GateConfig) -> io::Result<()> {
    serve_with_metrics(listener, None, config).await
}

/// Serves the gate on `listener`, and `GET /metrics` on `metrics` if given (then not on
/// `listener`: `--metrics-listen`).
pub async fn serve_with_metrics(
    listener: tokio::net::TcpListener,
    metrics: Option<tokio::net::TcpListener>,
    mut config: GateConfig,
) -> io::Result<()> {
    let limits = config.limits;
    config.metrics_on_main = config.metrics_on_main && metrics.is_none();
    let state = GateState::new(config);
    let metrics = async {
        match metrics {
            Some(listener) => {
                let app = protect(metrics_router(state.clone()), &state.config);
                connections::serve(listener, app, limits).await
            }
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        served = connections::serve(listener, app(state.clone()), limits) => served,
        served = metrics => served,
        () = state.clone().tidy_up() => Ok(()),
    }
}

/// Path of the Prometheus exposition.
pub const METRICS_PATH: &str = "/metrics";

/// `GET /metrics`, alone.
pub fn metrics_router(state: Arc<GateState>) -> Router {
    Router::new()
        .route(METRICS_PATH, get(metrics_text).fallback(method_not_allowed))
        .with_state(state)
}

/// `GET /metrics`: the Prometheus exposition.
async fn metrics_text(State(state): State<Arc<GateState>>) -> Response {
    let now = state.now();
    let text = match state.metrics_text_now(now).await {
        Ok(text) => text,
        Err(failure) => return state.store_unavailable(now, &failure),
    };
    (
        StatusCode::OK,
        [
            (axum::http::header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE),
            (CACHE_CONTROL, "no-store"),
        ],
        text,
    )
        .into_response()
}

#[derive(Clone)]
struct Limiter {
    permits: Arc<Semaphore>,
    timeout: Duration,
}

/// Answers at once when too many requests are in progress, and bounds how long one may take.
async fn shed(State(limiter): State<Limiter>, request: Request, next: Next) -> Response {
    let Ok(_permit) = limiter.permits.try_acquire() else {
        debug!("shed: too many requests in progress");
        let mut response = error(
            StatusCode::SERVICE_UNAVAILABLE,
            "overloaded",
            "The gate is busy; try again in a few seconds.",
        );
        response.headers_mut().insert(RETRY_AFTER, HeaderValue::from(SHED_RETRY.as_secs()));
        response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        return response;
    };
    match tokio::time::timeout(limiter.timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => error(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            "The request took too long to arrive.",
        ),
    }
}

/// Whether a request declares that it will not wait for its turn, so must not take a place:
/// `HEAD`, a robot, a health check or a link preview by its `User-Agent`, or a prefetch.
pub fn takes_no_place(method: &Method, headers: &HeaderMap) -> bool {
    if method == Method::HEAD {
        return true;
    }
    let prefetch = ["sec-purpose", "purpose", "x-moz", "x-purpose"].iter().any(|name| {
        headers.get(*name).and_then(|v| v.to_str().ok()).is_some_and(|v| {
            let v = v.to_ascii_lowercase();
            v.contains("prefetch") || v.contains("preview")
        })
    });
    let agent = headers
        .get(USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    prefetch || NO_PLACE_AGENTS.iter().any(|word| agent.contains(word))
}

/// The body of `GET /waitroom/health`.
#[derive(Debug, Serialize)]
struct Health {
    /// `ok`, or `store_unavailable`.
    status: &'static str,
    /// Tickets waiting.
    live: u64,
    closed: bool,
    /// `memory`; on a shared store, `ok` or `unreachable`.
    store: &'static str,
}

/// `GET /waitroom/health`: the gate answers; how many wait. Touches no record, and costs the
/// shared store nothing: its figures are the last tidy-up's (every 250 ms).
///
/// `503` while that store has not answered for [`STORE_SILENCE`] (or not yet since the start):
/// this instance can admit nobody, and a load balancer's check sends the pupils to the
/// instances that reach it.
async fn health(State(state): State<Arc<GateState>>) -> Response {
    let (live, reached) = match state.shared {
        None => (state.with_queue(|queue| queue.live()), None),
        Some(_) => {
            let reached_at = state.shared_reached_at.load(Ordering::Relaxed);
            let silent = state.now().as_millis().saturating_sub(reached_at);
            let reached = reached_at > 0 && silent < duration_millis(STORE_SILENCE);
            (state.shared_live.load(Ordering::Relaxed), Some(reached))
        }
    };
    let (code, status, store) = match reached {
        None => (StatusCode::OK, "ok", "memory"),
        Some(true) => (StatusCode::OK, "ok", "ok"),
        Some(false) => (StatusCode::SERVICE_UNAVAILABLE, "store_unavailable", "unreachable"),
    };
    json(code, &Health { status, live, closed: state.closed.load(Ordering::Relaxed), store })
}

/// Adds `Cache-Control: no-store` and the CORS headers to every API reply.
async fn api_headers(
    State(state): State<Arc<GateState>>,
    request: Request,
    next: Next,
) -> Response {
    let origin = request.headers().get(ORIGIN).cloned();
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if state.config.cors_origins.is_empty() {
        return response;
    }
    // The reply differs by origin even when the origin is refused: caches must know.
    headers.append(VARY, HeaderValue::from_static("Origin"));
    let allowed = origin.filter(|origin| {
        state.config.cors_origins.iter().any(|allowed| allowed.as_bytes() == origin.as_bytes())
    });
    if let Some(origin) = allowed {
        headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        headers.insert(ACCESS_CONTROL_ALLOW_CREDENTIALS, HeaderValue::from_static("true"));
    }
    response
}

/// Answers a CORS preflight; [`api_headers`] adds the origin when it is allowed.
async fn preflight() -> Response {
    (
        StatusCode::NO_CONTENT,
        [
            (ACCESS_CONTROL_ALLOW_METHODS, "GET, POST, OPTIONS"),
            (ACCESS_CONTROL_ALLOW_HEADERS, "content-type, accept"),
            (ACCESS_CONTROL_MAX_AGE, "600"),
        ],
    )
        .into_response()
}

pub(crate) async fn method_not_allowed() -> Response {
    error(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "This endpoint does not take that method.",
    )
}

/// `GET /waitroom/status`, counted and timed for the metrics.
async fn status(
    State(state): State<Arc<GateState>>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    method: Method,
    headers: HeaderMap,
    query: RawQuery,
) -> Response {
    let started = std::time::Instant::now();
    let (outcome, response) = answer_status(&state, peer, method, headers, query).await;
    state.metrics.request(outcome, started.elapsed());
    response
}

/// What a status reply counts as in `waitroom_requests_total`.
fn outcome_of(body: &StatusReply) -> Outcome {
    match body {
        StatusReply::Admitted(_) => Outcome::Admitted,
        StatusReply::Queued(_) => Outcome::Queued,
        StatusReply::Closed(closed)
            if matches!(closed.message.as_deref(), Some(FULL_MESSAGE | ADDRESS_MESSAGE)) =>
        {
            Outcome::Refused
        }
        StatusReply::Closed(_) => Outcome::Closed,
        StatusReply::Challenge(_) => Outcome::Challenged,
        _ => Outcome::Refused,
    }
}

async fn answer_status(
    state: &Arc<GateState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    method: Method,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> (Outcome, Response) {
    if takes_no_place(&method, &headers) {
        let mut response = error(
            StatusCode::SERVICE_UNAVAILABLE,
            "no_place",
            "This request does not take a place in the queue (HEAD, a robot, a health check or a prefetch); a browser asks with GET.",
        );
        response.headers_mut().insert(RETRY_AFTER, HeaderValue::from(NO_PLACE_RETRY.as_secs()));
        return (Outcome::Refused, response);
    }
    let params = match status_params(query.as_deref()) {
        Ok(params) => params,
        Err(message) => {
            return (Outcome::Error, error(StatusCode::BAD_REQUEST, "bad_request", message))
        }
    };
    let peer = peer.map(|Extension(ConnectInfo(peer))| peer.ip());
    let client = state.client_of(&headers, peer);
    let (id, had_cookie) = match browser::browser_id(&headers) {
        Some(id) => (id, true),
        None => match BrowserId::random() {
            Some(id) => (id, false),
            None => {
                return (
                    Outcome::Error,
                    error(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "no_randomness",
                        "The gate cannot draw a browser identifier; try again later.",
                    ),
                )
            }
        },
    };
    let binding = state.signer.binding(&id);
    let proof = match (&params.challenge, &params.solution) {
        (Some(challenge), Some(solution)) => Some(Proof { challenge, solution }),
        _ => None,
    };
    let now = state.now();
    let renewing = params.pass.as_deref().filter(|_| had_cookie);
    let renewed = match (renewing, &state.shared) {
        (None, _) => None,
        (Some(pass), None) => state.renew(now, pass, &id),
        (Some(pass), Some(store)) => match state.renew_shared(store, now, pass, &id).await {
            Ok(renewed) => renewed,
            Err(failure) => return (Outcome::Error, state.store_unavailable(now, &failure)),
        },
    };
    let ticket = params.ticket.as_deref();
    let answer = match (renewed, &state.shared) {
        (Some(renewed), _) => renewed,
        (None, None) => state.answer_from(now, ticket, proof, client, binding, had_cookie),
        (None, Some(store)) => {
            match state.answer_shared(store, now, ticket, proof, client, binding, had_cookie).await
            {
                Ok(answer) => answer,
                Err(failure) => return (Outcome::Error, state.store_unavailable(now, &failure)),
            }
        }
    };
    let outcome = outcome_of(&answer.body);
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    let mut response = json(status, &answer.body);
    let secure = state.over_https(&headers);
    let headers = response.headers_mut();
    if let Some(seconds) = answer.retry_after_s {
        headers.insert(RETRY_AFTER, HeaderValue::from(seconds));
    }
    // Renewed on every reply, so that it outlives the longest wait.
    if let Ok(cookie) = HeaderValue::from_str(&browser::id_cookie(&id, secure)) {
        headers.append(SET_COOKIE, cookie);
    }
    if let StatusReply::Admitted(admitted) = &answer.body {
        let cookie = browser::pass_cookie(&admitted.pass, admitted.pass_expires_in, secure);
        if let Ok(cookie) = HeaderValue::from_str(&cookie) {
            headers.append(SET_COOKIE, cookie);
        }
    }
    (outcome, response)
}

/// `POST /waitroom/verify`.
async fn verify(
    State(state): State<Arc<GateState>>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body {
        Ok(body) => body,
        Err(rejection) => return error(rejection.status(), "bad_request", &rejection.body_text()),
    };
    let Ok(request) = serde_json::from_slice::<VerifyRequest>(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "Expected a JSON body {\"pass\": \"…\", \"browser\": \"<waitroom_id cookie>\", \"consume\": false}.",
        );
    };
    let now = state.now();
    let browser = request.browser.as_deref().and_then(BrowserId::parse);
    let checked = match &state.shared {
        None if request.consume => state.passes.consume(&request.pass, browser.as_ref(), now),
        None => state.passes.verify(&request.pass, browser.as_ref(), now),
        Some(store) => {
            match state
                .check_shared(store, &request.pass, browser.as_ref(), now, request.consume)
                .await
            {
                Ok(checked) => checked,
                Err(failure) => return state.store_unavailable(now, &failure),
            }
        }
    };
    let reply = match checked {
        Ok(claims) => VerifyReply {
            valid: true,
            id: Some(claims.id.to_string()),
            expires_at: Some(claims.expires.as_millis() / 1000),
            expires_in: Some(claims.expires_in(now).as_secs()),
            consumed: request.consume.then_some(true),
            reason: None,
        },
        Err(reason) => VerifyReply {
            valid: false,
            id: None,
            expires_at: None,
            expires_in: None,
            consumed: None,
            reason: Some(reason.to_string()),
        },
    };
    debug!(valid = reply.valid, consume = request.consume, "verify");
    json(StatusCode::OK, &reply)
}

/// `GET /waitroom/auth`, for nginx `auth_request`: `204` when the request carries a valid,
/// unused pass (`waitroom_pass` cookie) and the `waitroom_id` cookie it is bound to, `401`
/// otherwise. Reads two cookies and checks one MAC: no queue, no lock but the used-pass map's.
async fn auth(State(state): State<Arc<GateState>>, headers: HeaderMap) -> Response {
    let pass = browser::cookie_value(&headers, PASS_COOKIE);
    let id = browser::browser_id(&headers);
    let now = state.now();
    let checked = match (pass, &state.shared) {
        (None, _) => None,
        (Some(pass), None) => Some(state.passes.verify(pass, id.as_ref(), now)),
        (Some(pass), Some(store)) => {
            match state.check_shared(store, pass, id.as_ref(), now, false).await {
                Ok(checked) => Some(checked),
                Err(failure) => return state.store_unavailable(now, &failure),
            }
        }
    };
    match checked {
        Some(Ok(claims)) => {
            let mut response = StatusCode::NO_CONTENT.into_response();
            response.headers_mut().insert(PASS_ID_HEADER, HeaderValue::from(claims.id));
            response
        }
        Some(Err(reason)) => {
            debug!(%reason, "auth refused");
            error(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                &format!("The pass is not valid here: {reason}."),
            )
        }
        None => {
            let message = if id.is_none() {
                format!("No {PASS_COOKIE} nor {ID_COOKIE} cookie: queue first.")
            } else {
                format!("No {PASS_COOKIE} cookie: queue first.")
            };
            error(StatusCode::UNAUTHORIZED, "unauthorized", &message)
        }
    }
}

/// The parameters of a status request, as sent (none verified yet).
#[derive(Debug, Default, PartialEq, Eq)]
struct StatusParams {
    ticket: Option<String>,
    challenge: Option<String>,
    solution: Option<String>,
    /// An admitted browser's pass, to renew ([`GateState::renew`]).
    pass: Option<String>,
}

/// The ticket, the proof of work and the pass from the query string, if any; other parameters, and bad
/// escapes anywhere, are ignored (decoding is lossy: a mangled ticket just fails to verify,
/// and its holder queues as a newcomer; a mangled solution is refused).
fn status_params(query: Option<&str>) -> Result<StatusParams, &'static str> {
    let query = query.unwrap_or("");
    // Checked before decoding, so a huge query costs nothing: a real one is under 300 bytes.
    if query.len() > 8 * MAX_TICKET_LEN {
        return Err("The query string is too long.");
    }
    let mut params = StatusParams::default();
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        let (slot, twice, long) = match key.as_ref() {
            TICKET_PARAM => (
                &mut params.ticket,
                "The ticket parameter is given more than once.",
                "The ticket parameter is too long.",
            ),
            CHALLENGE_PARAM => (
                &mut params.challenge,
                "The challenge parameter is given more than once.",
                "The challenge parameter is too long.",
            ),
            SOLUTION_PARAM => (
                &mut params.solution,
                "The solution parameter is given more than once.",
                "The solution parameter is too long.",
            ),
            PASS_PARAM => (
                &mut params.pass,
                "The pass parameter is given more than once.",
                "The pass parameter is too long.",
            ),
            _ => continue,
        };
        if slot.is_some() {
            return Err(twice);
        }
        if value.len() > MAX_TICKET_LEN {
            return Err(long);
        }
        *slot = Some(value.into_owned()).filter(|v| !v.is_empty());
    }
    Ok(params)
}

/// Where this instance starts counting the ids of the passes it gives newcomers and of its
/// proof-of-work challenges. From the start time, as ticket numbers are, two instances on one
/// shared store started in the same millisecond would count the same ids, and each would spend
/// the other's (a pupil's single-use pass or solution refused as a replay): so from a random
/// 62-bit number, whose ranges two instances share with odds of about 10⁻⁹. A configured
/// `first_seq` (tests, the simulator) keeps them reproducible; without randomness, the start
/// time.
fn id_base(configured: Option<u64>, from_start_time: u64) -> u64 {
    if let Some(seq) = configured {
        return seq;
    }
    let mut bytes = [0u8; 8];
    match getrandom::getrandom(&mut bytes) {
        Ok(()) => u64::from_le_bytes(bytes) >> 2,
        Err(_) => from_start_time,
    }
}

/// Completes the operator's figures with the closure, if any, and the last one in line's wait,
/// from the latest told time: while closed, that wait grows with the closure (nothing moves).
fn with_closure(
    mut state: AdminState,
    closure: Option<Closure>,
    last_told: Timestamp,
    now: Timestamp,
) -> AdminState {
    if state.queue_length > 0 {
        let paused =
            closure.as_ref().map_or(0, |c| now.as_millis().saturating_sub(c.since.as_millis()));
        state.last_in_line_eta_seconds =
            (last_told.as_millis() + paused).saturating_sub(now.as_millis()).div_ceil(1000);
    }
    state.closed = closure.map(|c| ClosedState {
        message: c.message,
        since: c.since.as_millis() / 1000,
        until: c.until.map(|t| t.as_millis() / 1000),
    });
    state
}

/// The ticket alone, as [`status_params`] reads it.
#[cfg(test)]
fn ticket_param(query: Option<&str>) -> Result<Option<String>, &'static str> {
    status_params(query).map(|params| params.ticket)
}

/// `application/x-www-form-urlencoded` decoding: `%XX` and `+` for a space.
pub(crate) fn percent_decode(s: &str) -> Result<Vec<u8>, &'static str> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
                let byte = hex
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or("The query string has a bad percent escape.")?;
                out.push(byte);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    Ok(out)
}

fn json(status: StatusCode, body: &impl Serialize) -> Response {
    (status, Json(body)).into_response()
}

pub(crate) fn json_reply(status: StatusCode, body: &impl Serialize) -> Response {
    json(status, body)
}

pub(crate) fn error(status: StatusCode, code: &str, message: &str) -> Response {
    json(status, &ErrorReply { error: code.to_string(), message: message.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticket_param_decodes_and_ignores_other_parameters() {
        assert_eq!(ticket_param(None), Ok(None));
        assert_eq!(ticket_param(Some("a=1&ticket=t1.2%2E3&b")), Ok(Some("t1.2.3".into())));
        assert_eq!(ticket_param(Some("ticket=")), Ok(None));
        assert!(ticket_param(Some("ticket=a&ticket=b")).is_err());
        assert!(ticket_param(Some(&format!("ticket={}", "a".repeat(513)))).is_err());
        assert!(ticket_param(Some(&"a".repeat(5000))).is_err());
        let both = status_params(Some("pass=p2.1&ticket=t2.2")).unwrap();
        assert_eq!((both.ticket.as_deref(), both.pass.as_deref()), (Some("t2.2"), Some("p2.1")));
        assert!(status_params(Some("pass=a&pass=b")).is_err());
        assert!(status_params(Some(&format!("pass={}", "a".repeat(513)))).is_err());
        assert_eq!(status_params(Some("pass=")).unwrap().pass, None);
    }

    #[test]
    fn instances_started_in_the_same_millisecond_count_different_pass_and_challenge_ids() {
        let start = |first_seq| {
            let mut config = GateConfig::new(b"0123456789abcdef0123456789abcdef".to_vec());
            config.clock = Arc::new(|| Timestamp::from_millis(1_700_000_000_000));
            config.first_seq = first_seq;
            let state = GateState::new(config);
            let challenge = state.next_challenge_id.load(Ordering::Relaxed);
            (state.next_pass_id.load(Ordering::Relaxed), challenge)
        };
        let (a, b) = (start(None), start(None));
        assert_ne!(a.0, b.0, "pass ids");
        assert_ne!(a.1, b.1, "challenge ids");
        assert!(a.0 >= 1 << 63 && a.0 < (1 << 63) + (1 << 62), "a newcomer's pass id: {}", a.0);
        assert!(a.1 < 1 << 62, "room to count: {}", a.1);
        // Configured (tests, the simulator): reproducible.
        assert_eq!(start(Some(7)), ((1 << 63) | 7, 7));
    }

    #[test]
    fn a_thousand_replays_of_an_admitted_ticket_give_one_pass_and_take_one_admission() {
        let clock = Arc::new(AtomicU64::new(1_700_000_000_000));
        let hand = clock.clone();
        let mut config = GateConfig::new(b"0123456789abcdef0123456789abcdef".to_vec());
        config.burst = Some(1.0);
        config.clock = Arc::new(move || Timestamp::from_millis(hand.load(Ordering::SeqCst)));
        let state = GateState::new(config);
        let now = || state.now();
        assert_eq!(state.answer(now(), None).status, 200);
        let StatusReply::Queued(queued) = state.answer(now(), None).body else { panic!() };
        clock.fetch_add(1_000, Ordering::SeqCst);
        let StatusReply::Admitted(admitted) = state.answer(now(), Some(&queued.ticket)).body else {
            panic!("on time with a token")
        };
        let admissions = state.with_queue(|queue| queue.stats().admitted);
        assert_eq!(admissions, 2);
        // As fast as a script can: all within the same millisecond.
        for k in 0..1000 {
            let StatusReply::Admitted(again) = state.answer(now(), Some(&queued.ticket)).body
            else {
                panic!("replay {k} not admitted")
            };
            assert_eq!(again.pass, admitted.pass);
        }
        assert_eq!(state.with_queue(|queue| queue.stats().admitted), admissions);
        // The bucket was not touched either: the next newcomer finds it as the admission left it.
        assert!(matches!(state.answer(now(), None).body, StatusReply::Queued(_)));
    }

    #[test]
    fn bad_escapes_anywhere_in_the_query_are_not_an_error() {
        assert_eq!(ticket_param(Some("%zz=1")), Ok(None));
        assert_eq!(ticket_param(Some("%zz=1&ticket=t1")), Ok(Some("t1".into())));
        // A mangled ticket is passed on as it decodes, and then fails to verify.
        assert_eq!(ticket_param(Some("ticket=%G1")), Ok(Some("%G1".into())));
        assert_eq!(ticket_param(Some("ticket=%FF")), Ok(Some("\u{FFFD}".into())));
    }
}
