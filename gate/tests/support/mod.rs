//! What the in-process gate tests share: a gate on a free loopback port, its clock moved by
//! hand, stopped when dropped. Each test file brings its own clients (a browser with cookies, a
//! script without), since what a client keeps is what those tests are about.

// Each test file is its own crate and uses only part of this.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use waitroom::time::Timestamp;
use waitroom_gate::server::{serve, GateConfig};

pub const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";
pub const T0: u64 = 1_700_000_000_000;

/// A gate serving in-process on 127.0.0.1.
pub struct TestGate {
    pub addr: SocketAddr,
    /// `http://127.0.0.1:port`.
    pub url: String,
    /// The gate's clock, in ms since the epoch.
    pub clock: Arc<AtomicU64>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl TestGate {
    /// A gate admitting 2 a minute with a bucket of 1 (the second visitor is the first to
    /// queue), its clock at [`T0`], then changed by `configure`.
    pub async fn start(configure: impl FnOnce(&mut GateConfig)) -> TestGate {
        TestGate::start_at(T0, configure).await
    }

    /// The same, its clock at `t0` ms since the epoch.
    pub async fn start_at(t0: u64, configure: impl FnOnce(&mut GateConfig)) -> TestGate {
        let clock = Arc::new(AtomicU64::new(t0));
        let hand = clock.clone();
        let mut config = GateConfig::new(SECRET.to_vec());
        config.admit_per_minute = 2.0;
        config.burst = Some(1.0);
        config.clock = Arc::new(move || Timestamp::from_millis(hand.load(Ordering::SeqCst)));
        configure(&mut config);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(serve(listener, config));
        TestGate { addr, url: format!("http://{addr}"), clock, server }
    }

    /// What the clock reads.
    pub fn now(&self) -> u64 {
        self.clock.load(Ordering::SeqCst)
    }

    /// Sets the clock.
    pub fn set_clock(&self, ms: u64) {
        self.clock.store(ms, Ordering::SeqCst);
    }

    /// Moves the clock forward.
    pub fn advance_ms(&self, ms: u64) {
        self.clock.fetch_add(ms, Ordering::SeqCst);
    }

    /// Stops serving, as a killed process would; what it knew is lost.
    pub async fn stop(mut self) {
        self.server.abort();
        let _ = (&mut self.server).await;
    }
}

impl Drop for TestGate {
    fn drop(&mut self) {
        self.server.abort();
    }
}
