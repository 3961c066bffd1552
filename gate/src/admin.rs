//! The operators' API, under `/waitroom/admin`, behind a bearer token:
//!
//! - `GET /waitroom/admin/state`: [`AdminState`], the queue as the operator sees it;
//! - `PUT /waitroom/admin/rate` `{"admit_per_minute": N}`: the admission rate, at once
//!   ([`GateState::set_rate`]: no told time ever moves earlier);
//! - `POST /waitroom/admin/close` `{"message": "…", "until": <Unix seconds>?}` and
//!   `POST /waitroom/admin/open`: queued tickets keep their places while it is closed
//!   ([`GateState::close`], [`GateState::open`]).
//!
//! Every change replies with the new state and is one log line at info, target
//! `waitroom::admin`, with `who` (the token's label), `what` and `at` (Unix ms).
//!
//! Tokens come from `--admin-token-file` or `WAITROOM_ADMIN_TOKEN`; they are compared in
//! constant time (SHA-256 of both, then [`subtle`]), so neither their content nor their length
//! leaks through timing. Without a token the API answers `404` as if it did not exist.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Extension, Router};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use waitroom::time::Timestamp;

use crate::server::{error, json_reply, method_not_allowed, GateState};

/// Shortest admin token accepted: 16 bytes, which a random token drawn by `openssl rand -hex
/// 16` (32 characters) exceeds.
pub const MIN_TOKEN_LEN: usize = 16;
/// Slowest and fastest admission rates the API accepts (one a day, 10 000 a second), as the
/// `--admit-per-minute` flag.
pub const RATE_RANGE: std::ops::RangeInclusive<f64> = 0.001..=600_000.0;
/// Longest closed notice, in characters.
pub const MAX_MESSAGE_CHARS: usize = 500;
/// Furthest `until` of a closure: a week ahead.
pub const MAX_CLOSE_AHEAD: Duration = Duration::from_secs(7 * 86_400);
/// Largest request body.
const MAX_BODY: usize = 4096;
/// Minutes of arrivals and admissions kept.
pub const HISTORY_MINUTES: usize = 15;

/// One admin token and the label its changes are logged under.
#[derive(Clone)]
pub struct AdminToken {
    label: String,
    digest: [u8; 32],
}

impl AdminToken {
    /// A token (already trimmed) with its label; `None` if shorter than [`MIN_TOKEN_LEN`].
    pub fn new(label: impl Into<String>, token: &[u8]) -> Option<Self> {
        (token.len() >= MIN_TOKEN_LEN)
            .then(|| AdminToken { label: label.into(), digest: Sha256::digest(token).into() })
    }

    /// The label logged with each change made with this token.
    pub fn label(&self) -> &str {
        &self.label
    }
}

impl fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdminToken").field("label", &self.label).finish_non_exhaustive()
    }
}

/// Who made the request, once authenticated.
#[derive(Debug, Clone)]
struct Operator(String);

/// Arrivals (newcomers given a place or let straight in) and admissions per minute, over the
/// last [`HISTORY_MINUTES`]: a fixed ring, no allocation per request.
#[derive(Debug, Default)]
pub struct History {
    /// `(minute since the epoch, arrivals, admissions)`, slot `minute % HISTORY_MINUTES`.
    slots: [(u64, u64, u64); HISTORY_MINUTES],
}

impl History {
    /// Counts an arrival and/or an admission at `now`.
    pub fn count(&mut self, now: Timestamp, arrived: bool, admitted: bool) {
        let minute = now.as_millis() / 60_000;
        let slot = &mut self.slots[(minute % HISTORY_MINUTES as u64) as usize];
        if slot.0 != minute {
            *slot = (minute, 0, 0);
        }
        slot.1 += u64::from(arrived);
        slot.2 += u64::from(admitted);
    }

    /// The last [`HISTORY_MINUTES`] minutes up to `now`'s, oldest first, zeros included.
    pub fn recent(&self, now: Timestamp) -> Vec<Minute> {
        let current = now.as_millis() / 60_000;
        (0..HISTORY_MINUTES as u64)
            .rev()
            .filter_map(|back| current.checked_sub(back))
            .map(|minute| {
                let slot = self.slots[(minute % HISTORY_MINUTES as u64) as usize];
                let (arrivals, admissions) =
                    if slot.0 == minute { (slot.1, slot.2) } else { (0, 0) };
                Minute { start: minute * 60, arrivals, admissions }
            })
            .collect()
    }
}

/// One minute of [`History`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Minute {
    /// Its start, in Unix seconds.
    pub start: u64,
    /// Newcomers given a place or let straight in.
    pub arrivals: u64,
    /// Admissions.
    pub admissions: u64,
}

/// The body of `GET /waitroom/admin/state`, and of every change's reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdminState {
    /// The gate's time, in Unix seconds.
    pub now: u64,
    /// Tickets waiting.
    pub queue_length: u64,
    /// Admissions per minute now.
    pub admit_per_minute: f64,
    /// The token bucket's capacity.
    pub burst: f64,
    /// The observed share of told holders who did not come back (shrunk towards
    /// `--expected-no-show` while few are judged).
    pub no_show_rate: f64,
    /// Seconds until the last in line's told time (its predicted turn); growing while closed.
    pub last_in_line_eta_seconds: u64,
    /// Holders who came on time, found no token, and were told a later slot.
    pub standing_by: u64,
    /// The closure in force, if any.
    pub closed: Option<ClosedState>,
    /// Admissions since the gate started.
    pub admitted_total: u64,
    /// Tickets issued to newcomers since the gate started.
    pub joined_total: u64,
    /// Tickets dropped (holder not back within the grace period) since the gate started.
    pub dropped_total: u64,
    /// Arrivals and admissions per minute, the last [`HISTORY_MINUTES`], oldest first.
    pub minutes: Vec<Minute>,
}

/// A closure as the admin API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClosedState {
    /// What clients read.
    pub message: String,
    /// When it closed, in Unix seconds.
    pub since: u64,
    /// When it reopens by itself, in Unix seconds, if set.
    pub until: Option<u64>,
}

/// The body of `PUT /waitroom/admin/rate`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RateRequest {
    admit_per_minute: f64,
}

/// The body of `POST /waitroom/admin/close`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CloseRequest {
    message: String,
    /// Unix seconds.
    #[serde(default)]
    until: Option<u64>,
}

/// Path of the operator's console.
pub const OPS_PATH: &str = "/waitroom/ops";
/// The console's policy: its own script and style only, no inline code, talks to the gate only.
pub const OPS_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The console (`gate/ops/`, built into the binary): `/waitroom/ops` and its script and
/// style, under [`OPS_CSP`]. It needs no token to load; it asks for one to read anything.
pub fn ops_router() -> Router<Arc<GateState>> {
    fn file(body: &'static str, content_type: &'static str) -> Response {
        (
            StatusCode::OK,
            [
                (axum::http::header::CONTENT_TYPE, content_type),
                (axum::http::header::CONTENT_SECURITY_POLICY, OPS_CSP),
                (axum::http::header::REFERRER_POLICY, "no-referrer"),
            ],
            body,
        )
            .into_response()
    }
    Router::new()
        .route(
            OPS_PATH,
            get(|| async { file(include_str!("../ops/index.html"), "text/html; charset=utf-8") }),
        )
        .route(
            "/waitroom/ops/ops.js",
            get(|| async { file(include_str!("../ops/ops.js"), "text/javascript; charset=utf-8") }),
        )
        .route(
            "/waitroom/ops/ops.css",
            get(|| async { file(include_str!("../ops/ops.css"), "text/css; charset=utf-8") }),
        )
}

/// The admin routes, behind [`authenticate`], to merge into the gate's router.
pub fn router(state: Arc<GateState>) -> Router<Arc<GateState>> {
    Router::new()
        .route("/waitroom/admin/state", get(admin_state).fallback(method_not_allowed))
        .route("/waitroom/admin/rate", put(set_rate).fallback(method_not_allowed))
        .route("/waitroom/admin/close", post(close).fallback(method_not_allowed))
        .route("/waitroom/admin/open", post(open).fallback(method_not_allowed))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(middleware::from_fn_with_state(state, authenticate))
}

/// Lets through requests with `Authorization: Bearer <a configured token>`, naming the
/// operator; `404` when no token is configured, `401` otherwise.
async fn authenticate(
    State(state): State<Arc<GateState>>,
    mut request: Request,
    next: Next,
) -> Response {
    let tokens = &state.config().admin_tokens;
    if tokens.is_empty() {
        return error(
            StatusCode::NOT_FOUND,
            "not_found",
            "The admin API is off: start the gate with --admin-token-file or WAITROOM_ADMIN_TOKEN.",
        );
    }
    let given = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(|token| Sha256::digest(token.trim().as_bytes()));
    // Every token is compared, whichever matches: the time taken says nothing about which.
    let mut found = None;
    if let Some(given) = given {
        for token in tokens {
            if bool::from(token.digest.ct_eq(given.as_slice())) {
                found = Some(token.label.clone());
            }
        }
    }
    let Some(label) = found else {
        tracing::warn!(target: "waitroom::admin", "admin: request without a valid token refused");
        let mut response = error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "The admin API needs the header `Authorization: Bearer <token>` with a valid token.",
        );
        response
            .headers_mut()
            .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"waitroom\""));
        return response;
    };
    request.extensions_mut().insert(Operator(label));
    next.run(request).await
}

/// `GET /waitroom/admin/state`.
async fn admin_state(State(state): State<Arc<GateState>>) -> Response {
    reply_state(&state, state.now()).await
}

/// The state at `now` as the reply of every admin request, or `503` when the shared store
/// does not answer.
async fn reply_state(state: &GateState, now: Timestamp) -> Response {
    match state.admin_state_now(now).await {
        Ok(admin) => json_reply(StatusCode::OK, &admin),
        Err(failure) => state.store_unavailable(now, &failure),
    }
}

/// The JSON body as `T`, or the status and message of a `400` that says what was expected.
fn parse<T: serde::de::DeserializeOwned>(
    body: Result<Bytes, BytesRejection>,
    expected: &str,
) -> Result<T, (StatusCode, String)> {
    let body = body.map_err(|rejection| (rejection.status(), rejection.body_text()))?;
    serde_json::from_slice(&body)
        .map_err(|e| (StatusCode::BAD_REQUEST, format!("Expected {expected}: {e}.")))
}

/// `PUT /waitroom/admin/rate`.
async fn set_rate(
    State(state): State<Arc<GateState>>,
    Extension(Operator(who)): Extension<Operator>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let request: RateRequest = match parse(body, "a JSON body {\"admit_per_minute\": N}") {
        Ok(request) => request,
        Err((status, message)) => return error(status, "bad_request", &message),
    };
    if !RATE_RANGE.contains(&request.admit_per_minute) {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "out_of_range",
            &format!(
                "admit_per_minute must be between {} and {}.",
                RATE_RANGE.start(),
                RATE_RANGE.end()
            ),
        );
    }
    let now = state.now();
    if let Err(failure) = state.set_rate_now(now, request.admit_per_minute, &who).await {
        return state.store_unavailable(now, &failure);
    }
    reply_state(&state, now).await
}

/// `POST /waitroom/admin/close`.
async fn close(
    State(state): State<Arc<GateState>>,
    Extension(Operator(who)): Extension<Operator>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let request: CloseRequest =
        match parse(body, "a JSON body {\"message\": \"…\", \"until\": <Unix seconds, optional>}")
        {
            Ok(request) => request,
            Err((status, message)) => return error(status, "bad_request", &message),
        };
    let message = request.message.trim();
    let chars = message.chars().count();
    if chars == 0 || chars > MAX_MESSAGE_CHARS || message.chars().any(char::is_control) {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "out_of_range",
            &format!(
                "message must be 1 to {MAX_MESSAGE_CHARS} characters, without control characters."
            ),
        );
    }
    let now = state.now();
    let until = match request.until {
        None => None,
        Some(until) => {
            let until_ms = until.saturating_mul(1000);
            let latest = now.saturating_add(MAX_CLOSE_AHEAD);
            if until_ms <= now.as_millis() || until_ms > latest.as_millis() {
                return error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "out_of_range",
                    "until must be a time in Unix seconds after now and at most a week ahead.",
                );
            }
            Some(Timestamp::from_millis(until_ms))
        }
    };
    if let Err(failure) = state.close_now(now, message.to_string(), until, &who).await {
        return state.store_unavailable(now, &failure);
    }
    reply_state(&state, now).await
}

/// `POST /waitroom/admin/open`: opens the gate (a no-op if it is open).
async fn open(
    State(state): State<Arc<GateState>>,
    Extension(Operator(who)): Extension<Operator>,
) -> Response {
    let now = state.now();
    if let Err(failure) = state.open_now(now, &who).await {
        return state.store_unavailable(now, &failure);
    }
    reply_state(&state, now).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_keeps_fifteen_minutes_and_forgets_older_ones() {
        let mut history = History::default();
        let minute = |m: u64| Timestamp::from_millis(1_700_000_040_000 + m * 60_000);
        history.count(minute(0), true, false);
        history.count(minute(0), true, true);
        history.count(minute(3), false, true);
        let recent = history.recent(minute(3));
        assert_eq!(recent.len(), HISTORY_MINUTES);
        let counts: Vec<_> = recent.iter().map(|m| (m.arrivals, m.admissions)).collect();
        assert_eq!(&counts[HISTORY_MINUTES - 4..], &[(2, 1), (0, 0), (0, 0), (0, 1)]);
        // Fifteen minutes on, the same slot holds a new minute.
        history.count(minute(15), true, true);
        let recent = history.recent(minute(15));
        assert_eq!(recent.iter().map(|m| m.arrivals).sum::<u64>(), 1);
        assert_eq!(recent.last().unwrap().start, minute(15).as_millis() / 60_000 * 60);
    }

    #[test]
    fn a_short_token_is_refused() {
        assert!(AdminToken::new("ops", b"short").is_none());
        assert_eq!(AdminToken::new("ops", b"0123456789abcdef").unwrap().label(), "ops");
    }
}
