//! `waitroom-gate`: the reference admission server, from the command line.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use tracing::{error, info, warn};
use tracing_subscriber::EnvFilter;
use waitroom_gate::admin::{AdminToken, MIN_TOKEN_LEN};
use waitroom_gate::connections::Limits;
use waitroom_gate::demo::{self, CrowdConfig};
use waitroom_gate::proof_of_work::{self, Mode, PowConfig};
use waitroom_gate::server::{self, GateConfig};
use waitroom_gate::store::StoreUrl;

/// Shortest accepted secret: HMAC-SHA256 wants a key at least as long as its output.
const MIN_SECRET_LEN: usize = 32;

/// Reference admission server for the waitroom widget: FIFO queue, admission rate, signed
/// tickets and passes.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Address to listen on; port 0 picks a free port (the actual one is printed).
    #[arg(long, env = "WAITROOM_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Admissions per minute (spread evenly, not at the top of the minute) [default: 60, or 30
    /// with --demo].
    #[arg(long, env = "WAITROOM_ADMIT_PER_MINUTE")]
    admit_per_minute: Option<f64>,
    /// Admissions that may happen at once after a quiet spell [default: 10 seconds' worth, at least 2].
    #[arg(long, env = "WAITROOM_BURST")]
    burst: Option<f64>,
    /// Seconds a ticket is kept after the time its holder was told to come back.
    #[arg(long, env = "WAITROOM_GRACE_SECONDS", default_value_t = 120)]
    grace_seconds: u64,
    /// Seconds a pass stays valid.
    #[arg(long, env = "WAITROOM_PASS_TTL_SECONDS", default_value_t = 300)]
    pass_ttl_seconds: u64,
    /// File holding the HMAC secret (at least 32 bytes); else the WAITROOM_SECRET variable; else
    /// a random secret, and neither places in the queue nor passes survive a restart.
    #[arg(long, env = "WAITROOM_SECRET_FILE")]
    secret_file: Option<PathBuf>,
    /// Origin allowed to call the gate from another site, e.g. https://ent.example (repeatable).
    #[arg(long = "cors-origin", env = "WAITROOM_CORS_ORIGINS", value_delimiter = ',')]
    cors_origins: Vec<String>,
    /// Directory of static files to serve at `/` (the widget and a demo page) [default: none, or
    /// `www` with --demo].
    #[arg(long, env = "WAITROOM_WWW")]
    www: Option<PathBuf>,
    /// Share of queued users expected not to come back (0 to 0.9, e.g. 0.05 from yesterday's
    /// logs), assumed until the gate has observed its own; helps when a crowd arrives at once.
    #[arg(long, env = "WAITROOM_EXPECTED_NO_SHOW", default_value_t = 0.0)]
    expected_no_show: f64,
    /// Close the gate: every status reply is "closed" with this message.
    #[arg(long, env = "WAITROOM_CLOSED")]
    closed: Option<String>,
    /// Most tickets waiting at once (about 50 bytes each); past it a newcomer is asked, in
    /// French, to come back in 2 minutes, and takes no place.
    #[arg(long, env = "WAITROOM_MAX_QUEUE", default_value_t = server::DEFAULT_MAX_QUEUE)]
    max_queue: u64,
    /// Most places one address (an IPv6 /64) holds at once; past it, its newcomers are asked
    /// to come back in 2 minutes. Twice a 2 000-pupil lycée behind one NAT.
    #[arg(long, env = "WAITROOM_MAX_PER_ADDRESS", default_value_t = waitroom_gate::fairness::DEFAULT_MAX_PER_ADDRESS)]
    max_per_address: u32,
    /// Behind a reverse proxy: the header in which it gives the client's address
    /// (`X-Forwarded-For`, whose last entry is read, or `X-Real-IP`). Off by default: only set
    /// it if every request comes through that proxy, or clients can claim any address.
    #[arg(long, env = "WAITROOM_CLIENT_ADDRESS_HEADER")]
    client_address_header: Option<String>,
    /// Connections served at once; a newer one closes the oldest (idle or slow first) [default:
    /// 4096, or less to stay 64 below the descriptor limit, `ulimit -n`].
    #[arg(long, env = "WAITROOM_MAX_CONNECTIONS")]
    max_connections: Option<usize>,
    /// Believe `X-Forwarded-Proto: https` from the proxy in front and mark cookies `Secure`.
    /// Only for a gate that nothing but that proxy can reach.
    #[arg(long, env = "WAITROOM_TRUST_FORWARDED_PROTO")]
    trust_forwarded_proto: bool,
    /// Demo mode: serve the ENT login page of `www/` behind the gate (with a strict CSP and
    /// `POST /demo/login`), with a synthetic crowd of about 30 users queueing ahead of you.
    #[arg(long, env = "WAITROOM_DEMO")]
    demo: bool,
    /// File holding the admin API's bearer token (at least 16 bytes; `openssl rand -hex 32`);
    /// else the WAITROOM_ADMIN_TOKEN variable; else the admin API (`/waitroom/admin/…`) is off.
    #[arg(long, env = "WAITROOM_ADMIN_TOKEN_FILE")]
    admin_token_file: Option<PathBuf>,
    /// Who the admin token belongs to, written in the log line of every change made with it.
    #[arg(long, env = "WAITROOM_ADMIN_TOKEN_LABEL", default_value = "admin")]
    admin_token_label: String,
    /// Serve the Prometheus metrics (`GET /metrics`) on this address instead of --listen, e.g.
    /// an internal 127.0.0.1:9090 [default: on --listen].
    #[arg(long, env = "WAITROOM_METRICS_LISTEN")]
    metrics_listen: Option<SocketAddr>,
    /// Ask newcomers for a proof of work (about 1 s on a low-end phone, harder as the flood
    /// grows) while join attempts exceed 10 times the admission rate and the floor: `auto`; or
    /// never: `off`.
    #[arg(long, env = "WAITROOM_PROOF_OF_WORK", value_enum, default_value_t = PowMode::Auto)]
    proof_of_work: PowMode,
    /// Join attempts a minute below which no proof of work is asked, whatever the admission
    /// rate: a flood is large.
    #[arg(long, env = "WAITROOM_PROOF_OF_WORK_FLOOR", default_value_t = proof_of_work::DEFAULT_FLOOR_PER_MINUTE)]
    proof_of_work_floor: u64,
    /// Where the queue lives: `memory` (this instance alone), or a Redis / Valkey shared by
    /// every instance behind the same load balancer, `redis://[:PASSWORD@]HOST:PORT/DB` or
    /// `rediss://…` (TLS). The password is never logged.
    #[arg(
        long,
        env = "WAITROOM_STORE",
        default_value = "memory",
        hide_env_values = true,
        hide_default_value = false
    )]
    store: String,
    /// The queue's name in a shared store: instances with the same store and room serve one
    /// queue; other rooms are other queues (1 to 64 of A-Z a-z 0-9 _ . -).
    #[arg(long, env = "WAITROOM_ROOM", default_value = "default")]
    room: String,
}

/// `--proof-of-work`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum PowMode {
    /// Only while the gate is flooded.
    Auto,
    /// Never.
    Off,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            error!("{message}");
            ExitCode::FAILURE
        }
    }
}

/// `value` if it lies in `range`, else an error naming `flag`, for the operator.
fn in_range<T: PartialOrd + std::fmt::Display>(
    flag: &str,
    value: T,
    range: std::ops::RangeInclusive<T>,
) -> Result<T, String> {
    if range.contains(&value) {
        Ok(value)
    } else {
        Err(format!(
            "--{flag}: `{value}` is out of range; it must be between {} and {}",
            range.start(),
            range.end()
        ))
    }
}

/// A day, in seconds: the longest grace or pass an operator may ask for.
const DAY_SECONDS: u64 = 86_400;
/// Descriptors kept free for the listener, files and logs under the connection limit.
const SPARE_DESCRIPTORS: u64 = 64;

fn run(args: Args) -> Result<(), String> {
    let default_rate = if args.demo { demo::ADMIT_PER_MINUTE } else { 60.0 };
    // One a day to 10 000 a second: beyond, told times and token arithmetic lose meaning.
    let admit_per_minute = in_range(
        "admit-per-minute",
        args.admit_per_minute.unwrap_or(default_rate),
        0.001..=600_000.0,
    )?;
    let burst = args.burst.map(|b| in_range("burst", b, 1.0..=1_000_000.0)).transpose()?;
    let expected_no_show = in_range("expected-no-show", args.expected_no_show, 0.0..=0.9)?;
    let grace_seconds = in_range("grace-seconds", args.grace_seconds, 1..=DAY_SECONDS)?;
    let pass_ttl_seconds = in_range("pass-ttl-seconds", args.pass_ttl_seconds, 1..=DAY_SECONDS)?;
    // The widget reads positions up to 10 million, and the restored lane sits ahead.
    let max_queue = in_range("max-queue", args.max_queue, 1..=9_000_000)?;
    let max_per_address = in_range("max-per-address", args.max_per_address, 1..=9_000_000)?;
    let proof_of_work = PowConfig {
        mode: match args.proof_of_work {
            PowMode::Auto => Mode::Auto,
            PowMode::Off => Mode::Off,
        },
        floor_per_minute: in_range(
            "proof-of-work-floor",
            args.proof_of_work_floor,
            1..=100_000_000,
        )?,
    };
    let client_address_header = args
        .client_address_header
        .map(|name| {
            axum::http::HeaderName::try_from(name.as_str())
                .map(|name| name.as_str().to_string())
                .map_err(|_| format!("--client-address-header: `{name}` is not a header name"))
        })
        .transpose()?;
    let mut limits = Limits::default();
    let descriptors = descriptor_limit();
    let usable = descriptors.map(|n| n.saturating_sub(SPARE_DESCRIPTORS).max(1));
    limits.max_connections = match args.max_connections {
        Some(n) => {
            let n = in_range("max-connections", n, 1..=1_000_000)?;
            if let Some(usable) = usable.filter(|&usable| n as u64 > usable) {
                warn!(
                    max_connections = n,
                    descriptors = descriptors.unwrap_or(0),
                    "--max-connections is above the descriptor limit (ulimit -n) less {SPARE_DESCRIPTORS}; using {usable}"
                );
                usable as usize
            } else {
                n
            }
        }
        None => usable
            .map_or(limits.max_connections, |usable| limits.max_connections.min(usable as usize)),
    };
    let mut admin_tokens: Vec<AdminToken> =
        load_admin_token(args.admin_token_file.as_ref(), &args.admin_token_label)?
            .into_iter()
            .collect();
    // The demo shows the operator's side too: a token drawn for this run, printed below.
    let demo_token = (args.demo && admin_tokens.is_empty()).then(|| {
        let mut bytes = [0u8; 16];
        let _ = getrandom::getrandom(&mut bytes);
        let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        admin_tokens.extend(AdminToken::new("demo", token.as_bytes()));
        token
    });
    let store = StoreUrl::parse(&args.store).map_err(|e| format!("--store: {e}"))?;
    if !waitroom_gate::store::valid_room(&args.room) {
        return Err(format!(
            "--room: `{}` is not a room name: 1 to 64 of A-Z a-z 0-9 _ . -",
            args.room
        ));
    }
    if args.demo && store != StoreUrl::Memory {
        return Err("--demo runs its own crowd in memory: leave --store at memory".to_string());
    }
    let config = GateConfig {
        store,
        room: args.room,
        admit_per_minute,
        expected_no_show,
        burst,
        grace: Duration::from_secs(grace_seconds),
        pass_ttl: Duration::from_secs(pass_ttl_seconds),
        secret: load_secret(args.secret_file.as_ref())?,
        closed: args.closed,
        cors_origins: args.cors_origins,
        www: args.www.or_else(|| args.demo.then(demo::default_www)),
        limits,
        max_queue,
        max_per_address,
        client_address_header,
        trust_forwarded_proto: args.trust_forwarded_proto,
        admin_tokens,
        proof_of_work,
        ..GateConfig::new(Vec::new())
    };
    let crowd = args.demo.then(|| CrowdConfig::for_rate(admit_per_minute).with_seed(random_seed()));
    let runtime =
        tokio::runtime::Runtime::new().map_err(|e| format!("cannot start the runtime: {e}"))?;
    runtime.block_on(async {
        let listener =
            listen(args.listen).map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        // On stdout, flushed, for scripts and tests that start the gate on port 0.
        println!("listening on http://{addr}");
        let metrics = match args.metrics_listen {
            Some(_) if crowd.is_some() => {
                return Err("--metrics-listen is not available with --demo (its metrics are on --listen)".to_string())
            }
            Some(at) => {
                let listener =
                    listen(at).map_err(|e| format!("--metrics-listen {at}: cannot listen: {e}"))?;
                let addr = listener.local_addr().map_err(|e| e.to_string())?;
                println!("metrics on http://{addr}/metrics");
                Some(listener)
            }
            None => None,
        };
        if crowd.is_some() {
            println!("demo: open http://{addr}/ in a browser: an ENT login page, about 30 people queueing ahead of you, your turn in about a minute (Ctrl-C to stop)");
            if let Some(token) = &demo_token {
                println!("demo: the operator's console is http://{addr}/waitroom/ops (token {token}): watch the queue, change the rate, close and reopen");
            }
        }
        let _ = std::io::stdout().flush();
        info!(store = config.store.redacted(), room = config.room.as_str(), "queue store");
        info!(%addr, admit_per_minute = config.admit_per_minute, max_connections = config.limits.max_connections, closed = config.closed.is_some(), demo = crowd.is_some(), "gate started");
        let served = async {
            match crowd {
                Some(crowd) => demo::serve(listener, config, crowd).await,
                None => server::serve_with_metrics(listener, metrics, config).await,
            }
        };
        tokio::select! {
            served = served => served.map_err(|e| format!("server error: {e}")),
            _ = tokio::signal::ctrl_c() => {
                info!("shutting down");
                Ok(())
            }
        }
    })
}

/// Connections the kernel may hold for the gate before it accepts them (capped by
/// `net.core.somaxconn`). Above tokio's 1 024: when a flood of connections keeps the gate at
/// its connection limit, the attackers waiting to be accepted must not fill the queue, or the
/// kernel drops a real client's SYN and it waits a second to try again.
const LISTEN_BACKLOG: u32 = 4_096;

fn listen(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = match addr {
        SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
        SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// The process's soft limit on open descriptors (`ulimit -n`), if it has one.
fn descriptor_limit() -> Option<u64> {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit only writes the struct it is given.
    let ok = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0;
    // `rlim_t` is not `u64` on every platform.
    #[allow(clippy::unnecessary_cast)]
    (ok && limit.rlim_cur != libc::RLIM_INFINITY).then_some(limit.rlim_cur as u64)
}

/// The secret as given, without the white space around it: editors add a final newline to a
/// file, shells and env files a space or a newline to a variable, and neither is part of the
/// secret. Both sources go through this, so the same secret gives the same key either way.
fn trim_secret(mut bytes: Vec<u8>) -> Vec<u8> {
    while bytes.last().is_some_and(|b| b.is_ascii_whitespace()) {
        bytes.pop();
    }
    let leading = bytes.iter().take_while(|b| b.is_ascii_whitespace()).count();
    bytes.drain(..leading);
    bytes
}

fn load_secret(file: Option<&PathBuf>) -> Result<Vec<u8>, String> {
    let (secret, source) = if let Some(path) = file {
        let bytes =
            std::fs::read(path).map_err(|e| format!("--secret-file {}: {e}", path.display()))?;
        (trim_secret(bytes), format!("--secret-file {}", path.display()))
    } else if let Some(value) = std::env::var_os("WAITROOM_SECRET") {
        (trim_secret(value.into_encoded_bytes()), "WAITROOM_SECRET".to_string())
    } else {
        let mut bytes = vec![0u8; 32];
        getrandom::getrandom(&mut bytes)
            .map_err(|e| format!("cannot draw a random secret: {e}"))?;
        // The operator's first line to read: what a restart will cost the pupils.
        warn!("no --secret-file nor WAITROOM_SECRET: using a random secret; places in the queue and passes will not survive a restart");
        return Ok(bytes);
    };
    if secret.len() < MIN_SECRET_LEN {
        return Err(format!(
            "{source}: the secret has {} bytes; it needs at least {MIN_SECRET_LEN}",
            secret.len()
        ));
    }
    Ok(secret)
}

/// The admin token from `file`, else WAITROOM_ADMIN_TOKEN, trimmed like the secret; `None`
/// (the admin API off) without either.
fn load_admin_token(file: Option<&PathBuf>, label: &str) -> Result<Option<AdminToken>, String> {
    let (token, source) = if let Some(path) = file {
        let bytes = std::fs::read(path)
            .map_err(|e| format!("--admin-token-file {}: {e}", path.display()))?;
        (trim_secret(bytes), format!("--admin-token-file {}", path.display()))
    } else if let Some(value) = std::env::var_os("WAITROOM_ADMIN_TOKEN") {
        (trim_secret(value.into_encoded_bytes()), "WAITROOM_ADMIN_TOKEN".to_string())
    } else {
        return Ok(None);
    };
    if std::str::from_utf8(&token).map_or(true, |t| t.chars().any(char::is_whitespace)) {
        return Err(format!("{source}: the admin token must be one word of text"));
    }
    match AdminToken::new(label, &token) {
        Some(token) => {
            info!(label, "admin API on (/waitroom/admin/…)");
            Ok(Some(token))
        }
        None => Err(format!(
            "{source}: the admin token has {} bytes; it needs at least {MIN_TOKEN_LEN}",
            token.len()
        )),
    }
}

/// A seed for the demo crowd: a different crowd each run.
fn random_seed() -> u64 {
    let mut bytes = [0u8; 8];
    // Without OS randomness, a fixed crowd is just as good a demo.
    let _ = getrandom::getrandom(&mut bytes);
    u64::from_le_bytes(bytes)
}
