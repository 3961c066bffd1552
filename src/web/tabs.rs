//! One poller per browser: the tab holding the Web Lock named after the gate polls, the others
//! follow its snapshots through the `storage` event. Without Web Locks, a heartbeat election over
//! a `BroadcastChannel` ([`crate::election`]) picks the poller.

use std::cell::RefCell;
use std::rc::Rc;

use gloo_timers::callback::Interval;
use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{BroadcastChannel, MessageEvent};

use super::listener::EventListener;
use crate::election::{Election, HEARTBEAT};
use crate::time::duration_millis;

/// Told `true` when this tab becomes the poller, `false` when it stops being it.
pub type OnRole = Rc<dyn Fn(bool)>;

/// How this tab takes part in choosing the poller. Dropping it gives the role up.
#[derive(Debug)]
pub enum Tabs {
    /// Holding, or waiting for, the Web Lock.
    Locks {
        /// Where the lock request stands, shared with the callback that the grant calls.
        lock: Rc<RefCell<Lock>>,
    },
    /// The heartbeat election.
    Channel {
        /// The channel, closed on drop.
        channel: BroadcastChannel,
        /// Heartbeats from other tabs.
        _listener: EventListener,
        /// This tab's election tick.
        _tick: Interval,
    },
    /// Neither API exists: this tab polls on its own.
    Alone,
}

impl Tabs {
    /// Joins the election for `name` (the storage key, so one poller per gate).
    /// [`Tabs::Alone`] means this tab polls at once; otherwise `on_role` says when.
    pub fn join(name: &str, on_role: OnRole) -> Tabs {
        locks(name, on_role.clone()).or_else(|| channel(name, on_role)).unwrap_or(Tabs::Alone)
    }
}

/// A Web Lock request's state.
#[derive(Debug)]
pub enum Lock {
    /// Requested, not granted yet.
    Waiting,
    /// Granted: calling the function resolves the promise that holds it.
    Held(Function),
    /// The widget let go before the grant: a late grant must be handed straight back, or the
    /// lock would stay held for the tab's life and every later tab would wait for it forever.
    Dropped,
}

impl Drop for Tabs {
    fn drop(&mut self) {
        match self {
            Tabs::Locks { lock } => {
                if let Lock::Held(resolve) = lock.replace(Lock::Dropped) {
                    let _ = resolve.call0(&JsValue::NULL);
                }
            }
            Tabs::Channel { channel, .. } => channel.close(),
            Tabs::Alone => {}
        }
    }
}

/// `navigator.locks.request(name, lock => new Promise(held until released))`, through `Reflect`
/// because web-sys only exposes LockManager behind an unstable cfg.
fn locks(name: &str, on_role: OnRole) -> Option<Tabs> {
    let navigator = super::window().navigator();
    let locks = Reflect::get(&navigator, &"locks".into()).ok().filter(JsValue::is_object)?;
    let request: Function = Reflect::get(&locks, &"request".into()).ok()?.dyn_into().ok()?;

    let lock = Rc::new(RefCell::new(Lock::Waiting));
    let granted = {
        let (lock, on_role) = (lock.clone(), on_role.clone());
        Closure::once_into_js(move |_lock: JsValue| {
            if matches!(*lock.borrow(), Lock::Dropped) {
                return Promise::resolve(&JsValue::UNDEFINED);
            }
            on_role(true);
            // The lock is held until this promise settles: for the tab's life, or until dropped.
            Promise::new(&mut |resolve, _reject| *lock.borrow_mut() = Lock::Held(resolve))
        })
    };
    let refused = Closure::once(move |_error: JsValue| {
        // A sandboxed frame may refuse locks: better one extra poller than none.
        on_role(true);
    });
    let pending: Promise = request.call2(&locks, &name.into(), &granted).ok()?.dyn_into().ok()?;
    let _ = pending.catch(&refused);
    refused.forget(); // called at most once, when the lock is refused; a few bytes otherwise
    Some(Tabs::Locks { lock })
}

fn channel(name: &str, on_role: OnRole) -> Option<Tabs> {
    let channel = BroadcastChannel::new(name).ok()?;
    let now = super::now();
    let election = Rc::new(RefCell::new(Election::new(now, super::random_u32())));

    let listener = {
        let (election, on_role) = (election.clone(), on_role.clone());
        EventListener::new(&channel, "message", move |event| {
            let Some(from) = event.dyn_ref::<MessageEvent>().and_then(|m| m.data().as_f64()) else {
                return;
            };
            let mut e = election.borrow_mut();
            let was = e.is_leader();
            e.handle_heartbeat(super::now(), from as u32);
            let is = e.is_leader();
            drop(e);
            if was != is {
                on_role(is);
            }
        })
    };
    let tick = {
        let (election, channel) = (election.clone(), channel.clone());
        let ms = duration_millis(HEARTBEAT) as u32;
        Interval::new(ms, move || {
            let mut e = election.borrow_mut();
            let was = e.is_leader();
            let is = e.handle_tick(super::now());
            let id = e.id();
            drop(e);
            if is {
                let _ = channel.post_message(&JsValue::from(id));
            }
            if was != is {
                on_role(is);
            }
        })
    };
    Some(Tabs::Channel { channel, _listener: listener, _tick: tick })
}
