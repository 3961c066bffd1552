//! The queue in a real `redis-server` (Debian's, which `make test` installs), started by each
//! test on a free loopback port in its own temp dir, with an append-only file synced at every
//! write, and killed when the test ends, even on failure (a `Drop` guard).
//!
//! - the Lua script and the in-memory queue take the same decisions for the same calls;
//! - three gate processes on one Redis serve one queue: 300 virtual users (the widget's
//!   `Machine` over HTTP, `waitroom-load`) spread round-robin are admitted in arrival order, at
//!   the configured rate (not three times it), with about two requests each;
//! - one instance killed and Redis restarted mid-drain: nobody loses their place;
//! - Redis stopped or frozen: `503 store_unavailable` with `Retry-After` within the deadline,
//!   never an admission, then recovery by itself;
//! - rooms are separate queues; admin controls and single-use passes hold across instances.

use std::cmp::Reverse;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, BufReader};
use waitroom::rng::Rng;
use waitroom::time::Timestamp;
use waitroom::wire::{StatusReply, STATUS_PATH};
use waitroom_gate::queue::{Decision, Queue, QueueConfig, QueueStats, Visit};
use waitroom_gate::store::RedisStore;

const SECRET: &str = "0123456789abcdef0123456789abcdef";
const ADMIN_TOKEN: &str = "an-admin-token-for-the-tests";

/// A `redis-server` of its own, killed and its directory removed on drop.
struct Redis {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Redis {
    fn start() -> Redis {
        let port = free_port();
        let dir = std::env::temp_dir().join(format!(
            "waitroom-redis-{}-{port}-{}",
            std::process::id(),
            rand_suffix()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let mut redis = Redis { child: None, port, dir };
        redis.spawn();
        redis
    }

    fn spawn(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .arg("--dir")
            .arg(&self.dir)
            .args(["--appendonly", "yes", "--appendfsync", "always", "--save", ""])
            .args(["--protected-mode", "no", "--logfile", "redis.log"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server is not installed: `make setup-browser` installs it (Debian's redis-server)");
        self.child = Some(child);
        let started = Instant::now();
        while !self.ping() {
            assert!(started.elapsed() < Duration::from_secs(20), "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Whether it answers `PING` (not while it loads its append-only file).
    fn ping(&self) -> bool {
        let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
        let mut reply = [0u8; 7];
        stream.write_all(b"PING\r\n").is_ok()
            && stream.read_exact(&mut reply).is_ok()
            && &reply == b"+PONG\r\n"
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// Kills it at once (as a crash would: only what the append-only file holds survives).
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn signal(&self, signal: &str) {
        if let Some(child) = &self.child {
            let _ = Command::new("kill").args([signal, &child.id().to_string()]).status();
        }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.signal("-CONT");
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn rand_suffix() -> u64 {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    u64::from(nanos.subsec_nanos())
}

/// A `waitroom-gate` process on the store, killed on drop.
struct Gate {
    child: tokio::process::Child,
    url: String,
}

async fn gate(store: &str, room: &str, args: &[&str]) -> Gate {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_waitroom-gate"))
        .args(["--listen", "127.0.0.1:0", "--store", store, "--room", room])
        .args(args)
        .env("WAITROOM_SECRET", SECRET)
        .env("WAITROOM_ADMIN_TOKEN", ADMIN_TOKEN)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .expect("the gate printed nothing in 30 s")
        .unwrap()
        .expect("the gate closed its stdout");
    let url = line.strip_prefix("listening on ").expect(&line).to_string();
    Gate { child, url }
}

impl Gate {
    fn status_url(&self) -> String {
        format!("{}{STATUS_PATH}", self.url)
    }
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().cookie_store(true).build().unwrap()
}

/// One status request: HTTP status, `Retry-After`, JSON body.
async fn status(
    client: &reqwest::Client,
    gate: &Gate,
    ticket: Option<&str>,
) -> (u16, Option<u64>, serde_json::Value) {
    let mut request = client.get(gate.status_url());
    if let Some(ticket) = ticket {
        request = request.query(&[("ticket", ticket)]);
    }
    let response = request.send().await.unwrap();
    let code = response.status().as_u16();
    let retry = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    (code, retry, response.json().await.unwrap())
}

async fn admin(
    gate: &Gate,
    method: reqwest::Method,
    path: &str,
    body: Option<&str>,
) -> serde_json::Value {
    let mut request = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .request(method, format!("{}/waitroom/admin/{path}", gate.url))
        .bearer_auth(ADMIN_TOKEN);
    if let Some(body) = body {
        request = request.header("content-type", "application/json").body(body.to_string());
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200, "admin {path}");
    response.json().await.unwrap()
}

const T0: u64 = 1_700_000_000_000;
const FIRST: u64 = T0 * 1_000;

fn at(ms: u64) -> Timestamp {
    Timestamp::from_millis(T0 + ms)
}

/// 4 000 random calls on both queues at once (newcomers, `fresh`% of visits; holders back
/// early, on time, late or gone; tickets of an earlier instance; tidy-ups; rate changes;
/// closures), every `step_ms` at most: every decision must be the same, to the millisecond.
async fn same_decisions(
    redis: &Redis,
    room: &str,
    seed: u64,
    step_ms: u64,
    fresh: u64,
    no_show: f64,
) -> QueueStats {
    let config = QueueConfig::new(600.0)
        .with_burst(3.0)
        .with_first_seq(FIRST)
        .with_expected_no_show(no_show);
    let mut memory = Queue::new(config.clone(), at(0));
    let store = RedisStore::new(&redis.url(), room, &config, u32::MAX, Some(FIRST)).unwrap();
    let hold = Duration::from_secs(30);
    let mut rng = Rng::seeded(seed);
    let mut issued: Vec<u64> = Vec::new();
    let mut pending = std::collections::BinaryHeap::new();
    let mut now = 0u64;
    let mut decisions = 0;
    let (mut admitted, mut queued, mut restored) = (0, 0, 0);
    for step in 0..4_000 {
        now += rng.next_u64() % step_ms;
        let roll = rng.next_u64() % 100;
        if roll < 3 {
            let more = store.tidy(at(now), 4_096, hold).await.unwrap().0;
            assert_eq!(more, memory.tidy(at(now), 4_096), "tidy at step {step}");
            continue;
        }
        if roll < 5 {
            let rate = [300.0, 600.0, 900.0][(rng.next_u64() % 3) as usize];
            memory.set_rate(at(now), rate, 3.0);
            store.set_rate(at(now), rate, 3.0).await.unwrap();
            continue;
        }
        if roll < 6 {
            // Closed for a few seconds, then reopened: every time moves later by as much.
            let closed_at = now;
            store.close(at(now), "maintenance", None).await.unwrap();
            now += 2_000 + rng.next_u64() % 5_000;
            memory.reopen(at(closed_at), at(now), at(now).saturating_add(hold));
            assert!(store.open(at(now), hold).await.unwrap().is_some());
            continue;
        }
        let visit = if roll < 6 + fresh || issued.is_empty() {
            Visit::Fresh
        } else if roll < 10 + fresh {
            // A ticket of an earlier instance (a restart): restored in the lane.
            let seq = 1 + rng.next_u64() % 500;
            Visit::Signed { seq, told: at(now + rng.next_u64() % 20_000) }
        } else if roll < 50 + fresh
            && pending.peek().is_some_and(|Reverse((told, _))| *told <= now + 1_000)
        {
            // The next holder due, back on time (the bucket may be short: it stands by).
            let Reverse((_, seq)) = pending.pop().unwrap();
            if ((rng.next_u64() % 100) as f64) < no_show * 50.0 {
                continue; // fewer never come back than the queue expected: it over-books
            }
            Visit::Ticket(seq)
        } else {
            // A holder back: early, late, or long gone.
            Visit::Ticket(issued[(rng.next_u64() % issued.len() as u64) as usize])
        };
        let expected = memory.visit(at(now), visit);
        let (got, _) = store.visit(at(now), visit, None, u64::MAX, hold).await.unwrap();
        let waitroom_gate::store::SharedVisit::Decided { decision, .. } = got else {
            panic!("step {step}: {got:?}")
        };
        assert_eq!(decision, expected, "step {step} at {now} ms: {visit:?}");
        decisions += 1;
        match decision {
            Decision::Queued { seq, return_in, .. } => {
                queued += 1;
                pending.push(Reverse((now + return_in.as_millis() as u64, seq)));
                if seq < FIRST {
                    restored += 1;
                }
                issued.push(seq);
            }
            Decision::Admitted { .. } => admitted += 1,
        }
    }
    // The run went through every path: a test that only ever queues proves little.
    assert!(
        decisions > 3_000 && admitted > 300 && queued > 1_000 && restored > 10,
        "{admitted} {queued} {restored}"
    );
    let shared = store.state(at(now)).await.unwrap();
    let stats = memory.stats();
    assert_eq!(
        (
            shared.live,
            shared.admitted,
            shared.issued,
            shared.dropped,
            shared.restored,
            shared.retold
        ),
        (stats.live, stats.admitted, stats.issued, stats.dropped, stats.restored, stats.retold)
    );
    assert_eq!(shared.standing_by, memory.standing_by());
    assert_eq!(shared.no_show_rate, memory.no_show_rate());
    stats
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_script_and_the_memory_queue_take_the_same_decisions() {
    let redis = Redis::start();
    // A queue that over-books (holders re-told for lack of a token), and one that drains
    // (no-shows dropped).
    let growing = same_decisions(&redis, "growing", 13, 300, 34, 0.6).await;
    let draining = same_decisions(&redis, "draining", 14, 600, 24, 0.4).await;
    assert!(growing.retold > 0 && draining.dropped > 0, "{growing:?} {draining:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_on_one_redis_serve_one_queue_at_one_rate() {
    let redis = Redis::start();
    let mut gates = Vec::new();
    for _ in 0..3 {
        gates.push(gate(&redis.url(), "default", &["--admit-per-minute", "120"]).await);
    }
    // As in the virtual-time test of one gate: 300 users over 30 s, 120 admissions a minute.
    let options = waitroom_load::Options {
        gates: gates.iter().map(Gate::status_url).collect(),
        users: 300,
        arrival_window: Duration::from_secs(30),
        max_duration: Duration::from_secs(240),
        seed: 2021,
        ..waitroom_load::Options::default()
    };
    let report = waitroom_load::run(&options).await.unwrap();
    let table = report.to_markdown();
    println!("{table}");
    assert_eq!(report.admitted, 300, "{table}");
    assert_eq!(report.errors, 0, "{table}");
    assert!(report.pairs_in_order >= 0.99, "{table}");
    // One bucket for the three: 120 a minute, not 360.
    let rate = report.steady_admissions_per_minute;
    assert!((rate - 120.0).abs() <= 6.0, "{rate} admissions a minute\n{table}");
    assert!(report.requests_per_admitted <= 2.1, "{table}");
    // One numbering: each user took at most one place, whichever instance it asked (separate
    // queues would give a ticket coming back to another instance a second place).
    let state = admin(&gates[1], reqwest::Method::GET, "state", None).await;
    assert_eq!(state["admitted_total"], 300, "{state}");
    assert_eq!(state["queue_length"], 0, "{state}");
    assert!(state["joined_total"].as_u64().unwrap() <= 300, "{state}");
}
