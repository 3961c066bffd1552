//! The overlay: a modal dialog in a shadow root, so the page's CSS cannot break it and ours
//! cannot leak into the page.
//!
//! Everything is written with `textContent`, never as HTML: the title, the message and the
//! closed message come from attributes and from the server.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use wasm_bindgen::{JsCast, JsValue};
use web_sys::{
    CssStyleSheet, Document, Element, HtmlButtonElement, HtmlElement, HtmlProgressElement,
    ShadowRoot, ShadowRootInit, ShadowRootMode,
};

use super::listener::EventListener;
use crate::config::Theme;
use crate::machine::{Phase, RetryButton, View};
use crate::messages::Messages;
use crate::time::Timestamp;
use std::time::Duration;

/// The stylesheet, minified by `build.rs` from `overlay.css`.
const CSS: &str = include_str!(concat!(env!("OUT_DIR"), "/overlay.css"));
const HEADING_ID: &str = "waitroom-title";
/// How long after the dialog opened (and the focus moved into it) its first message waits:
/// screen readers do not speak what a live region holds when it appears, nor while they
/// announce the newly focused dialog.
const FIRST_MESSAGE_DELAY: Duration = Duration::from_millis(500);

/// A button of the overlay, as its press is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Press {
    /// "Réessayer maintenant".
    Retry,
    /// "Prolonger": extend the pass.
    Extend,
    /// "Entrer maintenant": go now, without waiting for the announced departure.
    Enter,
    /// "Rester sur cette page": stop the announced departure.
    Stay,
}

/// The overlay's elements. Dropping it removes it and gives the page back its focus.
#[derive(Debug)]
pub struct Overlay {
    host: HtmlElement,
    root: ShadowRoot,
    phase: Element,
    position: Element,
    progress: HtmlProgressElement,
    eta: Element,
    countdown: Element,
    closed: Element,
    retry: HtmlButtonElement,
    message: Element,
    updated: Element,
    live: Element,
    scrim: HtmlElement,
    card: Element,
    /// When the dialog opened, and what it has to say before [`FIRST_MESSAGE_DELAY`] passed.
    shown_at: Timestamp,
    pending: RefCell<Option<String>>,
    /// Siblings made `inert` while the dialog is up (the ones that were not already).
    inerted: Vec<HtmlElement>,
    focus_before: Option<HtmlElement>,
    extend: HtmlButtonElement,
    enter: HtmlButtonElement,
    stay: HtmlButtonElement,
    /// An announced departure (redirect, or the form sent), shown instead of the countdown.
    leaving: RefCell<Option<String>>,
    released: Cell<bool>,
    _on_press: Vec<EventListener>,
}

impl Overlay {
    /// Builds the overlay, appends it to `<body>`, makes the page behind it inert and moves the
    /// focus to its heading. `on_press` runs when one of its buttons is pressed; `help` (already
    /// checked against the allowed origins) becomes a "need help?" link in the dialog.
    pub fn show(
        document: &Document,
        messages: &Messages,
        theme: Theme,
        help: Option<&str>,
        on_press: impl Fn(Press) + 'static,
    ) -> Result<Overlay, JsValue> {
        let body = document.body().ok_or("no <body>")?;
        let host: HtmlElement = document.create_element("waitroom-overlay")?.unchecked_into();
        host.set_attribute("data-theme", theme_name(theme))?;
        let root = host.attach_shadow(&ShadowRootInit::new(ShadowRootMode::Open))?;
        let sheet = CssStyleSheet::new()?;
        sheet.replace_sync(CSS)?;
        root.set_adopted_style_sheets(&js_sys::Array::of1(&sheet));

        let el = |parent: &Element, tag: &str, class: &str| -> Result<Element, JsValue> {
            let e = document.create_element(tag)?;
            if !class.is_empty() {
                e.set_class_name(class);
            }
            parent.append_child(&e)?;
            Ok(e)
        };
        let scrim: HtmlElement = document.create_element("div")?.unchecked_into();
        scrim.set_class_name("scrim");
        // A manual popover: shown in the browser's top layer, above anything the host page
        // paints (a banner at z-index 2147483647 !important included), and never dismissed by
        // Escape or a click outside. Focus and inertness stay ours (APG dialog pattern).
        scrim.set_attribute("popover", "manual")?;
        root.append_child(&scrim)?;
        let card = el(&scrim, "div", "card")?;
        card.set_attribute("role", "dialog")?;
        card.set_attribute("aria-modal", "true")?;
        card.set_attribute("aria-labelledby", HEADING_ID)?;
        // Opening the dialog reads its status, the people ahead and the wait, not only its title.
        card.set_attribute("aria-describedby", "wr-phase wr-position wr-eta")?;
        card.set_attribute("lang", messages.lang_tag())?;
        let heading = el(&card, "h2", "")?;
        heading.set_id(HEADING_ID);
        heading.set_attribute("tabindex", "-1")?;
        heading.set_text_content(Some(messages.title()));
        let phase = el(&card, "p", "phase")?;
        phase.set_id("wr-phase");
        // Where the focus goes when the control that had it disappears (after "try again").
        phase.set_attribute("tabindex", "-1")?;
        // The operator's closed message right under the status line it explains.
        let closed = el(&card, "p", "closed")?;
        // One number: the people ahead ("29 personnes avant vous."), not a place beside it.
        let position = el(&card, "p", "position")?;
        position.set_id("wr-position");
        let progress: HtmlProgressElement = el(&card, "progress", "")?.unchecked_into();
        progress.set_max(100.0);
        let eta = el(&card, "p", "eta")?;
        eta.set_id("wr-eta");
        let countdown = el(&card, "p", "countdown")?;
        countdown.set_id("wr-countdown");
        // The time of the last answer sits with the countdown: both say "it is working".
        let updated = el(&card, "p", "updated")?;
        let retry: HtmlButtonElement = el(&card, "button", "")?.unchecked_into();
        retry.set_type("button");
        retry.set_text_content(Some(messages.retry_label()));
        // A disabled retry says why, and until when, in the countdown line.
        retry.set_attribute("aria-describedby", "wr-countdown")?;
        let button = |label: &str| -> Result<HtmlButtonElement, JsValue> {
            let b: HtmlButtonElement = el(&card, "button", "")?.unchecked_into();
            b.set_type("button");
            b.set_text_content(Some(label));
            b.set_hidden(true);
            Ok(b)
        };
        let extend = button(messages.extend_label())?;
        let enter = button(messages.enter_now_label())?;
        let stay = button(messages.stay_label())?;
        stay.set_class_name("secondary");
        let message = el(&card, "p", "message")?;
        message.set_text_content(Some(messages.message()));
        // Help and "forgot your password?" stay reachable while the page behind is inert. In a
        // new tab, so that this page keeps the place (the label says so).
        if let Some(href) = help {
            let link = el(&el(&card, "p", "")?, "a", "")?;
            link.set_attribute("href", href)?;
            link.set_attribute("target", "_blank")?;
            link.set_attribute("rel", "noopener")?;
            link.set_text_content(Some(messages.help_label()));
        }
        // Inside the dialog (VoiceOver ignores live regions outside an aria-modal one), created
        // empty and never hidden, so that it is in the tree before it speaks.
        let live = el(&card, "div", "sr-only")?;
        live.set_attribute("role", "status")?;
        live.set_attribute("aria-live", "polite")?;

        let on_press = Rc::new(on_press);
        let listen = |b: &HtmlButtonElement, press: Press| {
            let on_press = on_press.clone();
            EventListener::new(b, "click", move |_| on_press(press))
        };
        let on_press = vec![
            listen(&retry, Press::Retry),
            listen(&extend, Press::Extend),
            listen(&enter, Press::Enter),
            listen(&stay, Press::Stay),
        ];
        let focus_before = document.active_element().and_then(|e| e.dyn_into::<HtmlElement>().ok());
        body.append_child(&host)?;
        // Browsers without popovers keep the scrim's own z-index.
        let _ = scrim.show_popover();
        let inerted = make_inert_except(&body, &host);
        let _ = heading.unchecked_ref::<HtmlElement>().focus();
        Ok(Overlay {
            host,
            root,
            phase,
            position,
            progress,
            eta,
            countdown,
            closed,
            retry,
            message,
            updated,
            live,
            scrim,
            card,
            shown_at: super::now(),
            pending: RefCell::new(None),
            inerted,
            focus_before,
            extend,
            enter,
            stay,
            leaving: RefCell::new(None),
            released: Cell::new(false),
            _on_press: on_press,
        })
    }

    /// The element holding the shadow root.
    pub fn host(&self) -> &HtmlElement {
        &self.host
    }

    /// The shadow root, for tests that read what is shown.
    pub fn root(&self) -> &ShadowRoot {
        &self.root
    }

    /// Shows `view`; `local_time` turns a timestamp into the user's HH:MM.
    pub fn render(
        &self,
        view: &View,
        messages: &Messages,
        local_time: impl Fn(Timestamp) -> (u8, u8),
    ) {
        if super::now().saturating_duration_since(self.shown_at) >= FIRST_MESSAGE_DELAY {
            if let Some(text) = self.pending.borrow_mut().take() {
                self.live.set_text_content(Some(&text));
            }
        }
        set_text(&self.phase, Some(&messages.status(view)));
        self.phase.set_class_name(if view.phase.in_progress() { "phase" } else { "phase still" });
        set_text(&self.position, view.ahead.map(|n| messages.ahead(n)).as_deref());
        set_text(&self.eta, view.eta.as_ref().map(|e| messages.eta(e.low, e.high)).as_deref());
        let leaving = self.leaving.borrow().clone();
        let countdown = match (view.retry_in, view.next_attempt_in) {
            _ if leaving.is_some() => leaving.clone(),
            _ if view.pass_warning => Some(messages.pass_warning().to_string()),
            (Some(wait), _) => Some(messages.retry_wait(wait)),
            (None, next) => next.map(|d| messages.countdown(d)),
        };
        self.extend.set_hidden(!view.pass_warning || leaving.is_some());
        self.enter.set_hidden(leaving.is_none());
        self.stay.set_hidden(leaving.is_none());
        set_text(&self.countdown, countdown.as_deref());
        set_text(&self.closed, view.closed_message.as_deref());
        set_text(&self.message, view.explains_quota.then(|| messages.message()));
        // Once in, when the portal last answered no longer matters.
        let updated = view.last_update.filter(|_| view.phase != Phase::Admitted).map(|t| {
            let (h, m) = local_time(t);
            messages.last_update(h, m)
        });
        set_text(&self.updated, updated.as_deref());

        match view.progress_percent {
            Some(pct) => {
                self.progress.set_value(f64::from(pct));
                let label = messages.progress_label(pct);
                let _ = self.progress.set_attribute("aria-label", &label);
                self.progress.set_text_content(Some(&label));
                self.progress.set_hidden(false);
            }
            None => self.progress.set_hidden(true),
        }

        // `aria-disabled` rather than `disabled`, so a focused button keeps the focus when the
        // schedule closes it again.
        let hide = view.retry == RetryButton::Hidden;
        // Pressed, the button goes: the focus goes to the status line that says what happens
        // now, not to the page's <body> (RGAA 12.8).
        if hide && !self.retry.hidden() && self.root.active_element().as_ref() == Some(&self.retry)
        {
            let _ = self.phase.unchecked_ref::<HtmlElement>().focus();
        }
        self.retry.set_hidden(hide);
        let enabled = view.retry == RetryButton::Enabled;
        let _ = self.retry.set_attribute("aria-disabled", if enabled { "false" } else { "true" });
    }

    /// Says `text` through the polite live region; just after the dialog opened, a little
    /// later ([`FIRST_MESSAGE_DELAY`], at the next render).
    pub fn announce(&self, text: &str) {
        if super::now().saturating_duration_since(self.shown_at) < FIRST_MESSAGE_DELAY {
            *self.pending.borrow_mut() = Some(text.to_string());
        } else {
            self.live.set_text_content(Some(text));
        }
    }

    /// Once the user is in: the dialog becomes a small, non-modal notice at the bottom of the
    /// screen that keeps saying it is their turn (and how long the pass lasts), and the page
    /// behind is usable again. Its live region is already in the tree, so what it says next is
    /// heard. The focus is the driver's to move (to the form).
    pub fn release(&mut self) {
        self.released.set(true);
        for element in self.inerted.drain(..) {
            element.set_inert(false);
            let _ = element.remove_attribute(INERT_MARK);
        }
        let _ = self.card.set_attribute("role", "region");
        let _ = self.card.remove_attribute("aria-modal");
        self.scrim.set_class_name("scrim released");
        // Back where the user was (a notice takes no focus); the driver may move it on.
        if let Some(before) = self.focus_before.take().filter(|e| e.is_connected()) {
            let _ = before.focus();
        }
    }

    /// Announces a departure (`text`: where to and when), with "Entrer maintenant" focused so
    /// that Enter goes at once, and "Rester sur cette page" beside it; `None` takes it back.
    pub fn leaving(&self, text: Option<String>) {
        let focus = text.is_some();
        *self.leaving.borrow_mut() = text;
        self.enter.set_hidden(!focus);
        self.stay.set_hidden(!focus);
        if focus {
            let _ = self.enter.focus();
        }
    }

    /// The announced departure, if any.
    pub fn leaving_text(&self) -> Option<String> {
        self.leaving.borrow().clone()
    }

    /// Whether [`Overlay::release`] made it a notice.
    pub fn is_released(&self) -> bool {
        self.released.get()
    }
}

impl Drop for Overlay {
    fn drop(&mut self) {
        for element in self.inerted.drain(..) {
            element.set_inert(false);
            let _ = element.remove_attribute(INERT_MARK);
        }
        self.host.remove();
        if let Some(before) = self.focus_before.take().filter(|e| e.is_connected()) {
            let _ = before.focus();
        }
    }
}

/// Writes `text` (hiding the element when `None`), touching the DOM only on a change.
fn set_text(element: &Element, text: Option<&str>) {
    let html: &HtmlElement = element.unchecked_ref();
    match text {
        Some(text) => {
            if element.text_content().as_deref() != Some(text) {
                element.set_text_content(Some(text));
            }
            html.set_hidden(false);
        }
        None => html.set_hidden(true),
    }
}

/// Makes every other child of `<body>` inert, so that keyboard and screen-reader users stay in
/// the dialog; returns those it changed, to restore exactly them.
fn make_inert_except(body: &HtmlElement, host: &HtmlElement) -> Vec<HtmlElement> {
    let children = body.children();
    (0..children.length())
        .filter_map(|i| children.item(i)?.dyn_into::<HtmlElement>().ok())
        .filter(|e| e != host && !e.inert() && e.tag_name() != "SCRIPT")
        .inspect(|e| {
            e.set_inert(true);
            let _ = e.set_attribute(INERT_MARK, "");
        })
        .collect()
}

/// Marks what this overlay made inert, so that the loader can undo it after a crash.
const INERT_MARK: &str = "data-waitroom-inert";

fn theme_name(theme: Theme) -> &'static str {
    match theme {
        Theme::Auto => "auto",
        Theme::Light => "light",
        Theme::Dark => "dark",
    }
}
