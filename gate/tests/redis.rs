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
use waitroom::wire::STATUS_PATH;
use waitroom_gate::queue::{Decision, Queue, QueueConfig, QueueStats, Visit};
use waitroom_gate::server::HEALTH_PATH;
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
            let more = store.tidy(at(now), 4_096, hold, 0).await.unwrap().more;
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
    // Key expiry bounds memory: every key of the room expires by itself but the sets, whose
    // entries leave with their tickets, and the per-address counts (one per address holding a
    // place).
    let client = redis::Client::open(redis.url()).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("waitroom:{{{room}}}:*"))
        .query_async(&mut connection)
        .await
        .unwrap();
    assert!(keys.len() > 100, "{}", keys.len());
    for key in keys {
        let ttl: i64 = redis::cmd("PTTL").arg(&key).query_async(&mut connection).await.unwrap();
        let kind = key.rsplit(':').next().unwrap();
        if matches!(kind, "live" | "lane" | "sb" | "due" | "addr") {
            assert_eq!(ttl, -1, "{key}");
        } else {
            assert!(ttl > 0, "{key} never expires");
        }
    }
    // The live tickets are the main order's and the restored lane's, nothing else.
    let mut live = 0u64;
    for set in ["live", "lane"] {
        let n: u64 = redis::cmd("ZCARD")
            .arg(format!("waitroom:{{{room}}}:{set}"))
            .query_async(&mut connection)
            .await
            .unwrap();
        live += n;
    }
    assert_eq!(live, stats.live);
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

/// The room's figures straight from the store, as any instance sees them.
async fn room_state(redis: &Redis, room: &str) -> waitroom_gate::store::SharedState {
    let store =
        RedisStore::new(&redis.url(), room, &QueueConfig::new(60.0), u32::MAX, None).unwrap();
    let now = waitroom_gate::server::system_clock()();
    store.state(now).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_killed_and_redis_restarted_mid_drain_lose_nobody_their_place() {
    let mut redis = Redis::start();
    let mut gates = Vec::new();
    for _ in 0..3 {
        let args = ["--admit-per-minute", "600", "--burst", "5"];
        gates.push(gate(&redis.url(), "default", &args).await);
    }
    let options = waitroom_load::Options {
        gates: gates.iter().map(Gate::status_url).collect(),
        users: 100,
        arrival_window: Duration::from_secs(1),
        max_duration: Duration::from_secs(90),
        seed: 7,
        ..waitroom_load::Options::default()
    };
    let run = tokio::spawn(async move { waitroom_load::run(&options).await.unwrap() });
    // Everyone has a place, and the drain (10 a second) has begun.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let before = room_state(&redis, "default").await;
    assert!(before.live > 30 && before.admitted >= 5, "{before:?}");
    // One instance dies; Redis crashes and comes back from its append-only file.
    gates[2].child.start_kill().unwrap();
    redis.kill();
    redis.spawn();
    let report = run.await.unwrap();
    let table = report.to_markdown();
    println!("{table}");
    let after = room_state(&redis, "default").await;
    assert_eq!(report.admitted, 100, "{table}");
    assert_eq!(report.failed_open, 0, "{table}");
    // Nobody was given a new place at the back, nor restored as a stranger, nor dropped.
    assert_eq!((after.issued, after.restored, after.dropped), (before.issued, 0, 0), "{after:?}");
    assert_eq!((after.live, after.admitted), (0, 100), "{after:?}");
    // (The order itself is checked at 2 admissions a second above: at 10 a second the
    // widget's return jitter, up to a fifth of the wait, swaps neighbours 100 ms apart.)
}

/// A request to a gate whose store is down or frozen: `503 store_unavailable` with
/// `Retry-After`, within the store's deadline (1 s) and a margin.
async fn unavailable_within_the_deadline(
    client: &reqwest::Client,
    gate: &Gate,
    ticket: Option<&str>,
) {
    let started = Instant::now();
    let (code, retry, body) = status(client, gate, ticket).await;
    let took = started.elapsed();
    assert_eq!((code, body["error"].as_str()), (503, Some("store_unavailable")), "{body}");
    assert_eq!(retry, Some(5));
    assert!(took < Duration::from_millis(2_500), "answered in {took:?}");
}

/// The health check: HTTP status, then the body's `status` and `store`.
async fn health(gate: &Gate) -> (u16, String, String) {
    let response = browser().get(format!("{}{HEALTH_PATH}", gate.url)).send().await.unwrap();
    let code = response.status().as_u16();
    let body: serde_json::Value = response.json().await.unwrap();
    (code, body["status"].as_str().unwrap().into(), body["store"].as_str().unwrap().into())
}

/// Polls the health check until it says the store is reached (its figures are the tidy-up's,
/// every 250 ms): at the start and after the store comes back.
async fn health_reaches_the_store(gate: &Gate) {
    let started = Instant::now();
    while health(gate).await != (200, "ok".into(), "ok".into()) {
        assert!(started.elapsed() < Duration::from_secs(5), "{:?}", health(gate).await);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Polls until the gate answers from its store again; returns that answer.
async fn recovered(
    client: &reqwest::Client,
    gate: &Gate,
    ticket: Option<&str>,
) -> serde_json::Value {
    let started = Instant::now();
    loop {
        let (_, _, body) = status(client, gate, ticket).await;
        if body["error"] != "store_unavailable" {
            return body;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "no recovery in 20 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_stopped_or_frozen_gives_503_within_the_deadline_admits_nobody_and_recovers() {
    let mut redis = Redis::start();
    let gate = gate(&redis.url(), "default", &["--admit-per-minute", "6", "--burst", "1"]).await;
    let first = browser();
    assert_eq!(status(&first, &gate, None).await.0, 200);
    let holder = browser();
    let (code, _, body) = status(&holder, &gate, None).await;
    assert_eq!((code, body["position"].as_u64()), (503, Some(1)), "{body}");
    let ticket = body["ticket"].as_str().unwrap().to_string();
    health_reaches_the_store(&gate).await;

    // Stopped: nobody admitted by mistake, the holder included, once its time has come; the
    // health check says so, for a load balancer to send pupils elsewhere.
    redis.kill();
    tokio::time::sleep(Duration::from_secs(10)).await;
    unavailable_within_the_deadline(&browser(), &gate, None).await;
    unavailable_within_the_deadline(&holder, &gate, Some(&ticket)).await;
    let unreachable = (503, "store_unavailable".to_string(), "unreachable".to_string());
    assert_eq!(health(&gate).await, unreachable);
    redis.spawn();
    // Back by itself; the holder's place survived the crash (append-only file).
    let body = recovered(&holder, &gate, Some(&ticket)).await;
    assert!(body.get("pass").is_some(), "the holder was due: {body}");
    health_reaches_the_store(&gate).await;

    // Frozen (SIGSTOP): every request still answered within the deadline, none hangs.
    redis.signal("-STOP");
    let waiting: Vec<_> = (0..20)
        .map(|_| {
            let url = gate.status_url();
            tokio::spawn(async move {
                let started = Instant::now();
                let response = browser().get(url).send().await.unwrap();
                (response.status().as_u16(), started.elapsed())
            })
        })
        .collect();
    for request in waiting {
        let (code, took) = request.await.unwrap();
        assert_eq!(code, 503);
        assert!(took < Duration::from_millis(2_500), "{took:?}");
    }
    redis.signal("-CONT");
    let body = recovered(&browser(), &gate, None).await;
    assert!(body.get("position").is_some() || body.get("pass").is_some(), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_unreachable_from_the_start_gives_503_and_its_password_is_never_logged() {
    let url = format!("redis://:s3cret-password@127.0.0.1:{}/0", free_port());
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_waitroom-gate"))
        .args(["--listen", "127.0.0.1:0", "--room", "ent-1"])
        .env("WAITROOM_STORE", &url)
        .env("WAITROOM_SECRET", SECRET)
        .env("RUST_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = lines.next_line().await.unwrap().unwrap();
    let gate = Gate {
        url: line.strip_prefix("listening on ").unwrap().to_string(),
        child: tokio::process::Command::new("true").spawn().unwrap(),
    };
    unavailable_within_the_deadline(&browser(), &gate, None).await;
    // Never reached since the start: not ready.
    let unreachable = (503, "store_unavailable".to_string(), "unreachable".to_string());
    assert_eq!(health(&gate).await, unreachable);
    tokio::time::sleep(Duration::from_millis(600)).await;
    child.start_kill().unwrap();
    let output = child.wait_with_output().await.unwrap();
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(log.contains("store_unavailable") && log.contains("ent-1"), "{log}");
    assert!(!log.contains("s3cret"), "{log}");
    // Nor does --help show the variable's value.
    let help = std::process::Command::new(env!("CARGO_BIN_EXE_waitroom-gate"))
        .arg("--help")
        .env("WAITROOM_STORE", &url)
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&help.stdout).contains("s3cret"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rooms_on_one_redis_are_separate_queues() {
    let redis = Redis::start();
    let args = ["--admit-per-minute", "6", "--burst", "1"];
    let (a, b) =
        (gate(&redis.url(), "lycees", &args).await, gate(&redis.url(), "colleges", &args).await);
    for gate in [&a, &b] {
        assert_eq!(status(&browser(), gate, None).await.0, 200, "each room has its own bucket");
        let (code, _, body) = status(&browser(), gate, None).await;
        assert_eq!((code, body["position"].as_u64()), (503, Some(1)), "{body}");
    }
    // A ticket of one room is a stranger in the other: a new place at its back (not a ticket
    // of an earlier instance, restored ahead of everyone).
    let holder = browser();
    let (_, _, body) = status(&holder, &a, None).await;
    assert_eq!(body["position"], 2);
    let (_, _, elsewhere) = status(&holder, &b, body["ticket"].as_str()).await;
    assert_eq!(elsewhere["position"], 2, "{elsewhere}");
    assert_eq!(room_state(&redis, "lycees").await.live, 2);
    assert_eq!(room_state(&redis, "colleges").await.live, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_controls_and_single_use_passes_hold_across_instances() {
    let redis = Redis::start();
    let args = ["--admit-per-minute", "6", "--burst", "1"];
    let (x, y) =
        (gate(&redis.url(), "default", &args).await, gate(&redis.url(), "default", &args).await);
    // Admitted on x; its pass consumed on y, then refused on x.
    let pupil = browser();
    let response = pupil.get(x.status_url()).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let id = response.cookies().find(|c| c.name() == "waitroom_id").unwrap().value().to_string();
    let body: serde_json::Value = response.json().await.unwrap();
    let pass = body["pass"].as_str().unwrap();
    let verify = |gate: &Gate| {
        let url = format!("{}/waitroom/verify", gate.url);
        let body = serde_json::json!({ "pass": pass, "browser": id, "consume": true });
        async move {
            let response = browser().post(url).json(&body).send().await.unwrap();
            response.json::<serde_json::Value>().await.unwrap()
        }
    };
    let first = verify(&y).await;
    let again = verify(&x).await;
    assert_eq!(
        (first["valid"].as_bool(), again["valid"].as_bool()),
        (Some(true), Some(false)),
        "{first} {again}"
    );
    assert_eq!(again["reason"], "pass already used");
    // The second in line is queued on either instance behind the same bucket.
    let (code, _, body) = status(&browser(), &y, None).await;
    assert_eq!((code, body["position"].as_u64()), (503, Some(1)), "{body}");
    // A pass used to log in is not renewed, on any instance: its bearer queues again.
    let renewal = pupil.get(y.status_url()).query(&[("pass", pass)]).send().await.unwrap();
    let body: serde_json::Value = renewal.json().await.unwrap();
    assert_eq!(
        (body["state"].as_str(), body["position"].as_u64()),
        (Some("queued"), Some(2)),
        "{body}"
    );
    // A rate set on x is y's; a closure on y closes x; reopened on x, y is open.
    admin(&x, reqwest::Method::PUT, "rate", Some(r#"{"admit_per_minute": 600}"#)).await;
    let state = admin(&y, reqwest::Method::GET, "state", None).await;
    assert_eq!(
        (state["admit_per_minute"].as_f64(), state["queue_length"].as_u64()),
        (Some(600.0), Some(2))
    );
    admin(&y, reqwest::Method::POST, "close", Some(r#"{"message": "Maintenance"}"#)).await;
    let (code, _, body) = status(&browser(), &x, None).await;
    assert_eq!(
        (code, body["state"].as_str(), body["message"].as_str()),
        (503, Some("closed"), Some("Maintenance")),
        "{body}"
    );
    admin(&x, reqwest::Method::POST, "open", None).await;
    let (_, _, body) = status(&browser(), &y, None).await;
    assert_eq!(body["state"], "queued", "{body}");
    // The metrics of either instance are the room's.
    let metrics =
        browser().get(format!("{}/metrics", y.url)).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("waitroom_admit_per_minute 600"), "{metrics}");
}

/// A flood spread over the instances is judged whole: each instance alone sees fewer join
/// attempts than the threshold (10 × 6 a minute; the floor set to 40), the room sees more,
/// and a newcomer on either instance is asked for a proof of work once a tidy-up (250 ms) has
/// shared the count.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_spread_over_instances_is_judged_whole_by_the_proof_of_work() {
    let redis = Redis::start();
    let args = ["--admit-per-minute", "6", "--proof-of-work-floor", "40"];
    let gates = [gate(&redis.url(), "pow", &args).await, gate(&redis.url(), "pow", &args).await];
    for k in 0..50 {
        let (_, _, body) = status(&browser(), &gates[0], None).await;
        assert!(body.get("challenge").is_none(), "join {k}: 50 in the room is no flood: {body}");
    }
    tokio::time::sleep(Duration::from_millis(800)).await;
    for _ in 0..50 {
        status(&browser(), &gates[1], None).await;
    }
    tokio::time::sleep(Duration::from_millis(800)).await;
    // Each instance has seen 50 attempts of its own, and 51 with this one: no flood alone.
    for gate in &gates {
        let (code, _, body) = status(&browser(), gate, None).await;
        assert_eq!(code, 503, "{body}");
        assert!(body["challenge"].is_string(), "100 a minute in the room is a flood: {body}");
    }
}
