//! `waitroom-load`: the load test of the real gate, from the command line.

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use waitroom_load::Options;

/// Load test of the waitroom gate: virtual users run the widget's state machine over real HTTP.
///
/// Starts the gate in this process on 127.0.0.1 (port 0) unless --gate is given, and stops by
/// itself at --max-seconds at the latest.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Status URL of a gate already running, e.g. http://127.0.0.1:8080/waitroom/status
    /// (then --admit-per-minute and --burst are the gate's own business and are ignored).
    /// Repeat it for several instances on one shared store: requests go round-robin, and one
    /// that cannot connect is retried on the next, as a load balancer does.
    #[arg(long = "gate")]
    gates: Vec<String>,
    /// Virtual users.
    #[arg(long, default_value_t = 2000)]
    users: u64,
    /// Seconds over which the users arrive, evenly spaced.
    #[arg(long, default_value_t = 20.0)]
    arrival_window: f64,
    /// Admissions per minute of the in-process gate.
    #[arg(long, default_value_t = 6000.0)]
    admit_per_minute: f64,
    /// Burst of the in-process gate [default: the gate's, a sixth of the per-minute rate].
    #[arg(long)]
    burst: Option<f64>,
    /// Hard cap on the run, in seconds: users still waiting then are reported as not admitted.
    #[arg(long, default_value_t = 120.0)]
    max_seconds: f64,
    /// Seed of the users' jitter.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Markdown)]
    format: Format,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    Markdown,
    Json,
}

fn seconds(flag: &str, value: f64) -> Result<Duration, String> {
    Duration::try_from_secs_f64(value)
        .map_err(|_| format!("--{flag}: `{value}` is not a number of seconds"))
}

fn main() -> ExitCode {
    let args = Args::parse();
    let options = match (|| {
        Ok::<_, String>(Options {
            gates: args.gates.clone(),
            users: args.users,
            arrival_window: seconds("arrival-window", args.arrival_window)?,
            admit_per_minute: args.admit_per_minute,
            burst: args.burst,
            max_duration: seconds("max-seconds", args.max_seconds)?,
            seed: args.seed,
        })
    })() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("waitroom-load: {message}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("waitroom-load: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(waitroom_load::run(&options)) {
        Ok(report) => {
            match args.format {
                Format::Markdown => print!("{}", report.to_markdown()),
                Format::Json => match serde_json::to_string_pretty(&report) {
                    Ok(json) => println!("{json}"),
                    Err(error) => {
                        eprintln!("waitroom-load: {error}");
                        return ExitCode::FAILURE;
                    }
                },
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("waitroom-load: {error}");
            ExitCode::FAILURE
        }
    }
}
