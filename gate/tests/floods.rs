//! The gate against floods of newcomers: the queue's cap, over real HTTP on 127.0.0.1.

use reqwest::header::RETRY_AFTER;
use reqwest::StatusCode;
use waitroom::wire::{StatusReply, STATUS_PATH, TICKET_PARAM};
use waitroom_gate::server::{GateConfig, ADDRESS_MESSAGE, FULL_MESSAGE, HEALTH_PATH};

mod support;
use support::{TestGate, T0};

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

/// A gate admitting 2 a minute with a bucket of 1 ([`TestGate::start`]), changed by `configure`,
/// and one browser, which keeps the cookie its tickets are bound to.
async fn start(configure: impl FnOnce(&mut GateConfig)) -> Gate {
    let gate = TestGate::start(configure).await;
    let client = reqwest::Client::builder().no_proxy().cookie_store(true).build().unwrap();
    Gate { gate, client }
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
        assert_eq!((&body["status"], &body["store"]), (&"ok".into(), &"memory".into()));
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
    let gate = start(|_| {}).await;
    for _ in 0..51 {
        gate.status(None).await;
    }
    assert_eq!(gate.live().await, 50);
    // Every told time and grace period is long past; nobody asks for a status.
    gate.advance_ms(3_600_000);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while gate.live().await > 0 {
        assert!(std::time::Instant::now() < deadline, "the timer did not tidy up");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// A gate trusting `X-Forwarded-For`, admitting 2 000 a minute from a bucket of 1, its clock
/// moved by hand.
async fn behind_a_proxy(configure: impl FnOnce(&mut GateConfig)) -> Gate {
    start(move |config| {
        config.admit_per_minute = 2_000.0;
        config.client_address_header = Some("x-forwarded-for".into());
        configure(config);
    })
    .await
}

impl Gate {
    async fn status_from(&self, address: &str) -> StatusReply {
        let request = self.client.get(format!("{}{STATUS_PATH}", self.url));
        let response = request.header("x-forwarded-for", address).send().await.unwrap();
        response.json().await.unwrap()
    }
}

#[tokio::test]
async fn a_lycee_of_2000_behind_one_nat_arriving_in_two_minutes_is_never_slowed() {
    // A portal admitting 60 a minute: nearly the whole school waits at once, and holds
    // nearly 2 000 places from one address.
    let gate = behind_a_proxy(|config| config.admit_per_minute = 60.0).await;
    // Someone else first, so that the school is queued rather than admitted at once.
    gate.status_from("198.51.100.1").await;
    let mut last_position = 0;
    for pupil in 0..2_000u64 {
        // One pupil every 60 ms: 2 000 in 120 s.
        gate.set_clock(T0 + pupil * 60);
        match gate.status_from("10.0.0.1, 203.0.113.7").await {
            StatusReply::Queued(queued) => last_position = queued.position,
            StatusReply::Admitted(_) => {}
            other => panic!("pupil {pupil} was refused: {other:?}"),
        }
    }
    assert!(last_position > 1_800, "{last_position}");
}

#[tokio::test]
async fn a_flooding_address_holds_at_most_its_cap_and_pushes_a_pupil_back_by_no_more() {
    let gate = behind_a_proxy(|config| config.max_per_address = 200).await;
    gate.status_from("198.51.100.1").await;
    let mut refused = 0;
    for _ in 0..1_000 {
        match gate.status_from("203.0.113.66").await {
            StatusReply::Queued(_) => {}
            StatusReply::Closed(closed) => {
                assert_eq!(closed.message.as_deref(), Some(ADDRESS_MESSAGE));
                refused += 1;
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(refused, 800);
    // A pupil from elsewhere finds 200 of the flood's places ahead, never more.
    let StatusReply::Queued(pupil) = gate.status_from("198.51.100.2").await else { panic!() };
    assert_eq!(pupil.position, 201);
    // Another address of the same IPv6 /64 is the same client; another /64 is not.
    for _ in 0..200 {
        assert!(matches!(gate.status_from("2001:db8:0:1::1").await, StatusReply::Queued(_)));
    }
    assert!(matches!(gate.status_from("2001:db8:0:1::ffff").await, StatusReply::Closed(_)));
    assert!(matches!(gate.status_from("2001:db8:0:2::1").await, StatusReply::Queued(_)));
    // Once its holders are dropped (they never came back), the address may join again.
    gate.advance_ms(3_600_000);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !matches!(gate.status_from("203.0.113.66").await, StatusReply::Queued(_)) {
        assert!(std::time::Instant::now() < deadline, "its places were never given back");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn without_the_option_a_forwarded_for_header_is_not_believed() {
    let gate = behind_a_proxy(|config| {
        config.client_address_header = None;
        config.max_per_address = 5;
    })
    .await;
    // Every request claims another address; all come from 127.0.0.1, which is what counts.
    let mut queued = 0;
    for k in 0..20 {
        if !matches!(gate.status_from(&format!("203.0.113.{k}")).await, StatusReply::Closed(_)) {
            queued += 1;
        }
    }
    assert_eq!(queued, 6, "one admitted at once, then five places");
}
