//! What a server sends back, turned into the widget's [`Reply`] the way the browser does it.
//!
//! The widget's native replies come from the reference gate itself: a
//! [`waitroom_gate::server::GateState`] with a fixed clock answers each request with
//! [`GateState::answer`] (ticket verification, the queue, signing, `Retry-After`), exactly as its
//! HTTP handler does; the sim only turns that answer into the bytes the browser would see and
//! hands them to the core's own [`classify`]. Clients other than the widget talk to a bare
//! [`waitroom_gate::queue::Queue`] with the sequence number as their ticket: they read no body,
//! so signing would change nothing but the run time.

use std::sync::Arc;

use waitroom::config::Protocol;
use waitroom::reply::{classify, Reply, Response};
use waitroom::time::Timestamp;
use waitroom_gate::proof_of_work::{Mode, PowConfig};
use waitroom_gate::server::{GateConfig, GateState, StatusAnswer};

use crate::scenario::{Scenario, T0};

/// The HMAC key of the simulated gate (any key does: nobody forges tickets here). The engine
/// reads the number of a challenge with it ([`waitroom_gate::proof_of_work::number_of`]).
pub const SECRET: &[u8] = b"waitroom-sim: 6 April 2021, 08:00";

/// The body of a plain quota page: what the proxy of 2021 served, no JSON.
const QUOTA_PAGE: &str = "<html><body><p>Quand le nombre d'utilisateurs maximum est atteint, \
                          il vous faut patienter.</p></body></html>";

/// The reference gate for `scenario`, at [`T0`]: fresh queue, full bucket, tickets numbered from 1.
///
/// Its clock is only read at start: every answer is given the virtual time explicitly. With
/// `proof_of_work`, the gate's adaptive proof of work is on (`auto`, its defaults); without,
/// off: the widgets of the other strategies have no solver and meet the queue alone.
pub fn gate(scenario: &Scenario, proof_of_work: bool) -> Arc<GateState> {
    let config = GateConfig {
        admit_per_minute: scenario.admit_per_minute,
        burst: scenario.burst,
        expected_no_show: scenario.expected_no_show,
        clock: Arc::new(|| T0),
        first_seq: Some(1),
        proof_of_work: PowConfig {
            mode: if proof_of_work { Mode::Auto } else { Mode::Off },
            ..PowConfig::default()
        },
        ..GateConfig::new(SECRET.to_vec())
    };
    GateState::new(config)
}

/// The gate's answer as the widget configured with `protocol` reads it: the status, the
/// `Retry-After` header and the JSON body, through [`classify`].
pub fn classify_answer(answer: &StatusAnswer, protocol: Protocol, now: Timestamp) -> Reply {
    let body = serde_json::to_string(&answer.body).expect("wire types always serialize");
    let retry_after = answer.retry_after_s.map(|s| s.to_string());
    let response = Response {
        status: answer.status,
        retry_after: retry_after.as_deref(),
        content_type: Some("application/json"),
        body: &body,
        ..Response::default()
    };
    classify(protocol, &response, now)
}

/// A plain "503 when full" server's reply, classified by the widget configured with `protocol`.
pub fn plain_reply(
    admitted: bool,
    retry_after_s: Option<u32>,
    protocol: Protocol,
    now: Timestamp,
) -> Reply {
    let retry_after = retry_after_s.map(|s| s.to_string());
    let response = Response {
        status: if admitted { 200 } else { 503 },
        retry_after: if admitted { None } else { retry_after.as_deref() },
        content_type: Some("text/html; charset=utf-8"),
        body: if admitted { "" } else { QUOTA_PAGE },
        ..Response::default()
    };
    classify(protocol, &response, now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gate_queues_then_admits_and_the_widget_reads_both() {
        let scenario = Scenario { admit_per_minute: 60.0, burst: Some(1.0), ..Scenario::default() };
        let gate = gate(&scenario, false);
        let first = gate.answer(T0, None);
        assert!(matches!(
            classify_answer(&first, Protocol::Native, T0),
            Reply::Admitted { pass: Some(_), .. }
        ));
        let second = gate.answer(T0, None);
        let Reply::Queued { ticket, position, retry_after, .. } =
            classify_answer(&second, Protocol::Native, T0)
        else {
            panic!("the bucket is empty: {second:?}");
        };
        assert_eq!((position, retry_after), (1, std::time::Duration::from_secs(1)));
        let later = T0.saturating_add(retry_after);
        let third = gate.answer(later, Some(&ticket));
        assert!(matches!(classify_answer(&third, Protocol::Native, later), Reply::Admitted { .. }));
    }

    #[test]
    fn a_plain_503_is_a_throttle_with_its_retry_after() {
        let now = T0;
        assert_eq!(
            plain_reply(false, Some(20), Protocol::Http, now),
            Reply::Throttled {
                retry_after: Some(std::time::Duration::from_secs(20)),
                malformed: false
            }
        );
        assert!(matches!(
            plain_reply(true, Some(20), Protocol::Http, now),
            Reply::Admitted { pass: None, .. }
        ));
    }
}
