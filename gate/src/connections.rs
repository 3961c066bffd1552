//! Accepting connections so that slow, idle or numerous clients cannot take the gate down.
//!
//! `axum::serve` runs hyper without a timer, which silently turns hyper's header-read timeout
//! off, and it has no connection limit. This accept loop serves HTTP/1.1 with hyper directly:
//!
//! - **Header-read timeout** ([`Limits::header_timeout`]): a client must send a whole request
//!   head within this time. hyper starts the same timer when a kept-alive connection waits for
//!   its next request, so it is the idle keep-alive timeout too.
//! - **Header size cap** ([`Limits::max_header_bytes`]): a larger head is answered `431` and the
//!   connection closed, before it costs more memory than that.
//! - **Connection limit** ([`Limits::max_connections`]): past it, the oldest connection is asked
//!   to close (at once if it is idle or still sending its head, after its reply if a request is
//!   in progress), as nginx reuses its idle keep-alive connections. A flood of slow or idle
//!   connections therefore never locks a real client out: the flood's own connections are the
//!   oldest. Keep it below the process's descriptor limit (`ulimit -n`; the binary checks).
//!
//! Each request carries its peer address as `ConnectInfo<SocketAddr>`.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::sync::Notify;
use tower::ServiceExt as _;
use tracing::debug;

/// How the accept loop protects itself.
///
/// # Default
///
/// Header-read and idle timeout 10 s, heads up to 8 KiB, 4 096 connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Time a client has to send a whole request head, and time an idle kept-alive connection
    /// stays open.
    pub header_timeout: Duration,
    /// Largest request head (request line and headers), in bytes.
    pub max_header_bytes: usize,
    /// Connections served at once; a newer one closes the oldest.
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_timeout: Duration::from_secs(10),
            // hyper's read buffer cannot be smaller than 8 KiB; the head cap is the same, the
            // default of nginx's `large_client_header_buffers`. A browser's head is under 2 KiB.
            max_header_bytes: 8 * 1024,
            max_connections: 4_096,
        }
    }
}

/// Smallest read buffer hyper accepts.
const MIN_BUFFER: usize = 8 * 1024;
/// Pause after a failed `accept` (out of descriptors, say), so that the loop does not spin.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(20);

/// Serves `app` on `listener` within `limits` until the future is dropped (which closes every
/// connection) or the listener fails for good.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    limits: Limits,
) -> io::Result<()> {
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_header_size(limits.max_header_bytes)
        .max_buf_size(limits.max_header_bytes.max(MIN_BUFFER))
        .max_headers(64);
    let registry = Arc::new(Registry::default());
    // Connection tasks are aborted when this future is dropped.
    let mut tasks = tokio::task::JoinSet::new();
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) if is_per_connection(&e) => continue,
            Err(e) => {
                debug!(error = %e, "accept failed");
                tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                continue;
            }
        };
        while tasks.try_join_next().is_some() {}
        let (id, evict) = registry.admit(limits.max_connections);
        let app = app.clone();
        let busy = Arc::new(AtomicUsize::new(0));
        let in_service = busy.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            let app = app.clone();
            let busy = Busy::enter(&in_service);
            async move {
                let response = app.oneshot(request).await.unwrap_or_else(|e| match e {});
                drop(busy);
                Ok::<_, Infallible>(response)
            }
        });
        let connection = builder.serve_connection(TokioIo::new(stream), service);
        let registry = registry.clone();
        tasks.spawn(async move {
            let mut connection = std::pin::pin!(connection);
            tokio::select! {
                result = connection.as_mut() => log_end(result),
                () = evict.notified() => {
                    // A connection still sending its head, or idle between requests, is closed
                    // at once (hyper's own graceful shutdown would wait for its head); one with
                    // a request in progress finishes it first.
                    if busy.load(Ordering::Acquire) > 0 {
                        connection.as_mut().graceful_shutdown();
                        log_end(connection.await);
                    }
                }
            }
            registry.leave(id);
        });
    }
}

/// Counts a request in progress on its connection while alive.
struct Busy(Arc<AtomicUsize>);

impl Busy {
    fn enter(count: &Arc<AtomicUsize>) -> Self {
        count.fetch_add(1, Ordering::AcqRel);
        Busy(count.clone())
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

fn log_end(result: hyper::Result<()>) {
    if let Err(e) = result {
        debug!(error = %e, "connection ended");
    }
}

/// Errors of one incoming connection (it was reset before we took it), not of the listener.
fn is_per_connection(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// The open connections, oldest first, each with the bell that asks it to close.
#[derive(Default)]
struct Registry {
    inner: Mutex<RegistryInner>,
}

#[derive(Default)]
struct RegistryInner {
    next_id: u64,
    open: BTreeMap<u64, Arc<Notify>>,
}

impl Registry {
    /// Registers a new connection, asking the oldest ones to close while the registry is at
    /// `max`; returns its id and its bell.
    fn admit(&self, max: usize) -> (u64, Arc<Notify>) {
        let mut inner = self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        while inner.open.len() >= max.max(1) {
            let Some((_, oldest)) = inner.open.pop_first() else { break };
            // `notify_one` keeps the permit if the task is not waiting yet.
            oldest.notify_one();
        }
        let id = inner.next_id;
        inner.next_id += 1;
        let bell = Arc::new(Notify::new());
        inner.open.insert(id, bell.clone());
        (id, bell)
    }

    fn leave(&self, id: u64) {
        let mut inner = self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        inner.open.remove(&id);
    }
}
