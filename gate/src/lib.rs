//! waitroom-gate: the reference admission server for the waitroom widget.
//!
//! - [`queue`]: the admission logic, pure and fast, shared with the simulator;
//! - [`admin`]: the operators' API (`/waitroom/admin/…`): state, rate, close and open;
//! - [`browser`]: the `waitroom_id` cookie every ticket and pass is bound to;
//! - [`token`]: signed tickets and passes, and [`verify_pass`] / [`PassVerifier`] for an
//!   ENT's login handler;
//! - [`server`]: the HTTP gate (axum), started in-process by the tests and by the binary;
//! - [`connections`]: the accept loop, with timeouts and caps against slow and idle clients;
//! - [`metrics`]: Prometheus metrics at `GET /metrics`;
//! - [`fairness`]: places held per address, capped so that one address cannot flood the queue;
//! - [`proof_of_work`]: adaptive proof of work, asked of newcomers only during a flood;
//! - [`spent`]: single use, the one piece of state a challenge needs ([`spent::SpendOnce`]);
//! - [`store`]: where the queue lives: memory, or Redis / Valkey shared by several instances;
//! - [`static_files`]: what `--www` may serve (no dotfile, no symlink out of it);
//! - [`demo`]: `--demo`, the ENT login page behind the gate with a synthetic crowd.
#![deny(missing_docs, missing_debug_implementations)]

pub mod admin;
pub mod browser;
pub mod connections;
pub mod demo;
pub mod fairness;
mod fenwick;
pub mod metrics;
pub mod proof_of_work;
pub mod queue;
pub mod server;
pub mod spent;
pub mod static_files;
pub mod store;
pub mod token;

pub use token::{verify_pass, PassVerifier};
