//! The native wire protocol, shared by the widget and the gate so the two cannot drift apart.
//!
//! `GET /waitroom/status[?ticket=…]` with `Accept: application/json` answers one of the
//! [`StatusReply`] bodies; see `docs/protocol.md` for the full reference with examples.
//! Numbers here are what the gate sends; the widget range-checks them again when it turns them
//! into domain values (a hostile or broken server must not be trusted).
//!
//! The serde derives exist for the gate, the simulator and the tests (cargo feature `serde`, on
//! by default); the widget reads a reply with [`StatusReply::from_json`], built on
//! [`crate::json`], and ships without serde.

use crate::json::{self, Value};

/// Path of the status endpoint on the reference gate.
pub const STATUS_PATH: &str = "/waitroom/status";
/// Path of the pass verification endpoint on the reference gate.
pub const VERIFY_PATH: &str = "/waitroom/verify";
/// Path of the reference gate's endpoint for nginx `auth_request`: `204` or `401`.
pub const AUTH_PATH: &str = "/waitroom/auth";
/// Query parameter that carries the ticket (a query parameter keeps a cross-origin poll a CORS
/// simple request, so no preflight doubles the load).
pub const TICKET_PARAM: &str = "ticket";
/// Query parameter that carries a proof-of-work challenge back, with [`SOLUTION_PARAM`].
pub const CHALLENGE_PARAM: &str = "challenge";
/// Query parameter that carries the number solving the challenge (decimal).
pub const SOLUTION_PARAM: &str = "solution";
/// Query parameter that carries an admitted browser's pass, to renew it before (or shortly
/// after) it expires: no hidden time limit (docs/protocol.md, "Renewing a pass").
pub const PASS_PARAM: &str = "pass";

/// The body of every reply of the status endpoint, tagged by `state`.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(tag = "state", rename_all = "lowercase"))]
pub enum StatusReply {
    /// `200`: the holder may log in now.
    Admitted(Admitted),
    /// `503` with `Retry-After`: the holder has a place in the queue.
    Queued(Queued),
    /// `503` with `Retry-After`: the portal is closed (maintenance); come back much later.
    Closed(Closed),
    /// `503` with `Retry-After`: a ticket came back without the browser's binding cookie
    /// (`waitroom_id`), so the browser refuses the gate's cookies and cannot keep a place.
    #[cfg_attr(feature = "serde", serde(rename = "cookies_required"))]
    CookiesRequired(CookiesRequired),
    /// `503` with `Retry-After`: the gate is being flooded and asks a newcomer for a proof of
    /// work before it gives a place; see [`Challenge`].
    Challenge(Challenge),
}

/// The holder is admitted.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Admitted {
    /// Signed pass to present to the portal's login handler.
    pub pass: String,
    /// Seconds the pass stays valid.
    pub pass_expires_in: u64,
    /// Where to go now, if the portal wants the user elsewhere (same origin or allow-listed).
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub redirect: Option<String>,
}

/// The holder waits in the queue.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
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
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Closed {
    /// A message from the operator, shown as plain text.
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub message: Option<String>,
    /// When to poll again, in milliseconds from now.
    pub retry_after_ms: u64,
}

/// The browser does not keep the gate's cookies: its ticket cannot be honoured.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct CookiesRequired {
    /// A sentence for clients other than the widget (which shows its own, translated).
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub message: Option<String>,
    /// When to poll again, in milliseconds from now.
    pub retry_after_ms: u64,
}

/// A proof of work: find the number `n` in `0..=max_number` for which the SHA-256 of the
/// challenge string followed by `n` in decimal is `target`, and ask again with
/// `?challenge=<challenge>&solution=<n>`. One number matches; on average half the range is
/// searched, never more than all of it.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Challenge {
    /// The signed challenge (printable ASCII), hashed as the prefix and sent back as is.
    pub challenge: String,
    /// The SHA-256 to find, 64 lower-case hexadecimal digits.
    pub target: String,
    /// The largest number to try: the difficulty (hashes at worst).
    pub max_number: u64,
    /// When to ask again at the earliest, in milliseconds from now; the time spent solving
    /// counts towards it.
    pub retry_after_ms: u64,
}

/// Body of `POST /waitroom/verify`.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct VerifyRequest {
    /// The pass the login form carried.
    pub pass: String,
    /// The value of the browser's `waitroom_id` cookie: a pass is valid only with the cookie
    /// of the browser it was given to.
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub browser: Option<String>,
    /// Use the pass up: a later verification of it (or of a copy) is refused. For a login
    /// handler that calls verify once the login has succeeded.
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "std::ops::Not::not"))]
    pub consume: bool,
}

/// Reply of `POST /waitroom/verify`.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct VerifyReply {
    /// Whether the pass is authentic, unexpired, unused and presented with its browser's cookie.
    pub valid: bool,
    /// The admission's identifier, when valid: the same for every copy of one admission's pass
    /// (a decimal string: it may exceed what a JSON number holds exactly).
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub id: Option<String>,
    /// When the pass expires, in seconds since the Unix epoch, when valid.
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub expires_at: Option<u64>,
    /// `true` when the request asked to consume the pass and this call did.
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub consumed: Option<bool>,
    /// Seconds left before the pass expires, when valid.
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub expires_in: Option<u64>,
    /// Why the pass was refused, when invalid.
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub reason: Option<String>,
}

/// Body of every 4xx reply of the gate.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ErrorReply {
    /// A stable, machine-readable code such as `bad_request`.
    pub error: String,
    /// A sentence a person can act on.
    pub message: String,
}

impl StatusReply {
    /// Reads a status body as serde would read it (unknown members ignored, an absent or `null`
    /// optional member is `None`), through the small [`crate::json`] reader; `None` when it is
    /// not valid JSON, not tagged with a known `state`, or a member is missing or of the wrong
    /// type. Numbers are not range-checked here: [`crate::reply::from_wire`] does that.
    pub fn from_json(text: &str) -> Option<StatusReply> {
        let body = json::parse(text)?;
        let string = |key: &str| body.get(key)?.as_str().map(str::to_owned);
        let number = |key: &str| body.get(key)?.as_u64();
        let optional_string = |key: &str| body.optional(key, |v| v.as_str().map(str::to_owned));
        Some(match body.get("state")?.as_str()? {
            "admitted" => StatusReply::Admitted(Admitted {
                pass: string("pass")?,
                pass_expires_in: number("pass_expires_in")?,
                redirect: optional_string("redirect")?,
            }),
            "queued" => StatusReply::Queued(Queued {
                ticket: string("ticket")?,
                position: number("position")?,
                eta_seconds: number("eta_seconds")?,
                retry_after_ms: number("retry_after_ms")?,
                advance_per_minute: body.get("advance_per_minute").and_then(Value::as_f64)?,
            }),
            "closed" => StatusReply::Closed(Closed {
                message: optional_string("message")?,
                retry_after_ms: number("retry_after_ms")?,
            }),
            "cookies_required" => StatusReply::CookiesRequired(CookiesRequired {
                message: optional_string("message")?,
                retry_after_ms: number("retry_after_ms")?,
            }),
            "challenge" => StatusReply::Challenge(Challenge {
                challenge: string("challenge")?,
                target: string("target")?,
                max_number: number("max_number")?,
                retry_after_ms: number("retry_after_ms")?,
            }),
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(feature = "serde")]
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
    #[cfg(feature = "serde")]
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

    #[test]
    fn from_json_reads_each_state_and_refuses_what_serde_refuses() {
        let queued = r#"{"state":"queued","ticket":"t","position":3,"eta_seconds":90,"retry_after_ms":85000,"advance_per_minute":2.0,"later":[1]}"#;
        assert_eq!(
            StatusReply::from_json(queued),
            Some(StatusReply::Queued(Queued {
                ticket: "t".into(),
                position: 3,
                eta_seconds: 90,
                retry_after_ms: 85_000,
                advance_per_minute: 2.0
            }))
        );
        assert_eq!(
            StatusReply::from_json(
                r#"{"pass_expires_in":300,"redirect":null,"pass":"p","state":"admitted"}"#
            ),
            Some(StatusReply::Admitted(Admitted {
                pass: "p".into(),
                pass_expires_in: 300,
                redirect: None
            }))
        );
        assert_eq!(
            StatusReply::from_json(r#"{"state":"closed","retry_after_ms":1}"#),
            Some(StatusReply::Closed(Closed { message: None, retry_after_ms: 1 }))
        );
        assert_eq!(
            StatusReply::from_json(r#"{"state":"cookies_required","retry_after_ms":5000}"#),
            Some(StatusReply::CookiesRequired(CookiesRequired {
                message: None,
                retry_after_ms: 5000
            }))
        );
        assert_eq!(
            StatusReply::from_json(
                r#"{"state":"challenge","challenge":"c1.x","target":"ab","max_number":180000,"retry_after_ms":1000}"#
            ),
            Some(StatusReply::Challenge(Challenge {
                challenge: "c1.x".into(),
                target: "ab".into(),
                max_number: 180_000,
                retry_after_ms: 1000
            }))
        );
        for bad in [
            r#"{"state":"challenge","challenge":"c1.x","max_number":1,"retry_after_ms":1}"#, // no target
            r#"{"state":"closed","retry_after_ms":1,"retry_after_ms":2}"#, // duplicate member
            r#"{"state":"closed","message":7,"retry_after_ms":1}"#,        // wrong type
            r#"{"state":"closed"}"#,                                       // missing member
            r#"{"state":"Closed","retry_after_ms":1}"#,                    // unknown state
            r#"{"state":"closed","retry_after_ms":1.0}"#,                  // not an integer
            r#"["closed"]"#,
        ] {
            assert_eq!(StatusReply::from_json(bad), None, "{bad}");
        }
    }

    /// The reader the widget ships must agree with serde_json, which the gate writes with.
    #[cfg(feature = "serde")]
    mod against_serde {
        use proptest::prelude::*;

        use super::super::*;

        fn any_reply() -> impl Strategy<Value = StatusReply> {
            let text = || "(?s).{0,30}";
            let float = || any::<f64>().prop_filter("JSON has no infinities", |x| x.is_finite());
            prop_oneof![
                (text(), any::<u64>(), proptest::option::of(text())).prop_map(
                    |(pass, pass_expires_in, redirect)| {
                        StatusReply::Admitted(Admitted { pass, pass_expires_in, redirect })
                    }
                ),
                (text(), any::<u64>(), any::<u64>(), any::<u64>(), float()).prop_map(
                    |(ticket, position, eta_seconds, retry_after_ms, advance_per_minute)| {
                        StatusReply::Queued(Queued {
                            ticket,
                            position,
                            eta_seconds,
                            retry_after_ms,
                            advance_per_minute,
                        })
                    }
                ),
                (proptest::option::of(text()), any::<u64>()).prop_map(
                    |(message, retry_after_ms)| StatusReply::Closed(Closed {
                        message,
                        retry_after_ms
                    })
                ),
                (proptest::option::of(text()), any::<u64>()).prop_map(
                    |(message, retry_after_ms)| StatusReply::CookiesRequired(CookiesRequired {
                        message,
                        retry_after_ms
                    })
                ),
                (text(), text(), any::<u64>(), any::<u64>()).prop_map(
                    |(challenge, target, max_number, retry_after_ms)| {
                        StatusReply::Challenge(Challenge {
                            challenge,
                            target,
                            max_number,
                            retry_after_ms,
                        })
                    }
                ),
            ]
        }

        /// Objects made of the protocol's members with values of every type, some right, some not.
        fn any_document() -> impl Strategy<Value = String> {
            let keys = [
                "state",
                "pass",
                "pass_expires_in",
                "redirect",
                "ticket",
                "position",
                "eta_seconds",
                "retry_after_ms",
                "advance_per_minute",
                "message",
                "challenge",
                "target",
                "max_number",
                "extra",
            ];
            let values = [
                r#""admitted""#,
                r#""queued""#,
                r#""closed""#,
                r#""cookies_required""#,
                r#""challenge""#,
                r#""p.1""#,
                "null",
                "0",
                "-0",
                "42",
                "-1",
                "1.5",
                "1e3",
                "18446744073709551615",
                "18446744073709551616",
                "true",
                "[1,{}]",
                r#"{"a":1}"#,
                r#""é""#,
            ];
            proptest::collection::btree_map(
                proptest::sample::select(keys.to_vec()),
                proptest::sample::select(values.to_vec()),
                0..10,
            )
            .prop_map(|members| {
                let members: Vec<String> =
                    members.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
                format!("{{{}}}", members.join(","))
            })
        }

        proptest! {
            #[test]
            fn serde_written_replies_read_back_the_same(reply in any_reply()) {
                let text = serde_json::to_string(&reply).unwrap();
                prop_assert_eq!(StatusReply::from_json(&text), Some(reply));
            }

            #[test]
            fn from_json_accepts_exactly_what_serde_accepts(doc in any_document()) {
                prop_assert_eq!(StatusReply::from_json(&doc), serde_json::from_str::<StatusReply>(&doc).ok(), "{}", doc);
            }
        }
    }
}
