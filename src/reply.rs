//! Classification of whatever the gate (or a proxy in front of it) answered.
//!
//! This is the edge where wire data becomes domain values: the native JSON is read into the
//! [`crate::wire`] types once ([`StatusReply::from_json`], the same code natively and in the
//! browser), then every number is range-checked here. A hostile or broken
//! reply never panics and never yields an out-of-range value: it becomes
//! [`Reply::Throttled`] with `malformed: true`, which the state machine answers with backoff.

use std::time::Duration;

use crate::config::Protocol;
use crate::retry_after::{
    parse_ratelimit, parse_ratelimit_reset, parse_retry_after, MAX_RETRY_AFTER,
};
use crate::time::Timestamp;
use crate::wire::StatusReply;

/// Highest queue position we believe (ten million: more than every pupil in France).
pub const MAX_POSITION: u64 = 10_000_000;
/// Longest wait estimate we show; a longer one is clamped (two days).
pub const MAX_ETA: Duration = Duration::from_secs(48 * 3600);
/// Longest validity we believe of a pass (a day): a longer one is clamped.
pub const MAX_PASS_LIFETIME: Duration = Duration::from_secs(86_400);
/// Longest ticket or pass we keep and send back.
pub const MAX_TOKEN_LEN: usize = 1024;
/// Longest operator message we show, in characters; longer ones are cut.
pub const MAX_MESSAGE_CHARS: usize = 500;
/// Fastest queue advance we believe, in places per minute.
pub const MAX_ADVANCE_PER_MINUTE: f64 = 1_000_000.0;
/// Largest proof of work we take on: 2^26 hashes, about 12 minutes at worst on a low-end phone
/// (the reference gate asks at most 2 880 000). A larger one is a broken or hostile gate:
/// it is answered with backoff, not with minutes of a phone's battery.
pub const MAX_CHALLENGE_NUMBER: u64 = 1 << 26;

/// What the driver saw of an HTTP exchange, independent of the fetch API.
#[derive(Debug, Clone, Copy, Default)]
pub struct Response<'a> {
    /// HTTP status code.
    pub status: u16,
    /// `Retry-After` header.
    pub retry_after: Option<&'a str>,
    /// `RateLimit` header (IETF draft structured form).
    pub ratelimit: Option<&'a str>,
    /// `RateLimit-Reset` header (older draft form).
    pub ratelimit_reset: Option<&'a str>,
    /// `Content-Type` header.
    pub content_type: Option<&'a str>,
    /// The body as text (the driver may cut it; JSON replies are small).
    pub body: &'a str,
    /// The gate answered with a redirect that was not followed (fetch's `redirect: "manual"`
    /// gives an opaque response: no status, no target). The widget never follows one itself,
    /// so that no request of its own leaves for another origin (an SSO server).
    pub opaque_redirect: bool,
}

/// Why no HTTP response arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The request took longer than the configured timeout and was aborted.
    Timeout,
    /// DNS, connection refused, offline, CORS refusal: the browser hides which.
    Network,
}

/// Why the gate counts as unavailable (as opposed to "full").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unavailable {
    /// The request timed out.
    Timeout,
    /// No HTTP response at all.
    Network,
    /// An HTTP status that means neither "admitted" nor "full" (404, 500, 502…).
    Status(u16),
    /// A redirect, where only a reply counts (`native` and `auto`).
    Redirect,
}

/// A reply, classified and range-checked.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// Come in. Plain HTTP `2xx` carries no pass.
    Admitted {
        /// The gate's signed pass, if any.
        pass: Option<String>,
        /// How long the pass stays valid.
        pass_expires_in: Option<Duration>,
        /// Where the gate wants the user to go (checked against the allow-list by the driver).
        redirect: Option<String>,
    },
    /// A place in the native queue.
    Queued {
        /// The ticket to send back.
        ticket: String,
        /// Place in the queue, 1 = next.
        position: u64,
        /// The gate's wait estimate.
        eta: Duration,
        /// The gate's instruction: come back after this long.
        retry_after: Duration,
        /// Places per minute the queue advances, for the local countdown.
        advance_per_minute: f64,
    },
    /// The portal is closed; come back much later.
    Closed {
        /// The operator's message, plain text.
        message: Option<String>,
        /// The gate's instruction, if it gave one.
        retry_after: Option<Duration>,
    },
    /// The gate saw our ticket come back without the browser's binding cookie: cookies are
    /// blocked, so no place can be kept. Subject to the fail-open / fail-closed policy.
    CookiesRequired {
        /// The gate's instruction.
        retry_after: Duration,
    },
    /// The gate asks for a proof of work before it gives a place ([`crate::wire::Challenge`]).
    Challenge {
        /// The signed challenge: the prefix to hash, sent back as is.
        challenge: String,
        /// The SHA-256 to find: 64 lower-case hexadecimal digits.
        target: String,
        /// The largest number to try.
        max_number: u64,
        /// The gate's instruction: ask again no sooner.
        retry_after: Duration,
    },
    /// Full (plain `429` / `503`), or a reply we could not make sense of.
    Throttled {
        /// The server's instruction, if it gave a usable one.
        retry_after: Option<Duration>,
        /// The reply claimed to be the native protocol but was malformed or out of range.
        malformed: bool,
    },
    /// Not "full" but broken or unreachable: subject to the fail-open / fail-closed policy.
    Unavailable(Unavailable),
}

impl From<Failure> for Reply {
    fn from(failure: Failure) -> Self {
        Reply::Unavailable(match failure {
            Failure::Timeout => Unavailable::Timeout,
            Failure::Network => Unavailable::Network,
        })
    }
}

/// Classifies a response according to the configured protocol.
///
/// `Auto` reads native JSON when the reply carries it and falls back to plain HTTP otherwise;
/// `Native` treats anything that is not valid native JSON as malformed; `Http` ignores bodies.
///
/// A redirect (`3xx`, or the opaque response of an unfollowed one) means "let through" in `Http`
/// mode: nginx's `limit_req` let the request reach the login URL, which sends the browser on to
/// the single sign-on server; the driver then navigates there itself. Elsewhere a redirect is
/// not the gate's reply: it is [`Unavailable::Redirect`] (backoff, then the fail policy).
pub fn classify(protocol: Protocol, response: &Response<'_>, now: Timestamp) -> Reply {
    if response.opaque_redirect || (300..400).contains(&response.status) {
        return match protocol {
            Protocol::Http => Reply::Admitted { pass: None, pass_expires_in: None, redirect: None },
            _ => Reply::Unavailable(Unavailable::Redirect),
        };
    }
    let instruction = server_instruction(response, now);
    if protocol == Protocol::Http {
        return classify_http(response.status, instruction);
    }
    let looks_json = response.content_type.is_some_and(mentions_json)
        || response.body.trim_start().starts_with('{');
    if !looks_json {
        return match protocol {
            Protocol::Native if !is_success(response.status) => {
                Reply::Throttled { retry_after: instruction, malformed: true }
            }
            _ => classify_http(response.status, instruction),
        };
    }
    match StatusReply::from_json(response.body) {
        Some(body) => from_wire(body, response.status, instruction),
        // A JSON body that is not ours: a 2xx from a JSON API means "in", anything else is
        // treated as throttled so we back off rather than fail open on a garbled reply.
        None if protocol == Protocol::Auto && is_success(response.status) => {
            classify_http(response.status, instruction)
        }
        None => Reply::Throttled { retry_after: instruction, malformed: true },
    }
}

/// `application/json`, `application/problem+json`, `text/JSON`…: any content type naming JSON.
/// A byte window rather than `str::contains`, whose substring searcher the widget can do without.
fn mentions_json(content_type: &str) -> bool {
    content_type.as_bytes().windows(4).any(|w| w.eq_ignore_ascii_case(b"json"))
}

fn is_success(status: u16) -> bool {
    (200..300).contains(&status)
}

/// The server's own "come back later", from the headers, in order of precedence.
fn server_instruction(response: &Response<'_>, now: Timestamp) -> Option<Duration> {
    response
        .retry_after
        .and_then(|v| parse_retry_after(v, now))
        .or_else(|| response.ratelimit.and_then(parse_ratelimit))
        .or_else(|| response.ratelimit_reset.and_then(parse_ratelimit_reset))
}

fn classify_http(status: u16, retry_after: Option<Duration>) -> Reply {
    match status {
        200..=299 => Reply::Admitted { pass: None, pass_expires_in: None, redirect: None },
        429 | 503 => Reply::Throttled { retry_after, malformed: false },
        _ => Reply::Unavailable(Unavailable::Status(status)),
    }
}

/// Whether the page at `page_url` is itself the gate's answer: served at the gate's own URL
/// (both absolute), it can only be a refusal, such as the quota page nginx serves with
/// `error_page 503` in place of the login URL. The fragment never reaches a server, so it does
/// not count; the query does.
pub fn is_refusal_page(page_url: &str, gate_url: &str) -> bool {
    page_url.split('#').next() == Some(gate_url)
}

/// Range-checks a native body that arrived with `status`. Public so that the simulator can hand
/// the gate's replies to the state machine through the very same checks, without JSON.
pub fn from_wire(body: StatusReply, status: u16, header_instruction: Option<Duration>) -> Reply {
    let malformed = Reply::Throttled { retry_after: header_instruction, malformed: true };
    match body {
        StatusReply::Admitted(a) => {
            if !is_success(status) || !is_token(&a.pass) {
                return malformed;
            }
            Reply::Admitted {
                pass: Some(a.pass),
                pass_expires_in: Some(
                    Duration::from_secs(a.pass_expires_in).min(MAX_PASS_LIFETIME),
                ),
                redirect: a.redirect.filter(|r| r.len() <= 2048),
            }
        }
        StatusReply::Queued(q) => {
            if is_success(status)
                || !is_token(&q.ticket)
                || !(1..=MAX_POSITION).contains(&q.position)
            {
                return malformed;
            }
            let advance = if q.advance_per_minute.is_finite() && q.advance_per_minute >= 0.0 {
                q.advance_per_minute.min(MAX_ADVANCE_PER_MINUTE)
            } else {
                0.0
            };
            Reply::Queued {
                ticket: q.ticket,
                position: q.position,
                eta: Duration::from_secs(q.eta_seconds).min(MAX_ETA),
                retry_after: later_instruction(q.retry_after_ms, header_instruction),
                advance_per_minute: advance,
            }
        }
        StatusReply::Closed(c) => Reply::Closed {
            message: c.message.map(|m| cut(&m, MAX_MESSAGE_CHARS)),
            retry_after: Some(later_instruction(c.retry_after_ms, header_instruction)),
        },
        StatusReply::CookiesRequired(_) if is_success(status) => malformed,
        StatusReply::CookiesRequired(c) => Reply::CookiesRequired {
            retry_after: later_instruction(c.retry_after_ms, header_instruction),
        },
        StatusReply::Challenge(c)
            if !is_success(status)
                && is_token(&c.challenge)
                && c.max_number <= MAX_CHALLENGE_NUMBER
                && c.target.len() == 64
                && c.target.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) =>
        {
            Reply::Challenge {
                challenge: c.challenge,
                target: c.target,
                max_number: c.max_number,
                retry_after: later_instruction(c.retry_after_ms, header_instruction),
            }
        }
        StatusReply::Challenge(_) => malformed,
    }
}

/// The body's instruction (ms), unless the header says to wait longer: a CDN or proxy in front
/// of the gate may add its own, longer `Retry-After`. The gate's own header is the body's value
/// rounded up to whole seconds, so a header within a second of the body is that same
/// instruction, and the body's precision (the slot the gate planned) is kept.
fn later_instruction(body_ms: u64, header: Option<Duration>) -> Duration {
    let body = Duration::from_millis(body_ms);
    match header {
        Some(h) if h > body + Duration::from_secs(1) => h,
        _ => body,
    }
    .min(MAX_RETRY_AFTER)
}

/// Tickets and passes are echoed back in a URL or a form: printable ASCII only, bounded.
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty() && s.len() <= MAX_TOKEN_LEN && s.bytes().all(|b| b.is_ascii_graphic())
}

/// Cuts at a character boundary and drops control characters (they have no place on screen).
pub(crate) fn cut(s: &str, max_chars: usize) -> String {
    s.chars().filter(|c| !c.is_control() || *c == '\n').take(max_chars).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Timestamp = Timestamp::from_millis(1_700_000_000_000);

    fn json(status: u16, body: &str) -> Response<'_> {
        Response { status, content_type: Some("application/json"), body, ..Response::default() }
    }

    #[test]
    fn a_challenge_becomes_a_proof_of_work_and_absurd_ones_are_refused() {
        let target = "00ff".repeat(16);
        let body = |challenge: &str, target: &str, max: u64| {
            format!(
                r#"{{"state":"challenge","challenge":"{challenge}","target":"{target}","max_number":{max},"retry_after_ms":1000}}"#
            )
        };
        let good = body("c1.5.6.180000.AA.BB", &target, 180_000);
        assert_eq!(
            classify(Protocol::Auto, &json(503, &good), NOW),
            Reply::Challenge {
                challenge: "c1.5.6.180000.AA.BB".into(),
                target: target.clone(),
                max_number: 180_000,
                retry_after: Duration::from_secs(1),
            }
        );
        // Plain HTTP mode reads no body: a 503 with Retry-After, that is all.
        assert_eq!(
            classify(Protocol::Http, &Response { retry_after: Some("1"), ..json(503, &good) }, NOW),
            Reply::Throttled { retry_after: Some(Duration::from_secs(1)), malformed: false }
        );
        let malformed = Reply::Throttled { retry_after: None, malformed: true };
        for bad in [
            json(200, &good),                          // a challenge is no admission
            json(503, &body("c1.x", &target[1..], 1)), // 63 digits
            json(503, &body("c1.x", &format!("{}g", &target[1..]), 1)), // not hexadecimal
            json(503, &body("c1.x", &target.to_uppercase(), 1)), // not as the gate writes it
            json(503, &body("c1.x", &target, MAX_CHALLENGE_NUMBER + 1)), // hours of a phone's battery
            json(503, &body("", &target, 1)),
            json(503, &body("c1 x", &target, 1)),
        ] {
            assert_eq!(classify(Protocol::Auto, &bad, NOW), malformed, "{}", bad.body);
        }
        let long = "c".repeat(MAX_TOKEN_LEN + 1);
        assert_eq!(
            classify(Protocol::Native, &json(503, &body(&long, &target, 1)), NOW),
            malformed
        );
    }

    #[test]
    fn native_queued_reply_becomes_a_queue_place() {
        let body = r#"{"state":"queued","ticket":"t1.5.1.2.abc","position":42,"eta_seconds":600,"retry_after_ms":580000,"advance_per_minute":4.5}"#;
        let reply = classify(
            Protocol::Auto,
            &Response { retry_after: Some("580"), ..json(503, body) },
            NOW,
        );
        assert_eq!(
            reply,
            Reply::Queued {
                ticket: "t1.5.1.2.abc".into(),
                position: 42,
                eta: Duration::from_secs(600),
                retry_after: Duration::from_millis(580_000),
                advance_per_minute: 4.5,
            }
        );
    }

    #[test]
    fn native_admitted_reply_carries_the_pass() {
        let body = r#"{"state":"admitted","pass":"p1.x","pass_expires_in":300}"#;
        assert_eq!(
            classify(Protocol::Native, &json(200, body), NOW),
            Reply::Admitted {
                pass: Some("p1.x".into()),
                pass_expires_in: Some(Duration::from_secs(300)),
                redirect: None
            }
        );
    }

    #[test]
    fn closed_reply_keeps_a_plain_text_message_and_drops_control_characters() {
        let body = r#"{"state":"closed","message":"Maintenance\u0007 <b>ce soir</b>","retry_after_ms":600000}"#;
        assert_eq!(
            classify(Protocol::Auto, &json(503, body), NOW),
            Reply::Closed {
                message: Some("Maintenance <b>ce soir</b>".into()),
                retry_after: Some(Duration::from_secs(600))
            }
        );
    }

    #[test]
    fn cookies_required_carries_the_gate_instruction_and_is_malformed_on_a_2xx() {
        let body =
            r#"{"state":"cookies_required","message":"Enable cookies","retry_after_ms":10000}"#;
        assert_eq!(
            classify(Protocol::Auto, &json(503, body), NOW),
            Reply::CookiesRequired { retry_after: Duration::from_secs(10) }
        );
        assert_eq!(
            classify(Protocol::Native, &json(200, body), NOW),
            Reply::Throttled { retry_after: None, malformed: true }
        );
    }

    #[test]
    fn plain_http_statuses_map_to_admitted_throttled_or_unavailable() {
        let plain = |status, retry_after| Response { status, retry_after, ..Response::default() };
        assert!(matches!(
            classify(Protocol::Http, &plain(204, None), NOW),
            Reply::Admitted { pass: None, .. }
        ));
        assert_eq!(
            classify(Protocol::Auto, &plain(503, Some("120")), NOW),
            Reply::Throttled { retry_after: Some(Duration::from_secs(120)), malformed: false }
        );
        assert_eq!(
            classify(Protocol::Auto, &plain(429, None), NOW),
            Reply::Throttled { retry_after: None, malformed: false }
        );
        assert_eq!(
            classify(Protocol::Auto, &plain(502, None), NOW),
            Reply::Unavailable(Unavailable::Status(502))
        );
        assert_eq!(
            classify(Protocol::Http, &plain(404, None), NOW),
            Reply::Unavailable(Unavailable::Status(404))
        );
    }

    #[test]
    fn an_html_error_page_from_a_proxy_is_throttled_not_admitted() {
        let page = Response {
            status: 503,
            content_type: Some("text/html"),
            body: "<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>",
            ..Response::default()
        };
        assert_eq!(
            classify(Protocol::Auto, &page, NOW),
            Reply::Throttled { retry_after: None, malformed: false }
        );
        assert_eq!(
            classify(Protocol::Native, &page, NOW),
            Reply::Throttled { retry_after: None, malformed: true }
        );
    }

    #[test]
    fn a_longer_retry_after_header_wins_over_the_body() {
        let body = r#"{"state":"queued","ticket":"t","position":5,"eta_seconds":1,"retry_after_ms":0,"advance_per_minute":1}"#;
        let reply = classify(
            Protocol::Auto,
            &Response { retry_after: Some("300"), ..json(503, body) },
            NOW,
        );
        assert!(
            matches!(reply, Reply::Queued { retry_after, .. } if retry_after == Duration::from_secs(300))
        );
    }

    #[test]
    fn the_ratelimit_header_is_used_when_retry_after_is_absent() {
        let r = Response {
            status: 429,
            ratelimit: Some(r#""default";r=0;t=30"#),
            ..Response::default()
        };
        assert_eq!(
            classify(Protocol::Auto, &r, NOW),
            Reply::Throttled { retry_after: Some(Duration::from_secs(30)), malformed: false }
        );
    }

    #[test]
    fn hostile_numbers_are_malformed_never_trusted() {
        for body in [
            r#"{"state":"queued","ticket":"t","position":-3,"eta_seconds":1,"retry_after_ms":1,"advance_per_minute":1}"#,
            r#"{"state":"queued","ticket":"t","position":0,"eta_seconds":1,"retry_after_ms":1,"advance_per_minute":1}"#,
            r#"{"state":"queued","ticket":"t","position":1e300,"eta_seconds":1,"retry_after_ms":1,"advance_per_minute":1}"#,
            r#"{"state":"queued","ticket":"t","position":99999999999,"eta_seconds":1,"retry_after_ms":1,"advance_per_minute":1}"#,
            r#"{"state":"queued","ticket":"t","position":NaN,"eta_seconds":1,"retry_after_ms":1,"advance_per_minute":1}"#,
            r#"{"state":"queued","ticket":"has space","position":1,"eta_seconds":1,"retry_after_ms":1,"advance_per_minute":1}"#,
            r#"{"state":"admitted","pass":"","pass_expires_in":1}"#,
            r#"{"state":"teleported"}"#,
            r#"{"state":"queued""#,
            r#"{}"#,
        ] {
            assert_eq!(
                classify(Protocol::Auto, &json(503, body), NOW),
                Reply::Throttled { retry_after: None, malformed: true },
                "{body}"
            );
        }
    }

    #[test]
    fn an_admission_claimed_with_an_error_status_is_not_believed() {
        let body = r#"{"state":"admitted","pass":"p","pass_expires_in":300}"#;
        assert_eq!(
            classify(Protocol::Auto, &json(503, body), NOW),
            Reply::Throttled { retry_after: None, malformed: true }
        );
    }

    #[test]
    fn huge_server_numbers_are_clamped() {
        let body = r#"{"state":"queued","ticket":"t","position":5,"eta_seconds":18446744073709551615,"retry_after_ms":18446744073709551615,"advance_per_minute":1e308}"#;
        assert_eq!(
            classify(Protocol::Auto, &json(503, body), NOW),
            Reply::Queued {
                ticket: "t".into(),
                position: 5,
                eta: MAX_ETA,
                retry_after: MAX_RETRY_AFTER,
                advance_per_minute: MAX_ADVANCE_PER_MINUTE
            }
        );
    }

    #[test]
    fn a_redirect_lets_through_in_http_mode_and_is_no_reply_elsewhere() {
        let opaque = Response { opaque_redirect: true, ..Response::default() };
        let found = Response { status: 302, ..Response::default() };
        for redirect in [opaque, found] {
            assert_eq!(
                classify(Protocol::Http, &redirect, NOW),
                Reply::Admitted { pass: None, pass_expires_in: None, redirect: None }
            );
            for protocol in [Protocol::Native, Protocol::Auto] {
                assert_eq!(
                    classify(protocol, &redirect, NOW),
                    Reply::Unavailable(Unavailable::Redirect)
                );
            }
        }
        // Even one carrying what looks like a native admission.
        let body = r#"{"state":"admitted","pass":"p","pass_expires_in":300}"#;
        assert_eq!(
            classify(Protocol::Native, &json(302, body), NOW),
            Reply::Unavailable(Unavailable::Redirect)
        );
    }

    #[test]
    fn a_page_served_at_the_gate_url_is_its_refusal() {
        let gate = "https://ent.example.fr/login";
        assert!(is_refusal_page(gate, gate));
        assert!(is_refusal_page("https://ent.example.fr/login#main", gate));
        assert!(!is_refusal_page("https://ent.example.fr/login?retry=1", gate));
        assert!(!is_refusal_page("https://ent.example.fr/", gate));
        assert!(!is_refusal_page("https://ent.example.fr/login/", gate));
    }

    #[test]
    fn failures_are_unavailable() {
        assert_eq!(Reply::from(Failure::Timeout), Reply::Unavailable(Unavailable::Timeout));
        assert_eq!(Reply::from(Failure::Network), Reply::Unavailable(Unavailable::Network));
    }

    proptest::proptest! {
        #[test]
        fn classify_never_panics(status in 0u16..1000, body in ".{0,200}", ra in proptest::option::of(".{0,40}")) {
            let r = Response { status, retry_after: ra.as_deref(), body: &body, ..Response::default() };
            for p in [Protocol::Auto, Protocol::Http, Protocol::Native] {
                let _ = classify(p, &r, NOW);
            }
        }
    }
}
