//! The gate over real HTTP on 127.0.0.1, in-process, with a fake clock.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER, SET_COOKIE};
use reqwest::StatusCode;
use waitroom::time::Timestamp;
use waitroom::wire::{
    ErrorReply, StatusReply, VerifyReply, STATUS_PATH, TICKET_PARAM, VERIFY_PATH,
};
use waitroom_gate::server::{serve, GateConfig};

const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";
const T0: u64 = 1_700_000_000_000;
const ENT: &str = "https://ent.example";

/// A gate running in-process, and the hand on its clock.
struct Gate {
    url: String,
    clock: Arc<AtomicU64>,
    client: reqwest::Client,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// What the status endpoint said.
struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: StatusReply,
}

impl Reply {
    fn queued(&self) -> &waitroom::wire::Queued {
        match &self.body {
            StatusReply::Queued(queued) => queued,
            other => panic!("expected queued, got {other:?}"),
        }
    }

    fn position(&self) -> u64 {
        self.queued().position
    }

    fn ticket(&self) -> &str {
        &self.queued().ticket
    }

    fn retry_after(&self) -> u64 {
        self.headers[RETRY_AFTER].to_str().unwrap().parse().expect("Retry-After is an integer")
    }
}

/// Starts a gate admitting 2 per minute (bucket of 1), then lets `configure` change it.
async fn start_with(configure: impl FnOnce(&mut GateConfig)) -> Gate {
    start_at(T0, configure).await
}

/// Starts a gate whose clock reads `t0` ms since the epoch.
async fn start_at(t0: u64, configure: impl FnOnce(&mut GateConfig)) -> Gate {
    let clock = Arc::new(AtomicU64::new(t0));
    let hand = clock.clone();
    let mut config = GateConfig::new(SECRET.to_vec());
    config.admit_per_minute = 2.0;
    // One admission in the bucket, so that the second visitor is the first to queue.
    config.burst = Some(1.0);
    config.clock = Arc::new(move || Timestamp::from_millis(hand.load(Ordering::SeqCst)));
    configure(&mut config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(serve(listener, config));
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    Gate { url, clock, client, server }
}

async fn start() -> Gate {
    start_with(|_| {}).await
}

impl Gate {
    /// Stops serving, as a killed process would; what it knew is lost.
    async fn stop(self) {
        self.server.abort();
        let _ = self.server.await;
    }

    fn now(&self) -> u64 {
        self.clock.load(Ordering::SeqCst)
    }

    fn advance(&self, seconds: u64) {
        self.clock.fetch_add(seconds * 1000, Ordering::SeqCst);
    }

    async fn get(&self, path_and_query: &str) -> reqwest::Response {
        self.client.get(format!("{}{path_and_query}", self.url)).send().await.unwrap()
    }

    async fn status(&self, ticket: Option<&str>) -> Reply {
        let query = ticket.map(|t| format!("?{TICKET_PARAM}={t}")).unwrap_or_default();
        let response = self.get(&format!("{STATUS_PATH}{query}")).await;
        let status = response.status();
        let headers = response.headers().clone();
        assert_eq!(headers[CACHE_CONTROL], "no-store");
        assert_eq!(headers[CONTENT_TYPE], "application/json");
        let body = response.json().await.expect("a StatusReply");
        if status == StatusCode::SERVICE_UNAVAILABLE {
            assert!(headers.contains_key(RETRY_AFTER), "503 without Retry-After");
        }
        Reply { status, headers, body }
    }

    async fn verify(&self, body: &str) -> (StatusCode, serde_json::Value) {
        let response = self
            .client
            .post(format!("{}{VERIFY_PATH}", self.url))
            .header(CONTENT_TYPE, "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        let status = response.status();
        assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
        (status, response.json().await.unwrap())
    }
}

/// Changes one character in the middle of the signature.
fn tamper(token: &str) -> String {
    let mut bytes = token.as_bytes().to_vec();
    let i = bytes.len() - 10;
    bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).unwrap()
}

#[tokio::test]
async fn the_first_client_is_admitted_then_others_queue_in_arrival_order() {
    let gate = start().await;
    let first = gate.status(None).await;
    assert_eq!(first.status, StatusCode::OK);
    let StatusReply::Admitted(admitted) = &first.body else { panic!("{:?}", first.body) };
    assert_eq!(admitted.pass_expires_in, 300);
    let cookie = first.headers[SET_COOKIE].to_str().unwrap();
    assert_eq!(
        cookie,
        format!("waitroom_pass={}; Path=/; Max-Age=300; SameSite=Lax; HttpOnly", admitted.pass)
    );

    let mut retry_afters = Vec::new();
    for expected in 1..=3 {
        let reply = gate.status(None).await;
        assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(reply.position(), expected);
        retry_afters.push(reply.retry_after());
    }
    // Two admissions per minute: told to come back at 30 s, 60 s, 90 s.
    assert_eq!(retry_afters, [30, 60, 90]);
}

#[tokio::test]
async fn retry_after_is_a_whole_number_of_seconds_equal_to_the_json_field_rounded_up() {
    let gate = start().await;
    gate.status(None).await;
    gate.clock.fetch_add(1234, Ordering::SeqCst);
    for _ in 0..3 {
        let reply = gate.status(None).await;
        let ms = reply.queued().retry_after_ms;
        assert!(reply.retry_after() >= 1);
        assert_eq!(reply.retry_after(), ms.div_ceil(1000), "{ms} ms");
        assert_eq!(reply.queued().eta_seconds, ms.div_ceil(1000));
    }
}

#[tokio::test]
async fn polling_again_with_ones_ticket_keeps_ones_place() {
    let gate = start().await;
    gate.status(None).await;
    gate.status(None).await;
    let second = gate.status(None).await;
    gate.status(None).await;
    gate.advance(5);
    let again = gate.status(Some(second.ticket())).await;
    assert_eq!(again.position(), 2);
    assert_eq!(again.retry_after(), 55, "the told time does not move for an early poll");
    // The renewed ticket works just as well.
    let once_more = gate.status(Some(again.ticket())).await;
    assert_eq!(once_more.position(), 2);
}

#[tokio::test]
async fn holders_coming_back_at_their_told_time_are_admitted() {
    let gate = start().await;
    gate.status(None).await;
    let first = gate.status(None).await;
    gate.advance(first.retry_after());
    let admitted = gate.status(Some(first.ticket())).await;
    assert_eq!(admitted.status, StatusCode::OK);
    // A lost reply: the same ticket is admitted again, without taking another's turn.
    assert_eq!(gate.status(Some(first.ticket())).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_ticket_with_one_character_changed_gets_a_new_place_at_the_back() {
    let gate = start().await;
    gate.status(None).await;
    let first = gate.status(None).await;
    gate.status(None).await;
    let forged = gate.status(Some(&tamper(first.ticket()))).await;
    assert_eq!(forged.position(), 3);
    assert_ne!(forged.ticket(), first.ticket());
    // The genuine ticket still holds place 1.
    assert_eq!(gate.status(Some(first.ticket())).await.position(), 1);
}

#[tokio::test]
async fn an_expired_ticket_goes_to_the_back_of_the_queue() {
    let gate = start_with(|config| config.admit_per_minute = 0.2).await;
    gate.status(None).await;
    let late = gate.status(None).await; // told at 300 s, valid until 420 s
    gate.advance(400);
    let holder = gate.status(None).await; // told at 600 s
    gate.status(None).await;
    gate.advance(20);
    let expired = gate.status(Some(late.ticket())).await;
    assert_eq!(expired.position(), 3, "behind the two who came while it was away");
    // First in line now, and the slot its absent predecessor left would otherwise be wasted.
    assert_eq!(gate.status(Some(holder.ticket())).await.status, StatusCode::OK);
}

#[tokio::test]
async fn an_absent_holder_is_dropped_after_the_grace_period_and_those_behind_move_up() {
    let gate = start_with(|config| config.grace = Duration::from_secs(10)).await;
    gate.status(None).await;
    let absent = gate.status(None).await; // told at 30 s, dropped at 40 s
    gate.status(None).await;
    gate.status(None).await;
    let last = gate.status(None).await; // told at 120 s
    assert_eq!(last.position(), 4);
    gate.advance(39);
    assert_eq!(gate.status(Some(last.ticket())).await.position(), 4);
    gate.advance(1);
    assert_eq!(gate.status(Some(last.ticket())).await.position(), 3);
    // The absent holder's ticket has expired with its place: it starts again at the back.
    assert_eq!(gate.status(Some(absent.ticket())).await.position(), 4);
}

/// The sequence number a ticket carries (`t1.<seq>.<issued>.<expires>.<mac>`).
fn seq_of(ticket: &str) -> u64 {
    ticket.split('.').nth(1).unwrap().parse().unwrap()
}

#[tokio::test]
async fn a_restarted_gate_puts_earlier_holders_ahead_of_its_newcomers_and_never_shares_a_place() {
    let before = start().await;
    assert_eq!(before.status(None).await.status, StatusCode::OK);
    let mut old = Vec::new();
    for position in 1..=3 {
        let reply = before.status(None).await;
        assert_eq!(reply.position(), position);
        old.push(reply.ticket().to_string());
    }
    let restarted_at = before.now() + 10_000;
    before.stop().await;

    // A new instance with the same secret, ten seconds later. A visitor takes its token, then a
    // newcomer queues first, before any old holder is back.
    let after = start_at(restarted_at, |_| {}).await;
    assert_eq!(after.status(None).await.status, StatusCode::OK);
    let newcomer = after.status(None).await;
    assert_eq!(newcomer.position(), 1);
    let first_seq = restarted_at * 1_000;
    assert_eq!(seq_of(newcomer.ticket()), first_seq);

    // The old holders come back in their told order: ahead of the newcomer, in their old order,
    // each with a re-signed ticket of its own.
    let mut restored = Vec::new();
    for (k, ticket) in old.iter().enumerate() {
        let reply = after.status(Some(ticket)).await;
        assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(reply.position(), k as u64 + 1);
        assert_ne!(reply.ticket(), ticket, "the ticket is re-signed with its new number");
        restored.push(reply.ticket().to_string());
    }
    let seqs: Vec<u64> = restored.iter().map(|t| seq_of(t)).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    assert!(seqs.iter().all(|&s| s < first_seq), "{seqs:?}");
    assert_eq!(after.status(Some(newcomer.ticket())).await.position(), 4);

    // Nobody shares a place: each ticket, old or new, keeps its own position.
    for (k, ticket) in restored.iter().chain(&old).enumerate() {
        assert_eq!(after.status(Some(ticket)).await.position(), k as u64 % 3 + 1);
    }
    let late = after.status(None).await;
    assert_eq!(late.position(), 5);
    assert!(!seqs.contains(&seq_of(late.ticket())));
}

#[tokio::test]
async fn bad_requests_get_a_json_400_and_unknown_paths_a_json_404() {
    let gate = start().await;
    let long = "a".repeat(513);
    // (A badly escaped ticket is not an error: it fails to verify, see tests/hygiene.rs.)
    for query in [format!("?ticket={long}"), "?ticket=a&ticket=b".to_string()] {
        let response = gate.get(&format!("{STATUS_PATH}{query}")).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
        let error: ErrorReply = response.json().await.unwrap();
        assert_eq!(error.error, "bad_request");
    }
    // Unknown parameters are fine.
    assert_eq!(gate.get(&format!("{STATUS_PATH}?lang=fr&v=2")).await.status(), StatusCode::OK);
    let response = gate.get("/waitroom/nope").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
    assert_eq!(response.json::<ErrorReply>().await.unwrap().error, "not_found");
}

#[tokio::test]
async fn verify_accepts_a_real_pass_and_refuses_a_tampered_one() {
    let gate = start().await;
    let StatusReply::Admitted(admitted) = gate.status(None).await.body else { panic!() };
    let body = |pass: &str| serde_json::json!({ "pass": pass }).to_string();

    let (status, reply) = gate.verify(&body(&admitted.pass)).await;
    assert_eq!(status, StatusCode::OK);
    let reply: VerifyReply = serde_json::from_value(reply).unwrap();
    assert_eq!((reply.valid, reply.expires_in), (true, Some(300)));

    let (_, reply) = gate.verify(&body(&tamper(&admitted.pass))).await;
    let reply: VerifyReply = serde_json::from_value(reply).unwrap();
    assert!(!reply.valid);
    assert_eq!(reply.reason.as_deref(), Some("bad signature"));

    // A ticket is not a pass.
    let ticket = gate.status(None).await.ticket().to_string();
    let (_, reply) = gate.verify(&body(&ticket)).await;
    assert!(!serde_json::from_value::<VerifyReply>(reply).unwrap().valid);

    gate.advance(300);
    let (_, reply) = gate.verify(&body(&admitted.pass)).await;
    let reply: VerifyReply = serde_json::from_value(reply).unwrap();
    assert_eq!((reply.valid, reply.reason.as_deref()), (false, Some("token expired")));

    for bad in ["", "{", "{\"pass\": 3}", "[]"] {
        let (status, reply) = gate.verify(bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad:?}");
        assert_eq!(reply["error"], "bad_request");
    }
}

#[tokio::test]
async fn cors_headers_are_sent_only_to_the_configured_origin() {
    let gate = start_with(|config| config.cors_origins = vec![ENT.to_string()]).await;
    let url = format!("{}{STATUS_PATH}", gate.url);
    let allowed = gate.client.get(&url).header("origin", ENT).send().await.unwrap();
    assert_eq!(allowed.headers()["access-control-allow-origin"], ENT);
    assert_eq!(allowed.headers()["access-control-allow-credentials"], "true");
    assert_eq!(allowed.headers()["vary"], "Origin");

    let other =
        gate.client.get(&url).header("origin", "https://evil.example").send().await.unwrap();
    assert!(!other.headers().contains_key("access-control-allow-origin"));
    assert_eq!(other.headers()["vary"], "Origin");

    let preflight = gate
        .client
        .request(reqwest::Method::OPTIONS, format!("{}{VERIFY_PATH}", gate.url))
        .header("origin", ENT)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success());
    assert_eq!(preflight.headers()["access-control-allow-origin"], ENT);
    assert!(preflight.headers()["access-control-allow-methods"].to_str().unwrap().contains("POST"));
    assert!(preflight.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .contains("content-type"));
}

#[tokio::test]
async fn without_a_configured_origin_no_cors_header_is_sent() {
    let gate = start().await;
    let response = gate
        .client
        .get(format!("{}{STATUS_PATH}", gate.url))
        .header("origin", ENT)
        .send()
        .await
        .unwrap();
    assert!(!response.headers().contains_key("access-control-allow-origin"));
}

#[tokio::test]
async fn a_closed_gate_says_so_with_a_long_retry_after() {
    let gate = start_with(|config| config.closed = Some("Maintenance jusqu'à 8 h".into())).await;
    let reply = gate.status(None).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reply.retry_after(), 300);
    let StatusReply::Closed(closed) = reply.body else { panic!("{:?}", reply.body) };
    assert_eq!(closed.message.as_deref(), Some("Maintenance jusqu'à 8 h"));
    assert_eq!(closed.retry_after_ms, 300_000);
}

#[tokio::test]
async fn static_files_are_served_from_www() {
    let dir = std::env::temp_dir().join(format!("waitroom-gate-www-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("index.html"), "<h1>ENT</h1>").unwrap();
    let gate = start_with(|config| config.www = Some(dir.clone())).await;
    let response = gate.get("/index.html").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), "<h1>ENT</h1>");
    // The API still answers under /waitroom.
    assert_eq!(gate.get("/waitroom/nope").await.status(), StatusCode::NOT_FOUND);
    std::fs::remove_dir_all(dir).ok();
}
