//! One virtual user: the core [`Machine`] driven over real HTTP.
//!
//! This is the browser driver without a browser: [`Action::Send`] becomes a `GET` of the
//! status URL, the response goes through [`reply::classify`] exactly as a `fetch` response
//! would, and [`Machine::poll_timeout`] becomes a tokio sleep. Rendering and persistence are
//! the browser's business and are skipped.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use reqwest::header::{HeaderMap, ACCEPT, CONTENT_TYPE, COOKIE, RETRY_AFTER, SET_COOKIE};
use reqwest::Client;
use tokio::time::Instant;
use waitroom::config::Config;
use waitroom::machine::{Action, Machine};
use waitroom::reply::{self, Failure, Reply, Response};
use waitroom::wire::TICKET_PARAM;

use crate::clock::Clock;

/// What became of one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// An HTTP response with this status.
    Status(u16),
    /// No response within the machine's timeout.
    Timeout,
    /// No response at all (refused, reset, unreadable body).
    Network,
}

/// One request as the user saw it.
#[derive(Debug, Clone, Copy)]
pub struct RequestRecord {
    /// When it was sent, from the start of the run.
    pub sent_at: Duration,
    /// From sending to the last byte of the body (or the failure).
    pub latency: Duration,
    /// How it ended.
    pub outcome: Outcome,
}

/// Everything one user did before being admitted or cut off by the cap.
#[derive(Debug, Clone, Default)]
pub struct UserOutcome {
    /// When the user arrived, from the start of the run.
    pub arrived_at: Duration,
    /// Every request sent, in order.
    pub requests: Vec<RequestRecord>,
    /// When the gate let the user in, from the start of the run.
    pub admitted_at: Option<Duration>,
    /// The machine gave up on the gate and let the user in without a pass.
    pub failed_open: bool,
}

/// Where and how a user talks to the gate.
#[derive(Debug)]
pub struct Target {
    /// The shared keep-alive pool.
    pub client: Client,
    /// The status endpoints, e.g. `http://127.0.0.1:8080/waitroom/status`: one gate, or
    /// several instances on one shared store, asked round-robin.
    pub status_urls: Vec<String>,
    /// The round-robin's counter.
    pub next: AtomicUsize,
    /// The widget configuration every user runs with.
    pub config: Config,
}

/// Runs one user from its arrival until it is admitted, fails open, or `deadline` passes.
///
/// The outcome is filled in as the user goes, so that a user cut off by the deadline still
/// reports the requests it made.
pub async fn run_user(
    target: &Target,
    clock: Clock,
    seed: u64,
    arrival: Duration,
    deadline: Instant,
) -> UserOutcome {
    let mut outcome = UserOutcome { arrived_at: arrival, ..UserOutcome::default() };
    // Cancelling at the deadline drops at most one request in flight, which is not recorded.
    let _ = tokio::time::timeout_at(deadline, async {
        tokio::time::sleep_until(clock.instant_after(arrival)).await;
        drive(target, clock, seed, &mut outcome).await;
    })
    .await;
    outcome
}

async fn drive(target: &Target, clock: Clock, seed: u64, outcome: &mut UserOutcome) {
    let mut machine = Machine::new(&target.config, seed);
    // The user's browser cookie (`waitroom_id=…`): the gate binds each ticket to it.
    let mut cookie = None;
    machine.handle_start(clock.now(), None);
    loop {
        while let Some(action) = machine.poll_action() {
            match action {
                Action::Send { ticket, timeout, .. } => {
                    let reply =
                        send(target, clock, ticket.as_deref(), timeout, &mut cookie, outcome).await;
                    machine.handle_reply(clock.now(), reply);
                }
                Action::Admit { .. } => outcome.admitted_at = Some(clock.elapsed()),
                Action::FailOpen => outcome.failed_open = true,
                // Only a quota page reloads itself; the load test starts none. Its users have
                // no solver: a challenge is waited out with backoff, never solved.
                Action::Persist(_) | Action::Render | Action::Reload | Action::Solve { .. } => {}
            }
        }
        if outcome.admitted_at.is_some() || outcome.failed_open {
            return;
        }
        // `None` with the user still outside would be a machine bug (GaveUp never happens with
        // unlimited attempts): stop rather than spin, and the report counts the user as not in.
        let Some(at) = machine.poll_timeout() else {
            return;
        };
        tokio::time::sleep_until(clock.instant_at(at)).await;
        machine.handle_timeout(clock.now());
    }
}

/// One `GET` of the status endpoint, recorded and classified.
async fn send(
    target: &Target,
    clock: Clock,
    ticket: Option<&str>,
    timeout: Duration,
    cookie: &mut Option<String>,
    outcome: &mut UserOutcome,
) -> Reply {
    let sent_at = clock.elapsed();
    let first = target.next.fetch_add(1, Ordering::Relaxed);
    let instances = target.status_urls.len().max(1);
    let mut attempt = 0;
    let sent = loop {
        // Round-robin, and an instance that refuses the connection is skipped for the next, as
        // nginx's `proxy_next_upstream error` does: the user sees one request.
        let url = &target.status_urls[(first + attempt) % instances];
        let mut request =
            target.client.get(url).header(ACCEPT, "application/json").timeout(timeout);
        if let Some(ticket) = ticket {
            request = request.query(&[(TICKET_PARAM, ticket)]);
        }
        if let Some(cookie) = cookie.as_deref() {
            request = request.header(COOKIE, cookie);
        }
        match request.send().await {
            Err(error) if error.is_connect() && attempt + 1 < instances => attempt += 1,
            sent => break sent,
        }
    };
    let result = match sent {
        Ok(response) => {
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            // Keep the browser identifier, as a browser keeps the cookie (its first pair).
            let id =
                headers.get_all(SET_COOKIE).iter().filter_map(|v| v.to_str().ok()).find_map(|v| {
                    v.split(';').next().filter(|pair| pair.starts_with("waitroom_id="))
                });
            if let Some(id) = id {
                *cookie = Some(id.to_string());
            }
            response.text().await.map(|body| (status, headers, body))
        }
        Err(error) => Err(error),
    };
    let latency = clock.elapsed().saturating_sub(sent_at);
    let now = clock.now();
    let (recorded, reply) = match result {
        Ok((status, headers, body)) => {
            let response = Response {
                status,
                retry_after: header(&headers, RETRY_AFTER.as_str()),
                ratelimit: header(&headers, "ratelimit"),
                ratelimit_reset: header(&headers, "ratelimit-reset"),
                content_type: header(&headers, CONTENT_TYPE.as_str()),
                body: &body,
                // The client follows no redirect: a `3xx` arrives as its own status.
                opaque_redirect: false,
            };
            let reply = reply::classify(target.config.protocol, &response, now);
            (Outcome::Status(status), reply)
        }
        Err(error) if error.is_timeout() => (Outcome::Timeout, Reply::from(Failure::Timeout)),
        Err(_) => (Outcome::Network, Reply::from(Failure::Network)),
    };
    outcome.requests.push(RequestRecord { sent_at, latency, outcome: recorded });
    reply
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}
