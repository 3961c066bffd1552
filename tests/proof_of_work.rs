//! The state machine meets the gate's proof of work: it decides to solve (the driver only
//! runs the search), counts the time spent solving as waiting, sends the solution once, and
//! without a solver (no `crypto.subtle`) or with one that fails, waits with backoff instead.

use std::time::Duration;

use waitroom::config::Config;
use waitroom::machine::{Action, Machine, Phase, RetryButton, Solution, Status};
use waitroom::reply::Reply;
use waitroom::time::Timestamp;

const T0: Timestamp = Timestamp::from_millis(1_775_462_400_000);
const TARGET: &str = "0707070707070707070707070707070707070707070707070707070707070707";

fn at(ms: u64) -> Timestamp {
    T0.saturating_add(Duration::from_millis(ms))
}

fn drain(m: &mut Machine) -> Vec<Action> {
    std::iter::from_fn(|| m.poll_action()).collect()
}

fn sends(actions: &[Action]) -> Vec<(Option<String>, Option<Solution>)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send { ticket, proof, .. } => Some((ticket.clone(), proof.clone())),
            _ => None,
        })
        .collect()
}

fn challenge(id: u32) -> Reply {
    Reply::Challenge {
        challenge: format!("c1.{id}"),
        target: TARGET.into(),
        max_number: 180_000,
        retry_after: Duration::from_secs(1),
    }
}

fn queued() -> Reply {
    Reply::Queued {
        ticket: "t2.1".into(),
        position: 40,
        eta: Duration::from_secs(60),
        retry_after: Duration::from_secs(60),
        advance_per_minute: 40.0,
    }
}

/// A machine with a solver (or not) that has sent its first request and been challenged.
fn challenged(solver: bool) -> (Machine, Vec<Action>) {
    let mut m = Machine::new(&Config::for_gate("/waitroom/status"), 9).with_solver(solver);
    m.handle_start(T0, None);
    drain(&mut m);
    m.handle_reply(T0, challenge(1));
    let actions = drain(&mut m);
    (m, actions)
}

#[test]
fn a_challenge_is_solved_and_its_solution_goes_with_the_next_request_once() {
    let (mut m, actions) = challenged(true);
    assert!(actions.contains(&Action::Solve {
        challenge: "c1.1".into(),
        target: TARGET.into(),
        max_number: 180_000
    }));
    assert_eq!(m.view(T0).phase, Phase::Verifying);
    assert_eq!(m.view(T0).next_attempt_in, None, "no countdown while solving");
    assert_eq!(m.view(at(60_000)).retry, RetryButton::Hidden, "nothing to retry while solving");
    // However long it takes, nothing is sent before the solution: no timer either.
    assert_eq!(m.poll_timeout(), None);
    m.handle_timeout(at(30_000));
    assert!(sends(&drain(&mut m)).is_empty());
    m.handle_solved(at(30_000), Some(4_242));
    let sent = sends(&drain(&mut m));
    let solution = Solution { challenge: "c1.1".into(), number: 4_242 };
    assert_eq!(sent, [(None, Some(solution))]);
    assert_eq!(m.view(at(30_000)).phase, Phase::Verifying, "until the gate has answered");
    // The place, then the next request carries the ticket alone.
    m.handle_reply(at(30_050), queued());
    assert_eq!(m.view(at(30_050)).phase, Phase::Queued);
    drain(&mut m);
    let next = m.next_allowed().unwrap();
    m.handle_timeout(next);
    assert_eq!(sends(&drain(&mut m)), [(Some("t2.1".into()), None)]);
}

#[test]
fn time_spent_solving_counts_as_waiting() {
    // Solved after the gate's second has passed: sent at once, not a second later.
    let (mut slow, _) = challenged(true);
    let due = slow.next_allowed().unwrap();
    assert!(due >= at(1_000) && due <= at(1_500), "{due:?}");
    slow.handle_solved(at(3_000), Some(1));
    assert_eq!(sends(&drain(&mut slow)).len(), 1, "sent at once when solved");
    // Solved quickly: sent when the schedule allows, not before.
    let (mut fast, _) = challenged(true);
    fast.handle_solved(at(200), Some(1));
    assert!(sends(&drain(&mut fast)).is_empty(), "not before the gate's instruction");
    assert_eq!(fast.poll_timeout(), Some(due));
    fast.handle_timeout(due);
    assert_eq!(sends(&drain(&mut fast)).len(), 1);
}

#[test]
fn without_a_solver_a_challenge_is_waited_out_with_backoff() {
    let (mut m, actions) = challenged(false);
    assert!(!actions.iter().any(|a| matches!(a, Action::Solve { .. })));
    assert_eq!(m.view(T0).phase, Phase::Throttled);
    let first = m.next_allowed().unwrap();
    assert!(first >= at(1_000), "{first:?}");
    m.handle_timeout(first);
    assert_eq!(sends(&drain(&mut m)), [(None, None)]);
    // Challenged again and again: the waits grow with the backoff, never hammering.
    let mut waits = Vec::new();
    let mut now = first;
    for id in 2..8 {
        m.handle_reply(now, challenge(id));
        drain(&mut m);
        let next = m.next_allowed().unwrap();
        waits.push(next.saturating_duration_since(now));
        m.handle_timeout(next);
        assert_eq!(sends(&drain(&mut m)).len(), 1);
        now = next;
    }
    assert!(waits.iter().all(|w| *w >= Duration::from_secs(1)), "{waits:?}");
    assert!(waits.last().unwrap() >= &Duration::from_secs(16), "{waits:?}");
}

#[test]
fn a_solver_that_fails_is_not_asked_again_and_the_wait_goes_on_with_backoff() {
    let (mut m, _) = challenged(true);
    let due = m.next_allowed().unwrap();
    m.handle_solved(at(100), None);
    assert!(sends(&drain(&mut m)).is_empty(), "no early request on a failure");
    assert_eq!(m.view(at(100)).phase, Phase::Throttled);
    m.handle_timeout(due);
    assert_eq!(sends(&drain(&mut m)), [(None, None)]);
    m.handle_reply(due, challenge(2));
    assert!(!drain(&mut m).iter().any(|a| matches!(a, Action::Solve { .. })));
    // A late answer of the failed search changes nothing.
    m.handle_solved(due, Some(5));
    assert!(sends(&drain(&mut m)).is_empty());
}

#[test]
fn a_reload_while_solving_keeps_the_schedule_and_asks_for_a_new_challenge() {
    let (m, actions) = challenged(true);
    let stored = actions
        .iter()
        .rev()
        .find_map(|a| match a {
            Action::Persist(s) => Some(s.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(stored.status, Status::Throttled);
    let due = m.next_allowed().unwrap();
    let mut reloaded = Machine::new(&Config::for_gate("/waitroom/status"), 10).with_solver(true);
    reloaded.handle_start(at(300), Some(stored));
    assert!(sends(&drain(&mut reloaded)).is_empty(), "nothing before the stored time");
    reloaded.handle_timeout(due);
    assert_eq!(sends(&drain(&mut reloaded)), [(None, None)], "no solution it does not have");
}

#[test]
fn a_solution_for_a_challenge_no_longer_in_hand_is_dropped() {
    let mut m = Machine::new(&Config::for_gate("/waitroom/status"), 9).with_solver(true);
    m.handle_start(T0, None);
    drain(&mut m);
    m.handle_solved(T0, Some(1));
    assert!(drain(&mut m).is_empty(), "nothing was asked");
}

#[test]
fn a_late_second_answer_of_the_solver_leaves_the_request_in_flight_alone() {
    let (mut m, _) = challenged(true);
    m.handle_solved(at(3_000), Some(4_242));
    assert_eq!(sends(&drain(&mut m)).len(), 1, "the solution goes out");
    // The solver answers again while that request is out: nothing is being solved.
    m.handle_solved(at(3_010), Some(7));
    assert!(sends(&drain(&mut m)).is_empty(), "no second request");
    assert_eq!(m.view(at(3_010)).phase, Phase::Verifying, "still awaiting the gate's answer");
    // And the answer to the request in flight is still taken.
    m.handle_reply(at(3_050), queued());
    assert_eq!(m.view(at(3_050)).phase, Phase::Queued);
    assert_eq!(m.ticket(), Some("t2.1"));
}
