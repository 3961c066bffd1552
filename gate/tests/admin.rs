//! The admin API over real HTTP on 127.0.0.1, in-process, with a fake clock: who may use it,
//! and what each control does to the pupils already queued.

use reqwest::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use reqwest::StatusCode;
use serde_json::{json, Value};
use waitroom::wire::{ErrorReply, StatusReply, STATUS_PATH, TICKET_PARAM};
use waitroom_gate::admin::{AdminState, AdminToken};

mod support;
use support::{TestGate, T0};

const TOKEN: &str = "ops-token-0123456789abcdef";

/// A gate admitting 60 a minute (bucket of 1) that knows `tokens`, and the operator's client.
struct Gate {
    gate: TestGate,
    http: reqwest::Client,
}

impl std::ops::Deref for Gate {
    type Target = TestGate;

    fn deref(&self) -> &TestGate {
        &self.gate
    }
}

async fn start(tokens: Vec<AdminToken>) -> Gate {
    let gate = TestGate::start(|config| {
        config.admit_per_minute = 60.0;
        config.admin_tokens = tokens;
    })
    .await;
    Gate { gate, http: reqwest::Client::builder().no_proxy().build().unwrap() }
}

async fn with_token() -> Gate {
    start(vec![AdminToken::new("rectorat", TOKEN.as_bytes()).unwrap()]).await
}

/// A pupil: a browser with its cookies, and the ticket it was last given.
struct Pupil {
    client: reqwest::Client,
    ticket: Option<String>,
}

impl Pupil {
    fn new() -> Self {
        let client = reqwest::Client::builder().no_proxy().cookie_store(true).build().unwrap();
        Pupil { client, ticket: None }
    }

    /// Polls the gate; keeps the new ticket. Returns the reply.
    async fn poll(&mut self, gate: &Gate) -> StatusReply {
        let mut url = format!("{}{STATUS_PATH}", gate.url);
        if let Some(ticket) = &self.ticket {
            url = format!("{url}?{TICKET_PARAM}={ticket}");
        }
        let reply: StatusReply = self.client.get(url).send().await.unwrap().json().await.unwrap();
        if let StatusReply::Queued(queued) = &reply {
            self.ticket = Some(queued.ticket.clone());
        }
        reply
    }
}

impl Gate {
    async fn admin(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let mut request = self.http.request(method, format!("{}/waitroom/admin/{path}", self.url));
        if let Some(token) = token {
            request = request.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let (status, headers) = (response.status(), response.headers().clone());
        (status, headers, response.json().await.unwrap())
    }

    async fn state(&self) -> AdminState {
        let (status, _, body) = self.admin(reqwest::Method::GET, "state", Some(TOKEN), None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        serde_json::from_value(body).unwrap()
    }
}

/// `n` pupils queued at once; each one's told time (ms).
async fn queue_up(gate: &Gate, n: usize) -> Vec<(Pupil, u64)> {
    let mut first = Pupil::new();
    assert!(matches!(first.poll(gate).await, StatusReply::Admitted(_)), "the bucket's one");
    let mut pupils = Vec::new();
    for _ in 0..n {
        let mut pupil = Pupil::new();
        let StatusReply::Queued(queued) = pupil.poll(gate).await else { panic!("not queued") };
        pupils.push((pupil, gate.now() + queued.retry_after_ms));
    }
    pupils
}

#[tokio::test]
async fn the_admin_api_is_off_without_a_token_and_refuses_a_missing_or_wrong_one() {
    let off = start(Vec::new()).await;
    let (status, _, body) = off.admin(reqwest::Method::GET, "state", Some(TOKEN), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(serde_json::from_value::<ErrorReply>(body).unwrap().error, "not_found");

    let gate = with_token().await;
    for token in [None, Some("ops-token-0123456789abcdeX"), Some(""), Some(&TOKEN[..20])] {
        for (method, path) in [
            (reqwest::Method::GET, "state"),
            (reqwest::Method::PUT, "rate"),
            (reqwest::Method::POST, "close"),
            (reqwest::Method::POST, "open"),
        ] {
            let body = json!({"admit_per_minute": 1, "message": "x"});
            let (status, headers, reply) = gate.admin(method, path, token, Some(body)).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{path} with {token:?}");
            assert!(headers[WWW_AUTHENTICATE].to_str().unwrap().starts_with("Bearer"));
            assert_eq!(serde_json::from_value::<ErrorReply>(reply).unwrap().error, "unauthorized");
        }
    }
    // Nothing changed.
    let state = gate.state().await;
    assert_eq!((state.admit_per_minute, state.closed), (60.0, None));
    // A wrong scheme is no token.
    let response = gate
        .http
        .get(format!("{}/waitroom/admin/state", gate.url))
        .header(AUTHORIZATION, format!("Basic {TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_state_counts_the_queue_and_the_last_minutes() {
    let gate = with_token().await;
    let pupils = queue_up(&gate, 5).await;
    let state = gate.state().await;
    assert_eq!(state.queue_length, 5);
    assert_eq!(state.admit_per_minute, 60.0);
    assert_eq!(state.joined_total, 5);
    assert_eq!(state.admitted_total, 1);
    let last_told = pupils.last().unwrap().1;
    assert_eq!(state.last_in_line_eta_seconds, (last_told - gate.now()).div_ceil(1000));
    let minute = state.minutes.last().unwrap();
    assert_eq!((minute.arrivals, minute.admissions), (6, 1));
    assert_eq!(state.minutes.len(), 15);
}

#[tokio::test]
async fn a_lower_rate_never_tells_a_pupil_an_earlier_time_and_they_come_back_spread_out() {
    let gate = with_token().await;
    let mut pupils = queue_up(&gate, 20).await;
    let before = gate.state().await.last_in_line_eta_seconds;
    let (status, _, body) = gate
        .admin(reqwest::Method::PUT, "rate", Some(TOKEN), Some(json!({"admit_per_minute": 20})))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let state: AdminState = serde_json::from_value(body).unwrap();
    assert_eq!(state.admit_per_minute, 20.0);
    // Three times slower: the last in line waits three times longer.
    assert!(state.last_in_line_eta_seconds >= 3 * before - 1, "{state:?} vs {before}");
    let mut new_times = Vec::new();
    for (pupil, told) in &mut pupils {
        // Each comes back when it was told.
        gate.set_clock(gate.now().max(*told));
        match pupil.poll(&gate).await {
            StatusReply::Queued(queued) => {
                let new = gate.now() + queued.retry_after_ms;
                assert!(new >= *told, "told {told}, now {new}: earlier");
                new_times.push(new);
            }
            StatusReply::Admitted(_) => {}
            other => panic!("{other:?}"),
        }
    }
    // No stampede: the corrected times are at least 2.9 s apart (one every 3 s).
    new_times.sort_unstable();
    assert!(new_times.len() >= 15);
    for pair in new_times.windows(2) {
        assert!(pair[1] - pair[0] >= 2_900, "{new_times:?}");
    }
}

#[tokio::test]
async fn a_higher_rate_never_tells_a_pupil_an_earlier_time() {
    let gate = with_token().await;
    let mut pupils = queue_up(&gate, 10).await;
    let (status, _, body) = gate
        .admin(reqwest::Method::PUT, "rate", Some(TOKEN), Some(json!({"admit_per_minute": 600})))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Asking early (more than the second's slack that counts as on time), each is told the
    // same time again.
    for (pupil, told) in pupils.iter_mut().skip(1) {
        if let StatusReply::Queued(queued) = pupil.poll(&gate).await {
            assert_eq!(gate.now() + queued.retry_after_ms, *told);
        }
    }
}

#[tokio::test]
async fn closed_then_reopened_every_queued_pupil_keeps_its_place() {
    let gate = with_token().await;
    let mut pupils = queue_up(&gate, 6).await;
    let message = "Maintenance du portail : retour à 8 h.";
    let (status, _, body) = gate
        .admin(reqwest::Method::POST, "close", Some(TOKEN), Some(json!({"message": message})))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["closed"]["message"], message);
    // While closed, every pupil reads the notice, for an hour: nobody is dropped.
    for minute in 0..60 {
        gate.set_clock(T0 + minute * 60_000);
        for (pupil, _) in &mut pupils {
            let StatusReply::Closed(closed) = pupil.poll(&gate).await else { panic!() };
            assert_eq!(closed.message.as_deref(), Some(message));
        }
    }
    let mut newcomer = Pupil::new();
    assert!(matches!(newcomer.poll(&gate).await, StatusReply::Closed(_)));
    assert_eq!(gate.state().await.queue_length, 6);
    let (status, _, body) = gate.admin(reqwest::Method::POST, "open", Some(TOKEN), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["closed"], Value::Null);
    // Back within the five minutes they were told to stay away: same places, in order.
    gate.set_clock(gate.now() + 200_000);
    let mut admitted = 0;
    for (k, (pupil, _)) in pupils.iter_mut().enumerate() {
        match pupil.poll(&gate).await {
            StatusReply::Admitted(_) => admitted += 1,
            StatusReply::Queued(queued) => assert_eq!(queued.position, k as u64 + 1 - admitted),
            other => panic!("pupil {k}: {other:?}"),
        }
    }
    // The bucket held one token: the first in line took it.
    assert_eq!(admitted, 1);
    // The newcomer turned away while closed now queues behind them.
    let StatusReply::Queued(queued) = newcomer.poll(&gate).await else { panic!() };
    assert_eq!(queued.position, 6);
}

#[tokio::test]
async fn a_closure_with_an_end_reopens_by_itself_and_says_when_to_come_back() {
    let gate = with_token().await;
    let until = T0 / 1000 + 90;
    let (status, _, body) = gate
        .admin(
            reqwest::Method::POST,
            "close",
            Some(TOKEN),
            Some(json!({"message": "Fermé", "until": until})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mut pupil = Pupil::new();
    let StatusReply::Closed(closed) = pupil.poll(&gate).await else { panic!() };
    assert_eq!(closed.retry_after_ms, 90_000);
    gate.set_clock(until * 1000);
    assert!(matches!(pupil.poll(&gate).await, StatusReply::Admitted(_)));
    assert_eq!(gate.state().await.closed, None);
}

#[tokio::test]
async fn bad_bodies_get_a_clear_json_error_and_change_nothing() {
    let gate = with_token().await;
    let now_s = T0 / 1000;
    let cases = [
        ("rate", json!({}), StatusCode::BAD_REQUEST),
        ("rate", json!({"admit_per_minute": "fast"}), StatusCode::BAD_REQUEST),
        ("rate", json!({"admit_per_minute": 10, "burst": 3}), StatusCode::BAD_REQUEST),
        ("rate", json!({"admit_per_minute": 0}), StatusCode::UNPROCESSABLE_ENTITY),
        ("rate", json!({"admit_per_minute": -5}), StatusCode::UNPROCESSABLE_ENTITY),
        ("rate", json!({"admit_per_minute": 1e12}), StatusCode::UNPROCESSABLE_ENTITY),
        ("close", json!({}), StatusCode::BAD_REQUEST),
        ("close", json!({"message": "   "}), StatusCode::UNPROCESSABLE_ENTITY),
        ("close", json!({"message": "a\u{0}b"}), StatusCode::UNPROCESSABLE_ENTITY),
        ("close", json!({"message": "x".repeat(501)}), StatusCode::UNPROCESSABLE_ENTITY),
        ("close", json!({"message": "x", "until": now_s - 1}), StatusCode::UNPROCESSABLE_ENTITY),
        (
            "close",
            json!({"message": "x", "until": now_s + 8 * 86_400}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        ("close", json!({"message": "x", "until": -1}), StatusCode::BAD_REQUEST),
    ];
    for (path, body, expected) in cases {
        let method = if path == "rate" { reqwest::Method::PUT } else { reqwest::Method::POST };
        let (status, _, reply) = gate.admin(method, path, Some(TOKEN), Some(body.clone())).await;
        assert_eq!(status, expected, "{path} {body}: {reply}");
        let error: ErrorReply = serde_json::from_value(reply).unwrap();
        assert!(!error.message.is_empty());
    }
    // Not JSON at all, and far too big.
    for body in [
        "admit_per_minute=5".to_string(),
        format!("{{\"admit_per_minute\": 5, \"x\": \"{}\"}}", "y".repeat(10_000)),
    ] {
        let response = gate
            .http
            .put(format!("{}/waitroom/admin/rate", gate.url))
            .header(AUTHORIZATION, format!("Bearer {TOKEN}"))
            .body(body)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_client_error());
        let _: ErrorReply = response.json().await.unwrap();
    }
    // The wrong method.
    let (status, _, _) = gate.admin(reqwest::Method::POST, "rate", Some(TOKEN), None).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    let state = gate.state().await;
    assert_eq!((state.admit_per_minute, state.closed), (60.0, None));
}
