//! waitroom-load: the load test of the real gate, over HTTP on loopback.
//!
//! Thousands of virtual users arrive over a window; each one runs the core
//! [`Machine`](waitroom::machine::Machine), the same state machine the browser runs, against
//! the real gate's HTTP endpoint ([`user`]). The run reports what the gate had to serve
//! ([`report`]): requests per admitted user, the request rate against the arrival rate, and the
//! latency users saw. The simulator measures the same machine in virtual time; this crate checks
//! that real sockets, real timers and the real server agree.
//!
//! ```no_run
//! # async fn example() -> std::io::Result<()> {
//! let report = waitroom_load::run(&waitroom_load::Options::default()).await?;
//! println!("{}", report.to_markdown());
//! # Ok(())
//! # }
//! ```
#![deny(missing_docs, missing_debug_implementations)]

pub mod clock;
pub mod report;
pub mod user;

use std::io;
use std::sync::Arc;
use std::time::Duration;

use reqwest::Client;
use waitroom::config::{Config, Protocol};
use waitroom::wire::STATUS_PATH;
use waitroom_gate::proof_of_work::{Mode, PowConfig};
use waitroom_gate::server::{self, GateConfig};

use crate::clock::Clock;
use crate::report::{Report, Setup};
use crate::user::{run_user, Target};

/// What to run.
///
/// # Default
///
/// 2000 users arriving evenly over 20 s, an in-process gate admitting 6000 per minute with the
/// gate's default burst, a 120 s cap, seed 1.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// The status URLs of gates already running (several instances of one gate on a shared
    /// store: each request goes to the next, round-robin, like a load balancer); empty starts
    /// one gate in this process.
    pub gates: Vec<String>,
    /// Virtual users.
    pub users: u64,
    /// The users arrive evenly spaced over this window.
    pub arrival_window: Duration,
    /// Admission rate of the in-process gate, per minute.
    pub admit_per_minute: f64,
    /// Burst of the in-process gate; `None` for the gate's default (a sixth of the rate).
    pub burst: Option<f64>,
    /// The run stops here, whoever is still waiting.
    pub max_duration: Duration,
    /// Seeds the users' jitter: user `i` gets `seed + i`.
    pub seed: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            gates: Vec::new(),
            users: 2000,
            arrival_window: Duration::from_secs(20),
            admit_per_minute: 6000.0,
            burst: None,
            max_duration: Duration::from_secs(120),
            seed: 1,
        }
    }
}

/// Runs the load test and returns its figures.
///
/// Starts the gate on `127.0.0.1:0` unless [`Options::gates`] are given, and stops it on
/// return.
/// Must run inside a tokio runtime with the time and I/O drivers enabled.
///
/// # Errors
///
/// When the rate or burst is out of range, the in-process gate cannot listen, or the HTTP
/// client cannot be built.
pub async fn run(options: &Options) -> io::Result<Report> {
    // The gate panics on these (see `Queue::new`); say why instead.
    if !(options.admit_per_minute.is_finite() && options.admit_per_minute > 0.0) {
        return Err(invalid(format!(
            "admit-per-minute: `{}` is not a positive number",
            options.admit_per_minute
        )));
    }
    if let Some(burst) = options.burst.filter(|b| !(b.is_finite() && *b >= 1.0)) {
        return Err(invalid(format!("burst: `{burst}` is below 1")));
    }
    let clock = Clock::start();
    let in_process = options.gates.is_empty();
    let (status_urls, gate_task) = if in_process {
        let (url, task) = start_gate(options, clock).await?;
        (vec![url], Some(task))
    } else {
        (options.gates.clone(), None)
    };
    let status_url = status_urls[0].clone();
    let client = Client::builder()
        // Loopback only: an HTTP(S)_PROXY in the environment must not reroute the test.
        .no_proxy()
        // Like the widget (`redirect: "manual"`): a redirect is classified, never followed.
        .redirect(reqwest::redirect::Policy::none())
        // Every idle connection is kept: a user coming back reuses one, as a browser would.
        .pool_max_idle_per_host(usize::MAX)
        .build()
        .map_err(io::Error::other)?;
    let target = Arc::new(Target {
        client,
        status_urls: status_urls.clone(),
        next: std::sync::atomic::AtomicUsize::new(0),
        // Auto, like the widget's default: the gate's JSON is read, anything else is plain HTTP.
        config: Config { protocol: Protocol::Auto, ..Config::for_gate(&status_url) },
    });

    let deadline = clock.instant_after(options.max_duration);
    let users: Vec<_> = (0..options.users)
        .map(|i| {
            let arrival = options.arrival_window.mul_f64(i as f64 / options.users.max(1) as f64);
            let target = Arc::clone(&target);
            let seed = options.seed.wrapping_add(i);
            tokio::spawn(async move { run_user(&target, clock, seed, arrival, deadline).await })
        })
        .collect();
    let mut outcomes = Vec::with_capacity(users.len());
    for user in users {
        outcomes.push(user.await.map_err(io::Error::other)?);
    }
    let wall = clock.elapsed();
    if let Some(task) = gate_task {
        task.abort();
    }

    let setup = Setup {
        gate: status_urls.join(" "),
        in_process,
        users: options.users,
        arrival_window_s: options.arrival_window.as_secs_f64(),
        admit_per_minute: in_process.then_some(options.admit_per_minute),
        burst: options.burst.filter(|_| in_process),
        max_seconds: options.max_duration.as_secs_f64(),
    };
    Ok(Report::new(setup, &outcomes, wall))
}

/// Starts the gate in this runtime, on the users' clock, and returns its status URL.
async fn start_gate(
    options: &Options,
    clock: Clock,
) -> io::Result<(String, tokio::task::JoinHandle<io::Result<()>>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let config = GateConfig {
        admit_per_minute: options.admit_per_minute,
        burst: options.burst,
        clock: Arc::new(move || clock.now()),
        // Its virtual users do not solve challenges: they meet the queue alone.
        proof_of_work: PowConfig { mode: Mode::Off, ..PowConfig::default() },
        // Passes and tickets live only as long as this run: a fixed key is enough.
        ..GateConfig::new(vec![0x5a; 32])
    };
    let task = tokio::spawn(server::serve(listener, config));
    Ok((format!("http://{addr}{STATUS_PATH}"), task))
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}
