//! The driver: browser callbacks post [`Event`]s to one queue, and one pump owns the machine.
//!
//! Every callback (a listener, a timer, the fetch, the tab election, the guard) only posts an
//! event. The pump takes the [`Widget`] (the machine and everything it drives), turns each event
//! into one `handle_*` call, performs the actions the machine asks for, and re-arms the poll
//! timer. An event posted while the pump runs (by a host page's handler of our `waitroom:state`
//! event that submits the form, say) waits in the queue for that same pump: the widget is
//! borrowed in one place only, and never twice.
//!
//! The handles that keep the widget running (overlay, timers, the tab election, listeners) sit
//! in one [`Live`] struct. Once the user is admitted (or let in by fail-open) it is dropped in
//! one go: timers stop, listeners go, the lock is released; then the pump drops the widget, and
//! with it the last callbacks that held the driver.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use gloo_timers::callback::{Interval, Timeout};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{
    Document, EventTarget, HtmlScriptElement, StorageEvent, Url, VisibilityState, Window,
};

use super::events::{self, State};
use super::fetch::{self, Fetched};
use super::guard::{Blocked, Guard};
use super::listener::EventListener;
use super::overlay::{Overlay, Press};
use super::storage::{self, Store};
use super::tabs::Tabs;
use super::{error, local_time, now, random_u64, warn};
use crate::announce::Announcer;
use crate::config::{Check, Config};
use crate::machine::{Action, Machine, Phase};
use crate::messages::{spoken, Language, Messages};
use crate::redirect::{self, Resolved};
use crate::reply::{self, Failure};
use crate::time::{duration_millis, Timestamp};

/// How often the overlay refreshes its countdown and local position (no request involved).
const UI_TICK_MS: u32 = 1_000;

/// What the browser tells the widget.
#[derive(Debug)]
enum Event {
    /// The page ran the widget.
    Load,
    /// `online` / `offline`.
    Online(bool),
    /// `visibilitychange`.
    Visibility,
    /// Another tab (or a script) wrote `value` under `key` in `localStorage`.
    Storage {
        /// The key written.
        key: Option<String>,
        /// What it holds now.
        value: Option<String>,
    },
    /// The tab election made this tab the poller (`true`) or a follower.
    Role(bool),
    /// The guard held back a login.
    Submit,
    /// A button of the overlay was pressed.
    Press(Press),
    /// An announced departure's delay ran out.
    Leave,
    /// The poll timer fired.
    Timeout,
    /// Once a second while the overlay is up: the countdown and the local position move.
    Tick,
    /// The request of an [`Action::Send`] ended.
    Fetched(Result<Fetched, Failure>),
    /// `DOMContentLoaded`: forms below the script tag exist now.
    Parsed,
    /// The loader's search for an [`Action::Solve`] ended: the number, or `None`.
    Solved(Option<u64>),
}

/// The queue and its one pump, shared by every callback.
#[derive(Debug)]
pub(super) struct Driver {
    /// The tag that loaded the widget: the loader marks it when the widget crashed.
    script: HtmlScriptElement,
    /// Events not handled yet, oldest first.
    queue: RefCell<Vec<Event>>,
    /// Set while the pump runs, so that an event posted meanwhile waits for it.
    pumping: Cell<bool>,
    /// `None` until built, and again once stopped.
    widget: RefCell<Option<Widget>>,
}

impl Driver {
    /// Reads the tag, and starts unless the configuration is unusable.
    pub(super) fn start(script: HtmlScriptElement, solver: Option<js_sys::Function>) {
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
        let driver = Rc::new(Driver {
            script: script.clone(),
            queue: RefCell::new(Vec::new()),
            pumping: Cell::new(false),
            widget: RefCell::new(None),
        });
        let widget = Widget::new(&driver, config, gate_url, window, document, script, solver);
        *driver.widget.borrow_mut() = Some(widget);
        driver.post(Event::Load);
    }

    /// Queues `event` and pumps, unless the loader saw this widget crash (`www/waitroom.js`):
    /// its state may be half-updated, so nothing more is done with it.
    fn post(self: &Rc<Self>, event: Event) {
        if self.script.has_attribute(super::CRASHED) {
            return;
        }
        self.queue.borrow_mut().push(event);
        self.pump();
    }

    /// Hands every queued event to the widget, in order; drops the widget once it stopped.
    fn pump(self: &Rc<Self>) {
        if self.pumping.replace(true) {
            return; // the pump running further up the stack takes this event too
        }
        let mut slot = self.widget.borrow_mut();
        loop {
            let events = std::mem::take(&mut *self.queue.borrow_mut());
            if events.is_empty() {
                break;
            }
            for event in events {
                // Once stopped, what is left goes unhandled.
                let Some(widget) = slot.as_mut() else { break };
                widget.handle(self, event);
                if widget.live.is_none() {
                    *slot = None;
                }
            }
        }
        self.pumping.set(false);
    }

    /// A listener on `target` that posts what `event` makes of each DOM event, if anything. A
    /// plain function, not a closure: one callback type for every listener, in the download.
    fn listen(
        self: &Rc<Self>,
        target: &EventTarget,
        kind: &'static str,
        event: fn(&web_sys::Event) -> Option<Event>,
    ) -> EventListener {
        let driver = self.clone();
        EventListener::new(target, kind, move |e| {
            if let Some(event) = event(&e) {
                driver.post(event);
            }
        })
    }
}

/// The machine and everything it drives, owned by the pump alone.
#[derive(Debug)]
struct Widget {
    config: Config,
    messages: Messages,
    /// The gate, absolute.
    gate_url: String,
    window: Window,
    document: Document,
    script: HtmlScriptElement,
    machine: Machine,
    store: Store,
    guard: Guard,
    announcer: Announcer,
    /// The last `waitroom:state` sent, to send one per change.
    state: Option<State>,
    /// The user tried to log in (the guard held the form back).
    submitted: bool,
    /// Admitted once already: a later admission is a renewed pass.
    admitted: bool,
    /// `None` once stopped.
    live: Option<Live>,
    /// The loader's proof-of-work search (`www/waitroom.js`), when the browser has
    /// `crypto.subtle`.
    solver: Option<js_sys::Function>,
}

/// Where an admitted user goes once the departure was announced.
#[derive(Debug)]
enum Departure {
    /// A redirect (already checked against the allowed origins).
    To(String),
    /// The login the guard held back, sent as the user meant.
    Submit(Blocked),
}

impl Departure {
    fn go(self) {
        match self {
            Departure::To(href) => {
                let _ = super::window().location().assign(&href);
            }
            Departure::Submit(blocked) => blocked.replay(),
        }
    }
}

/// How long an announced departure waits: time to hear it and press "Rester sur cette page".
const LEAVE_DELAY: Duration = Duration::from_secs(3);

/// The handles that keep a running widget going, dropped in one go by [`Widget::stop`].
#[derive(Debug, Default)]
struct Live {
    /// Network, visibility, storage and parsing; held to be removed on drop.
    _listeners: Vec<EventListener>,
    /// The poller role, once started.
    tabs: Option<Tabs>,
    /// Up once the machine says so.
    overlay: Option<Overlay>,
    /// Refreshes the overlay while it is up.
    ui_tick: Option<Interval>,
    /// The poll timer and its deadline, re-armed only when the deadline changes.
    poll: Option<(Timestamp, Timeout)>,
    /// An announced departure, and the timer that sets off on it.
    departure: Option<Departure>,
    leave: Option<Timeout>,
}

impl Widget {
    fn new(
        driver: &Rc<Driver>,
        config: Config,
        gate_url: String,
        window: Window,
        document: Document,
        script: HtmlScriptElement,
        solver: Option<js_sys::Function>,
    ) -> Widget {
        let page_lang = document.document_element().and_then(|e| e.get_attribute("lang"));
        let lang = Language::resolve(config.lang, page_lang.as_deref());
        let messages = Messages::new(lang, config.title.clone(), config.message.clone());
        let guard = {
            let driver = driver.clone();
            Guard::new(&document, &script, config.guard.as_deref(), move || {
                driver.post(Event::Submit);
            })
        };
        let store = Store::new(&gate_url);
        let listeners = vec![
            driver.listen(&window, "online", |_| Some(Event::Online(true))),
            driver.listen(&window, "offline", |_| Some(Event::Online(false))),
            driver.listen(&document, "visibilitychange", |_| Some(Event::Visibility)),
            driver.listen(&window, "storage", |event| {
                let event = event.dyn_ref::<StorageEvent>()?;
                Some(Event::Storage { key: event.key(), value: event.new_value() })
            }),
            driver.listen(&document, "DOMContentLoaded", |_| Some(Event::Parsed)),
        ];
        Widget {
            machine: Machine::new(&config, random_u64())
                .with_solver(solver.is_some())
                .at_page(&window.location().href().unwrap_or_default(), &gate_url),
            store,
            config,
            messages,
            gate_url,
            window,
            document,
            script,
            guard,
            announcer: Announcer::new(),
            state: None,
            submitted: false,
            admitted: false,
            live: Some(Live { _listeners: listeners, ..Live::default() }),
            solver,
        }
    }

    /// One event: one `handle_*` call, then the actions that follow from it.
    fn handle(&mut self, driver: &Rc<Driver>, event: Event) {
        let now = now();
        match event {
            Event::Load => {
                self.machine.handle_online(now, self.window.navigator().on_line());
                if self.config.check == Check::Load {
                    self.start(driver, now);
                }
            }
            Event::Online(online) => self.machine.handle_online(now, online),
            Event::Visibility => {
                let visible = self.document.visibility_state() == VisibilityState::Visible;
                self.machine.handle_visibility(now, visible);
            }
            Event::Storage { key, value } => {
                let ours = key.as_deref() == Some(self.store.key());
                if let Some(snapshot) = value.as_deref().filter(|_| ours).and_then(storage::parse) {
                    self.machine.handle_peer(now, snapshot);
                }
            }
            Event::Role(leader) => self.machine.handle_role(now, leader),
            Event::Submit => {
                self.submitted = true;
                self.start(driver, now);
                self.machine.handle_blocked_submit(now);
            }
            Event::Press(Press::Retry) => self.machine.handle_retry(now),
            Event::Press(Press::Extend) => self.machine.handle_extend(now),
            Event::Press(Press::Enter) | Event::Leave => self.depart(),
            Event::Press(Press::Stay) => self.stay(driver, now),
            Event::Timeout => {
                // Forget the deadline, so that a timer that fired early is armed again.
                if let Some(live) = &mut self.live {
                    live.poll = None;
                }
                self.machine.handle_timeout(now);
            }
            Event::Tick => self.render(driver, now),
            Event::Solved(number) => self.machine.handle_solved(now, number),
            Event::Fetched(outcome) => {
                let reply = match &outcome {
                    Ok(fetched) => {
                        reply::classify(self.config.protocol, &fetched.as_response(), now)
                    }
                    Err(failure) => (*failure).into(),
                };
                self.machine.handle_reply(now, reply);
            }
            Event::Parsed => {
                if self.machine.is_started() {
                    self.guard.mark_buttons(self.messages.guard_reason());
                }
            }
        }
        while let Some(action) = self.machine.poll_action() {
            self.perform(driver, action);
        }
        self.rearm(driver);
    }

    /// Joins the tab election, reads the stored snapshot and starts the machine, once.
    fn start(&mut self, driver: &Rc<Driver>, now: Timestamp) {
        if self.machine.is_started() {
            return;
        }
        let Some(live) = &mut self.live else { return };
        // Only now: a tab that never starts (data-check="submit", never submitted) must not
        // hold the poller role that a tab which did start is waiting for.
        let role = {
            let driver = driver.clone();
            Rc::new(move |leader| driver.post(Event::Role(leader)))
        };
        let tabs = Tabs::join(self.store.key(), role);
        if !matches!(tabs, Tabs::Alone) {
            self.machine.handle_role(now, false); // until the election says otherwise
        }
        live.tabs = Some(tabs);
        self.guard.mark_buttons(self.messages.guard_reason());
        let restored = self.store.load();
        self.machine.handle_start(now, restored);
    }

    fn perform(&mut self, driver: &Rc<Driver>, action: Action) {
        match action {
            Action::Send { ticket, pass, timeout, proof } => {
                let url = fetch::gate_url(
                    &self.gate_url,
                    ticket.as_deref(),
                    pass.as_deref(),
                    proof.as_ref(),
                );
                let driver = driver.clone();
                fetch::get(
                    &url,
                    timeout,
                    Box::new(move |outcome| driver.post(Event::Fetched(outcome))),
                );
            }
            Action::Persist(snapshot) => self.store.save(&snapshot),
            Action::Render => self.render(driver, now()),
            Action::Admit { pass, redirect } => self.admit(driver, pass, redirect),
            Action::FailOpen => self.fail_open(driver),
            Action::Reload => {
                let _ = self.window.location().replace(&self.gate_url);
            }
            Action::Solve { challenge, target, max_number } => {
                let Some(solver) = &self.solver else { return };
                // The loader's search: a promise per batch of digests, never a blocked page.
                let max = JsValue::from_f64(max_number as f64);
                let started = solver.call3(&JsValue::NULL, &challenge.into(), &target.into(), &max);
                let driver = driver.clone();
                let done = move |value: JsValue| {
                    let number = value.as_f64().filter(|n| *n >= 0.0).map(|n| n as u64);
                    driver.post(Event::Solved(number));
                };
                match started {
                    Ok(promise) => {
                        fetch::on_settled(promise.unchecked_ref(), Closure::once_into_js(done))
                    }
                    Err(_) => done(JsValue::UNDEFINED),
                }
            }
        }
    }

    /// Sends `waitroom:state` when it changed, and shows the view if the overlay is up.
    fn render(&mut self, driver: &Rc<Driver>, now: Timestamp) {
        let view = self.machine.view(now);
        let state = State::of(&view);
        if self.state.as_ref() != Some(&state) {
            state.dispatch(&self.script);
            self.state = Some(state);
        }
        // Once shown (a notice that came up to warn, say), it is kept up to date.
        let shown = self.live.as_ref().is_some_and(|live| live.overlay.is_some());
        if !view.overlay && !shown {
            return;
        }
        let in_now = view.phase == Phase::Admitted;
        if self.live.as_ref().is_some_and(|live| live.overlay.is_none()) {
            // Never over a field being typed in: a dialog takes the focus, and the next keys
            // with it. It comes when the user sends the form, or leaves the field.
            if !in_now && !self.submitted && self.guard.being_typed_in() {
                return self.tick(driver);
            }
            self.show_overlay(driver);
            if in_now {
                // A pass about to run out, for a user let in at once: a notice, never a
                // dialog that takes the focus.
                if let Some(overlay) = self.live.as_mut().and_then(|live| live.overlay.as_mut()) {
                    overlay.release();
                }
            }
        }
        let Some(overlay) = self.live.as_ref().and_then(|live| live.overlay.as_ref()) else {
            return;
        };
        overlay.render(&view, &self.messages, local_time);
        if let Some(text) = self.announcer.update(now, &view, &self.messages) {
            // An announced departure is said with the admission it follows, as shown.
            let text = match overlay.leaving_text() {
                Some(leaving) if in_now => spoken([text.as_str(), leaving.as_str()]),
                _ => text,
            };
            overlay.announce(&text);
        }
    }

    /// Puts the overlay up, with the timer that refreshes it.
    fn show_overlay(&mut self, driver: &Rc<Driver>) {
        let help = self.config.help.as_deref().and_then(|help| self.help_link(help));
        let on_press = {
            let driver = driver.clone();
            move |press| driver.post(Event::Press(press))
        };
        let (document, messages, theme) = (&self.document, &self.messages, self.config.theme);
        let Ok(overlay) = Overlay::show(document, messages, theme, help.as_deref(), on_press)
        else {
            return warn("waitroom: could not show the waiting overlay");
        };
        if let Some(live) = &mut self.live {
            live.overlay = Some(overlay);
        }
        self.tick(driver);
    }

    /// Renders once a second (no request involved), if not already.
    fn tick(&mut self, driver: &Rc<Driver>) {
        if let Some(live) = self.live.as_mut().filter(|live| live.ui_tick.is_none()) {
            let driver = driver.clone();
            live.ui_tick = Some(Interval::new(UI_TICK_MS, move || driver.post(Event::Tick)));
        }
    }

    /// Arms the poll timer for the machine's deadline, unless it is already armed for it.
    fn rearm(&mut self, driver: &Rc<Driver>) {
        let Some(live) = &mut self.live else { return };
        let deadline = self.machine.poll_timeout();
        if live.poll.as_ref().map(|(at, _)| *at) == deadline {
            return;
        }
        live.poll = deadline.map(|at| {
            let delay = duration_millis(at.saturating_duration_since(now()));
            // setTimeout holds a signed 32-bit delay; a later deadline is re-armed when this fires.
            let ms = delay.min(i32::MAX as u64) as u32;
            let driver = driver.clone();
            (at, Timeout::new(ms, move || driver.post(Event::Timeout)))
        });
    }

    fn admit(&mut self, driver: &Rc<Driver>, pass: Option<String>, redirect: Option<String>) {
        let again = std::mem::replace(&mut self.admitted, true);
        let blocked = self.guard.lift();
        if let (Some(field), Some(pass)) = (&self.config.pass_field, &pass) {
            self.guard.add_pass(field, pass);
        }
        events::admitted(&self.script, pass.as_deref());
        if again {
            return; // a renewed pass: in the form, and that is all
        }
        let target = redirect.and_then(|target| match self.allowed_url(&target) {
            Ok(href) => Some(href),
            Err(refused) => {
                warn(&["waitroom: ", &refused.to_string()].concat());
                None
            }
        });
        let departure = match (target, blocked) {
            (Some(href), _) => Some(Departure::To(href)),
            (None, Some(blocked)) => Some(Departure::Submit(blocked)),
            (None, None) => None,
        };
        self.let_in(driver, departure);
    }

    fn fail_open(&mut self, driver: &Rc<Driver>) {
        warn(
            &[
                "waitroom: the gate ",
                &self.gate_url,
                " is unreachable; letting the user through (data-fail=open)",
            ]
            .concat(),
        );
        let blocked = self.guard.lift();
        events::error(&self.script, "unavailable");
        self.let_in(driver, blocked.map(Departure::Submit));
    }

    /// The user may log in: polling stops (the timer and the poller role go). Someone who
    /// waited is told so: the dialog becomes a notice and the focus goes to the form, or the
    /// departure (a redirect, the login they sent) is announced, a short, stoppable moment
    /// before it happens. Someone let in at once, who saw nothing, goes on at once.
    fn let_in(&mut self, driver: &Rc<Driver>, departure: Option<Departure>) {
        let Some(live) = &mut self.live else { return };
        live.poll = None;
        live.tabs = None;
        let Some(overlay) = &live.overlay else {
            match departure {
                Some(departure) => {
                    self.stop();
                    departure.go();
                }
                // A pass that runs out: its warning must come, as a notice.
                None if self.machine.view(now()).pass_left.is_some() => self.tick(driver),
                None => self.stop(),
            }
            return;
        };
        match departure {
            Some(departure) => {
                overlay.leaving(Some(self.messages.leaving(LEAVE_DELAY)));
                live.departure = Some(departure);
                let driver = driver.clone();
                let ms = duration_millis(LEAVE_DELAY) as u32;
                live.leave = Some(Timeout::new(ms, move || driver.post(Event::Leave)));
            }
            None => self.release(),
        }
    }

    /// The dialog becomes the notice, and the focus goes where the user carries on.
    fn release(&mut self) {
        if let Some(overlay) = self.live.as_mut().and_then(|live| live.overlay.as_mut()) {
            overlay.release();
        }
        if let Some(field) = self.guard.first_empty_field() {
            let _ = field.focus();
        }
    }

    /// Goes now where the announced departure leads ("Entrer maintenant", or the delay ran out).
    fn depart(&mut self) {
        let Some(live) = &mut self.live else { return };
        live.leave = None;
        if let Some(departure) = live.departure.take() {
            departure.go();
        }
    }

    /// "Rester sur cette page": no departure; the form is there to send by hand.
    fn stay(&mut self, driver: &Rc<Driver>, now: Timestamp) {
        let Some(live) = &mut self.live else { return };
        live.leave = None;
        live.departure = None;
        if let Some(overlay) = &live.overlay {
            overlay.leaving(None);
        }
        self.release();
        self.render(driver, now);
    }

    /// The machine is done: the overlay, timers, listeners and the poller role go in one go.
    fn stop(&mut self) {
        self.live = None;
    }

    /// `data-help` as a link, if it may be followed as a redirect could.
    fn help_link(&self, help: &str) -> Option<String> {
        let href = self.allowed_url(help).ok();
        if href.is_none() {
            warn(
                &[
                    "waitroom: data-help: `",
                    help,
                    "` is not this origin nor in data-redirect-allow; no help link",
                ]
                .concat(),
            );
        }
        href
    }

    /// `target` resolved against the page by the browser, and judged by the core
    /// ([`redirect::check`]).
    fn allowed_url(&self, target: &str) -> Result<String, redirect::Refused> {
        let base = self.document.base_uri().ok().flatten().unwrap_or_default();
        let url = Url::new_with_base(target, &base).ok();
        let parts = url.as_ref().map(|u| (u.href(), u.protocol(), u.origin()));
        let resolved =
            parts.as_ref().map(|(href, protocol, origin)| Resolved { href, protocol, origin });
        let here = self.window.location().origin().unwrap_or_default();
        redirect::check(target, resolved, &here, &self.config.redirect_allow)
    }
}

/// `url` resolved against the document's base URL.
fn absolute_url(document: &Document, url: &str) -> Option<String> {
    let base = document.base_uri().ok()??;
    Some(Url::new_with_base(url, &base).ok()?.href())
}
