//! The snapshot in `localStorage`, one key per gate, so a reload or another tab resumes the
//! same place and the same schedule.

use crate::machine::Snapshot;

/// Prefix of every key; the version lets a later format live beside this one.
pub const KEY_PREFIX: &str = "waitroom:v1:";

/// The stored snapshot for one gate. Storage that is blocked (private mode, a policy, a full
/// quota) costs one console warning and the widget keeps working in memory.
#[derive(Debug)]
pub struct Store {
    key: String,
    warned: bool,
}

impl Store {
    /// The store for the gate at `gate_url` (absolute, so two spellings of one gate share a key).
    pub fn new(gate_url: &str) -> Self {
        Store { key: [KEY_PREFIX, gate_url].concat(), warned: false }
    }

    /// The storage key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The stored snapshot; `None` when there is none, or it is unreadable (then it is ignored:
    /// a garbled entry must not keep anyone out).
    pub fn load(&mut self) -> Option<Snapshot> {
        let storage = self.storage()?;
        match storage.get_item(&self.key) {
            Ok(value) => value.as_deref().and_then(parse),
            Err(_) => {
                self.warn_once();
                None
            }
        }
    }

    /// Stores `snapshot`; other tabs see it through their `storage` event.
    pub fn save(&mut self, snapshot: &Snapshot) {
        let Some(storage) = self.storage() else { return };
        if storage.set_item(&self.key, &snapshot.to_json()).is_err() {
            self.warn_once();
        }
    }

    fn storage(&mut self) -> Option<web_sys::Storage> {
        // `window.localStorage` itself throws when storage is blocked.
        match super::window().local_storage() {
            Ok(Some(storage)) => Some(storage),
            _ => {
                self.warn_once();
                None
            }
        }
    }

    fn warn_once(&mut self) {
        if !std::mem::replace(&mut self.warned, true) {
            super::warn("waitroom: localStorage is unavailable; the place in the queue will not survive a reload");
        }
    }
}

/// A snapshot from its JSON (as stored, or as the `storage` event's `newValue`).
pub fn parse(json: &str) -> Option<Snapshot> {
    Snapshot::from_json(json)
}
