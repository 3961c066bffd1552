//! The waiting-room state machine, driven natively in virtual time.
//!
//! These tests protect the behaviour that is not negotiable: no early request whatever the user
//! does, jitter on every scheduled request, the place and the schedule kept across reloads and
//! tabs, fail-open by default.

use std::time::Duration;

use proptest::prelude::*;
use waitroom::config::{Config, FailPolicy};
use waitroom::machine::{
    Action, Machine, Phase, RetryButton, Snapshot, Status, LEADER_GRACE, RECONNECT_JITTER,
};
use waitroom::reply::{Reply, Unavailable};
use waitroom::time::Timestamp;

const T0: Timestamp = Timestamp::from_millis(1_775_462_400_000); // 2026-04-06 08:00 UTC

fn at(secs: f64) -> Timestamp {
    T0.saturating_add(Duration::from_secs_f64(secs))
}

fn config() -> Config {
    Config::for_gate("/waitroom/status")
}

fn drain(m: &mut Machine) -> Vec<Action> {
    std::iter::from_fn(|| m.poll_action()).collect()
}

fn sends(actions: &[Action]) -> usize {
    actions.iter().filter(|a| matches!(a, Action::Send { .. })).count()
}

fn last_snapshot(actions: &[Action]) -> Option<Snapshot> {
    actions.iter().rev().find_map(|a| match a {
        Action::Persist(s) => Some(s.clone()),
        _ => None,
    })
}

fn queued(position: u64, retry_after_secs: u64) -> Reply {
    Reply::Queued {
        ticket: format!("ticket-{position}"),
        position,
        eta: Duration::from_secs(retry_after_secs),
        retry_after: Duration::from_secs(retry_after_secs),
        advance_per_minute: 60.0,
    }
}

/// A machine that has sent its first request and been queued at `position`.
fn queued_machine(seed: u64, position: u64, retry_after_secs: u64) -> (Machine, Vec<Action>) {
    let mut m = Machine::new(&config(), seed);
    m.handle_start(T0, None);
    assert_eq!(sends(&drain(&mut m)), 1);
    m.handle_reply(T0, queued(position, retry_after_secs));
    let actions = drain(&mut m);
    (m, actions)
}

#[test]
fn a_fresh_visitor_checks_at_once_without_a_ticket() {
    let mut m = Machine::new(&config(), 1);
    m.handle_start(T0, None);
    let actions = drain(&mut m);
    assert!(actions.contains(&Action::Send {
        ticket: None,
        pass: None,
        timeout: Duration::from_secs(10),
        proof: None
    }));
    assert_eq!(m.view(T0).phase, Phase::Checking);
    assert_eq!(m.poll_timeout(), None, "nothing to wait for while the request is in flight");
}

#[test]
fn a_queued_user_returns_at_the_servers_time_plus_a_small_jitter() {
    let (m, actions) = queued_machine(7, 120, 60);
    let next = m.next_allowed().unwrap();
    assert!(next >= at(60.0) && next <= at(65.0), "{next:?}");
    assert_eq!(m.poll_timeout(), Some(next));
    assert_eq!(last_snapshot(&actions).unwrap().next_at, next);
    assert_eq!(last_snapshot(&actions).unwrap().ticket.as_deref(), Some("ticket-120"));
}

#[test]
fn the_same_seed_gives_the_same_schedule_and_another_seed_another() {
    let schedule = |seed| queued_machine(seed, 120, 60).0.next_allowed().unwrap();
    assert_eq!(schedule(3), schedule(3));
    let distinct: std::collections::BTreeSet<_> = (0..20).map(schedule).collect();
    assert!(distinct.len() > 15, "users told the same time must not return together: {distinct:?}");
}

#[test]
fn a_far_back_user_sends_nothing_until_told_and_sees_its_position_count_down() {
    let (mut m, _) = queued_machine(1, 120, 119);
    for s in 1..119 {
        m.handle_timeout(at(s as f64));
        assert_eq!(sends(&drain(&mut m)), 0, "no request at {s} s");
    }
    // 60 places a minute: after 30 s, 30 places fewer; never below 1 until the gate says so.
    assert_eq!(m.view(at(30.0)).position, Some(90));
    assert_eq!(m.view(at(30.0)).ahead, Some(89));
    assert_eq!(m.view(at(30.0)).progress_percent, Some(25));
    assert_eq!(m.view(at(500.0)).position, Some(1));
    let next = m.next_allowed().unwrap();
    m.handle_timeout(next);
    assert_eq!(
        drain(&mut m)[0],
        Action::Send {
            ticket: Some("ticket-120".into()),
            pass: None,
            timeout: Duration::from_secs(10),
            proof: None
        }
    );
}

#[test]
fn reload_before_deadline_sends_nothing() {
    let (_, actions) = queued_machine(2, 40, 60);
    let snapshot = last_snapshot(&actions).unwrap();
    // F5 twenty times during the wait: each new page restores the snapshot.
    for k in 0..20 {
        let now = at(1.0 + k as f64 * 0.5);
        let mut reloaded = Machine::new(&config(), 100 + k);
        reloaded.handle_start(now, Some(snapshot.clone()));
        let actions = drain(&mut reloaded);
        assert_eq!(sends(&actions), 0, "reload {k} sent early");
        assert_eq!(
            reloaded.view(now).position,
            Some(40 - (now.saturating_duration_since(T0).as_secs()))
        );
        assert_eq!(reloaded.poll_timeout(), Some(snapshot.next_at));
        assert_eq!(reloaded.ticket(), Some("ticket-40"));
    }
}

#[test]
fn a_retry_click_before_the_deadline_sends_nothing() {
    let (mut m, _) = queued_machine(3, 10, 30);
    assert_eq!(m.view(at(5.0)).retry, RetryButton::Hidden, "no button while waiting a turn");
    m.handle_retry(at(5.0));
    assert_eq!(sends(&drain(&mut m)), 0);
}

#[test]
fn a_plain_503_waits_for_the_later_of_retry_after_and_backoff() {
    let mut m = Machine::new(&config(), 4);
    m.handle_start(T0, None);
    drain(&mut m);
    m.handle_reply(
        T0,
        Reply::Throttled { retry_after: Some(Duration::from_secs(30)), malformed: false },
    );
    let next = m.next_allowed().unwrap();
    // Retry-After 30 s beats the first backoff (at most 1 s); jitter adds up to a fifth.
    assert!(next >= at(30.0) && next <= at(36.0), "{next:?}");
    assert_eq!(m.view(T0).phase, Phase::Throttled);
}

#[test]
fn without_retry_after_the_backoff_grows_up_to_its_cap() {
    let mut m = Machine::new(&config(), 5);
    m.handle_start(T0, None);
    drain(&mut m);
    let mut now = T0;
    let mut upper = Vec::new();
    for _ in 0..12 {
        m.handle_reply(now, Reply::Throttled { retry_after: None, malformed: false });
        let next = m.next_allowed().unwrap();
        let waited = next.saturating_duration_since(now);
        upper.push(waited);
        assert!(waited <= Duration::from_secs(120 + 30), "cap plus jitter: {waited:?}");
        now = next;
        m.handle_timeout(now);
        assert_eq!(sends(&drain(&mut m)), 1);
    }
    assert!(upper.iter().all(|d| *d >= Duration::from_millis(0)));
}

#[test]
fn a_malformed_reply_keeps_the_place_and_backs_off() {
    let (mut m, _) = queued_machine(6, 50, 10);
    let next = m.next_allowed().unwrap();
    m.handle_timeout(next);
    drain(&mut m);
    m.handle_reply(next, Reply::Throttled { retry_after: None, malformed: true });
    let actions = drain(&mut m);
    assert_eq!(m.ticket(), Some("ticket-50"));
    assert_eq!(last_snapshot(&actions).unwrap().ticket.as_deref(), Some("ticket-50"));
    assert_eq!(m.view(next).phase, Phase::Throttled);
    assert!(m.view(next).position.is_some(), "the place stays on screen");
    assert!(m.next_allowed().unwrap() > next);
}

#[test]
fn admission_lifts_the_guard_and_stops_polling() {
    let (mut m, _) = queued_machine(8, 1, 2);
    let next = m.next_allowed().unwrap();
    m.handle_timeout(next);
    drain(&mut m);
    m.handle_reply(
        next,
        Reply::Admitted {
            pass: Some("p1.pass".into()),
            pass_expires_in: Some(Duration::from_secs(300)),
            redirect: None,
        },
    );
    let actions = drain(&mut m);
    assert!(actions.contains(&Action::Admit { pass: Some("p1.pass".into()), redirect: None }));
    assert_eq!(m.poll_timeout(), None);
    assert_eq!(m.view(next).phase, Phase::Admitted);
    let later = next.saturating_add(Duration::from_secs(100));
    assert_eq!(m.view(later).pass_left, Some(Duration::from_secs(200)), "the time left is shown");
    assert!(!m.view(later).failed_open);

    // A reload while the pass is valid lets the user straight in, with no request.
    let mut reloaded = Machine::new(&config(), 9);
    reloaded.handle_start(next.saturating_add(Duration::from_secs(10)), last_snapshot(&actions));
    let actions = drain(&mut reloaded);
    assert_eq!(sends(&actions), 0);
    assert!(actions.contains(&Action::Admit { pass: Some("p1.pass".into()), redirect: None }));
}

#[test]
fn an_expired_pass_after_a_reload_asks_the_gate_again() {
    let (mut m, _) = queued_machine(8, 1, 2);
    let next = m.next_allowed().unwrap();
    m.handle_timeout(next);
    drain(&mut m);
    m.handle_reply(
        next,
        Reply::Admitted {
            pass: Some("p".into()),
            pass_expires_in: Some(Duration::from_secs(60)),
            redirect: None,
        },
    );
    let snapshot = last_snapshot(&drain(&mut m));
    let mut reloaded = Machine::new(&config(), 9);
    reloaded.handle_start(next.saturating_add(Duration::from_secs(61)), snapshot);
    assert_eq!(sends(&drain(&mut reloaded)), 1);
}

#[test]
fn offline_sends_nothing_and_coming_back_waits_a_reconnect_jitter() {
    let (mut m, _) = queued_machine(10, 5, 5);
    m.handle_online(at(1.0), false);
    assert_eq!(m.view(at(1.0)).phase, Phase::Offline);
    assert_eq!(
        m.view(at(1.0)).position,
        Some(4),
        "the place is kept (and counted down) while offline"
    );
    for s in 2..40 {
        m.handle_timeout(at(s as f64));
        assert_eq!(sends(&drain(&mut m)), 0, "offline at {s} s");
    }
    assert_eq!(m.poll_timeout(), None);
    m.handle_online(at(40.0), true);
    drain(&mut m);
    let next = m.next_allowed().unwrap();
    assert!(
        next >= at(40.0).saturating_add(RECONNECT_JITTER.0)
            && next <= at(40.0).saturating_add(RECONNECT_JITTER.1),
        "{next:?}"
    );
    m.handle_timeout(at(40.0));
    assert_eq!(sends(&drain(&mut m)), 0, "not at once when the network comes back");
    m.handle_timeout(next);
    assert_eq!(sends(&drain(&mut m)), 1);
}

#[test]
fn a_follower_tab_never_sends_and_mirrors_the_leader() {
    let (leader, actions) = queued_machine(11, 30, 20);
    let mut follower = Machine::new(&config(), 12);
    follower.handle_role(T0, false);
    follower.handle_start(T0, last_snapshot(&actions));
    assert_eq!(follower.view(T0).position, Some(30));
    let next = leader.next_allowed().unwrap();
    let quiet = next.saturating_add(LEADER_GRACE);
    for s in 0..quiet.saturating_duration_since(T0).as_secs() {
        follower.handle_timeout(at(s as f64));
        assert_eq!(sends(&drain(&mut follower)), 0);
    }
    let watchdog = follower.poll_timeout().unwrap();
    assert!(watchdog >= quiet && watchdog < quiet.saturating_add(LEADER_GRACE), "{watchdog:?}");
    // The leader's tab closes: the follower takes the loop over at the stored time, not before.
    let mut follower2 = Machine::new(&config(), 13);
    follower2.handle_role(T0, false);
    follower2.handle_start(T0, last_snapshot(&actions));
    follower2.handle_role(at(1.0), true);
    assert_eq!(sends(&drain(&mut follower2)), 0);
    assert_eq!(follower2.poll_timeout(), Some(next));
}

#[test]
fn a_peer_snapshot_that_admits_lifts_the_guard_in_every_tab() {
    let (_, actions) = queued_machine(14, 3, 5);
    let mut follower = Machine::new(&config(), 15);
    follower.handle_role(T0, false);
    follower.handle_start(T0, last_snapshot(&actions));
    drain(&mut follower);
    let mut admitted = last_snapshot(&actions).unwrap();
    admitted.status = Status::Admitted { pass: Some("p".into()), expires_at: None };
    admitted.saved_at = admitted.saved_at.saturating_add(Duration::from_secs(5));
    follower.handle_peer(at(5.0), admitted);
    assert!(
        drain(&mut follower).contains(&Action::Admit { pass: Some("p".into()), redirect: None })
    );
}

#[test]
fn fail_open_lets_the_user_in_after_the_policy_delay() {
    let mut m = Machine::new(&config(), 16);
    m.handle_start(T0, None);
    drain(&mut m);
    m.handle_reply(T0, Reply::Unavailable(Unavailable::Network));
    assert_eq!(m.view(T0).phase, Phase::Unavailable);
    let mut failed_open_at = None;
    while failed_open_at.is_none() {
        let now = m.poll_timeout().expect("a timer while unavailable");
        m.handle_timeout(now);
        for a in drain(&mut m) {
            match a {
                Action::Send { .. } => {
                    m.handle_reply(now, Reply::Unavailable(Unavailable::Timeout))
                }
                Action::FailOpen => failed_open_at = Some(now),
                _ => {}
            }
        }
        drain(&mut m);
    }
    // The default fail-open delay is 30 s.
    assert_eq!(failed_open_at, Some(at(30.0)));
    assert_eq!(m.poll_timeout(), None);
}

#[test]
fn fail_closed_keeps_retrying_with_backoff_and_keeps_the_place() {
    let mut cfg = config();
    cfg.fail = FailPolicy::Closed;
    let mut m = Machine::new(&cfg, 17);
    m.handle_start(T0, None);
    drain(&mut m);
    m.handle_reply(T0, queued(9, 1));
    let mut now = T0;
    let mut gaps = Vec::new();
    for _ in 0..10 {
        let next = m.poll_timeout().unwrap();
        gaps.push(next.saturating_duration_since(now));
        now = next;
        m.handle_timeout(now);
        let actions = drain(&mut m);
        assert!(!actions.contains(&Action::FailOpen));
        assert_eq!(sends(&actions), 1);
        m.handle_reply(now, Reply::Unavailable(Unavailable::Status(502)));
        drain(&mut m);
    }
    assert_eq!(m.ticket(), Some("ticket-9"));
    assert!(gaps.iter().all(|g| *g <= Duration::from_secs(150)));
}

#[test]
fn a_gate_that_says_come_back_now_without_progress_gets_our_backoff() {
    let (mut m, _) = queued_machine(18, 4, 0);
    let mut now = m.next_allowed().unwrap();
    let mut gaps = Vec::new();
    for _ in 0..8 {
        m.handle_timeout(now);
        assert_eq!(sends(&drain(&mut m)), 1);
        m.handle_reply(now, queued(4, 0));
        drain(&mut m);
        let next = m.next_allowed().unwrap();
        gaps.push(next.saturating_duration_since(now));
        now = next;
    }
    assert!(gaps.iter().all(|g| *g >= Duration::from_secs(1)), "{gaps:?}");
    let total: Duration = gaps.iter().sum();
    assert!(total > Duration::from_secs(20), "the waits grow: {gaps:?}");
}

#[derive(Debug, Clone)]
enum Input {
    Timeout,
    Reply(u8),
    Online(bool),
    Visible(bool),
    Retry,
    Reload,
    Role(bool),
    Advance(u16),
}

fn input() -> impl Strategy<Value = Input> {
    prop_oneof![
        3 => Just(Input::Timeout),
        4 => (0u8..6).prop_map(Input::Reply),
        1 => any::<bool>().prop_map(Input::Online),
        1 => any::<bool>().prop_map(Input::Visible),
        2 => Just(Input::Retry),
        2 => Just(Input::Reload),
        1 => any::<bool>().prop_map(Input::Role),
        4 => (0u16..20_000).prop_map(Input::Advance),
    ]
}

proptest! {
    /// Whatever the user, the network and the server do, no request leaves before the latest
    /// deadline this browser was ever told, and at most one is in flight.
    #[test]
    fn no_request_ever_leaves_before_its_time(seed in any::<u64>(), inputs in proptest::collection::vec(input(), 1..80)) {
        let mut m = Machine::new(&config(), seed);
        let mut now = T0;
        m.handle_start(now, None);
        let mut deadline = T0;
        let mut in_flight = false;
        let mut stored: Option<Snapshot> = None;
        let check = |m: &mut Machine, now: Timestamp, in_flight: &mut bool, deadline: &mut Timestamp, stored: &mut Option<Snapshot>| {
            for a in std::iter::from_fn(|| m.poll_action()) {
                match a {
                    Action::Send { .. } => {
                        prop_assert!(now >= *deadline, "sent at {:?} before {:?}", now, deadline);
                        prop_assert!(!*in_flight, "two requests in flight");
                        *in_flight = true;
                    }
                    Action::Persist(s) => {
                        *deadline = (*deadline).max(s.next_at);
                        *stored = Some(s);
                    }
                    _ => {}
                }
            }
            Ok(())
        };
        check(&mut m, now, &mut in_flight, &mut deadline, &mut stored)?;
        for (k, i) in inputs.into_iter().enumerate() {
            match i {
                Input::Timeout => m.handle_timeout(now),
                Input::Reply(kind) if in_flight => {
                    in_flight = false;
                    m.handle_reply(now, match kind {
                        0 => queued(5, 3),
                        1 => queued(5, 0),
                        2 => Reply::Throttled { retry_after: Some(Duration::from_secs(7)), malformed: false },
                        3 => Reply::Throttled { retry_after: None, malformed: true },
                        4 => Reply::Unavailable(Unavailable::Network),
                        _ => Reply::Closed { message: None, retry_after: Some(Duration::from_secs(1)) },
                    });
                }
                Input::Reply(_) => {}
                Input::Online(on) => m.handle_online(now, on),
                Input::Visible(v) => m.handle_visibility(now, v),
                Input::Retry => m.handle_retry(now),
                Input::Reload => {
                    // The in-flight request dies with the page.
                    in_flight = false;
                    m = Machine::new(&config(), seed.wrapping_add(k as u64));
                    m.handle_start(now, stored.clone());
                }
                Input::Role(leader) => m.handle_role(now, leader),
                Input::Advance(ms) => now = now.saturating_add(Duration::from_millis(ms as u64)),
            }
            check(&mut m, now, &mut in_flight, &mut deadline, &mut stored)?;
        }
    }
}

#[test]
fn having_given_up_shows_no_countdown_and_waits_for_the_user() {
    let mut cfg = config();
    cfg.max_attempts = Some(2);
    let mut m = Machine::new(&cfg, 19);
    m.handle_start(T0, None);
    drain(&mut m);
    let mut now = T0;
    while *m.status() != Status::GaveUp {
        m.handle_reply(now, Reply::Throttled { retry_after: None, malformed: false });
        drain(&mut m);
        if let Some(next) = m.poll_timeout() {
            now = next;
            m.handle_timeout(now);
            drain(&mut m);
        }
    }
    assert_eq!(m.view(now).retry, RetryButton::Disabled, "shown, greyed until the schedule allows");
    let given_up = m.view(now);
    let until = m.next_allowed().unwrap().saturating_duration_since(now);
    assert_eq!(given_up.retry_in, Some(until), "the disabled button says until when");
    assert!(until > Duration::ZERO);
    let later = now.saturating_add(Duration::from_secs(600));
    let view = m.view(later);
    assert_eq!(view.retry_in, None, "usable: nothing to wait for");
    assert_eq!(view.phase, Phase::GaveUp);
    assert_eq!(view.next_attempt_in, None, "no \"checking…\" while nothing is being checked");
    assert_eq!(view.retry, RetryButton::Enabled);
    assert_eq!(m.poll_timeout(), None);
    m.handle_retry(later);
    assert_eq!(sends(&drain(&mut m)), 1, "the user's click starts again");
}

#[test]
fn losing_the_network_for_longer_than_the_fail_open_delay_keeps_the_place() {
    let (mut m, _) = queued_machine(20, 12, 60);
    let next = m.next_allowed().unwrap();
    m.handle_timeout(next);
    drain(&mut m);
    // The Wi-Fi drops with the request in flight: the fetch fails, then the browser says offline.
    m.handle_reply(next, Reply::Unavailable(Unavailable::Network));
    m.handle_online(next, false);
    drain(&mut m);
    let back = next.saturating_add(Duration::from_secs(120));
    assert_eq!(m.poll_timeout(), None, "nothing to do while offline");
    m.handle_timeout(back);
    assert!(!drain(&mut m).contains(&Action::FailOpen), "two minutes offline do not fail open");
    m.handle_online(back, true);
    drain(&mut m);
    assert_eq!(m.ticket(), Some("ticket-12"));
    // Back online, the gate gets its own full fail-open delay (30 s) before the guard lifts.
    let retry = m.poll_timeout().unwrap();
    assert!(retry < back.saturating_add(Duration::from_secs(30)), "a retry comes first: {retry:?}");
    m.handle_timeout(back.saturating_add(Duration::from_secs(29)));
    assert!(!drain(&mut m).contains(&Action::FailOpen));
}

#[test]
fn an_old_admission_without_a_pass_or_an_old_fail_open_does_not_skip_the_next_rush() {
    for status in [Status::Admitted { pass: None, expires_at: None }, Status::FailedOpen] {
        let (_, actions) = queued_machine(21, 3, 5);
        let mut stored = last_snapshot(&actions).unwrap();
        stored.status = status.clone();
        // A reload a minute later is still let in at once, with no request...
        let mut soon = Machine::new(&config(), 22);
        soon.handle_start(at(60.0), Some(stored.clone()));
        let actions = drain(&mut soon);
        assert_eq!(sends(&actions), 0, "{status:?}");
        assert!(actions.iter().any(|a| matches!(a, Action::Admit { .. } | Action::FailOpen)));
        // ...but the next morning, the page asks the gate again.
        let mut tomorrow = Machine::new(&config(), 23);
        tomorrow.handle_start(at(86_400.0), Some(stored));
        let actions = drain(&mut tomorrow);
        assert_eq!(sends(&actions), 1, "{status:?}");
        assert!(!actions.iter().any(|a| matches!(a, Action::Admit { .. } | Action::FailOpen)));
    }
}

#[test]
fn a_limit_on_attempts_does_not_stop_fail_open_from_letting_the_user_in() {
    let mut cfg = config();
    cfg.max_attempts = Some(2);
    let mut m = Machine::new(&cfg, 24);
    m.handle_start(T0, None);
    drain(&mut m);
    m.handle_reply(T0, Reply::Unavailable(Unavailable::Timeout));
    drain(&mut m);
    let mut failed_open = false;
    for _ in 0..10 {
        let Some(now) = m.poll_timeout() else { break };
        m.handle_timeout(now);
        for a in drain(&mut m) {
            match a {
                Action::Send { .. } => {
                    m.handle_reply(now, Reply::Unavailable(Unavailable::Timeout))
                }
                Action::FailOpen => failed_open = true,
                _ => {}
            }
        }
        drain(&mut m);
    }
    assert!(failed_open, "status {:?}", m.status());
}

#[test]
fn peer_snapshots_set_the_backoff_attempts_rather_than_add_to_them() {
    let mut cfg = config();
    cfg.max_attempts = Some(5);
    let (_, actions) = queued_machine(25, 3, 5);
    let mut stored = last_snapshot(&actions).unwrap();
    stored.attempt = 2;
    stored.status = Status::Throttled;
    let mut follower = Machine::new(&cfg, 26);
    follower.handle_role(T0, false);
    follower.handle_start(T0, Some(stored.clone()));
    for k in 1..=3 {
        stored.saved_at = stored.saved_at.saturating_add(Duration::from_secs(k));
        follower.handle_peer(at(k as f64), stored.clone());
    }
    assert_eq!(follower.snapshot(at(4.0)).attempt, 2);
}

#[test]
fn a_late_reply_after_another_tab_let_the_user_in_is_ignored() {
    let (mut m, actions) = queued_machine(27, 2, 1);
    let next = m.next_allowed().unwrap();
    m.handle_timeout(next);
    drain(&mut m);
    let mut admitted = last_snapshot(&actions).unwrap();
    admitted.status = Status::Admitted { pass: Some("p".into()), expires_at: None };
    admitted.saved_at = next.saturating_add(Duration::from_millis(1));
    m.handle_peer(next, admitted);
    drain(&mut m);
    m.handle_reply(next, queued(2, 30));
    assert!(matches!(m.status(), Status::Admitted { .. }));
    assert_eq!(last_snapshot(&drain(&mut m)), None, "nothing persisted over the admission");
}

/// A machine on the page nginx serves in place of the gate's URL: the quota page.
fn on_the_quota_page(seed: u64) -> Machine {
    let gate = "https://ent.example/login";
    Machine::new(&config(), seed).at_page(&format!("{gate}#top"), gate)
}

#[test]
fn a_page_elsewhere_than_the_gate_url_asks_with_a_fetch() {
    let gate = "https://ent.example/login";
    for page in ["https://ent.example/", "https://ent.example/login?next=/", "https://other/login"]
    {
        let mut m = Machine::new(&config(), 27).at_page(page, gate);
        m.handle_start(T0, None);
        let actions = drain(&mut m);
        assert_eq!(sends(&actions), 1, "{page}: not the gate's refusal, the first check goes out");
        assert!(!actions.contains(&Action::Reload), "{page}");
    }
}

#[test]
fn on_the_quota_page_itself_the_first_request_waits_a_backoff() {
    let mut m = on_the_quota_page(28);
    m.handle_start(T0, None);
    let actions = drain(&mut m);
    assert_eq!(sends(&actions), 0, "the page load was the attempt: no second request at once");
    assert_eq!(m.view(T0).phase, Phase::Throttled);
    let next = m.next_allowed().unwrap();
    assert!(next >= at(1.0) && next <= at(1.5), "at least the base delay, plus jitter: {next:?}");
    assert_eq!(last_snapshot(&actions).unwrap().next_at, next, "F5 keeps the schedule");
    m.handle_timeout(next);
    let actions = drain(&mut m);
    assert_eq!(sends(&actions), 0, "no fetch: it would spend the token the navigation needs");
    assert!(
        matches!(actions.as_slice(), [.., Action::Persist(s), Action::Reload] if s.next_at > next),
        "the schedule is stored, then the gate's URL is loaded as the page: {actions:?}"
    );
}

#[test]
fn each_refused_page_load_counts_one_more_attempt() {
    let mut stored = None;
    let mut attempts = Vec::new();
    let mut now = T0;
    for _ in 0..4 {
        let mut m = on_the_quota_page(31);
        m.handle_start(now, stored.take());
        let snapshot = last_snapshot(&drain(&mut m)).unwrap();
        attempts.push(snapshot.attempt);
        assert!(snapshot.next_at > now, "never at once");
        now = snapshot.next_at;
        m.handle_timeout(now);
        let actions = drain(&mut m);
        assert_eq!(actions.last(), Some(&Action::Reload));
        stored = last_snapshot(&actions);
    }
    assert_eq!(attempts, [1, 2, 3, 4]);
}

#[test]
fn back_on_the_quota_page_a_stored_admission_is_spent_not_replayed() {
    // An admission, then the navigation to the login URL was refused again: the quota page
    // loads with that admission in storage. Honouring it would navigate straight back.
    for stored in [
        Status::Admitted { pass: None, expires_at: None },
        Status::Admitted { pass: Some("p".into()), expires_at: Some(at(300.0)) },
        Status::FailedOpen,
    ] {
        let mut m = on_the_quota_page(29);
        let snapshot = Snapshot {
            ticket: None,
            next_at: T0.saturating_sub(Duration::from_secs(1)),
            attempt: 3,
            status: stored.clone(),
            place: None,
            last_update: Some(T0.saturating_sub(Duration::from_secs(1))),
            saved_at: T0.saturating_sub(Duration::from_secs(1)),
        };
        m.handle_start(T0, Some(snapshot));
        let actions = drain(&mut m);
        assert!(
            !actions.iter().any(|a| matches!(a, Action::Admit { .. } | Action::FailOpen)),
            "{stored:?}: not let through again"
        );
        assert_eq!(sends(&actions), 0, "{stored:?}: the page load was the attempt");
        assert_eq!(m.view(T0).phase, Phase::Throttled, "{stored:?}");
        assert_eq!(last_snapshot(&actions).unwrap().attempt, 4, "{stored:?}: one more attempt");
        assert!(m.next_allowed().unwrap() >= at(1.0), "{stored:?}");
    }
}

fn cookies_required(retry_after_secs: u64) -> Reply {
    Reply::CookiesRequired { retry_after: Duration::from_secs(retry_after_secs) }
}

#[test]
fn a_browser_refusing_cookies_is_told_so_keeps_its_ticket_and_fails_open_on_time() {
    let (mut m, _) = queued_machine(31, 5, 10);
    let mut now = m.next_allowed().unwrap();
    let first_refusal = now;
    let mut failed_open_at = None;
    let mut sent = 0;
    while failed_open_at.is_none() {
        m.handle_timeout(now);
        for a in drain(&mut m) {
            match a {
                Action::Send { ticket, .. } => {
                    // The ticket is sent back every time: the gate recognises a returning
                    // browser without cookies, instead of queueing a newcomer at each poll.
                    assert_eq!(ticket.as_deref(), Some("ticket-5"));
                    sent += 1;
                    m.handle_reply(now, cookies_required(10));
                    assert_eq!(m.view(now).phase, Phase::CookiesRequired);
                    assert_eq!(m.view(now).position, None, "no place claimed without cookies");
                    let wait = m.next_allowed().unwrap().saturating_duration_since(now);
                    assert!(wait >= Duration::from_secs(10), "the gate's instruction: {wait:?}");
                }
                Action::FailOpen => failed_open_at = Some(now),
                _ => {}
            }
        }
        now = m.poll_timeout().unwrap_or(now);
    }
    // Default data-fail-open-after: 30 s after the first refusal, not a poll more than needed.
    assert_eq!(failed_open_at, Some(first_refusal.saturating_add(Duration::from_secs(30))));
    assert!((3..=4).contains(&sent), "{sent} polls in 30 s at >= 10 s each");
}

#[test]
fn fail_closed_keeps_asking_a_browser_to_enable_cookies_with_backoff() {
    let mut cfg = config();
    cfg.fail = FailPolicy::Closed;
    let mut m = Machine::new(&cfg, 32);
    m.handle_start(T0, None);
    drain(&mut m);
    m.handle_reply(T0, queued(3, 1));
    let mut now = T0;
    for _ in 0..20 {
        now = m.poll_timeout().expect("fail-closed keeps polling");
        m.handle_timeout(now);
        let actions = drain(&mut m);
        assert!(!actions.contains(&Action::FailOpen));
        assert_eq!(sends(&actions), 1);
        m.handle_reply(now, cookies_required(5));
        assert_eq!(m.view(now).phase, Phase::CookiesRequired);
        drain(&mut m);
    }
    assert!(
        now >= at(120.0),
        "backoff grows: 20 polls took only {:?}",
        now.saturating_duration_since(T0)
    );
    // Cookies enabled again: the next reply queues the browser and the message goes away.
    let next = m.poll_timeout().unwrap();
    m.handle_timeout(next);
    drain(&mut m);
    m.handle_reply(next, queued(40, 60));
    assert_eq!(m.view(next).phase, Phase::Queued);
}

// Stored state is input, not truth: localStorage may hold a snapshot from a year ago, from
// another clock, or written by another script on the page.

fn stored(status: &str, saved_at: Timestamp) -> Snapshot {
    let json = format!(
        r#"{{"ticket":null,"next_at":{},"attempt":0,"status":{status},"place":null,"last_update":null,"saved_at":{}}}"#,
        saved_at.as_millis(),
        saved_at.as_millis()
    );
    Snapshot::from_json(&json).expect("a well-formed snapshot")
}

#[test]
fn a_bogus_pass_that_never_expires_does_not_keep_the_guard_lifted() {
    let poisoned = r#"{"kind":"admitted","pass":"bogus","expires_at":18446744073709551615}"#;
    let mut m = Machine::new(&config(), 41);
    m.handle_start(T0, Some(stored(poisoned, at(10.0).saturating_sub(Duration::from_secs(20)))));
    let actions = drain(&mut m);
    assert!(!actions.iter().any(|a| matches!(a, Action::Admit { .. })), "{actions:?}");
    assert_eq!(sends(&actions), 1, "the gate is asked again, at once");
    assert_eq!(m.status(), &Status::Checking);
}

#[test]
fn a_stored_pass_is_honoured_only_while_recent_and_unexpired() {
    let pass = |expires_at: Timestamp| {
        format!(r#"{{"kind":"admitted","pass":"p1.ok","expires_at":{}}}"#, expires_at.as_millis())
    };
    let saved = T0;
    let cases = [
        // (now, expires_at, honoured)
        (at(10.0), at(300.0), true),
        (at(301.0), at(300.0), false),         // expired
        (at(10.0), at(2.0 * 86_400.0), false), // valid longer than a pass can be
        (at(400.0), at(600.0), false),         // older than FINAL_STATE_MEMORY
    ];
    for (now, expires_at, honoured) in cases {
        let mut m = Machine::new(&config(), 42);
        m.handle_start(now, Some(stored(&pass(expires_at), saved)));
        let admitted = drain(&mut m).iter().any(|a| matches!(a, Action::Admit { .. }));
        assert_eq!(admitted, honoured, "now {now:?}, expires {expires_at:?}");
    }
    let mut m = Machine::new(&config(), 42);
    let bad = r#"{"kind":"admitted","pass":"has space","expires_at":null}"#;
    m.handle_start(at(1.0), Some(stored(bad, saved)));
    assert_eq!(m.status(), &Status::Checking, "a pass that is not a token is not one");
}

#[test]
fn a_fail_open_saved_with_the_clock_a_year_ahead_is_not_honoured_a_month_later() {
    let year_ahead = at(365.0 * 86_400.0);
    let mut m = Machine::new(&config(), 43);
    let now = at(30.0 * 86_400.0);
    let mut snapshot = stored(r#"{"kind":"failed_open"}"#, year_ahead);
    snapshot.next_at = year_ahead.saturating_add(Duration::from_secs(5));
    m.handle_start(now, Some(snapshot));
    let actions = drain(&mut m);
    assert!(!actions.contains(&Action::FailOpen), "{actions:?}");
    assert_eq!(m.status(), &Status::Checking);
    let next = m.next_allowed().unwrap();
    assert_eq!(next, now.saturating_add(Duration::from_secs(5)), "its 5 s delay, from now");
}

#[test]
fn stored_times_and_places_out_of_range_are_clamped_or_dropped() {
    let now = at(0.0);
    let future = at(86_400.0 * 400.0).as_millis();
    let mut m = Machine::new(&config(), 44);
    let json = format!(
        r#"{{"ticket":"t.1","next_at":{future},"attempt":2,"status":{{"kind":"unavailable","since":{future}}},"place":{{"position":50,"at":{future},"advance_per_minute":1e300,"eta_ms":18446744073709551615,"entry_position":3}},"last_update":{future},"saved_at":{}}}"#,
        now.as_millis()
    );
    let snapshot = Snapshot::from_json(&json).unwrap().checked(now);
    assert_eq!(snapshot.status, Status::Unavailable { since: now, cookies: false });
    assert_eq!(snapshot.last_update, Some(now));
    assert_eq!(snapshot.next_at, at(3_660.0), "at most an hour (and a minute) ahead");
    let place = snapshot.place.clone().unwrap();
    assert_eq!(place.at, now);
    assert_eq!(place.entry_position, 50, "never behind the current position");
    assert_eq!(place.eta, Duration::from_secs(48 * 3_600));
    assert_eq!(place.advance_per_minute, 1_000_000.0);
    // The outage clock starts now, not in a year: fail-open stays 30 s away, not 400 days.
    m.handle_start(now, Some(snapshot));
    drain(&mut m);
    assert!(m.poll_timeout().unwrap() <= at(3_660.0));

    for position in [0, 10_000_001, u64::MAX] {
        let json = json.replace(r#""position":50"#, &format!(r#""position":{position}"#));
        let snapshot = Snapshot::from_json(&json).unwrap().checked(now);
        assert_eq!(snapshot.place, None, "position {position}");
    }
    let bad_ticket = Snapshot::from_json(&json.replace("t.1", "t 1")).unwrap().checked(now);
    assert_eq!((bad_ticket.ticket, bad_ticket.place), (None, None), "no ticket, no place");
}

#[test]
fn a_peer_snapshot_from_the_future_does_not_win_every_later_comparison() {
    let (mut m, actions) = queued_machine(45, 40, 30);
    let mut forged = last_snapshot(&actions).unwrap();
    forged.saved_at = Timestamp::from_millis(u64::MAX);
    forged.place.as_mut().unwrap().position = 999;
    m.handle_peer(at(1.0), forged);
    drain(&mut m);
    let mut genuine = last_snapshot(&actions).unwrap();
    genuine.saved_at = at(2.0);
    genuine.place.as_mut().unwrap().position = 12;
    m.handle_peer(at(2.0), genuine);
    let place = m.snapshot(at(2.0)).place.unwrap();
    assert_eq!(place.position, 12, "the genuine, later snapshot wins");
}

#[test]
fn a_follower_takes_over_when_the_poller_goes_quiet_and_steps_back_when_it_speaks() {
    let (mut leader, actions) = queued_machine(51, 30, 20);
    let mut follower = Machine::new(&config(), 52);
    follower.handle_role(T0, false);
    follower.handle_start(T0, last_snapshot(&actions));
    drain(&mut follower);
    // The poller's tab is frozen: it holds the lock but sends nothing at its deadline.
    let watchdog = follower.poll_timeout().unwrap();
    follower.handle_timeout(watchdog);
    let taken = drain(&mut follower);
    assert_eq!(sends(&taken), 1, "the follower asks in its place");
    assert!(watchdog > leader.next_allowed().unwrap(), "never before the schedule");
    follower.handle_reply(watchdog, queued(25, 20));
    drain(&mut follower);
    // The poller wakes up and persists: the follower follows again.
    leader.handle_timeout(watchdog);
    let woke = last_snapshot(&drain(&mut leader)).unwrap();
    follower.handle_peer(watchdog.saturating_add(Duration::from_millis(1)), woke);
    drain(&mut follower);
    let next = follower.poll_timeout().unwrap();
    assert!(
        next >= follower.next_allowed().unwrap().saturating_add(LEADER_GRACE),
        "a follower again"
    );
}

#[test]
fn try_again_works_from_a_follower_tab() {
    // The poller gave up (attempt limit); every tab shows "gave up". The user clicks in another tab.
    let mut limited = config();
    limited.max_attempts = Some(1);
    let mut leader = Machine::new(&limited, 53);
    leader.handle_start(T0, None);
    drain(&mut leader);
    leader.handle_reply(T0, Reply::Throttled { retry_after: None, malformed: false });
    leader.handle_timeout(leader.next_allowed().unwrap());
    drain(&mut leader);
    let now = leader.next_allowed().unwrap();
    leader.handle_reply(now, Reply::Throttled { retry_after: None, malformed: false });
    let gave_up = last_snapshot(&drain(&mut leader)).unwrap();
    assert_eq!(gave_up.status, Status::GaveUp);

    let mut follower = Machine::new(&limited, 54);
    follower.handle_role(now, false);
    follower.handle_start(now, Some(gave_up.clone()));
    drain(&mut follower);
    let due = gave_up.next_at;
    assert!(now < due);
    assert_eq!(follower.view(now).retry, RetryButton::Disabled, "not before the schedule");
    assert_eq!(follower.view(due).retry, RetryButton::Enabled, "enabled in the follower once due");
    follower.handle_retry(due);
    assert_eq!(sends(&drain(&mut follower)), 1, "the click in the follower sends");
}

#[test]
fn the_attempt_count_is_restored_exactly_beyond_64() {
    let mut limited = config();
    limited.max_attempts = Some(100);
    let mut m = Machine::new(&limited, 61);
    let snapshot = Snapshot {
        ticket: None,
        next_at: T0,
        attempt: 99,
        status: Status::Throttled,
        place: None,
        last_update: None,
        saved_at: T0,
    };
    m.handle_start(T0, Some(snapshot));
    assert_eq!(sends(&drain(&mut m)), 1);
    m.handle_reply(T0, Reply::Throttled { retry_after: None, malformed: false });
    assert_eq!(last_snapshot(&drain(&mut m)).unwrap().attempt, 100, "the 100th attempt");
    let next = m.next_allowed().unwrap();
    m.handle_timeout(next);
    drain(&mut m);
    m.handle_reply(next, Reply::Throttled { retry_after: None, malformed: false });
    drain(&mut m);
    assert_eq!(m.status(), &Status::GaveUp, "data-max-attempts=100 honoured across a reload");
}

#[test]
fn the_attempt_count_is_restored_exactly_beyond_64_from_another_tab() {
    let mut limited = config();
    limited.max_attempts = Some(100);
    let mut m = Machine::new(&limited, 62);
    m.handle_role(T0, false);
    m.handle_start(T0, None);
    assert_eq!(sends(&drain(&mut m)), 0, "a follower sends nothing");
    let from_the_poller = Snapshot {
        ticket: None,
        next_at: at(10.0),
        attempt: 99,
        status: Status::Throttled,
        place: None,
        last_update: Some(at(1.0)),
        saved_at: at(1.0),
    };
    m.handle_peer(at(1.0), from_the_poller);
    drain(&mut m);
    assert_eq!(m.snapshot(at(1.0)).attempt, 99, "set exactly, not replayed up to 64");
    // The poller's tab is closed: this one takes the role and carries on from attempt 99.
    m.handle_role(at(10.0), true);
    assert_eq!(sends(&drain(&mut m)), 1);
    m.handle_reply(at(10.0), Reply::Throttled { retry_after: None, malformed: false });
    assert_eq!(last_snapshot(&drain(&mut m)).unwrap().attempt, 100, "the 100th attempt");
    assert_eq!(m.status(), &Status::Throttled);
    let next = m.next_allowed().unwrap();
    m.handle_timeout(next);
    drain(&mut m);
    m.handle_reply(next, Reply::Throttled { retry_after: None, malformed: false });
    drain(&mut m);
    assert_eq!(m.status(), &Status::GaveUp, "data-max-attempts=100 honoured across tabs");
}

#[test]
fn the_overlay_shows_once_there_is_something_to_say_and_stays_once_admitted_to_say_so() {
    let mut m = Machine::new(&config(), 71);
    m.handle_online(T0, false);
    assert!(!m.view(T0).overlay, "never before the widget started");
    m.handle_online(T0, true);
    m.handle_start(T0, None);
    drain(&mut m);
    assert!(!m.view(T0).overlay, "no flash while the first check runs");
    m.handle_reply(T0, queued(5, 30));
    assert!(m.view(T0).overlay, "queued: up");
    m.handle_timeout(m.next_allowed().unwrap());
    drain(&mut m);
    m.handle_reply(at(40.0), Reply::Admitted { pass: None, pass_expires_in: None, redirect: None });
    assert!(
        m.view(at(40.0)).overlay,
        "admitted: it stays, to say so (the driver makes it a notice)"
    );
}

#[test]
fn a_user_let_in_at_once_sees_nothing_until_the_pass_is_about_to_run_out() {
    let mut m = Machine::new(&config(), 72);
    m.handle_start(T0, None);
    drain(&mut m);
    let pass = Reply::Admitted {
        pass: Some("p2.x".into()),
        pass_expires_in: Some(Duration::from_secs(300)),
        redirect: None,
    };
    m.handle_reply(T0, pass);
    drain(&mut m);
    assert!(!m.view(at(239.0)).overlay, "no flash for a user let in at once");
    let warned = m.view(at(240.0));
    assert!(warned.overlay && warned.pass_warning, "a minute before the end: the warning shows");
    assert_eq!(warned.pass_left, Some(Duration::from_secs(60)));
}

#[test]
fn a_held_login_or_a_lost_connection_shows_the_overlay_even_while_checking() {
    let mut m = Machine::new(&config(), 72);
    m.handle_start(T0, None);
    drain(&mut m);
    m.handle_blocked_submit(T0);
    assert_eq!(drain(&mut m), [Action::Render]);
    assert_eq!((m.view(T0).phase, m.view(T0).overlay), (Phase::Checking, true), "says why");

    let mut m = Machine::new(&config(), 73);
    m.handle_start(T0, None);
    drain(&mut m);
    m.handle_online(T0, false);
    assert_eq!((m.view(T0).phase, m.view(T0).overlay), (Phase::Offline, true));
    m.handle_online(at(1.0), true);
    assert_eq!(
        (m.view(at(1.0)).phase, m.view(at(1.0)).overlay),
        (Phase::Checking, true),
        "once up, it stays"
    );
}

#[test]
fn offline_shows_the_place_but_no_countdown_and_no_closed_message() {
    let (mut m, _) = queued_machine(74, 12, 30);
    assert!(m.view(at(1.0)).next_attempt_in.is_some());
    m.handle_online(at(1.0), false);
    let offline = m.view(at(2.0));
    assert_eq!(offline.phase, Phase::Offline);
    assert_eq!(offline.position, Some(10), "the place is kept, still counted down, and shown");
    assert_eq!(offline.next_attempt_in, None, "nothing is sent offline: no countdown");
    assert!(offline.explains_quota);
    assert_eq!(offline.retry, RetryButton::Hidden);

    let mut m = Machine::new(&config(), 75);
    m.handle_start(T0, None);
    drain(&mut m);
    m.handle_reply(T0, Reply::Closed { message: Some("Maintenance".into()), retry_after: None });
    let closed = m.view(T0);
    assert_eq!(closed.closed_message.as_deref(), Some("Maintenance"));
    assert!(!closed.explains_quota, "no quota message on a closed portal");
    m.handle_online(T0, false);
    assert_eq!(m.view(T0).closed_message, None, "offline says offline, not closed");
}

#[test]
fn admission_goes_to_the_gates_page_else_to_data_redirect() {
    let mut cfg = config();
    cfg.redirect = Some("/accueil".into());
    for (from_gate, expected) in [(None, "/accueil"), (Some("/cours"), "/cours")] {
        let mut m = Machine::new(&cfg, 76);
        m.handle_start(T0, None);
        drain(&mut m);
        let redirect = from_gate.map(String::from);
        m.handle_reply(T0, Reply::Admitted { pass: None, pass_expires_in: None, redirect });
        let admit = drain(&mut m).into_iter().find(|a| matches!(a, Action::Admit { .. }));
        assert_eq!(admit, Some(Action::Admit { pass: None, redirect: Some(expected.into()) }));
    }
}

#[test]
fn extending_the_pass_sends_one_request_with_it_and_the_renewed_pass_is_admitted_again() {
    let (mut m, _) = queued_machine(8, 1, 2);
    let next = m.next_allowed().unwrap();
    m.handle_timeout(next);
    drain(&mut m);
    let admitted = |pass: &str, secs| Reply::Admitted {
        pass: Some(pass.into()),
        pass_expires_in: Some(Duration::from_secs(secs)),
        redirect: None,
    };
    m.handle_reply(next, admitted("p2.old", 300));
    drain(&mut m);
    let warned = next.saturating_add(Duration::from_secs(250));
    assert!(m.view(warned).pass_warning, "warned a minute or less before the end");
    assert!(!m.view(next.saturating_add(Duration::from_secs(239))).pass_warning);

    m.handle_extend(warned);
    m.handle_extend(warned); // pressed twice: one request
    let actions = drain(&mut m);
    let sent: Vec<&Action> = actions.iter().filter(|a| matches!(a, Action::Send { .. })).collect();
    assert_eq!(sent.len(), 1);
    let Action::Send { pass, .. } = sent[0] else { unreachable!() };
    assert_eq!(pass.as_deref(), Some("p2.old"));

    m.handle_reply(warned, admitted("p2.new", 350));
    let actions = drain(&mut m);
    assert!(actions.contains(&Action::Admit { pass: Some("p2.new".into()), redirect: None }));
    assert_eq!(m.view(warned).pass_left, Some(Duration::from_secs(350)));
    assert!(!m.view(warned).pass_warning);
    assert_eq!(m.poll_timeout(), None, "still no polling once in");
    let stored = last_snapshot(&actions).expect("persisted, for a reload");
    assert!(matches!(stored.status, Status::Admitted { pass: Some(ref p), .. } if p == "p2.new"));

    // A gate that will not renew (anything but an admission) leaves the admission running out.
    m.handle_extend(warned);
    drain(&mut m);
    m.handle_reply(warned, queued(40, 30));
    drain(&mut m);
    assert_eq!(m.view(warned).phase, Phase::Admitted);
    assert_eq!(m.view(warned).pass_left, Some(Duration::from_secs(350)));
}

#[test]
fn without_a_pass_there_is_nothing_to_extend() {
    let (mut m, _) = queued_machine(8, 1, 2);
    let next = m.next_allowed().unwrap();
    m.handle_timeout(next);
    drain(&mut m);
    m.handle_reply(next, Reply::Admitted { pass: None, pass_expires_in: None, redirect: None });
    drain(&mut m);
    m.handle_extend(next);
    assert_eq!(sends(&drain(&mut m)), 0);
    assert!(!m.view(next).pass_warning);
}
