//! The gate over real HTTP on 127.0.0.1, in-process, with a fake clock. Each `reqwest::Client`
//! with a cookie store is one browser; [`Gate::client`] is the pupil's own.

use std::sync::Arc;
use std::time::Duration;

use reqwest::cookie::{CookieStore as _, Jar};
use reqwest::header::{HeaderMap, CACHE_CONTROL, CONTENT_TYPE, COOKIE, RETRY_AFTER, SET_COOKIE};
use reqwest::StatusCode;
use waitroom::wire::{
    ErrorReply, StatusReply, VerifyReply, AUTH_PATH, PASS_PARAM, STATUS_PATH, TICKET_PARAM,
    VERIFY_PATH,
};
use waitroom_gate::server::GateConfig;

mod support;
use support::{TestGate, T0};

const ENT: &str = "https://ent.example";

/// A gate running in-process, and the pupil's browser.
struct Gate {
    gate: TestGate,
    /// The pupil's browser: it keeps the gate's cookies in `jar`.
    client: reqwest::Client,
    jar: Arc<Jar>,
}

impl std::ops::Deref for Gate {
    type Target = TestGate;

    fn deref(&self) -> &TestGate {
        &self.gate
    }
}

/// A browser with its own cookies.
fn browser() -> (reqwest::Client, Arc<Jar>) {
    let jar = Arc::new(Jar::default());
    let client =
        reqwest::Client::builder().no_proxy().cookie_provider(jar.clone()).build().unwrap();
    (client, jar)
}

/// A client that never keeps a cookie: a browser with cookies blocked, or a script.
fn cookieless() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
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

/// Starts a gate whose clock reads `t0` ms since the epoch ([`TestGate::start_at`]).
async fn start_at(t0: u64, configure: impl FnOnce(&mut GateConfig)) -> Gate {
    let gate = TestGate::start_at(t0, configure).await;
    let (client, jar) = browser();
    Gate { gate, client, jar }
}

async fn start() -> Gate {
    start_with(|_| {}).await
}

impl Gate {
    /// Stops serving, as a killed process would; what it knew is lost.
    async fn stop(self) {
        self.gate.stop().await;
    }

    fn advance(&self, seconds: u64) {
        self.advance_ms(seconds * 1000);
    }

    async fn get(&self, path_and_query: &str) -> reqwest::Response {
        self.client.get(format!("{}{path_and_query}", self.url)).send().await.unwrap()
    }

    /// The value of the pupil's cookie `name` for this gate.
    fn cookie(&self, name: &str) -> Option<String> {
        let header = self.jar.cookies(&self.url.parse().unwrap())?;
        header.to_str().unwrap().split("; ").find_map(|pair| {
            pair.strip_prefix(name).and_then(|rest| rest.strip_prefix('=')).map(str::to_string)
        })
    }

    async fn status(&self, ticket: Option<&str>) -> Reply {
        self.status_from(&self.client, ticket).await
    }

    /// The status endpoint as `client` (another browser) sees it.
    async fn status_from(&self, client: &reqwest::Client, ticket: Option<&str>) -> Reply {
        let query = ticket.map(|t| format!("?{TICKET_PARAM}={t}")).unwrap_or_default();
        self.status_query(client, &query).await
    }

    /// The status endpoint with the pupil's pass, to renew it (and its ticket, if given).
    async fn renew(&self, pass: &str, ticket: Option<&str>) -> Reply {
        let ticket = ticket.map(|t| format!("&{TICKET_PARAM}={t}")).unwrap_or_default();
        self.status_query(&self.client, &format!("?{PASS_PARAM}={pass}{ticket}")).await
    }

    /// The status endpoint as `client` sees it, with `query` (empty, or from `?`).
    async fn status_query(&self, client: &reqwest::Client, query: &str) -> Reply {
        let url = format!("{}{STATUS_PATH}{query}", self.url);
        let response = client.get(url).send().await.unwrap();
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
    let cookies: Vec<&str> =
        first.headers.get_all(SET_COOKIE).iter().map(|c| c.to_str().unwrap()).collect();
    let id = gate.cookie("waitroom_id").expect("the browser's identifier");
    assert_eq!(id.len(), 22);
    assert_eq!(
        cookies,
        [
            format!("waitroom_id={id}; HttpOnly; SameSite=Lax; Path=/; Max-Age=86400"),
            format!("waitroom_pass={}; HttpOnly; SameSite=Lax; Path=/; Max-Age=300", admitted.pass)
        ]
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
    gate.advance_ms(1234);
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

/// The sequence number a ticket carries (`t2.<seq>.<issued>.<expires>.<told>.<binding>.<mac>`).
fn seq_of(ticket: &str) -> u64 {
    ticket.split('.').nth(1).unwrap().parse().unwrap()
}

#[tokio::test]
async fn a_restarted_gate_restores_earlier_holders_in_their_order_whoever_comes_back_first() {
    let before = start().await;
    assert_eq!(before.status(None).await.status, StatusCode::OK);
    let mut old = Vec::new();
    for position in 1..=3 {
        let reply = before.status(None).await;
        assert_eq!(reply.position(), position);
        old.push(reply.ticket().to_string()); // told at 30 s, 60 s, 90 s
    }
    let restarted_at = before.now() + 10_000;
    let (pupil, jar) = (before.client.clone(), before.jar.clone());
    before.stop().await;

    // A new instance with the same secret, ten seconds later; the same browser comes back.
    let mut after = start_at(restarted_at, |_| {}).await;
    (after.client, after.jar) = (pupil, jar);
    let first_seq = restarted_at * 1_000;

    // The old holders come back in reverse order, all at once: each is told the time it was
    // told before, and the last to come back is first in line.
    let mut restored = Vec::new();
    for (k, ticket) in old.iter().enumerate().rev() {
        let reply = after.status(Some(ticket)).await;
        assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE, "nobody in before their time");
        assert_eq!(reply.position(), 1);
        assert_eq!(reply.queued().retry_after_ms, 20_000 + 30_000 * k as u64);
        assert!(seq_of(reply.ticket()) < first_seq, "a lane place, ahead of newcomers");
        restored.push(reply.ticket().to_string());
    }
    restored.reverse();
    for (k, ticket) in restored.iter().chain(&old).enumerate() {
        let reply = after.status(Some(ticket)).await;
        assert_eq!(reply.position(), k as u64 % 3 + 1, "their original order");
    }
    // A newcomer queues behind them all, told a time after theirs.
    let newcomer = after.status(None).await;
    assert_eq!(newcomer.position(), 4);
    assert!(newcomer.retry_after() > 80, "{}", newcomer.retry_after());
    assert_eq!(seq_of(newcomer.ticket()), first_seq);

    // Each is admitted at its told time, in order; early, it is only told its time again.
    after.advance(20);
    assert_eq!(after.status(Some(&restored[1])).await.retry_after(), 30);
    assert_eq!(after.status(Some(&restored[0])).await.status, StatusCode::OK);
    after.advance(30);
    assert_eq!(after.status(Some(&old[1])).await.status, StatusCode::OK);
    after.advance(30);
    assert_eq!(after.status(Some(&restored[2])).await.status, StatusCode::OK);
    assert_eq!(after.status(Some(newcomer.ticket())).await.position(), 1);
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

fn verify_body(pass: &str, browser: Option<&str>, consume: bool) -> String {
    serde_json::json!({ "pass": pass, "browser": browser, "consume": consume }).to_string()
}

#[tokio::test]
async fn verify_accepts_a_real_pass_with_its_browser_and_says_its_id_and_expiry() {
    let gate = start().await;
    let StatusReply::Admitted(admitted) = gate.status(None).await.body else { panic!() };
    let id = gate.cookie("waitroom_id").unwrap();
    let verify = async |pass: &str, browser: Option<&str>| {
        let (status, reply) = gate.verify(&verify_body(pass, browser, false)).await;
        assert_eq!(status, StatusCode::OK);
        serde_json::from_value::<VerifyReply>(reply).unwrap()
    };

    let reply = verify(&admitted.pass, Some(&id)).await;
    assert_eq!((reply.valid, reply.expires_in), (true, Some(300)));
    assert_eq!(reply.expires_at, Some(T0 / 1000 + 300));
    let pass_id: u64 = reply.id.as_deref().unwrap().parse().unwrap();
    assert!(pass_id >= 1 << 63, "a newcomer's pass: {pass_id}");
    assert_eq!(reply.consumed, None);

    let reply = verify(&tamper(&admitted.pass), Some(&id)).await;
    assert_eq!((reply.valid, reply.reason.as_deref()), (false, Some("bad signature")));
    assert_eq!((reply.id, reply.expires_at), (None, None));

    // Without the browser's cookie, or with another browser's, the pass is worth nothing.
    for other in [None, Some("AAAAAAAAAAAAAAAAAAAAAA"), Some("garbage")] {
        let reply = verify(&admitted.pass, other).await;
        assert!(!reply.valid, "{other:?}");
        assert!(reply.reason.unwrap().contains("another browser"));
    }

    // A ticket is not a pass.
    let ticket = gate.status(None).await.ticket().to_string();
    assert!(!verify(&ticket, Some(&id)).await.valid);

    gate.advance(300);
    let reply = verify(&admitted.pass, Some(&id)).await;
    assert_eq!((reply.valid, reply.reason.as_deref()), (false, Some("token expired")));

    for bad in ["", "{", "{\"pass\": 3}", "[]", "{\"pass\": \"p\", \"consume\": \"yes\"}"] {
        let (status, reply) = gate.verify(bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad:?}");
        assert_eq!(reply["error"], "bad_request");
    }
}

#[tokio::test]
async fn a_consumed_pass_is_refused_the_second_time() {
    let gate = start().await;
    let StatusReply::Admitted(admitted) = gate.status(None).await.body else { panic!() };
    let id = gate.cookie("waitroom_id").unwrap();
    let (_, first) = gate.verify(&verify_body(&admitted.pass, Some(&id), true)).await;
    let first: VerifyReply = serde_json::from_value(first).unwrap();
    assert_eq!((first.valid, first.consumed), (true, Some(true)));
    let (_, second) = gate.verify(&verify_body(&admitted.pass, Some(&id), true)).await;
    let second: VerifyReply = serde_json::from_value(second).unwrap();
    assert_eq!((second.valid, second.reason.as_deref()), (false, Some("pass already used")));
    let (_, plain) = gate.verify(&verify_body(&admitted.pass, Some(&id), false)).await;
    assert_eq!(plain["valid"], false);
    // Nor does the edge let it through any more.
    assert_eq!(gate.get(AUTH_PATH).await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_ticket_replayed_by_another_browser_admits_nobody() {
    let gate = start().await;
    gate.status(None).await;
    let first = gate.status(None).await;
    let second = gate.status(None).await;
    gate.advance(first.retry_after());

    // Another browser, with its own cookie, holding a copy of the ticket: a place at the back.
    let (classmate, _) = browser();
    gate.status_from(&classmate, None).await;
    let copied = gate.status_from(&classmate, Some(first.ticket())).await;
    assert_eq!(copied.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(copied.position(), 4, "behind the holder and those queued since");
    // A script keeping no cookie at all is told to enable cookies, and gets no place.
    for _ in 0..3 {
        let script = gate.status_from(&cookieless(), Some(first.ticket())).await;
        assert_eq!(script.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(script.retry_after(), 10);
        let StatusReply::CookiesRequired(body) = &script.body else { panic!("{:?}", script.body) };
        assert_eq!(body.retry_after_ms, 10_000);
        assert!(body.message.as_deref().unwrap().contains("cookies"));
    }
    // The genuine holder is still first and is admitted at its told time.
    assert_eq!(gate.status(Some(first.ticket())).await.status, StatusCode::OK);
    assert_eq!(gate.status(Some(second.ticket())).await.position(), 1);
}

#[tokio::test]
async fn a_ticket_replayed_1000_times_by_its_own_browser_gets_the_same_pass_and_one_admission() {
    let gate = start().await;
    gate.status(None).await;
    let first = gate.status(None).await; // told at 30 s
    let second = gate.status(None).await; // told at 60 s
    gate.advance(30);
    let StatusReply::Admitted(admitted) = gate.status(Some(first.ticket())).await.body else {
        panic!("first in line at its time")
    };
    gate.advance(1);
    // 1 000 replays, 50 at a time, as fast as the loopback allows.
    let url = format!("{}{STATUS_PATH}?{TICKET_PARAM}={}", gate.url, first.ticket());
    for _ in 0..20 {
        let replays: Vec<_> = (0..50)
            .map(|_| {
                let request = gate.client.get(&url).send();
                tokio::spawn(async move { request.await.unwrap().json::<StatusReply>().await })
            })
            .collect();
        for replay in replays {
            let StatusReply::Admitted(again) = replay.await.unwrap().unwrap() else {
                panic!("a replay by its own browser is admitted again")
            };
            assert_eq!(again.pass, admitted.pass, "a lost reply gets the same pass");
            assert_eq!(again.pass_expires_in, 299, "the same expiry, a second later");
        }
    }
    // The replays took no admission: the next in line is still next, and admitted on time.
    assert_eq!(gate.status(Some(second.ticket())).await.position(), 1);
    gate.advance(29);
    assert_eq!(gate.status(Some(second.ticket())).await.status, StatusCode::OK);
}

#[tokio::test]
async fn auth_lets_through_only_a_valid_pass_with_the_cookie_it_is_bound_to() {
    let gate = start().await;
    let StatusReply::Admitted(_) = gate.status(None).await.body else { panic!() };
    let pass = gate.cookie("waitroom_pass").unwrap();
    let id = gate.cookie("waitroom_id").unwrap();

    let ok = gate.get(AUTH_PATH).await;
    assert_eq!(ok.status(), StatusCode::NO_CONTENT);
    assert_eq!(ok.headers()[CACHE_CONTROL], "no-store");
    let pass_id: u64 = ok.headers()["x-waitroom-pass-id"].to_str().unwrap().parse().unwrap();
    assert!(pass_id >= 1 << 63);

    let auth_with = async |cookie: &str| {
        let response = cookieless()
            .get(format!("{}{AUTH_PATH}", gate.url))
            .header(COOKIE, cookie)
            .send()
            .await
            .unwrap();
        let status = response.status();
        if status != StatusCode::NO_CONTENT {
            let error: ErrorReply = response.json().await.unwrap();
            assert_eq!(error.error, "unauthorized");
        }
        status
    };
    assert_eq!(
        auth_with(&format!("waitroom_id={id}; waitroom_pass={pass}")).await,
        StatusCode::NO_CONTENT
    );
    // The pass copied into another browser: its cookie missing, or another one.
    assert_eq!(auth_with(&format!("waitroom_pass={pass}")).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        auth_with(&format!("waitroom_id=AAAAAAAAAAAAAAAAAAAAAA; waitroom_pass={pass}")).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(auth_with(&format!("waitroom_id={id}")).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        auth_with(&format!("waitroom_id={id}; waitroom_pass={}", tamper(&pass))).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(auth_with("").await, StatusCode::UNAUTHORIZED);
    // A ticket is not a pass.
    let ticket = gate.status(None).await.ticket().to_string();
    assert_eq!(
        auth_with(&format!("waitroom_id={id}; waitroom_pass={ticket}")).await,
        StatusCode::UNAUTHORIZED
    );
    // Other methods are refused in JSON; HEAD is answered like GET.
    let post = gate.client.post(format!("{}{AUTH_PATH}", gate.url)).send().await.unwrap();
    assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
    let head = gate.client.head(format!("{}{AUTH_PATH}", gate.url)).send().await.unwrap();
    assert_eq!(head.status(), StatusCode::NO_CONTENT);
    gate.advance(300);
    assert_eq!(gate.get(AUTH_PATH).await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn cookies_are_secure_only_behind_a_trusted_https_proxy() {
    let set_cookies = async |gate: &Gate, proto: Option<&str>| {
        let mut request = cookieless().get(format!("{}{STATUS_PATH}", gate.url));
        if let Some(proto) = proto {
            request = request.header("x-forwarded-proto", proto);
        }
        let response = request.send().await.unwrap();
        let cookies: Vec<String> = response
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .map(|c| c.to_str().unwrap().to_string())
            .collect();
        assert!(!cookies.is_empty());
        cookies.iter().all(|c| c.contains("; Secure"))
    };
    let untrusting = start_with(|config| config.burst = Some(100.0)).await;
    assert!(!set_cookies(&untrusting, Some("https")).await, "a client may say anything");
    let trusting = start_with(|config| {
        config.burst = Some(100.0);
        config.trust_forwarded_proto = true;
    })
    .await;
    assert!(set_cookies(&trusting, Some("https")).await);
    assert!(set_cookies(&trusting, Some("HTTPS, http")).await);
    assert!(!set_cookies(&trusting, Some("http")).await);
    assert!(!set_cookies(&trusting, None).await);
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

#[tokio::test]
async fn precompressed_files_are_served_to_browsers_that_accept_them() {
    let dir = std::env::temp_dir().join(format!("waitroom-gate-br-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("w.js"), "plain").unwrap();
    std::fs::write(dir.join("w.js.br"), "brotli bytes").unwrap();
    std::fs::write(dir.join("w.js.gz"), "gzip bytes").unwrap();
    let gate = start_with(|config| config.www = Some(dir.clone())).await;
    let get = |encoding: Option<&'static str>| {
        let request = gate.client.get(format!("{}/w.js", gate.url));
        let request = match encoding {
            Some(e) => request.header("accept-encoding", e),
            None => request,
        };
        async move { request.send().await.unwrap() }
    };
    for (accept, encoding, body) in [
        (Some("gzip, deflate, br"), Some("br"), "brotli bytes"),
        (Some("gzip"), Some("gzip"), "gzip bytes"),
        (None, None, "plain"),
    ] {
        let reply = get(accept).await;
        assert_eq!(reply.status(), StatusCode::OK);
        let header = |name: &str| reply.headers().get(name).map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(header("content-encoding").as_deref(), encoding, "{accept:?}");
        assert_eq!(header("content-type").as_deref(), Some("text/javascript"), "{accept:?}");
        assert_eq!(reply.text().await.unwrap(), body, "{accept:?}");
    }
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn a_pass_survives_a_restart_with_the_same_secret_for_its_own_browser_only() {
    let before = start().await;
    let StatusReply::Admitted(admitted) = before.status(None).await.body else { panic!() };
    let id = before.cookie("waitroom_id").unwrap();
    let (pupil, jar) = (before.client.clone(), before.jar.clone());
    let restarted_at = before.now() + 10_000;
    before.stop().await;

    let mut after = start_at(restarted_at, |_| {}).await;
    (after.client, after.jar) = (pupil, jar);
    let (_, reply) = after.verify(&verify_body(&admitted.pass, Some(&id), false)).await;
    assert_eq!(reply["valid"], true, "{reply}");
    assert_eq!(reply["expires_in"], 290);
    assert_eq!(after.get(AUTH_PATH).await.status(), StatusCode::NO_CONTENT);
    let (_, reply) = after.verify(&verify_body(&admitted.pass, None, false)).await;
    assert_eq!(reply["valid"], false);
}

/// The pass of an admitted reply.
fn admitted(reply: &Reply) -> &waitroom::wire::Admitted {
    match &reply.body {
        StatusReply::Admitted(admitted) => admitted,
        other => panic!("expected admitted, got {other:?}"),
    }
}

/// The id a pass carries (`p2.<id>.…`).
fn pass_id(pass: &str) -> u64 {
    pass.split('.').nth(1).unwrap().parse().unwrap()
}

/// Asserts that `reply` did not renew `pass`: it is a queue place, or a newcomer's admission
/// with another id, as for any request without a pass.
fn not_renewed(reply: &Reply, pass: &str, why: &str) {
    if let StatusReply::Admitted(other) = &reply.body {
        assert_ne!(pass_id(&other.pass), pass_id(pass), "{why}: renewed");
    }
}

impl Gate {
    /// `waitroom_admitted_total`, from `/metrics`.
    async fn admissions(&self) -> u64 {
        let text = self.get("/metrics").await.text().await.unwrap();
        let line = text.lines().find(|l| l.starts_with("waitroom_admitted_total ")).unwrap();
        line.rsplit(' ').next().unwrap().parse().unwrap()
    }
}

#[tokio::test]
async fn a_pupil_warned_before_the_pass_expires_extends_it_without_taking_an_admission() {
    let gate = start().await;
    let pass = admitted(&gate.status(None).await).pass.clone();
    let admissions = gate.admissions().await;
    // 20 s before it runs out, the widget warns and the pupil presses "Prolonger".
    gate.advance(280);
    let extended = gate.renew(&pass, None).await;
    assert_eq!(extended.status, StatusCode::OK);
    let renewed = admitted(&extended);
    assert_eq!(renewed.pass_expires_in, 320, "20 s left plus one more lifetime");
    assert_ne!(renewed.pass, pass);
    assert_eq!(pass_id(&renewed.pass), pass_id(&pass), "the same admission");
    let cookie =
        format!("waitroom_pass={}; HttpOnly; SameSite=Lax; Path=/; Max-Age=320", renewed.pass);
    assert!(extended.headers.get_all(SET_COOKIE).iter().any(|c| c.to_str().unwrap() == cookie));
    assert_eq!(gate.admissions().await, admissions, "one admission per place");
    // Past the first expiry, the renewed pass logs in; the first one no longer does.
    gate.advance(60);
    let id = gate.cookie("waitroom_id").unwrap();
    let (_, ok) = gate.verify(&verify_body(&renewed.pass, Some(&id), false)).await;
    assert_eq!((ok["valid"].as_bool(), ok["expires_in"].as_u64()), (Some(true), Some(260)));
    let (_, old) = gate.verify(&verify_body(&pass, Some(&id), false)).await;
    assert_eq!(old["reason"], "token expired");
}

#[tokio::test]
async fn a_pupil_back_a_little_late_is_let_in_again_never_put_behind_where_they_were() {
    let gate = start().await;
    gate.status(None).await;
    let first = gate.status(None).await;
    gate.advance(30);
    let pass = admitted(&gate.status(Some(first.ticket())).await).pass.clone();
    let admissions = gate.admissions().await;
    // The pass ran out two minutes ago, and the ticket's grace is over as well: the ticket
    // alone would be a newcomer's.
    gate.advance(300 + 120);
    let back = gate.renew(&pass, Some(first.ticket())).await;
    assert_eq!(back.status, StatusCode::OK, "{:?}", back.body);
    assert_eq!(admitted(&back).pass_expires_in, 300, "a whole lifetime from now");
    assert_eq!(pass_id(&admitted(&back).pass), pass_id(&pass), "the same admission");
    assert_eq!(gate.admissions().await, admissions, "and not a second one");
}

#[tokio::test]
async fn a_pass_is_renewed_at_most_ten_times_and_not_after_a_lifetime_past_expiry() {
    let gate = start().await;
    let first = admitted(&gate.status(None).await).pass.clone();
    let mut pass = first.clone();
    for k in 1..=10 {
        gate.advance(290);
        let reply = gate.renew(&pass, None).await;
        assert_eq!(reply.status, StatusCode::OK, "renewal {k}: {:?}", reply.body);
        pass = admitted(&reply).pass.clone();
        assert_eq!(pass_id(&pass), pass_id(&first));
    }
    gate.advance(290);
    not_renewed(&gate.renew(&pass, None).await, &pass, "an eleventh time");

    let gate = start().await;
    let pass = admitted(&gate.status(None).await).pass.clone();
    gate.advance(300 + 300);
    not_renewed(&gate.renew(&pass, None).await, &pass, "a lifetime past its expiry");
}

#[tokio::test]
async fn a_copied_forged_or_used_pass_is_never_renewed() {
    let gate = start().await;
    let pass = admitted(&gate.status(None).await).pass.clone();
    let (classmate, _) = browser();
    let copied = gate.status_query(&classmate, &format!("?{PASS_PARAM}={pass}")).await;
    not_renewed(&copied, &pass, "in a classmate's browser");
    for bad in [tamper(&pass), gate.status(None).await.ticket().to_string()] {
        not_renewed(&gate.renew(&bad, None).await, &pass, "forged, or a ticket");
    }
    // Once the pupil has logged in (the portal consumed the pass), no renewal.
    let id = gate.cookie("waitroom_id").unwrap();
    gate.verify(&verify_body(&pass, Some(&id), true)).await;
    not_renewed(&gate.renew(&pass, None).await, &pass, "used");
}
