//! `waitroom-gate --demo`: the ENT login page of `www/` behind the gate, with a synthetic crowd
//! ahead of the visitor, so that a person opening the page sees the whole story: the quota
//! message, a place going down, the expected wait, the admission, then a login that only
//! succeeds with a valid pass.
//!
//! - The static files are served with a strict Content-Security-Policy ([`CSP`]), the one the
//!   widget promises to run under.
//! - `POST /demo/login` stands for the ENT's login handler: it checks the pass with
//!   [`crate::verify_pass`], as a real ENT would (see [`login`]).
//! - The [`crowd`] drives the core's own state machine, in-process, against the same
//!   [`GateState`]: its users get exactly the replies a browser would.

pub mod crowd;
pub mod login;

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::header::{CONTENT_SECURITY_POLICY, X_CONTENT_TYPE_OPTIONS};
use axum::http::HeaderValue;
use axum::middleware;
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use tower_http::services::ServeDir;

use crate::server::{self, GateConfig, GateState};
pub use crowd::CrowdConfig;

/// The demo's admission rate: a visitor behind a crowd of 30 waits about a minute. (The other
/// defaults are the gate's own: `127.0.0.1:8080`, a grace of 120 s.)
pub const ADMIT_PER_MINUTE: f64 = 30.0;
/// The policy the demo pages are served with: no inline script or style, wasm allowed.
/// `img-src data:` only lets the page's empty `data:,` icon through (it spares a request for
/// `/favicon.ico`; Chromium applies `default-src` to icons and would log a violation).
pub const CSP: &str = "default-src 'self'; img-src 'self' data:; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'";
/// Path of the demo's login handler.
pub const LOGIN_PATH: &str = "/demo/login";
/// Largest accepted login form.
const MAX_LOGIN_BODY: usize = 4096;

/// The demo's static files: `www` in the current directory (where `make demo` runs), else the
/// workspace's own `www/`, found from where this crate was built.
pub fn default_www() -> PathBuf {
    let here = Path::new("www");
    if here.join("index.html").is_file() {
        return here.to_path_buf();
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../www")
}

/// The demo gate: the `/waitroom` API, `POST /demo/login`, and the static files of the
/// configured `www` (else [`default_www`]), every reply with [`CSP`].
pub fn app(state: Arc<GateState>) -> Router {
    let www = state.config().www.clone().unwrap_or_else(default_www);
    let app = Router::new()
        .route(LOGIN_PATH, post(login::login).layer(DefaultBodyLimit::max(MAX_LOGIN_BODY)))
        .with_state(state.clone())
        .merge(server::router(state.clone()))
        .fallback_service(server::static_files(&www, ServeDir::new(&www)));
    server::protect(app, state.config()).layer(middleware::map_response(security_headers))
}

/// Serves the demo on `listener`, with `crowd` queueing ahead of the visitors, until the future
/// is dropped (which stops the crowd too) or the listener fails.
pub async fn serve(
    listener: tokio::net::TcpListener,
    config: GateConfig,
    crowd: CrowdConfig,
) -> io::Result<()> {
    let limits = config.limits;
    let state = GateState::new(config);
    tokio::select! {
        served = crate::connections::serve(listener, app(state.clone()), limits) => served,
        () = state.clone().tidy_up() => Ok(()),
        () = crowd::run(state, crowd) => Ok(()),
    }
}

async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}
