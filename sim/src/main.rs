//! `waitroom-sim`: the numbers that prove the portal is protected.
//!
//! ```text
//! cargo run --release -p waitroom-sim -- --users 100000 --chart stampede.svg
//! ```

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, ValueEnum};

use waitroom_sim::chart::{self, Series};
use waitroom_sim::report::Report;
use waitroom_sim::scenario::{Arrival, Scenario};
use waitroom_sim::strategy::Strategy;

/// Simulates a crowd stampeding a full school portal, for each way of waiting, in virtual time.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Number of users.
    #[arg(long, default_value_t = 100_000)]
    users: u32,
    /// Users arrive within this many seconds.
    #[arg(long, default_value_t = 120.0)]
    arrival_window: f64,
    /// How arrivals spread: uniform, or burst (60 % in the first 5 s, the rest uniform).
    #[arg(long, value_enum, default_value_t = Arrival::Uniform)]
    arrival: Arrival,
    /// Admissions per minute the portal can take.
    #[arg(long, default_value_t = 2_000.0)]
    admit_per_minute: f64,
    /// Token bucket capacity, in admissions [default: the gate's, 10 s of admissions].
    #[arg(long)]
    burst: Option<f64>,
    /// The no-show rate the gate assumes before it has observed any (its --expected-no-show).
    #[arg(long, default_value_t = 0.0)]
    expected_no_show: f64,
    /// Probability that a user gives up before its turn (at a uniformly random time between its
    /// arrival and its ideal FIFO admission).
    #[arg(long, default_value_t = 0.05)]
    abandon: f64,
    /// Median round-trip time in ms (log-normal, 99th percentile five times the median).
    #[arg(long, default_value_t = 80.0)]
    latency_ms: f64,
    /// Seed of everything random.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Strategies to run, comma-separated [default: all].
    #[arg(long, value_delimiter = ',')]
    strategies: Vec<Strategy>,
    /// Stop a strategy's run after this many virtual seconds.
    #[arg(long, default_value_t = 6.0 * 3600.0)]
    time_limit: f64,
    /// Threads to run strategies on.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Run the matrix of mornings instead (100 000 and 1 000 000 pupils, uniform and burst
    /// arrivals, 0 to 30 % giving up) and print one table: the first of --strategies
    /// [default: waitroom-native] over --seeds seeds, the others (default: waitroom-http and
    /// refresh-20s, on the 100 000-pupil mornings) with seed 1, as references.
    #[arg(long)]
    sweep: bool,
    /// Seeds per morning for the first strategy of a sweep.
    #[arg(long, default_value_t = 3)]
    seeds: u64,
    /// Run the sweep on the 100 000-pupil mornings only.
    #[arg(long)]
    small: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Markdown)]
    format: Format,
    /// Write an SVG chart of requests per second over time to this file.
    #[arg(long)]
    chart: Option<PathBuf>,
    /// Write a CSV trace, one row per strategy and second (requests, admissions, the queue's
    /// no-show estimate, live tickets, re-told holders), to this file.
    #[arg(long)]
    trace: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Markdown,
    Json,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if let Err(message) = check(&args) {
        eprintln!("error: {message}");
        return ExitCode::from(2);
    }
    let scenario = Scenario {
        users: args.users,
        arrival_window_s: args.arrival_window,
        arrival: args.arrival,
        admit_per_minute: args.admit_per_minute,
        burst: args.burst,
        expected_no_show: args.expected_no_show,
        abandon: args.abandon,
        latency_ms: args.latency_ms,
        seed: args.seed,
        time_limit_s: args.time_limit,
    };
    if args.sweep {
        return sweep(&args);
    }
    let strategies =
        if args.strategies.is_empty() { Strategy::ALL.to_vec() } else { args.strategies.clone() };

    let started = Instant::now();
    let runs = waitroom_sim::run_all(&scenario, &strategies, args.threads);
    let elapsed_s = started.elapsed().as_secs_f64();

    let metrics: Vec<_> = runs.iter().map(|r| r.metrics.clone()).collect();
    let report = Report { scenario: &scenario, strategies: &metrics, elapsed_s };
    match args.format {
        Format::Markdown => print!("{}", report.to_markdown()),
        Format::Json => println!("{}", report.to_json()),
    }
    if let Some(path) = &args.chart {
        let series: Vec<Series<'_>> = runs
            .iter()
            .map(|r| Series { name: r.metrics.name, per_second: &r.requests_per_second })
            .collect();
        let title = format!(
            "{} users, {} admissions/min: requests per second",
            scenario.users, scenario.admit_per_minute
        );
        if let Err(e) = std::fs::write(path, chart::svg(&title, &series)) {
            eprintln!("error: cannot write the chart to {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    }
    if let Some(path) = &args.trace {
        if let Err(e) = std::fs::write(path, trace_csv(&runs)) {
            eprintln!("error: cannot write the trace to {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}

/// `--sweep`: the native rows over every morning, the reference rows on the 100 000-pupil ones
/// (a 20-s refresher sends some 80 requests per pupil: 80 million a run at a million pupils).
fn sweep(args: &Args) -> ExitCode {
    use waitroom_sim::sweep;
    let started = Instant::now();
    let mornings: Vec<sweep::Morning> =
        sweep::mornings().into_iter().filter(|m| !args.small || m.users <= 100_000).collect();
    let mut rows = Vec::new();
    if args.strategies.is_empty() {
        let (small, large): (Vec<_>, Vec<_>) = mornings.iter().partition(|m| m.users <= 100_000);
        let references = [Strategy::WaitroomNative, Strategy::WaitroomHttp, Strategy::Refresh20s];
        rows.extend(sweep::run(&small, &references, args.seeds, args.threads));
        rows.extend(sweep::run(&large, &[Strategy::WaitroomNative], args.seeds, args.threads));
    } else {
        rows.extend(sweep::run(&mornings, &args.strategies, args.seeds, args.threads));
    }
    print!("{}", sweep::to_markdown(&rows));
    println!(
        "\n{} mornings, {} seeds for {}, in {:.0} s",
        mornings.len(),
        args.seeds,
        rows.first().map_or("nothing", |r| r.strategy.name()),
        started.elapsed().as_secs_f64()
    );
    ExitCode::SUCCESS
}

fn trace_csv(runs: &[waitroom_sim::StrategyRun]) -> String {
    use std::fmt::Write as _;
    let mut out =
        String::from("strategy,second,requests,admissions,no_show_estimate,live,retold\n");
    for run in runs {
        let len =
            run.requests_per_second.len().max(run.admissions_per_second.len()).max(run.live.len());
        for k in 0..len {
            let _ = writeln!(
                out,
                "{},{k},{},{},{},{},{}",
                run.metrics.name,
                run.requests_per_second.get(k).copied().unwrap_or(0),
                run.admissions_per_second.get(k).copied().unwrap_or(0),
                run.no_show_estimate.get(k).copied().unwrap_or(f32::NAN),
                run.live.get(k).copied().unwrap_or(0),
                run.retold_per_second.get(k).copied().unwrap_or(0),
            );
        }
    }
    out
}

/// Rejects scenarios the model cannot run, with a sentence a person can act on.
fn check(args: &Args) -> Result<(), String> {
    if args.users == 0 {
        return Err("--users must be at least 1".into());
    }
    if !(args.arrival_window.is_finite() && args.arrival_window > 0.0) {
        return Err(format!(
            "--arrival-window {} is not a positive number of seconds",
            args.arrival_window
        ));
    }
    if !(args.admit_per_minute.is_finite() && args.admit_per_minute > 0.0) {
        return Err(format!("--admit-per-minute {} is not a positive rate", args.admit_per_minute));
    }
    if args.burst.is_some_and(|b| !(b.is_finite() && b >= 1.0)) {
        return Err("--burst must be at least 1 admission".into());
    }
    if !(0.0..=0.9).contains(&args.expected_no_show) {
        return Err(format!(
            "--expected-no-show {} is not between 0 and 0.9",
            args.expected_no_show
        ));
    }
    if !(0.0..=1.0).contains(&args.abandon) {
        return Err(format!("--abandon {} is not a probability in [0, 1]", args.abandon));
    }
    if !(args.latency_ms.is_finite() && (1.0..=700.0).contains(&args.latency_ms)) {
        return Err(format!(
            "--latency-ms {} is outside 1..=700: beyond that, round trips reach the widget's 10 s \
             fetch timeout, which the model does not simulate",
            args.latency_ms
        ));
    }
    if !(args.time_limit.is_finite() && args.time_limit > 0.0) {
        return Err(format!(
            "--time-limit {} is not a positive number of seconds",
            args.time_limit
        ));
    }
    Ok(())
}
