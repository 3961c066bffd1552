//! The snapshot's stored form: the JSON that serde's derives on [`Snapshot`] write, read and
//! written with [`crate::json`] so that the widget ships without serde. Keeping serde's layout
//! means a snapshot stored by an earlier build, or by a tab still running one, stays readable.

use std::time::Duration;

use super::{Place, Snapshot, Status};
use crate::json::{self, ObjectWriter, Value};
use crate::time::{duration_millis, Timestamp};

impl Snapshot {
    /// The snapshot as JSON, in the layout serde writes (every member present, `null` for none).
    pub fn to_json(&self) -> String {
        let mut w = ObjectWriter::new();
        w.optional_string("ticket", self.ticket.as_deref())
            .u64("next_at", self.next_at.as_millis())
            .u64("attempt", u64::from(self.attempt))
            .raw("status", &status_json(&self.status));
        match &self.place {
            Some(place) => w.raw("place", &place_json(place)),
            None => w.null("place"),
        };
        w.optional_u64("last_update", self.last_update.map(Timestamp::as_millis))
            .u64("saved_at", self.saved_at.as_millis());
        w.finish()
    }

    /// A snapshot from its JSON (as stored, or as a `storage` event's `newValue`); `None` when
    /// it is not one, so that a garbled entry is ignored rather than trusted or fatal.
    pub fn from_json(text: &str) -> Option<Snapshot> {
        let v = json::parse(text)?;
        Some(Snapshot {
            ticket: v.optional("ticket", string)?,
            next_at: timestamp(v.get("next_at")?)?,
            attempt: u32::try_from(v.get("attempt")?.as_u64()?).ok()?,
            status: read_status(v.get("status")?)?,
            place: v.optional("place", read_place)?,
            last_update: v.optional("last_update", timestamp)?,
            saved_at: timestamp(v.get("saved_at")?)?,
        })
    }
}

fn string(v: &Value<'_>) -> Option<String> {
    v.as_str().map(str::to_owned)
}

/// Times are stored as milliseconds since the epoch.
fn timestamp(v: &Value<'_>) -> Option<Timestamp> {
    v.as_u64().map(Timestamp::from_millis)
}

/// serde's internally tagged layout: `{"kind":"closed","message":…}`.
fn status_json(status: &Status) -> String {
    let mut w = ObjectWriter::new();
    match status {
        Status::Checking => w.string("kind", "checking"),
        Status::Queued => w.string("kind", "queued"),
        Status::Throttled => w.string("kind", "throttled"),
        Status::Closed { message } => {
            w.string("kind", "closed").optional_string("message", message.as_deref())
        }
        Status::Unavailable { since, cookies } => {
            w.string("kind", "unavailable").u64("since", since.as_millis());
            if *cookies {
                w.raw("cookies", "true");
            }
            &mut w
        }
        Status::GaveUp => w.string("kind", "gave_up"),
        Status::Admitted { pass, expires_at } => w
            .string("kind", "admitted")
            .optional_string("pass", pass.as_deref())
            .optional_u64("expires_at", expires_at.map(Timestamp::as_millis)),
        Status::FailedOpen => w.string("kind", "failed_open"),
    };
    w.finish()
}

fn read_status(v: &Value<'_>) -> Option<Status> {
    Some(match v.get("kind")?.as_str()? {
        "checking" => Status::Checking,
        "queued" => Status::Queued,
        "throttled" => Status::Throttled,
        "closed" => Status::Closed { message: v.optional("message", string)? },
        "unavailable" => Status::Unavailable {
            since: timestamp(v.get("since")?)?,
            // Written only when true, as serde skips a false one.
            cookies: matches!(v.get("cookies"), Some(Value::Bool(true))),
        },
        "gave_up" => Status::GaveUp,
        "admitted" => Status::Admitted {
            pass: v.optional("pass", string)?,
            expires_at: v.optional("expires_at", timestamp)?,
        },
        "failed_open" => Status::FailedOpen,
        _ => return None,
    })
}

fn place_json(place: &Place) -> String {
    let mut w = ObjectWriter::new();
    w.u64("position", place.position)
        .u64("at", place.at.as_millis())
        .f64("advance_per_minute", place.advance_per_minute)
        .u64("eta_ms", duration_millis(place.eta))
        .u64("entry_position", place.entry_position);
    w.finish()
}

fn read_place(v: &Value<'_>) -> Option<Place> {
    Some(Place {
        position: v.get("position")?.as_u64()?,
        at: timestamp(v.get("at")?)?,
        advance_per_minute: v.get("advance_per_minute")?.as_f64()?,
        eta: Duration::from_millis(v.get("eta_ms")?.as_u64()?),
        entry_position: v.get("entry_position")?.as_u64()?,
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn queued() -> Snapshot {
        Snapshot {
            ticket: Some("t.abc".to_string()),
            next_at: Timestamp::from_millis(1_775_462_460_000),
            attempt: 2,
            status: Status::Queued,
            place: Some(Place {
                position: 42,
                at: Timestamp::from_millis(1_775_462_400_000),
                advance_per_minute: 6.5,
                eta: Duration::from_secs(300),
                entry_position: 70,
            }),
            last_update: Some(Timestamp::from_millis(1_775_462_400_000)),
            saved_at: Timestamp::from_millis(1_775_462_400_500),
        }
    }

    #[test]
    fn a_snapshot_is_stored_in_serdes_layout() {
        assert_eq!(
            queued().to_json(),
            r#"{"ticket":"t.abc","next_at":1775462460000,"attempt":2,"status":{"kind":"queued"},"place":{"position":42,"at":1775462400000,"advance_per_minute":6.5,"eta_ms":300000,"entry_position":70},"last_update":1775462400000,"saved_at":1775462400500}"#
        );
        assert_eq!(Snapshot::from_json(&queued().to_json()), Some(queued()));
    }

    #[test]
    fn garbled_or_foreign_entries_are_ignored() {
        let good = queued().to_json();
        for bad in [
            "{not json".to_string(),
            String::new(),
            "null".to_string(),
            good.replace(r#""attempt":2"#, r#""attempt":4294967296"#),
            good.replace(r#""kind":"queued""#, r#""kind":"teleported""#),
            good.replace(r#""advance_per_minute":6.5"#, r#""advance_per_minute":"fast""#),
            good.replace(r#""saved_at":1775462400500"#, r#""saved_at":-1"#),
            good[..good.len() - 1].to_string(),
        ] {
            assert_eq!(Snapshot::from_json(&bad), None, "{bad}");
        }
    }

    fn any_time() -> impl Strategy<Value = Timestamp> {
        any::<u64>().prop_map(Timestamp::from_millis)
    }

    fn any_status() -> impl Strategy<Value = Status> {
        let text = || proptest::option::of("(?s).{0,20}");
        prop_oneof![
            Just(Status::Checking),
            Just(Status::Queued),
            Just(Status::Throttled),
            text().prop_map(|message| Status::Closed { message }),
            (any_time(), any::<bool>())
                .prop_map(|(since, cookies)| Status::Unavailable { since, cookies }),
            Just(Status::GaveUp),
            (text(), proptest::option::of(any_time()))
                .prop_map(|(pass, expires_at)| Status::Admitted { pass, expires_at }),
            Just(Status::FailedOpen),
        ]
    }

    fn any_snapshot() -> impl Strategy<Value = Snapshot> {
        // Rates are stored to the thousandth (`json::push_f64`): generate exactly those.
        let rate = (0u64..1_000_000_000).prop_map(|milli| milli as f64 / 1000.0);
        let place = (any::<u64>(), any_time(), rate, any::<u64>(), any::<u64>()).prop_map(
            |(position, at, advance_per_minute, eta_ms, entry_position)| Place {
                position,
                at,
                advance_per_minute,
                eta: Duration::from_millis(eta_ms),
                entry_position,
            },
        );
        (
            proptest::option::of("(?s).{0,20}"),
            any_time(),
            any::<u32>(),
            any_status(),
            proptest::option::of(place),
            proptest::option::of(any_time()),
            any_time(),
        )
            .prop_map(
                |(ticket, next_at, attempt, status, place, last_update, saved_at)| Snapshot {
                    ticket,
                    next_at,
                    attempt,
                    status,
                    place,
                    last_update,
                    saved_at,
                },
            )
    }

    proptest! {
        #[test]
        fn any_snapshot_round_trips(snapshot in any_snapshot()) {
            prop_assert_eq!(Snapshot::from_json(&snapshot.to_json()), Some(snapshot));
        }

        /// Tabs running an earlier, serde-based build read and write the same entries. serde_json's
        /// default float reader is not always correctly rounded (it may be an ulp off, even on
        /// its own output), so what it reads of ours is checked to that precision.
        #[test]
        #[cfg(feature = "serde")]
        fn serde_reads_what_we_write_and_we_read_what_serde_writes(snapshot in any_snapshot()) {
            prop_assert_eq!(Snapshot::from_json(&serde_json::to_string(&snapshot).unwrap()), Some(snapshot.clone()));
            let mut read = serde_json::from_str::<Snapshot>(&snapshot.to_json()).unwrap();
            if let (Some(theirs), Some(ours)) = (&mut read.place, &snapshot.place) {
                let error = (theirs.advance_per_minute - ours.advance_per_minute).abs();
                prop_assert!(error <= ours.advance_per_minute.abs() * 1e-15 || error < 1e-300);
                theirs.advance_per_minute = ours.advance_per_minute;
            }
            prop_assert_eq!(read, snapshot);
        }

        #[test]
        fn any_text_is_refused_or_read_without_panicking(text in "(?s).{0,200}") {
            let _ = Snapshot::from_json(&text);
        }
    }
}
