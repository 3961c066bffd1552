//! The gate against floods of newcomers: the queue's cap, over real HTTP on 127.0.0.1.

use std::sync::Arc;

use reqwest::header::RETRY_AFTER;
use reqwest::StatusCode;
use waitroom::time::Timestamp;
use waitroom::wire::{StatusReply, STATUS_PATH, TICKET_PARAM};
use waitroom_gate::server::{serve, GateConfig, FULL_MESSAGE, HEALTH_PATH};

const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";
const T0: u64 = 1_700_000_000_000;

struct Gate {
    url: String,
    client: reqwest::Client,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Drop for Gate {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// A gate admitting 2 a minute with a bucket of 1 and a fixed clock, changed by `configure`.
async fn start(configure: impl FnOnce(&mut GateConfig)) -> Gate {
    let mut config = GateConfig::new(SECRET.to_vec());
    config.admit_per_minute = 2.0;
    config.burst = Some(1.0);
    config.clock = Arc::new(|| Timestamp::from_millis(T0));
    configure(&mut config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(serve(listener, config));
    Gate { url, client: reqwest::Client::builder().no_proxy().build().unwrap(), server }
}

impl Gate {
    async fn status(&self, ticket: Option<&str>) -> (StatusCode, Option<String>, StatusReply) {
        let query = ticket.map(|t| format!("?{TICKET_PARAM}={t}")).unwrap_or_default();
        let request = self.client.get(format!("{}{STATUS_PATH}{query}", self.url));
        let response = request.send().await.unwrap();
        let retry_after =
            response.headers().get(RETRY_AFTER).map(|v| v.to_str().unwrap().to_string());
        (response.status(), retry_after, response.json().await.unwrap())
    }

    async fn live(&self) -> u64 {
        let response = self.client.get(format!("{}{HEALTH_PATH}", self.url)).send();
        let body: serde_json::Value = response.await.unwrap().json().await.unwrap();
        body["live"].as_u64().unwrap()
    }
}

#[tokio::test]
async fn past_the_cap_a_newcomer_is_told_to_come_back_and_takes_no_place() {
    let gate = start(|config| config.max_queue = 3).await;
    assert!(matches!(gate.status(None).await.2, StatusReply::Admitted(_)));
    let mut tickets = Vec::new();
    for position in 1..=3 {
        let (_, _, StatusReply::Queued(queued)) = gate.status(None).await else { panic!() };
        assert_eq!(queued.position, position);
        tickets.push(queued.ticket);
    }
    for _ in 0..100 {
        let (status, retry_after, reply) = gate.status(None).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(retry_after.as_deref(), Some("120"));
        let StatusReply::Closed(closed) = reply else { panic!("{reply:?}") };
        assert_eq!(closed.message.as_deref(), Some(FULL_MESSAGE));
        assert_eq!(closed.retry_after_ms, 120_000);
    }
    assert_eq!(gate.live().await, 3);
    // Those who hold a place keep it; a forged ticket is a newcomer, and is refused too.
    let (_, _, StatusReply::Queued(queued)) = gate.status(Some(&tickets[2])).await else {
        panic!()
    };
    assert_eq!(queued.position, 3);
    let forged = format!("{}x", tickets[0]);
    assert!(matches!(gate.status(Some(&forged)).await.2, StatusReply::Closed(_)));
}

#[tokio::test]
async fn the_widget_reads_a_full_queue_as_the_closed_notice_with_the_message() {
    let gate = start(|config| config.max_queue = 1).await;
    gate.status(None).await;
    gate.status(None).await;
    let (status, retry_after, body) = gate.status(None).await;
    let retry_after = retry_after.map(|s| std::time::Duration::from_secs(s.parse().unwrap()));
    let reply = waitroom::reply::from_wire(body, status.as_u16(), retry_after);
    assert_eq!(
        reply,
        waitroom::reply::Reply::Closed {
            message: Some(FULL_MESSAGE.to_string()),
            retry_after: Some(std::time::Duration::from_secs(120)),
        }
    );
}

#[tokio::test]
async fn the_tidy_up_timer_drops_absent_holders_without_any_request() {
    use std::sync::atomic::{AtomicU64, Ordering};
    let clock = Arc::new(AtomicU64::new(T0));
    let hand = clock.clone();
    let gate = start(move |config| {
        config.clock = Arc::new(move || Timestamp::from_millis(hand.load(Ordering::SeqCst)));
    })
    .await;
    for _ in 0..51 {
        gate.status(None).await;
    }
    assert_eq!(gate.live().await, 50);
    // Every told time and grace period is long past; nobody asks for a status.
    clock.fetch_add(3_600_000, Ordering::SeqCst);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while gate.live().await > 0 {
        assert!(std::time::Instant::now() < deadline, "the timer did not tidy up");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}
