//! The driver: owns the machine and every browser handle, and pumps actions.
//!
//! One `Rc<Driver>` lives as long as the widget; callbacks hold a `Weak` and borrow the machine
//! only for one `handle_*` or `poll_*` call, so no borrow is held while the DOM runs our
//! callbacks again. Once the user is admitted (or let in by fail-open) the handles are dropped:
//! timers stop, listeners go, the lock is released.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use gloo_timers::callback::{Interval, Timeout};
use wasm_bindgen::JsCast;
use web_sys::{Document, HtmlScriptElement, StorageEvent, Url, VisibilityState, Window};

use super::events::{self, State};
use super::guard::Guard;
use super::listener::EventListener;
use super::overlay::Overlay;
use super::storage::{self, Store};
use super::tabs::Tabs;
use super::{error, fetch, local_time, now, random_u64, warn};
use crate::announce::Announcer;
use crate::config::{Check, Config};
use crate::machine::{Action, Machine, Snapshot};
use crate::messages::{Language, Messages};
use crate::reply;
use crate::time::{duration_millis, Timestamp};

thread_local! {
    /// The page owns its widgets: callbacks hold only `Weak` references.
    static LIVE: RefCell<Vec<Rc<Driver>>> = const { RefCell::new(Vec::new()) };
}

/// How often the overlay refreshes its countdown and local position (no request involved).
const UI_TICK_MS: u32 = 1_000;

#[derive(Debug)]
pub(super) struct Driver {
    config: Config,
    messages: Messages,
    window: Window,
    document: Document,
    script: HtmlScriptElement,
    machine: RefCell<Machine>,
    store: Store,
    guard: Guard,
    announcer: RefCell<Announcer>,
    overlay: RefCell<Option<Overlay>>,
    /// The last `waitroom:state` sent, to send one per change.
    state: RefCell<Option<State>>,
    /// The armed poll timer and its deadline, re-armed only when the deadline changes.
    poll: RefCell<Option<(Timestamp, Timeout)>>,
    ui_tick: RefCell<Option<Interval>>,
    tabs: RefCell<Option<Tabs>>,
    listeners: RefCell<Vec<EventListener>>,
    started: Cell<bool>,
    submit_blocked: Cell<bool>,
}

impl Driver {
    /// Reads the tag, and starts unless the configuration is unusable.
    pub(super) fn start(script: HtmlScriptElement) {
        let attributes = super::attributes(&script);
        let parsed =
            Config::from_attributes(attributes.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let (config, warnings) = match parsed {
            Ok(parsed) => parsed,
            Err(e) => {
                error(&["waitroom: ", &e.to_string()].concat());
                events::error(&script, "config");
                return;
            }
        };
        for warning in warnings {
            warn(&["waitroom: ", &warning.to_string()].concat());
        }
        let window = super::window();
        let document = window.document().expect("a window has a document");
        let Some(gate_url) = absolute_url(&document, &config.gate) else {
            error(
                &[
                    "waitroom: data-gate: `",
                    &config.gate,
                    "` is not a valid URL; waitroom stays out of the way",
                ]
                .concat(),
            );
            events::error(&script, "config");
            return;
        };
        let page_lang = document.document_element().and_then(|e| e.get_attribute("lang"));
        let lang = Language::resolve(config.lang, page_lang.as_deref());
        let messages = Messages::new(lang, config.title.clone(), config.message.clone());

        let driver = Rc::new_cyclic(|weak: &Weak<Driver>| {
            let weak = weak.clone();
            let guard = Guard::new(&document, &script, config.guard.as_deref(), move || {
                // Later, outside the submit event: a form cannot be re-submitted from within
                // its own submit event, and an admission may follow at once.
                let weak = weak.clone();
                Timeout::new(0, move || with(&weak, Driver::on_submit_blocked)).forget();
            });
            Driver {
                machine: RefCell::new(Machine::new(&config, random_u64())),
                store: Store::new(&gate_url),
                config,
                messages,
                window,
                document,
                script,
                guard,
                announcer: RefCell::new(Announcer::new()),
                overlay: RefCell::new(None),
                state: RefCell::new(None),
                poll: RefCell::new(None),
                ui_tick: RefCell::new(None),
                tabs: RefCell::new(None),
                listeners: RefCell::new(Vec::new()),
                started: Cell::new(false),
                submit_blocked: Cell::new(false),
            }
        });
        LIVE.with(|live| live.borrow_mut().push(driver.clone()));
        driver.begin();
    }

    fn begin(self: &Rc<Self>) {
        let now = now();
        self.listen();
        self.machine.borrow_mut().handle_online(now, self.window.navigator().on_line());
        if self.config.check == Check::Load {
            self.start_machine(now);
        }
        self.pump();
    }

    /// Event listeners for the life of the widget.
    fn listen(self: &Rc<Self>) {
        let on = |target: &web_sys::EventTarget,
                  kind: &'static str,
                  f: fn(&Rc<Driver>, web_sys::Event)| {
            let weak = Rc::downgrade(self);
            EventListener::new(target, kind, move |event| with(&weak, |d| f(d, event)))
        };
        let listeners = vec![
            on(&self.window, "online", |d, _| d.handle(|m, now| m.handle_online(now, true))),
            on(&self.window, "offline", |d, _| d.handle(|m, now| m.handle_online(now, false))),
            on(&self.document, "visibilitychange", |d, _| {
                let visible = d.document.visibility_state() == VisibilityState::Visible;
                d.handle(|m, now| m.handle_visibility(now, visible));
            }),
            on(&self.window, "storage", |d, event| {
                let Some(event) = event.dyn_ref::<StorageEvent>() else { return };
                if event.key().as_deref() != Some(d.store.key()) {
                    return;
                }
                if let Some(snapshot) = event.new_value().as_deref().and_then(storage::parse) {
                    d.handle(|m, now| m.handle_peer(now, snapshot));
                }
            }),
            on(&self.document, "DOMContentLoaded", |d, _| {
                if d.started.get() {
                    d.guard.mark_buttons();
                }
            }),
        ];
        *self.listeners.borrow_mut() = listeners;
    }

    fn start_machine(self: &Rc<Self>, now: Timestamp) {
        if self.started.replace(true) {
            return;
        }
        // Only now: a tab that never starts (data-check="submit", never submitted) must not
        // hold the poller role that a tab which did start is waiting for.
        let weak = Rc::downgrade(self);
        let tabs = Tabs::join(
            self.store.key(),
            Rc::new(move |leader| with(&weak, |d| d.handle(|m, now| m.handle_role(now, leader)))),
        );
        if !matches!(tabs, Tabs::Alone) {
            self.machine.borrow_mut().handle_role(now, false); // until the election says otherwise
        }
        *self.tabs.borrow_mut() = Some(tabs);
        self.guard.mark_buttons();
        let restored: Option<Snapshot> = self.store.load();
        let mut machine = self.machine.borrow_mut();
        let here = self.window.location().href().unwrap_or_default();
        if reply::is_refusal_page(&here, self.gate_url()) {
            machine.handle_start_refused(now, restored);
        } else {
            machine.handle_start(now, restored);
        }
    }

    fn on_submit_blocked(self: &Rc<Self>) {
        self.submit_blocked.set(true);
        self.start_machine(now());
        self.pump();
        // The overlay may already be up with nothing new to render: show it now regardless.
        self.render(now());
    }

    /// Runs one `handle_*` call at the current time, then performs what follows from it.
    fn handle(self: &Rc<Self>, f: impl FnOnce(&mut Machine, Timestamp)) {
        f(&mut self.machine.borrow_mut(), now());
        self.pump();
    }

    /// Performs every pending action, then re-arms the poll timer if its deadline moved.
    fn pump(self: &Rc<Self>) {
        loop {
            let action = self.machine.borrow_mut().poll_action();
            match action {
                Some(action) => self.perform(action),
                None => break,
            }
        }
        self.rearm();
    }

    fn perform(self: &Rc<Self>, action: Action) {
        match action {
            Action::Send { ticket, timeout } => {
                let url = fetch::gate_url(self.gate_url(), ticket.as_deref());
                // A strong reference: the reply is handled even if the page dropped the widget.
                let this = self.clone();
                fetch::get(&url, timeout, Box::new(move |outcome| this.on_fetched(outcome)));
            }
            Action::Persist(snapshot) => self.store.save(&snapshot),
            Action::Render => self.render(now()),
            Action::Admit { pass, redirect } => self.admit(pass, redirect),
            Action::FailOpen => self.fail_open(),
            Action::Reload => {
                let _ = self.window.location().replace(self.gate_url());
            }
        }
    }

    fn on_fetched(self: &Rc<Self>, outcome: Result<fetch::Fetched, reply::Failure>) {
        if self.crashed() {
            return;
        }
        let now = now();
        let reply = match &outcome {
            Ok(fetched) => reply::classify(self.config.protocol, &fetched.as_response(), now),
            Err(failure) => (*failure).into(),
        };
        self.machine.borrow_mut().handle_reply(now, reply);
        self.pump();
    }

    /// Whether the loader saw this widget trap or throw, and stepped it aside (`www/waitroom.js`):
    /// its state may be half-updated, so nothing more is done with it.
    fn crashed(&self) -> bool {
        self.script.has_attribute(super::CRASHED)
    }

    fn gate_url(&self) -> &str {
        // `get` rather than indexing: no panic path, and no panic message to ship.
        self.store.key().get(storage::KEY_PREFIX.len()..).unwrap_or_default()
    }

    /// Sends `waitroom:state` when it changed and shows the view.
    fn render(self: &Rc<Self>, now: Timestamp) {
        let view = self.machine.borrow().view(now);
        let state = State::of(&view);
        if self.state.borrow().as_ref() != Some(&state) {
            state.dispatch(&self.script);
            *self.state.borrow_mut() = Some(state);
        }
        let has_overlay = self.overlay.borrow().is_some();
        if !view.wants_overlay(self.started.get(), has_overlay, self.submit_blocked.get()) {
            return;
        }
        if !has_overlay {
            let weak = Rc::downgrade(self);
            let on_retry = move || with(&weak, |d| d.handle(|m, now| m.handle_retry(now)));
            let help = self.config.help.as_deref().and_then(|h| {
                let href = self.allowed_redirect(h);
                if href.is_none() {
                    warn(
                        &[
                            "waitroom: data-help: `",
                            h,
                            "` is not this origin nor in data-redirect-allow; no help link",
                        ]
                        .concat(),
                    );
                }
                href
            });
            let theme = self.config.theme;
            match Overlay::show(&self.document, &self.messages, theme, help.as_deref(), on_retry) {
                Ok(overlay) => *self.overlay.borrow_mut() = Some(overlay),
                Err(_) => return warn("waitroom: could not show the waiting overlay"),
            }
            let weak = Rc::downgrade(self);
            *self.ui_tick.borrow_mut() =
                Some(Interval::new(UI_TICK_MS, move || with(&weak, |d| d.render(super::now()))));
        }
        let overlay = self.overlay.borrow();
        let Some(overlay) = overlay.as_ref() else { return };
        overlay.render(&view, &self.messages, local_time);
        if let Some(text) = self.announcer.borrow_mut().update(now, &view, &self.messages) {
            overlay.announce(&text);
        }
    }

    /// Arms the poll timer for the machine's deadline, unless it is already armed for it.
    fn rearm(self: &Rc<Self>) {
        let deadline = self.machine.borrow().poll_timeout();
        if self.poll.borrow().as_ref().map(|(at, _)| *at) == deadline {
            return;
        }
        let timer = deadline.map(|at| {
            let delay = duration_millis(at.saturating_duration_since(now()));
            // setTimeout holds a signed 32-bit delay; a later deadline is re-armed when this fires.
            let ms = delay.min(i32::MAX as u64) as u32;
            let weak = Rc::downgrade(self);
            let timeout = Timeout::new(ms, move || {
                with(&weak, |d| {
                    // Forget the deadline, so that a timer that fired early is armed again.
                    d.poll.borrow_mut().take();
                    d.handle(|m, now| m.handle_timeout(now));
                })
            });
            (at, timeout)
        });
        *self.poll.borrow_mut() = timer;
    }

    fn admit(self: &Rc<Self>, pass: Option<String>, redirect: Option<String>) {
        self.stop();
        let blocked = self.guard.lift();
        if let (Some(field), Some(pass)) = (&self.config.pass_field, &pass) {
            self.guard.add_pass(field, pass);
        }
        events::admitted(&self.script, pass.as_deref());
        if let Some(target) = redirect.or_else(|| self.config.redirect.clone()) {
            match self.allowed_redirect(&target) {
                Some(href) => {
                    let _ = self.window.location().assign(&href);
                    return;
                }
                None => warn(
                    &[
                        "waitroom: not redirecting to `",
                        &target,
                        "`: not this origin and not in data-redirect-allow",
                    ]
                    .concat(),
                ),
            }
        }
        if let Some(blocked) = blocked {
            blocked.replay();
        }
    }

    fn fail_open(self: &Rc<Self>) {
        self.stop();
        warn(
            &[
                "waitroom: the gate ",
                self.gate_url(),
                " is unreachable; letting the user through (data-fail=open)",
            ]
            .concat(),
        );
        let blocked = self.guard.lift();
        events::error(&self.script, "unavailable");
        if let Some(blocked) = blocked {
            blocked.replay();
        }
    }

    /// The machine is done: drop the overlay, timers, listeners and the poller role.
    fn stop(&self) {
        self.overlay.borrow_mut().take();
        self.ui_tick.borrow_mut().take();
        self.poll.borrow_mut().take();
        self.listeners.borrow_mut().clear();
        self.tabs.borrow_mut().take();
        // The page no longer owns the widget; it goes once the current callback returns.
        LIVE.with(|live| live.borrow_mut().retain(|d| !std::ptr::eq(Rc::as_ptr(d), self)));
    }

    /// `target` resolved against the page, if it is on this origin or an allowed one.
    fn allowed_redirect(&self, target: &str) -> Option<String> {
        let url = Url::new_with_base(target, &self.document.base_uri().ok()??).ok()?;
        // Only web URLs: `javascript:` and `data:` have the opaque origin "null", which a
        // sandboxed page shares.
        let web = matches!(url.protocol().as_str(), "http:" | "https:");
        let origin = url.origin();
        let here = self.window.location().origin().ok()?;
        (web && (origin == here || self.config.redirect_allow.contains(&origin)))
            .then(|| url.href())
    }
}

/// Runs `f` if the driver is still alive, and has not crashed.
fn with(weak: &Weak<Driver>, f: impl FnOnce(&Rc<Driver>)) {
    if let Some(driver) = weak.upgrade().filter(|d| !d.crashed()) {
        f(&driver);
    }
}

/// `url` resolved against the document's base URL.
fn absolute_url(document: &Document, url: &str) -> Option<String> {
    let base = document.base_uri().ok()??;
    Some(Url::new_with_base(url, &base).ok()?.href())
}
