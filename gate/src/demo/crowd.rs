//! The demo's synthetic crowd: users who queue ahead of the real visitor.
//!
//! Each synthetic user is the core's own [`Machine`], driven in-process against the gate's
//! [`GateState::answer`] (no HTTP, same tickets, same replies through
//! [`StatusAnswer::into_reply`](crate::server::StatusAnswer::into_reply)), with tokio timers
//! for [`Machine::poll_timeout`]. The crowd keeps the queue topped up at about `target` waiting
//! tickets: new users arrive a little faster than the gate admits, but only
//! while the queue is below the target, all at once when it has run short; a few give up on the
//! way, as people do.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;
use tracing::debug;
use waitroom::config::Config;
use waitroom::machine::{Action, Machine};
use waitroom::rng::Rng;
use waitroom::wire::STATUS_PATH;

use crate::server::GateState;

/// Who the crowd is.
///
/// # Default
///
/// [`CrowdConfig::for_rate`]`(r)`: 30 users at start and 30 waiting kept (made up at once below
/// 25), arriving at up to `1.2 r` per minute, each gap ± 25 %, 5 % of them giving up, seed 0.
#[derive(Debug, Clone, PartialEq)]
pub struct CrowdConfig {
    /// Waiting tickets the crowd keeps, and the users who join at once when the demo starts.
    pub target: u64,
    /// Below this many waiting tickets, users arrive at once to make up for the difference.
    pub low: u64,
    /// Arrivals per minute while the queue is below `target`: a little more than the admission
    /// rate, so that the queue stays topped up.
    pub arrivals_per_minute: f64,
    /// Each gap between arrivals is the mean gap times a factor uniform in `1 ± arrival_jitter`.
    pub arrival_jitter: f64,
    /// Share of users who give up before their turn (they become no-shows for the gate).
    pub abandon: f64,
    /// Drives the arrivals and every user's jitter.
    pub seed: u64,
}

impl CrowdConfig {
    /// A crowd for a gate admitting `admit_per_minute`: a newcomer behind it waits about
    /// `30 / admit_per_minute` minutes.
    pub fn for_rate(admit_per_minute: f64) -> Self {
        CrowdConfig {
            target: 30,
            low: 25,
            arrivals_per_minute: 1.2 * admit_per_minute,
            arrival_jitter: 0.25,
            abandon: 0.05,
            seed: 0,
        }
    }

    /// Sets the seed.
    #[must_use]
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
}

/// Runs the crowd against `state` forever; dropping the future stops every synthetic user.
pub async fn run(state: Arc<GateState>, crowd: CrowdConfig) {
    let mut rng = Rng::seeded(crowd.seed);
    let mut users = JoinSet::new();
    for _ in 0..crowd.target {
        arrive(&mut users, &state, &crowd, &mut rng);
    }
    let mean_gap = 60.0 / crowd.arrivals_per_minute.max(f64::MIN_POSITIVE);
    loop {
        let factor = 1.0 + crowd.arrival_jitter * (2.0 * rng.next_f64() - 1.0);
        let gap = Duration::try_from_secs_f64(mean_gap * factor.max(0.0)).unwrap_or(Duration::MAX);
        tokio::time::sleep(gap).await;
        while users.try_join_next().is_some() {}
        let waiting = state.with_queue(|queue| queue.live());
        let arrivals = if waiting < crowd.low {
            crowd.target - waiting
        } else {
            u64::from(waiting < crowd.target)
        };
        for _ in 0..arrivals {
            arrive(&mut users, &state, &crowd, &mut rng);
        }
    }
}

/// One more synthetic user joins.
fn arrive(users: &mut JoinSet<()>, state: &Arc<GateState>, crowd: &CrowdConfig, rng: &mut Rng) {
    let seed = rng.next_u64();
    // Someone who gives up does so somewhere in the wait a newcomer behind the crowd expects.
    let expected_wait_s = 1.2 * 60.0 * crowd.target as f64 / crowd.arrivals_per_minute;
    let gives_up_after = (rng.next_f64() < crowd.abandon)
        .then(|| Duration::from_secs_f64(expected_wait_s * (0.1 + 0.8 * rng.next_f64())));
    users.spawn(user(state.clone(), seed, gives_up_after));
}

/// A synthetic user: a [`Machine`] with the widget's defaults, until admitted or it gives up.
async fn user(state: Arc<GateState>, seed: u64, gives_up_after: Option<Duration>) {
    let mut machine = Machine::new(&Config::for_gate(STATUS_PATH), seed);
    let arrived = state.now();
    let gives_up_at = gives_up_after.map(|d| arrived.saturating_add(d));
    machine.handle_start(arrived, None);
    loop {
        while let Some(action) = machine.poll_action() {
            match action {
                Action::Send { ticket, .. } => {
                    let now = state.now();
                    let answer = state.answer(now, ticket.as_deref());
                    machine.handle_reply(now, answer.into_reply());
                }
                Action::Admit { .. } | Action::FailOpen => return,
                // Only a quota page reloads itself; the demo crowd starts none. It has no
                // solver either (the demo's crowd is no flood): it is never asked to solve.
                Action::Persist(_) | Action::Render | Action::Reload | Action::Solve { .. } => {}
            }
        }
        let Some(at) = machine.poll_timeout() else {
            return;
        };
        if gives_up_at.is_some_and(|limit| at >= limit) {
            debug!(seed, "a synthetic user gave up");
            return;
        }
        tokio::time::sleep(at.saturating_duration_since(state.now())).await;
        machine.handle_timeout(state.now());
    }
}
