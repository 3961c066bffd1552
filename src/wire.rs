//! The native wire protocol, shared by the widget and the gate so the two cannot drift apart.
//!
//! `GET /waitroom/status[?ticket=…]` with `Accept: application/json` answers one of the
//! [`StatusReply`] bodies; see `docs/protocol.md` for the full reference with examples.
//! Numbers here are what the gate sends; the widget range-checks them again when it turns them
//! into domain values (a hostile or broken server must not be trusted).

use serde::{Deserialize, Serialize};

/// Path of the status endpoint on the reference gate.
pub const STATUS_PATH: &str = "/waitroom/status";
/// Path of the pass verification endpoint on the reference gate.
pub const VERIFY_PATH: &str = "/waitroom/verify";
/// Query parameter that carries the ticket (a query parameter keeps a cross-origin poll a CORS
/// simple request, so no preflight doubles the load).
pub const TICKET_PARAM: &str = "ticket";

/// The body of every reply of the status endpoint, tagged by `state`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum StatusReply {
    /// `200`: the holder may log in now.
    Admitted(Admitted),
    /// `503` with `Retry-After`: the holder has a place in the queue.
    Queued(Queued),
    /// `503` with `Retry-After`: the portal is closed (maintenance); come back much later.
    Closed(Closed),
}

/// The holder is admitted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Admitted {
    /// Signed pass to present to the portal's login handler.
    pub pass: String,
    /// Seconds the pass stays valid.
    pub pass_expires_in: u64,
    /// Where to go now, if the portal wants the user elsewhere (same origin or allow-listed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect: Option<String>,
}

/// The holder waits in the queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Queued {
    /// Signed ticket to send back as `?ticket=` on the next poll.
    pub ticket: String,
    /// Place in the queue: 1 is next in line.
    pub position: u64,
    /// The gate's estimate of the wait until admission, in seconds.
    pub eta_seconds: u64,
    /// When to poll again, in milliseconds from now: the ticket's predicted turn. The
    /// `Retry-After` header carries the same instruction rounded up to whole seconds.
    pub retry_after_ms: u64,
    /// How many places per minute the queue is advancing (admissions plus departures), so the
    /// widget can count the position down locally between polls.
    pub advance_per_minute: f64,
}

/// The portal is closed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Closed {
    /// A message from the operator, shown as plain text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// When to poll again, in milliseconds from now.
    pub retry_after_ms: u64,
}

/// Body of `POST /waitroom/verify`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerifyRequest {
    /// The pass the login form carried.
    pub pass: String,
}

/// Reply of `POST /waitroom/verify`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerifyReply {
    /// Whether the pass is authentic and unexpired.
    pub valid: bool,
    /// Seconds left before the pass expires, when valid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<u64>,
    /// Why the pass was refused, when invalid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Body of every 4xx reply of the gate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorReply {
    /// A stable, machine-readable code such as `bad_request`.
    pub error: String,
    /// A sentence a person can act on.
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queued_reply_round_trips_with_its_state_tag() {
        let reply = StatusReply::Queued(Queued {
            ticket: "t".to_string(),
            position: 3,
            eta_seconds: 90,
            retry_after_ms: 85_000,
            advance_per_minute: 2.0,
        });
        let json = serde_json::to_string(&reply).unwrap();
        assert_eq!(
            json,
            r#"{"state":"queued","ticket":"t","position":3,"eta_seconds":90,"retry_after_ms":85000,"advance_per_minute":2.0}"#
        );
        assert_eq!(serde_json::from_str::<StatusReply>(&json).unwrap(), reply);
    }

    #[test]
    fn admitted_reply_omits_an_absent_redirect() {
        let reply = StatusReply::Admitted(Admitted {
            pass: "p".to_string(),
            pass_expires_in: 300,
            redirect: None,
        });
        assert_eq!(
            serde_json::to_string(&reply).unwrap(),
            r#"{"state":"admitted","pass":"p","pass_expires_in":300}"#
        );
    }
}
