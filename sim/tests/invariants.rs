//! Small scenarios with exact invariants: fast in debug builds.

use waitroom_sim::engine::{self, Fate, Outcome, NEVER};
use waitroom_sim::metrics::measure;
use waitroom_sim::scenario::{Arrival, Crowd, Scenario};
use waitroom_sim::strategy::Strategy;
use waitroom_sim::{run_all, StrategyRun};

/// 2 000 users in 30 s for 400 admissions a minute: a five-minute queue.
fn small() -> Scenario {
    Scenario {
        users: 2_000,
        arrival_window_s: 30.0,
        admit_per_minute: 400.0,
        seed: 7,
        ..Scenario::default()
    }
}

fn by_name(runs: &[StrategyRun], strategy: Strategy) -> &StrategyRun {
    runs.iter().find(|r| r.metrics.name == strategy.name()).expect("the strategy ran")
}

#[test]
fn a_seed_gives_the_same_figures_whatever_the_threads() {
    let scenario = Scenario { arrival: Arrival::Burst, ..small() };
    let first = run_all(&scenario, &Strategy::ALL, 2);
    let again = run_all(&scenario, &Strategy::ALL, 1);
    assert_eq!(first, again);
    let other_seed = run_all(&Scenario { seed: 8, ..scenario }, &Strategy::ALL, 2);
    assert_ne!(first[0].metrics, other_seed[0].metrics);
}

#[test]
fn every_user_who_does_not_give_up_is_admitted_by_every_strategy() {
    let scenario = small();
    let crowd = Crowd::draw(&scenario);
    let leaving = crowd.abandon_at.iter().filter(|&&t| t != NEVER).count() as u64;
    assert!(leaving > 50, "the scenario has abandoners: {leaving}");
    for run in run_all(&scenario, &Strategy::ALL, 2) {
        let m = &run.metrics;
        assert_eq!(m.not_admitted, 0, "{}", m.name);
        assert!(!m.time_limit_hit, "{}", m.name);
        assert_eq!(m.admitted + m.abandoned, u64::from(scenario.users), "{}", m.name);
        // Only users drawn as abandoners ever give up.
        assert!(m.abandoned <= leaving, "{}", m.name);
        assert_eq!(
            m.requests,
            run.requests_per_second.iter().map(|&r| u64::from(r)).sum::<u64>(),
            "{}",
            m.name
        );
    }
}

#[test]
fn the_native_widget_costs_fewer_requests_than_any_other_strategy() {
    let runs = run_all(&small(), &Strategy::ALL, 2);
    let native = &by_name(&runs, Strategy::WaitroomNative).metrics;
    assert!(native.requests_per_admitted < 2.2, "{}", native.requests_per_admitted);
    for run in &runs {
        if run.metrics.name != native.name {
            assert!(
                native.requests_per_admitted < run.metrics.requests_per_admitted,
                "{} {} <= native {}",
                run.metrics.name,
                run.metrics.requests_per_admitted,
                native.requests_per_admitted
            );
        }
    }
    let naive = &by_name(&runs, Strategy::NaiveReload).metrics;
    assert!(naive.requests_per_admitted > 3.0 * native.requests_per_admitted);
}

/// 30 users in the same second, 6 admissions a minute and a bucket of two: the gate spaces told
/// times 10 s apart, wider than the widget's return jitter (at most 5 s), so the queue must be
/// perfectly FIFO and cost exactly 1 request for the two users admitted at once and 2 for each
/// of the others. Round trips take 2 to 13 ms, so that the network does not reorder
/// users who clicked a few milliseconds apart (it does at 80 ms: the gate's FIFO is the order
/// in which requests reach it).
///
/// The bucket holds two tokens, not one: a one-token bucket stops filling while a holder is
/// late by its jitter, loses that time for good, and makes the next holder find no token.
#[test]
fn a_slow_queue_is_perfectly_fifo_with_two_requests_per_waiting_user() {
    let scenario = Scenario {
        users: 30,
        arrival_window_s: 1.0,
        admit_per_minute: 6.0,
        burst: Some(2.0),
        abandon: 0.0,
        latency_ms: 1.0,
        ..Scenario::default()
    };
    let crowd = Crowd::draw(&scenario);
    let run = waitroom_sim::run_one(&scenario, &crowd, Strategy::WaitroomNative);
    let m = &run.metrics;
    assert_eq!(m.admitted, 30);
    assert_eq!(m.order_kept, 1.0);
    assert_eq!(m.requests, 2 + 2 * 28);
    assert_eq!(m.admitted_by_requests, [2, 28, 0, 0, 0, 0]);
    assert_eq!(m.queue.map(|q| (q.issued, q.retold, q.dropped)), Some((28, 0, 0)));
    // Each user waits its 10 s slot plus its jitter: the capacity is nearly all used.
    assert!(m.capacity_used.unwrap() > 0.97, "{:?}", m.capacity_used);
}

#[test]
fn the_metrics_of_a_hand_made_outcome() {
    // Four users arriving at 0, 1, 2 and 3 s; 60 admissions a minute, bucket of 1.
    let scenario =
        Scenario { users: 4, admit_per_minute: 60.0, burst: Some(1.0), ..Scenario::default() };
    let crowd = Crowd {
        arrival: vec![0, 1_000, 2_000, 3_000],
        abandon_at: vec![NEVER, NEVER, 2_500, NEVER],
        seed: vec![0; 4],
    };
    let outcome = Outcome {
        strategy: Strategy::NaiveReload,
        fate: vec![Fate::Admitted, Fate::Admitted, Fate::Abandoned, Fate::Admitted],
        // User 3 gets in before user 1: one pair of three out of order.
        served_at: vec![0, 6_000, NEVER, 4_000],
        admitted_at: vec![100, 6_100, NEVER, 4_100],
        requests: vec![1, 5, 2, 2],
        requests_per_second: vec![1, 3, 2, 0, 2, 0, 2],
        first_refusal: Some(1_000),
        wasted_admissions: 0,
        end: 6_100,
        time_limit_hit: false,
        queue: Default::default(),
        no_show_estimate: Vec::new(),
        live: Vec::new(),
        retold: Vec::new(),
        challenges: 0,
        flood_requests: 0,
        flood_places: 0,
        flood_last_place: None,
        first_challenge: None,
    };
    let m = measure(&scenario, &crowd, &outcome);
    assert_eq!((m.admitted, m.abandoned, m.not_admitted), (3, 1, 0));
    assert_eq!(m.requests, 10);
    assert_eq!(m.requests_per_admitted, 10.0 / 3.0);
    assert_eq!((m.peak_rps, m.peak_arrival_rps, m.peak_ratio), (3, 1, 3.0));
    assert_eq!(m.order_kept, 1.0 - 1.0 / 3.0);
    // Waits 0.1 s, 5.1 s and 1.1 s.
    assert!((m.mean_wait_s - 6.3 / 3.0).abs() < 1e-9);
    assert_eq!((m.p50_wait_s, m.p99_wait_s), (1.1, 5.1));
    // Ideal FIFO of users arriving at 0, 1 and 3 s with one token a second: no wait at all…
    assert_eq!(m.mean_ideal_wait_s, 0.0);
    // …and a busy window from 1 s to 6 s holding two admissions, at one a second.
    assert_eq!((m.busy_window_start_s, m.busy_window_s), (Some(1.0), Some(5.0)));
    assert_eq!(m.capacity_used, Some(2.0 / 5.0));
    assert_eq!(m.admitted_by_requests, [1, 1, 0, 0, 1, 0]);
}

#[test]
fn the_engine_runs_one_strategy_at_a_time_too() {
    let scenario = Scenario { users: 300, ..small() };
    let crowd = Crowd::draw(&scenario);
    let outcome = engine::run(&scenario, &crowd, Strategy::WaitroomHttp);
    assert!(outcome.fate.iter().all(|&f| f != Fate::Waiting));
    assert!(outcome.admitted_at.iter().zip(&outcome.served_at).all(|(&a, &s)| a == NEVER || a > s));
}

/// `waitroom-native-pow-flood` on the small morning (seed 7): 1 000 fresh requests a second from
/// a /16, never solving. The first 3 747 take places before the join attempts of the last minute
/// pass the flood threshold (10 × 400 a minute); from the first challenge on, the flood gets no
/// place, the pupils who arrive solve theirs (in virtual time, at 90 000 hashes a second) and
/// every pupil who does not give up is admitted.
#[test]
fn with_proof_of_work_a_many_address_flood_gets_no_place_once_challenged_and_every_pupil_gets_in() {
    let scenario = small();
    let crowd = Crowd::draw(&scenario);
    let leaving = crowd.abandon_at.iter().filter(|&&t| t != NEVER).count();
    let out = engine::run(&scenario, &crowd, Strategy::WaitroomNativePowFlood);
    let count = |fate| out.fate.iter().filter(|&&f| f == fate).count();
    assert_eq!(
        (count(Fate::Admitted), count(Fate::Abandoned), count(Fate::Waiting)),
        (1907, 93, 0)
    );
    assert!(count(Fate::Abandoned) <= leaving);
    assert!(!out.time_limit_hit);
    assert_eq!((out.flood_requests, out.flood_places), (29_984, 3_747));
    assert_eq!((out.flood_last_place, out.first_challenge), (Some(3_746), Some(3_747)));
    assert_eq!(out.challenges, 1_747);
    assert_eq!(out.requests.iter().sum::<u32>(), 6_525);
    // Without proof of work, the same flood from one address is capped instead; the widgets
    // are never challenged.
    let capped = engine::run(&scenario, &crowd, Strategy::WaitroomNativeFlood);
    assert_eq!(capped.challenges, 0);
    assert_eq!(capped.first_challenge, None);
}
