//! waitroom: a waiting-room widget for school portals.
//!
//! The crate root is the *core*: sans-IO logic with no browser API, no clock and no global
//! randomness. Time ([`time::Timestamp`]) and randomness ([`rng::Rng`] seeds) are passed in, so the
//! browser driver (`web`, wasm32 only), the simulator and the tests all drive the very same
//! [`machine::Machine`].
#![deny(missing_docs, missing_debug_implementations)]

pub mod announce;
pub mod backoff;
pub mod config;
pub mod election;
pub mod eta;
pub mod json;
pub mod machine;
pub mod messages;
pub mod redirect;
pub mod reply;
pub mod retry_after;
pub mod rng;
pub mod text;
pub mod time;
pub mod wire;

#[cfg(target_arch = "wasm32")]
pub mod web;

#[cfg(any(test, target_arch = "wasm32"))]
mod size_classes;

/// The widget's allocator ([`size_classes`]): a few hundred bytes instead of dlmalloc's eight
/// thousand, in a download every pupil makes. Single-threaded only, hence the `atomics` guard.
#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: size_classes::SizeClasses<size_classes::WasmPages> =
    size_classes::SizeClasses::new(size_classes::WasmPages);
