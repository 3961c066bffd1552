//! Where the queue lives: in the gate's memory (the default), or in Redis / Valkey, shared by
//! every gate instance pointed at the same store and room.
//!
//! # One queue logic, two stores
//!
//! The decisions that must be atomic are the operations of a store: a visit (take a ticket
//! number, admit with a token of the shared bucket, stand by, restore an earlier ticket),
//! the tidy-up (no-show judgements, drops), the operator's changes (rate, close, open), and
//! single-use nonces (a consumed pass; a proof-of-work challenge). The memory store performs
//! them in Rust ([`crate::queue::Queue`] behind the gate's mutex); the Redis store performs
//! the same steps, function for function, in one Lua script (`store/queue.lua`) run with
//! `EVALSHA` (`redis::Script` falls back to `EVAL` once when Redis does not know it yet).
//! `tests/redis_store.rs` drives both with the same calls and checks that they take the same
//! decisions.
//!
//! # Keys
//!
//! Every key of room `R` starts with `waitroom:{R}:`: the hash tag `{R}` puts them all in one
//! Redis Cluster slot, so one script may touch them all. The script declares the room's hash
//! (`KEYS[1]`) and builds the other names from it, all in that key's slot, which Redis Cluster
//! accepts (not run against a cluster by the tests here).
//!
//! | key | holds | the queue's |
//! |---|---|---|
//! | `waitroom:{R}:q` | hash: rate, bucket (`tokens`, `refilled`), schedule cursor (`sched`, `last`), `expected`, no-show estimate (`mean`, `judg`), next number, counters, the closure, the re-timings (`maps`, `epoch`) | the scalar fields, [`QueueStats`](crate::queue::QueueStats) |
//! | `…:live` | sorted set of live tickets scored by number: `ZCOUNT` is the position | `order` (Fenwick tree) |
//! | `…:lane` | sorted set of restored tickets scored by their signed told time | `lane_live` |
//! | `…:sb` | sorted set of tickets standing by: `ZCOUNT` below a number | `standby_order` |
//! | `…:due` | sorted set of deadlines (no-show check, drop) scored by time | `due` (binary heap) |
//! | `…:t:<seq>` | hash per ticket: told time, generation, state, flags, address | `records` |
//! | `…:r:<seq>` | the lane number given to an earlier instance's ticket | `restored_from` |
//! | `…:addr` | hash: places held per address | [`crate::fairness::JoinLedger`] |
//! | `…:m:<minute>` | hash: arrivals and admissions in that minute | [`crate::admin::History`] |
//! | `…:n:<name>` | a used nonce (`SET NX PX`) | `PassVerifier`'s used map |
//! | `…:j:<step>` | join attempts of every instance in that 5-s step, added at each tidy-up | [`crate::proof_of_work::JoinRate`] |
//!
//! **Expiry bounds memory.** A live ticket's record expires a day after its drop deadline (the
//! drop normally deletes it from the sets first and leaves the record a few seconds for its
//! no-show check); an admitted one after the grace period (the lost-reply window); a minute's
//! counts after 16 minutes; a 5-s step's join attempts after 65 s; a nonce when the pass or
//! challenge it names expires; the room's hash after a week without a call. So a room holds
//! about its live tickets: `make loadtest` measures the bytes per waiting ticket.
//!
//! **A status poll is one round trip**: one `EVALSHA` (the script reads and writes only the
//! keys above). The memory queue's compaction has no counterpart: expiry does it.
//!
//! **An operator's change costs O(1).** A lower rate, or a reopening, moves every waiting
//! ticket's told time and deadlines (`Queue::set_rate`, `Queue::reopen`): the memory queue
//! rewrites them all at once, which in one script would block Redis, and so every instance, for
//! seconds (10 s for 100 000 tickets when first written so). The script appends the change to
//! the room's `maps` instead, and brings each ticket (and its deadlines) up to date when it is
//! next read, or before one of its deadlines may fall due: the same maps in the same order give
//! the same times, which the same-decisions test checks across rate changes and closures.
//!
//! # Faults
//!
//! Every call is bounded by [`STORE_TIMEOUT`]: a Redis slow, stopped or unreachable gives a
//! [`StoreError`], which the gate answers `503` `store_unavailable` with `Retry-After` (never an
//! admission). The connection manager reconnects by itself when Redis returns.
//!
//! # What a Redis restart loses
//!
//! With `appendonly yes` (and `appendfsync always`, or `everysec` to lose at most a second),
//! nothing: the room's keys come back. Without persistence the room starts empty: the first
//! call creates it again, numbering from the time in µs, so every ticket still held is a ticket
//! of an "earlier instance" and is restored in the lane ahead of newcomers in the order of its
//! signed told time (as after a restart of a memory gate), but the no-show estimate, the rate
//! and closure set by an operator, the places per address and the used nonces (a consumed pass
//! could be used once more before it expires) are lost.

use std::fmt;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Script, Value};
use waitroom::time::{duration_millis, Timestamp};

use crate::fairness::ClientKey;
use crate::queue::{Decision, QueueConfig, Visit};

/// Longest a call to the store may take before the gate answers `503`.
pub const STORE_TIMEOUT: Duration = Duration::from_millis(1_000);
/// What the gate asks a client to wait when the store does not answer.
pub const STORE_RETRY: Duration = Duration::from_secs(5);
/// Sequence numbers the script can carry exactly (Lua counts in doubles): a ticket numbered
/// above is treated as a newcomer. The gate's numbers (µs since the epoch) are about 2^51.
pub const MAX_STORE_SEQ: u64 = 1 << 53;

/// Where the queue lives, as `--store` says.
#[derive(Clone, PartialEq, Eq, Default)]
pub enum StoreUrl {
    /// In this gate's memory.
    #[default]
    Memory,
    /// A Redis or Valkey server, `redis://` or `rediss://`, password allowed (never logged).
    Redis(String),
}

impl StoreUrl {
    /// Reads `memory`, `redis://…` or `rediss://…`.
    ///
    /// # Errors
    ///
    /// Anything else, or a Redis URL the client cannot read; the message never repeats the
    /// URL's password.
    pub fn parse(text: &str) -> Result<StoreUrl, String> {
        let text = text.trim();
        if text == "memory" {
            return Ok(StoreUrl::Memory);
        }
        if !(text.starts_with("redis://") || text.starts_with("rediss://")) {
            return Err(format!(
                "`{}` is not a store: use memory, redis://host:port/db or rediss://host:port/db",
                redact(text)
            ));
        }
        redis::Client::open(text)
            .map_err(|e| format!("{}: {}", redact(text), e.kind_str_or_detail()))?;
        Ok(StoreUrl::Redis(text.to_string()))
    }

    /// The URL without its password, for logs.
    pub fn redacted(&self) -> String {
        match self {
            StoreUrl::Memory => "memory".to_string(),
            StoreUrl::Redis(url) => redact(url),
        }
    }
}

impl fmt::Debug for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

trait ErrorText {
    fn kind_str_or_detail(&self) -> String;
}

impl ErrorText for redis::RedisError {
    fn kind_str_or_detail(&self) -> String {
        // The error's Display may quote the URL; its kind and detail do not carry it.
        format!("{:?}{}", self.kind(), self.detail().map(|d| format!(": {d}")).unwrap_or_default())
    }
}

/// `scheme://user:password@host…` → `scheme://***@host…`.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://***{}", &rest[at..]),
        None => url.to_string(),
    }
}

/// Whether a room name is safe inside a key's hash tag: 1 to 64 of `A-Z a-z 0-9 _ . -`.
pub fn valid_room(room: &str) -> bool {
    (1..=64).contains(&room.len())
        && room.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// The key that signs a room's tickets: HMAC-SHA256 of the room's name under the secret.
pub fn room_key(secret: &[u8], room: &str) -> Vec<u8> {
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret).expect("HMAC takes any key");
    mac.update(b"waitroom ticket key for room ");
    mac.update(room.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// The store did not answer in time, or answered something the gate cannot read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError(pub String);

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StoreError {}

/// A closure as the store keeps it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StoredClosure {
    /// Closed with this message, if closed.
    pub message: Option<String>,
    /// Since when (ms).
    pub since: Option<Timestamp>,
    /// Until when (ms), if the operator said.
    pub until: Option<Timestamp>,
    /// The last closures, `(since, reopened)`.
    pub past: Vec<(Timestamp, Timestamp)>,
}

/// What a visit to the shared queue decided.
#[derive(Debug, Clone, PartialEq)]
pub enum SharedVisit {
    /// The room is closed.
    Closed(StoredClosure),
    /// The queue is at `--max-queue`: the newcomer takes no place.
    Full,
    /// The address holds its cap of places.
    Address,
    /// The queue's decision.
    Decided {
        /// As [`crate::queue::Queue::visit`] would have decided.
        decision: Decision,
        /// Whether it took a token (not a replayed admission).
        spent: bool,
        /// For an admission, when it happened (a replay gives the first time).
        admitted_at: Timestamp,
        /// For a newcomer let straight in, the room's anonymous admission number.
        anonymous: Option<u64>,
    },
}

/// What one batch of the shared tidy-up did and saw.
#[derive(Debug, Clone, PartialEq)]
pub struct Tidied {
    /// Whether deadlines are left for another batch.
    pub more: bool,
    /// Tickets dropped by this batch.
    pub dropped: u64,
    /// The room's closure (reopened first if its end has come).
    pub closure: StoredClosure,
    /// Tickets waiting.
    pub live: u64,
    /// The room's admission rate.
    pub admit_per_minute: f64,
    /// Join attempts over the last minute, every instance's, which the proof of work follows.
    pub joins_per_minute: u64,
}

/// The figures of a room, for the admin API and the metrics.
#[derive(Debug, Clone, PartialEq)]
pub struct SharedState {
    /// Tickets waiting.
    pub live: u64,
    /// Admissions per minute.
    pub admit_per_minute: f64,
    /// Bucket capacity.
    pub burst: f64,
    /// The no-show estimate.
    pub no_show_rate: f64,
    /// The latest told time, or now.
    pub last_told: Timestamp,
    /// Holders standing by.
    pub standing_by: u64,
    /// Admissions that took a token.
    pub admitted: u64,
    /// Tickets issued to newcomers.
    pub issued: u64,
    /// Tickets dropped.
    pub dropped: u64,
    /// The closure.
    pub closure: StoredClosure,
    /// `(minute since the epoch, arrivals, admissions)`, the last 15, oldest first.
    pub minutes: Vec<(u64, u64, u64)>,
    /// Tickets restored in the lane.
    pub restored: u64,
    /// Holders re-told after finding no token.
    pub retold: u64,
    /// The room's first sequence number.
    pub first_seq: u64,
}

/// The queue in Redis: a connection manager and the script. Cheap to clone.
#[derive(Clone)]
pub struct RedisStore {
    connection: ConnectionManager,
    script: Script,
    key: String,
    /// The room's configuration, for the call that creates it.
    init: [String; 7],
    timeout: Duration,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore").field("key", &self.key).finish_non_exhaustive()
    }
}

fn int(value: &Value) -> Option<u64> {
    match value {
        Value::Int(n) => u64::try_from(*n).ok(),
        Value::BulkString(bytes) => {
            let text = std::str::from_utf8(bytes).ok()?;
            text.parse().ok().or_else(|| {
                // A count the script wrote as a double ("1e+03" never, but "12.0" would do).
                let x: f64 = text.parse().ok()?;
                (x.is_finite() && (0.0..9.0e15).contains(&x) && x.fract() == 0.0)
                    .then_some(x as u64)
            })
        }
        _ => None,
    }
}

fn float(value: &Value) -> Option<f64> {
    match value {
        Value::Int(n) => Some(*n as f64),
        Value::BulkString(bytes) => std::str::from_utf8(bytes).ok()?.parse().ok(),
        _ => None,
    }
}

fn text(value: &Value) -> Option<String> {
    match value {
        Value::BulkString(bytes) => String::from_utf8(bytes.clone()).ok(),
        Value::SimpleString(s) => Some(s.clone()),
        Value::Int(n) => Some(n.to_string()),
        _ => None,
    }
}

fn items(value: &Value) -> Option<&[Value]> {
    match value {
        Value::Array(items) => Some(items),
        _ => None,
    }
}

fn closure_of(value: &Value) -> Option<StoredClosure> {
    let parts = items(value)?;
    let message = text(parts.first()?)?;
    let stamp = |v: &Value| {
        text(v).filter(|t| !t.is_empty()).and_then(|t| t.parse().ok()).map(Timestamp::from_millis)
    };
    let past = text(parts.get(3)?)?
        .split(',')
        .filter_map(|item| {
            let (since, until) = item.split_once(':')?;
            Some((
                Timestamp::from_millis(since.parse().ok()?),
                Timestamp::from_millis(until.parse().ok()?),
            ))
        })
        .collect();
    Some(StoredClosure {
        message: (!message.is_empty()).then_some(message),
        since: stamp(parts.get(1)?),
        until: stamp(parts.get(2)?),
        past,
    })
}

fn unreadable(what: &str) -> StoreError {
    StoreError(format!("the store's reply to {what} is not what the gate expects"))
}

impl RedisStore {
    /// A store for room `room` at `url` (`redis://` or `rediss://`), creating the room with
    /// `config` and `max_per_address` if it does not exist yet. Connects lazily, so that a
    /// gate starts (and answers `503`) while Redis is still down.
    ///
    /// # Errors
    ///
    /// A URL the client cannot read; the message never repeats the password.
    pub fn new(
        url: &str,
        room: &str,
        config: &QueueConfig,
        max_per_address: u32,
        first_seq: Option<u64>,
    ) -> Result<Self, String> {
        let client = redis::Client::open(url)
            .map_err(|e| format!("{}: {}", redact(url), e.kind_str_or_detail()))?;
        let manager = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(STORE_TIMEOUT))
            .set_response_timeout(Some(STORE_TIMEOUT))
            .set_max_delay(Duration::from_secs(2))
            .set_number_of_retries(2);
        let connection = ConnectionManager::new_lazy_with_config(client, manager)
            .map_err(|e| format!("{}: {}", redact(url), e.kind_str_or_detail()))?;
        Ok(RedisStore {
            connection,
            script: Script::new(include_str!("store/queue.lua")),
            key: format!("waitroom:{{{room}}}:q"),
            init: [
                config.admit_per_minute.to_string(),
                config.burst.to_string(),
                duration_millis(config.grace).to_string(),
                duration_millis(config.return_jitter).to_string(),
                config.expected_no_show.to_string(),
                first_seq.unwrap_or(0).to_string(),
                max_per_address.to_string(),
            ],
            timeout: STORE_TIMEOUT,
        })
    }

    /// Runs operation `op` at `now` with `args`, within the timeout.
    async fn call(&self, op: &str, now: Timestamp, args: &[String]) -> Result<Value, StoreError> {
        let mut invocation = self.script.key(&self.key);
        invocation.arg(op).arg(now.as_millis());
        for value in &self.init {
            invocation.arg(value);
        }
        for value in args {
            invocation.arg(value);
        }
        let mut connection = self.connection.clone();
        match tokio::time::timeout(self.timeout, invocation.invoke_async::<Value>(&mut connection))
            .await
        {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(StoreError(format!("store: {}", error.kind_str_or_detail()))),
            Err(_) => Err(StoreError(format!("store: no answer within {:?}", self.timeout))),
        }
    }

    /// One visit: the closed check, the caps (`max_queue`, places per address for `address`)
    /// and [`crate::queue::Queue::visit`], in one atomic call; with how many tickets it
    /// dropped on the way. `hold` is how long after a scheduled reopening no ticket is
    /// dropped (the gate's `CLOSED_RETRY + CLOSED_COMEBACK + grace`).
    ///
    /// # Errors
    ///
    /// When the store does not answer in time.
    pub async fn visit(
        &self,
        now: Timestamp,
        visit: Visit,
        address: Option<ClientKey>,
        max_queue: u64,
        hold: Duration,
    ) -> Result<(SharedVisit, u64), StoreError> {
        let (kind, seq, told) = match visit {
            Visit::Ticket(seq) if seq < MAX_STORE_SEQ => ("ticket", seq, 0),
            Visit::Signed { seq, told } if seq < MAX_STORE_SEQ => ("signed", seq, told.as_millis()),
            _ => ("fresh", 0, 0),
        };
        let args = [
            kind.to_string(),
            seq.to_string(),
            told.to_string(),
            address.map(|a| a.to_hex()).unwrap_or_default(),
            max_queue.to_string(),
            duration_millis(hold).to_string(),
        ];
        let reply = self.call("visit", now, &args).await?;
        let parts = items(&reply).ok_or_else(|| unreadable("a visit"))?;
        let bad = || unreadable("a visit");
        let dropped = parts.last().and_then(int).ok_or_else(bad)?;
        let what = parts.first().and_then(text).ok_or_else(bad)?;
        let visited = match what.as_str() {
            "closed" => SharedVisit::Closed(parts.get(1).and_then(closure_of).ok_or_else(bad)?),
            "full" => SharedVisit::Full,
            "address" => SharedVisit::Address,
            "admitted" => {
                let seq = parts.get(1).and_then(text).ok_or_else(bad)?;
                let at = parts.get(2).and_then(int).ok_or_else(bad)?;
                let anonymous = parts.get(3).and_then(text).ok_or_else(bad)?;
                SharedVisit::Decided {
                    decision: Decision::Admitted { seq: seq.parse().ok() },
                    admitted_at: Timestamp::from_millis(at),
                    anonymous: anonymous.parse().ok(),
                    spent: parts.get(4).and_then(int).ok_or_else(bad)? == 1,
                }
            }
            "queued" => {
                let return_in = Duration::from_millis(parts.get(3).and_then(int).ok_or_else(bad)?);
                SharedVisit::Decided {
                    decision: Decision::Queued {
                        seq: parts.get(1).and_then(int).ok_or_else(bad)?,
                        position: parts.get(2).and_then(int).ok_or_else(bad)?,
                        return_in,
                        eta: return_in,
                        advance_per_minute: parts.get(4).and_then(float).ok_or_else(bad)?,
                    },
                    spent: parts.get(5).and_then(int).ok_or_else(bad)? == 1,
                    admitted_at: now,
                    anonymous: None,
                }
            }
            _ => return Err(bad()),
        };
        Ok((visited, dropped))
    }

    /// One batch of the tidy-up (at most `batch` deadlines), reporting the `joins` (join
    /// attempts) this instance saw since its last call.
    ///
    /// # Errors
    ///
    /// When the store does not answer in time.
    pub async fn tidy(
        &self,
        now: Timestamp,
        batch: usize,
        hold: Duration,
        joins: u64,
    ) -> Result<Tidied, StoreError> {
        let args = [batch.to_string(), duration_millis(hold).to_string(), joins.to_string()];
        let reply = self.call("tidy", now, &args).await?;
        let bad = || unreadable("the tidy-up");
        let parts = items(&reply).ok_or_else(bad)?;
        Ok(Tidied {
            more: parts.first().and_then(int).ok_or_else(bad)? == 1,
            dropped: parts.get(1).and_then(int).ok_or_else(bad)?,
            closure: parts.get(2).and_then(closure_of).ok_or_else(bad)?,
            live: parts.get(3).and_then(int).ok_or_else(bad)?,
            admit_per_minute: parts.get(4).and_then(float).ok_or_else(bad)?,
            joins_per_minute: parts.get(5).and_then(int).ok_or_else(bad)?,
        })
    }

    /// The room's figures at `now`.
    ///
    /// # Errors
    ///
    /// When the store does not answer in time.
    pub async fn state(&self, now: Timestamp) -> Result<SharedState, StoreError> {
        let reply = self.call("state", now, &[]).await?;
        let bad = || unreadable("a state request");
        let p = items(&reply).ok_or_else(bad)?;
        let n = |k: usize| p.get(k).and_then(int).ok_or_else(bad);
        let x = |k: usize| p.get(k).and_then(float).ok_or_else(bad);
        let minutes = items(p.get(10).ok_or_else(bad)?)
            .ok_or_else(bad)?
            .iter()
            .map(|m| {
                let m = items(m)?;
                Some((int(m.first()?)?, int(m.get(1)?)?, int(m.get(2)?)?))
            })
            .collect::<Option<Vec<_>>>()
            .ok_or_else(bad)?;
        Ok(SharedState {
            live: n(0)?,
            admit_per_minute: x(1)?,
            burst: x(2)?,
            no_show_rate: x(3)?,
            last_told: Timestamp::from_millis(n(4)?),
            standing_by: n(5)?,
            admitted: n(6)?,
            issued: n(7)?,
            dropped: n(8)?,
            closure: p.get(9).and_then(closure_of).ok_or_else(bad)?,
            minutes,
            restored: n(11)?,
            retold: n(12)?,
            first_seq: n(13)?,
        })
    }

    /// Sets the rate and burst at `now` (as [`crate::queue::Queue::set_rate`]); returns the
    /// rate it replaced.
    ///
    /// # Errors
    ///
    /// When the store does not answer in time.
    pub async fn set_rate(
        &self,
        now: Timestamp,
        admit_per_minute: f64,
        burst: f64,
    ) -> Result<f64, StoreError> {
        let reply =
            self.call("rate", now, &[admit_per_minute.to_string(), burst.to_string()]).await?;
        items(&reply).and_then(|p| float(p.first()?)).ok_or_else(|| unreadable("a rate change"))
    }

    /// Closes the room at `now` with `message`, until `until` if set (an already closed room
    /// keeps its start).
    ///
    /// # Errors
    ///
    /// When the store does not answer in time.
    pub async fn close(
        &self,
        now: Timestamp,
        message: &str,
        until: Option<Timestamp>,
    ) -> Result<StoredClosure, StoreError> {
        let until = until.map(|t| t.as_millis().to_string()).unwrap_or_default();
        let reply = self.call("close", now, &[message.to_string(), until]).await?;
        closure_of(&reply).ok_or_else(|| unreadable("a closure"))
    }

    /// Opens the room at `now` (as [`crate::queue::Queue::reopen`]); returns since when it
    /// was closed, if it was.
    ///
    /// # Errors
    ///
    /// When the store does not answer in time.
    pub async fn open(
        &self,
        now: Timestamp,
        hold: Duration,
    ) -> Result<Option<Timestamp>, StoreError> {
        let reply = self.call("open", now, &[duration_millis(hold).to_string()]).await?;
        let bad = || unreadable("an opening");
        let p = items(&reply).ok_or_else(bad)?;
        let opened = p.first().and_then(int).ok_or_else(bad)? == 1;
        let since =
            p.get(1).and_then(text).and_then(|t| t.parse().ok()).map(Timestamp::from_millis);
        Ok(since.filter(|_| opened))
    }

    /// Marks nonce `name` used for `ttl`: `true` the first time, `false` for every later call
    /// on any instance within `ttl`.
    ///
    /// # Errors
    ///
    /// When the store does not answer in time.
    pub async fn use_nonce(&self, name: &str, ttl: Duration) -> Result<bool, StoreError> {
        self.nonce("nonce", name, duration_millis(ttl).max(1)).await
    }

    /// Whether nonce `name` was used (and is still remembered).
    ///
    /// # Errors
    ///
    /// When the store does not answer in time.
    pub async fn nonce_used(&self, name: &str) -> Result<bool, StoreError> {
        self.nonce("seen", name, 0).await
    }

    async fn nonce(&self, op: &str, name: &str, ttl_ms: u64) -> Result<bool, StoreError> {
        let mut invocation = self.script.key(&self.key);
        invocation.arg(op).arg(0).arg(name).arg(ttl_ms);
        let mut connection = self.connection.clone();
        match tokio::time::timeout(self.timeout, invocation.invoke_async::<i64>(&mut connection))
            .await
        {
            Ok(Ok(done)) => Ok(done == 1),
            Ok(Err(error)) => Err(StoreError(format!("store: {}", error.kind_str_or_detail()))),
            Err(_) => Err(StoreError(format!("store: no answer within {:?}", self.timeout))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_never_reaches_the_log_form() {
        let url = StoreUrl::parse("redis://:s3cret@127.0.0.1:6379/2").unwrap();
        assert_eq!(url.redacted(), "redis://***@127.0.0.1:6379/2");
        assert!(!format!("{url:?}").contains("s3cret"));
        let user = StoreUrl::parse("rediss://gate:p%40ss@cache.example:6380").unwrap();
        assert_eq!(user.redacted(), "rediss://***@cache.example:6380");
        assert_eq!(StoreUrl::parse(" memory ").unwrap(), StoreUrl::Memory);
        let error = StoreUrl::parse("http://user:s3cret@host").unwrap_err();
        assert!(!error.contains("s3cret"), "{error}");
        assert!(StoreUrl::parse("memcached://host").is_err());
    }

    #[test]
    fn a_room_name_cannot_break_out_of_its_hash_tag() {
        assert!(valid_room("default"));
        assert!(valid_room("ac-versailles.lycees_2"));
        for bad in ["", "a}b", "{a}", "a b", "a:b", &"x".repeat(65), "é"] {
            assert!(!valid_room(bad), "{bad:?}");
        }
    }
}
