//! The gate against slow, idle, numerous, oversized and non-joining clients, over real sockets
//! on 127.0.0.1, in-process.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use reqwest::header::{RETRY_AFTER, USER_AGENT};
use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use waitroom::wire::{StatusReply, STATUS_PATH, VERIFY_PATH};
use waitroom_gate::server::{GateConfig, HEALTH_PATH};

mod support;
use support::TestGate;

struct Gate {
    gate: TestGate,
    client: reqwest::Client,
}

impl std::ops::Deref for Gate {
    type Target = TestGate;

    fn deref(&self) -> &TestGate {
        &self.gate
    }
}

/// A gate admitting 2 a minute with a bucket of 1 ([`TestGate::start`]), changed by
/// `configure`, and a client without cookies.
async fn start(configure: impl FnOnce(&mut GateConfig)) -> Gate {
    let gate = TestGate::start(configure).await;
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    Gate { gate, client }
}

impl Gate {
    async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(format!("{}{path}", self.url)).send().await.unwrap()
    }

    async fn status(&self) -> StatusReply {
        self.get(STATUS_PATH).await.json().await.unwrap()
    }

    async fn raw(&self) -> TcpStream {
        TcpStream::connect(self.addr).await.unwrap()
    }
}

/// Reads until the peer closes the connection; returns what it sent and when it closed.
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (String, Duration) {
    let started = Instant::now();
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        match tokio::time::timeout_at((started + limit).into(), stream.read(&mut buffer)).await {
            Err(_) => panic!(
                "still open after {limit:?}; received {:?}",
                String::from_utf8_lossy(&received)
            ),
            Ok(Ok(0) | Err(_)) => break,
            Ok(Ok(n)) => received.extend_from_slice(&buffer[..n]),
        }
    }
    (String::from_utf8_lossy(&received).into_owned(), started.elapsed())
}

fn short_timeouts(config: &mut GateConfig) {
    config.limits.header_timeout = Duration::from_millis(600);
}

#[tokio::test]
async fn a_half_sent_request_head_is_cut_off_after_the_header_timeout() {
    let gate = start(short_timeouts).await;
    let mut stream = gate.raw().await;
    stream.write_all(b"GET /waitroom/status HTTP/1.1\r\nHost: gate\r\nX-Slow: ").await.unwrap();
    let (_, closed_after) = read_until_closed(&mut stream, Duration::from_secs(5)).await;
    assert!(closed_after >= Duration::from_millis(500), "closed too soon: {closed_after:?}");
    assert!(closed_after < Duration::from_secs(3), "{closed_after:?}");
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed_after_the_timeout() {
    let gate = start(short_timeouts).await;
    let mut stream = gate.raw().await;
    stream.write_all(b"GET /waitroom/health HTTP/1.1\r\nHost: gate\r\n\r\n").await.unwrap();
    let (received, closed_after) = read_until_closed(&mut stream, Duration::from_secs(5)).await;
    assert!(received.starts_with("HTTP/1.1 200"), "{received}");
    assert!(closed_after < Duration::from_secs(3), "{closed_after:?}");
}

#[tokio::test]
async fn an_oversized_request_head_is_refused_with_431() {
    let gate = start(|_| {}).await;
    let big = "a".repeat(16 * 1024);
    let response = gate
        .client
        .get(format!("{}{STATUS_PATH}", gate.url))
        .header("x-padding", big)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    // A browser's head, a few hundred bytes with a cookie, still goes through.
    let cookie = format!("session={}", "c".repeat(2000));
    let response =
        gate.client.get(format!("{}{HEALTH_PATH}", gate.url)).header("cookie", cookie).send();
    assert_eq!(response.await.unwrap().status(), StatusCode::OK);
}

#[tokio::test]
async fn past_the_connection_limit_the_oldest_idle_connections_make_room() {
    let gate = start(|config| config.limits.max_connections = 4).await;
    // A flood of silent connections, more than the limit.
    let mut flood = Vec::new();
    for _ in 0..10 {
        flood.push(gate.raw().await);
    }
    let started = Instant::now();
    let response = gate.get(HEALTH_PATH).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(started.elapsed() < Duration::from_secs(1), "{:?}", started.elapsed());
    // The oldest were closed to make room, long before any timeout.
    let (_, closed_after) = read_until_closed(&mut flood[0], Duration::from_secs(2)).await;
    assert!(closed_after < Duration::from_secs(1));
}

#[tokio::test]
async fn health_answers_without_taking_a_place() {
    let gate = start(|_| {}).await;
    for _ in 0..3 {
        let response = gate.get(HEALTH_PATH).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["cache-control"], "no-store");
        let body: serde_json::Value = response.json().await.unwrap();
        let expected =
            serde_json::json!({"status": "ok", "live": 0, "closed": false, "store": "memory"});
        assert_eq!(body, expected);
    }
    // The bucket's one token is still there for the first real visitor.
    assert!(matches!(gate.status().await, StatusReply::Admitted(_)));
    assert!(matches!(gate.status().await, StatusReply::Queued(q) if q.position == 1));
    let body: serde_json::Value = gate.get(HEALTH_PATH).await.json().await.unwrap();
    assert_eq!(body["live"], 1);
}

#[tokio::test]
async fn head_requests_robots_and_prefetches_take_no_place() {
    let gate = start(|_| {}).await;
    let url = format!("{}{STATUS_PATH}", gate.url);
    let head = gate.client.head(&url).send().await.unwrap();
    assert_eq!(head.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(head.headers()[RETRY_AFTER], "300");
    for agent in [
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "ELB-HealthChecker/2.0",
        "kube-probe/1.29",
        "facebookexternalhit/1.1",
    ] {
        let response = gate.client.get(&url).header(USER_AGENT, agent).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE, "{agent}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"], "no_place", "{agent}");
    }
    let prefetch = gate.client.get(&url).header("sec-purpose", "prefetch").send().await.unwrap();
    assert_eq!(prefetch.status(), StatusCode::SERVICE_UNAVAILABLE);
    // None of them took the token nor a place: a browser is the first.
    let browser = gate
        .client
        .get(&url)
        .header(USER_AGENT, "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0 Safari/537.36")
        .send()
        .await
        .unwrap();
    assert_eq!(browser.status(), StatusCode::OK);
    assert!(matches!(gate.status().await, StatusReply::Queued(q) if q.position == 1));
}

#[tokio::test]
async fn every_reply_says_nosniff() {
    let www = TempDir::new("nosniff");
    std::fs::write(www.0.join("page.html"), "<p>hello</p>").unwrap();
    let dir = www.0.clone();
    let gate = start(move |config| config.www = Some(dir)).await;
    for path in [STATUS_PATH, HEALTH_PATH, "/waitroom/nothing", "/page.html", "/missing.js"] {
        let response = gate.get(path).await;
        assert_eq!(response.headers()["x-content-type-options"], "nosniff", "{path}");
    }
}

#[tokio::test]
async fn a_bad_escape_in_the_query_does_not_refuse_the_status_request() {
    let gate = start(|_| {}).await;
    let response = gate.get(&format!("{STATUS_PATH}?%zz=1&lang=%E9")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let response = gate.get(&format!("{STATUS_PATH}?ticket=%zz")).await;
    // A mangled ticket does not verify: its holder queues as a newcomer.
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(matches!(response.json().await.unwrap(), StatusReply::Queued(q) if q.position == 1));
}

#[tokio::test]
async fn past_the_in_flight_limit_requests_are_shed_at_once_and_a_slow_body_times_out() {
    let gate = start(|config| {
        config.max_in_flight = 1;
        config.request_timeout = Duration::from_millis(800);
    })
    .await;
    // One request holds the only slot: its body never finishes arriving.
    let mut slow = gate.raw().await;
    let head = format!(
        "POST {VERIFY_PATH} HTTP/1.1\r\nHost: gate\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"pass\":"
    );
    slow.write_all(head.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(150)).await;
    let started = Instant::now();
    let shed = gate.get(STATUS_PATH).await;
    assert!(started.elapsed() < Duration::from_millis(500), "{:?}", started.elapsed());
    assert_eq!(shed.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(shed.headers()[RETRY_AFTER], "2");
    let body: serde_json::Value = shed.json().await.unwrap();
    assert_eq!(body["error"], "overloaded");
    // The slow request is answered 408 when its time is up, and the slot is free again.
    let mut reply = vec![0u8; 1024];
    let n = tokio::time::timeout(Duration::from_secs(3), slow.read(&mut reply))
        .await
        .expect("no answer to the slow request")
        .unwrap();
    let reply = String::from_utf8_lossy(&reply[..n]);
    assert!(reply.starts_with("HTTP/1.1 408"), "{reply}");
    assert_eq!(gate.get(STATUS_PATH).await.status(), StatusCode::OK);
}

/// A directory under the system's temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "waitroom-hygiene-{name}-{}-{:?}",
            std::process::id(),
            Instant::now()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test]
async fn dotfiles_and_symlinks_out_of_www_are_not_served() {
    let base = TempDir::new("www");
    let www = base.0.join("www");
    std::fs::create_dir_all(www.join(".git")).unwrap();
    std::fs::create_dir_all(www.join("js")).unwrap();
    std::fs::write(www.join("index.html"), "<p>home</p>").unwrap();
    std::fs::write(www.join("js/app.js"), "ok()").unwrap();
    std::fs::write(www.join(".env"), "SECRET=1").unwrap();
    std::fs::write(www.join(".git/config"), "[core]").unwrap();
    std::fs::write(base.0.join("outside.txt"), "private").unwrap();
    std::os::unix::fs::symlink(base.0.join("outside.txt"), www.join("leak.txt")).unwrap();
    std::os::unix::fs::symlink(&base.0, www.join("up")).unwrap();
    std::os::unix::fs::symlink(www.join("js/app.js"), www.join("alias.js")).unwrap();
    let dir = www.clone();
    let gate = start(move |config| config.www = Some(dir)).await;
    for (path, served) in [
        ("/", true),
        ("/js/app.js", true),
        ("/alias.js", true), // a symlink that stays inside is fine
        ("/.env", false),
        ("/%2eenv", false),
        ("/.git/config", false),
        ("/js/../.env", false),
        ("/leak.txt", false),
        ("/up/outside.txt", false),
        ("/up/www/.env", false),
    ] {
        let response = gate.get(path).await;
        let status = response.status();
        let body = response.text().await.unwrap();
        if served {
            assert_eq!(status, StatusCode::OK, "{path}");
        } else {
            assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
            assert!(!body.contains("private") && !body.contains("SECRET"), "{path}: {body}");
        }
    }
}
