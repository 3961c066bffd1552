//! Adaptive proof of work, against the gate's own state in virtual time and over real HTTP:
//! asked of newcomers only during a flood, never of holders nor below the floor, harder as the
//! flood grows and gone a minute after it stops; a solution buys one place, in its own browser,
//! until it expires.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use waitroom::time::Timestamp;
use waitroom::wire::{Challenge, StatusReply, CHALLENGE_PARAM, SOLUTION_PARAM, STATUS_PATH};
use waitroom_gate::browser::BrowserId;
use waitroom_gate::proof_of_work::{self, Mode, PowConfig, BASE_MAX_NUMBER, CHALLENGE_TTL};
use waitroom_gate::server::{serve, GateConfig, GateState, Proof, StatusAnswer};
use waitroom_gate::token::{Binding, Signer};

const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";
const T0: u64 = 1_700_000_000_000;

/// A gate on a hand-moved clock (ms since the epoch), admitting `admit_per_minute`.
fn gate(admit_per_minute: f64, pow: PowConfig) -> (Arc<GateState>, Arc<AtomicU64>) {
    let clock = Arc::new(AtomicU64::new(T0));
    let hand = clock.clone();
    let mut config = GateConfig::new(SECRET.to_vec());
    config.admit_per_minute = admit_per_minute;
    config.clock = Arc::new(move || Timestamp::from_millis(hand.load(Ordering::SeqCst)));
    config.proof_of_work = pow;
    (GateState::new(config), clock)
}

fn at(clock: &AtomicU64) -> Timestamp {
    Timestamp::from_millis(clock.load(Ordering::SeqCst))
}

fn floor(floor_per_minute: u64) -> PowConfig {
    PowConfig { mode: Mode::Auto, floor_per_minute }
}

fn binding(n: u8) -> Binding {
    Signer::new(SECRET).binding(&BrowserId::from_bytes([n; 16]))
}

/// A newcomer of browser `n`, with `proof` if any.
fn newcomer(state: &GateState, now: Timestamp, n: u8, proof: Option<Proof<'_>>) -> StatusAnswer {
    state.answer_from(now, None, proof, None, binding(n), true)
}

fn challenge_of(answer: &StatusAnswer) -> &Challenge {
    match &answer.body {
        StatusReply::Challenge(challenge) => challenge,
        other => panic!("expected a challenge, got {other:?}"),
    }
}

fn is_place(answer: &StatusAnswer) -> bool {
    matches!(answer.body, StatusReply::Queued(_) | StatusReply::Admitted(_))
}

fn solve(challenge: &Challenge) -> String {
    proof_of_work::solve(&challenge.challenge, &challenge.target, challenge.max_number)
        .expect("the number is in range")
        .to_string()
}

/// `count` newcomers from browsers other than the pupils', at `now`.
fn flood(state: &GateState, now: Timestamp, count: usize) {
    for _ in 0..count {
        newcomer(state, now, 200, None);
    }
}

#[test]
fn a_gate_admitting_2_a_minute_never_challenges_its_third_visitor_nor_its_3000th() {
    let (state, clock) = gate(2.0, PowConfig::default());
    for k in 0..3_000 {
        let answer = newcomer(&state, at(&clock), 1, None);
        assert!(is_place(&answer), "visitor {} got {:?}", k + 1, answer.body);
    }
    // The floor is 3 000 join attempts a minute: the 3 001st is a flood.
    let answer = newcomer(&state, at(&clock), 1, None);
    assert_eq!(challenge_of(&answer).max_number, BASE_MAX_NUMBER);
    assert_eq!((answer.status, answer.retry_after_s), (503, Some(1)));
}

#[test]
fn off_never_challenges_whatever_the_flood() {
    let (state, clock) = gate(2.0, PowConfig { mode: Mode::Off, floor_per_minute: 1 });
    for _ in 0..10_000 {
        assert!(is_place(&newcomer(&state, at(&clock), 1, None)));
    }
    assert_eq!(state.pow_state(at(&clock)), (None, 10_000));
}

#[test]
fn a_valid_solution_buys_one_place_and_a_replay_buys_none() {
    let (state, clock) = gate(60.0, floor(10));
    flood(&state, at(&clock), 700); // 10 × 60 a minute is the threshold
    let asked = newcomer(&state, at(&clock), 1, None);
    let challenge = challenge_of(&asked).clone();
    let solution = solve(&challenge);
    let proof = Proof { challenge: &challenge.challenge, solution: &solution };
    clock.fetch_add(1_500, Ordering::SeqCst);
    let first = newcomer(&state, at(&clock), 1, Some(proof));
    let StatusReply::Queued(place) = &first.body else { panic!("{:?}", first.body) };
    let live = state.with_queue(|queue| queue.live());
    // The same solution again, at once or later, from the same browser: a new challenge.
    for _ in 0..3 {
        let again = newcomer(&state, at(&clock), 1, Some(proof));
        assert_ne!(challenge_of(&again).challenge, challenge.challenge);
    }
    assert_eq!(state.with_queue(|queue| queue.live()), live, "no place for a replay");
    // The place itself is kept by its ticket, with no proof, however flooded the gate.
    let holder = state.answer_from(at(&clock), Some(&place.ticket), None, None, binding(1), true);
    assert!(matches!(holder.body, StatusReply::Queued(_)), "{:?}", holder.body);
}

#[test]
fn a_wrong_expired_or_other_browsers_solution_is_answered_with_a_new_challenge() {
    let (state, clock) = gate(60.0, floor(10));
    flood(&state, at(&clock), 700);
    let challenge = challenge_of(&newcomer(&state, at(&clock), 1, None)).clone();
    let solution = solve(&challenge);
    let right: u64 = solution.parse().unwrap();
    let wrong = ((right + 1) % (challenge.max_number + 1)).to_string();
    let proof = |solution| Proof { challenge: &challenge.challenge, solution };
    // Wrong number, forged difficulty, another browser's cookie: no place.
    assert!(!is_place(&newcomer(&state, at(&clock), 1, Some(proof(&wrong)))));
    let easier = challenge.challenge.replacen(&format!(".{}.", challenge.max_number), ".0.", 1);
    let forged = Proof { challenge: &easier, solution: "0" };
    assert!(!is_place(&newcomer(&state, at(&clock), 1, Some(forged))));
    assert!(!is_place(&newcomer(&state, at(&clock), 2, Some(proof(&solution)))));
    // None of those spent it: the right browser still gets its place with it...
    let later = at(&clock).saturating_add(CHALLENGE_TTL);
    flood(&state, later, 700); // ...but not once it has expired, while the flood goes on.
    let expired = newcomer(&state, later, 1, Some(proof(&solution)));
    assert!(!is_place(&expired), "{:?}", expired.body);
    let just_before = Timestamp::from_millis(later.as_millis() - 1_000);
    assert!(is_place(&newcomer(&state, just_before, 1, Some(proof(&solution)))));
}

#[test]
fn difficulty_rises_with_the_flood_and_falls_a_minute_after_it_stops() {
    // 60 a minute: the threshold is the floor, 3 000 join attempts a minute.
    let (state, clock) = gate(60.0, PowConfig::default());
    let mut seen = Vec::new();
    for second in 0..240u64 {
        let per_second = match second {
            0..60 => 100,   // 6 000 a minute: twice the threshold
            60..120 => 400, // 24 000 a minute: 8 times
            _ => 0,
        };
        flood(&state, at(&clock), per_second);
        if second % 30 == 29 {
            seen.push(state.pow_state(at(&clock)).0);
        }
        clock.fetch_add(1_000, Ordering::SeqCst);
    }
    let base = BASE_MAX_NUMBER;
    assert_eq!(
        seen,
        [
            None,           // 0:29, 3 000 in the last minute: not above the floor
            Some(2 * base), // 0:59, 6 000
            Some(4 * base), // 1:29, 3 000 + 12 000 = 15 000: 5 times
            Some(8 * base), // 1:59, 24 000
            Some(4 * base), // 2:29, the flood over for 30 s: 12 000 left in the window
            None,           // 2:59, the flood over for a minute: 0
            None,
            None,
        ]
    );
}

#[test]
fn a_queue_that_is_merely_long_asks_nobody() {
    let (state, clock) = gate(2.0, PowConfig::default());
    let tickets: Vec<String> = (0..2_900)
        .filter_map(|_| match newcomer(&state, at(&clock), 1, None).body {
            StatusReply::Queued(queued) => Some(queued.ticket),
            _ => None,
        })
        .collect();
    assert!(tickets.len() >= 2_890);
    // Every holder polls five times within the next minute: 14 500 requests, no join.
    for round in 0..5 {
        clock.fetch_add(12_000, Ordering::SeqCst);
        for ticket in &tickets {
            let answer = state.answer_from(at(&clock), Some(ticket), None, None, binding(1), true);
            assert!(is_place(&answer), "round {round}: {:?}", answer.body);
        }
    }
    assert_eq!(state.pow_state(at(&clock)).0, None);
    assert!(is_place(&newcomer(&state, at(&clock), 3, None)), "a newcomer is not asked either");
}

/// The widget's own state machine against the flooded gate, in virtual time: with a solver
/// it is asked, solves (taking 2 s), and is queued with one extra request; without one it
/// waits with backoff and is queued once the flood has passed.
#[test]
fn the_widgets_machine_solves_its_way_into_the_queue_and_without_a_solver_waits_out_the_flood() {
    use waitroom::config::Config;
    use waitroom::machine::{Action, Machine, Status};

    let run = |solver: bool| {
        let (state, clock) = gate(60.0, floor(10));
        flood(&state, at(&clock), 700);
        let mut m = Machine::new(&Config::for_gate(STATUS_PATH), 5).with_solver(solver);
        let mut now = at(&clock);
        m.handle_start(now, None);
        let mut requests = 0;
        let mut queued_at = None;
        while now.as_millis() < T0 + 600_000 && queued_at.is_none() {
            while let Some(action) = m.poll_action() {
                match action {
                    Action::Send { ticket, proof, .. } => {
                        requests += 1;
                        let number = proof.as_ref().map(|p| p.number.to_string());
                        let proof = proof
                            .as_ref()
                            .zip(number.as_deref())
                            .map(|(p, n)| Proof { challenge: &p.challenge, solution: n });
                        let answer = state.answer_with_proof(now, ticket.as_deref(), proof, None);
                        m.handle_reply(now, answer.into_reply());
                        if *m.status() == Status::Queued {
                            queued_at.get_or_insert(now.as_millis() - T0);
                        }
                    }
                    Action::Solve { challenge, target, max_number } => {
                        let found = proof_of_work::solve(&challenge, &target, max_number);
                        now = now.saturating_add(std::time::Duration::from_secs(2));
                        m.handle_solved(now, found);
                    }
                    _ => {}
                }
            }
            if let Some(next) = m.poll_timeout() {
                now = now.max(next);
                m.handle_timeout(now);
            }
        }
        (queued_at.is_some(), requests, queued_at.unwrap_or(u64::MAX))
    };
    let (queued, requests, took_ms) = run(true);
    assert!(queued);
    assert_eq!(requests, 2, "the one that was challenged, the one with the solution");
    assert!((2_000..3_000).contains(&took_ms), "queued {took_ms} ms after arriving");
    let (queued, requests, took_ms) = run(false);
    assert!(queued, "once the flood has left the last minute");
    assert!(took_ms >= 60_000, "{took_ms} ms");
    assert!(requests < 12, "{requests} requests: backoff, not hammering");
}

/// Over HTTP, with real cookies: the pupil's browser is challenged during a flood, solves,
/// and queues; the same solution replayed, or carried to another browser, buys nothing; the
/// metrics say so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_http_a_challenged_browser_solves_and_queues_and_the_metrics_count_it() {
    let mut config = GateConfig::new(SECRET.to_vec());
    config.admit_per_minute = 2.0;
    config.proof_of_work = floor(20);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(serve(listener, config));
    let browser = || reqwest::Client::builder().no_proxy().cookie_store(true).build().unwrap();
    let status = |client: &reqwest::Client, query: String| {
        let request = client.get(format!("{url}{STATUS_PATH}{query}")).send();
        async move {
            let response = request.await.unwrap();
            let code = response.status().as_u16();
            let retry_after =
                response.headers().get("retry-after").map(|v| v.to_str().unwrap().to_string());
            (code, retry_after, response.json::<StatusReply>().await.unwrap())
        }
    };
    // 21 newcomers without cookies (a script): the 21st is the first above 10 × 2 a minute.
    let bots = reqwest::Client::builder().no_proxy().build().unwrap();
    for _ in 0..21 {
        status(&bots, String::new()).await;
    }
    let pupil = browser();
    let (code, retry_after, body) = status(&pupil, String::new()).await;
    let StatusReply::Challenge(challenge) = body else { panic!("{body:?}") };
    assert_eq!((code, retry_after.as_deref()), (503, Some("1")));
    assert_eq!((challenge.max_number, challenge.retry_after_ms), (BASE_MAX_NUMBER, 1_000));
    let solution = solve(&challenge);
    let query = format!(
        "?{}",
        form_urlencoded::Serializer::new(String::new())
            .append_pair(CHALLENGE_PARAM, &challenge.challenge)
            .append_pair(SOLUTION_PARAM, &solution)
            .finish()
    );
    let (code, _, body) = status(&pupil, query.clone()).await;
    assert_eq!(code, 503);
    assert!(matches!(body, StatusReply::Queued(_)), "{body:?}");
    let (_, _, replayed) = status(&pupil, query.clone()).await;
    assert!(matches!(replayed, StatusReply::Challenge(_)), "{replayed:?}");
    let (_, _, elsewhere) = status(&browser(), query).await;
    assert!(matches!(elsewhere, StatusReply::Challenge(_)), "{elsewhere:?}");
    let metrics = reqwest::get(format!("{url}/metrics")).await.unwrap().text().await.unwrap();
    for line in [
        "waitroom_pow_difficulty 180000",
        "waitroom_pow_challenges_issued_total 4",
        "waitroom_pow_challenges_solved_total 1",
        "waitroom_pow_challenges_refused_total 2",
        "waitroom_requests_total{outcome=\"challenged\"} 4",
    ] {
        assert!(metrics.lines().any(|l| l == line), "no `{line}` in\n{metrics}");
    }
    server.abort();
}
