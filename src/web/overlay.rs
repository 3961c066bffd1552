//! The overlay: a modal dialog in a shadow root, so the page's CSS cannot break it and ours
//! cannot leak into the page.
//!
//! Everything is written with `textContent`, never as HTML: the title, the message and the
//! closed message come from attributes and from the server.

use wasm_bindgen::{JsCast, JsValue};
use web_sys::{
    CssStyleSheet, Document, Element, HtmlButtonElement, HtmlElement, HtmlProgressElement,
    ShadowRoot, ShadowRootInit, ShadowRootMode,
};

use super::listener::EventListener;
use crate::config::Theme;
use crate::machine::{RetryButton, View};
use crate::messages::Messages;
use crate::time::Timestamp;

/// The stylesheet, minified by `build.rs` from `overlay.css`.
const CSS: &str = include_str!(concat!(env!("OUT_DIR"), "/overlay.css"));
const HEADING_ID: &str = "waitroom-title";

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
    /// Siblings made `inert` while the dialog is up (the ones that were not already).
    inerted: Vec<HtmlElement>,
    focus_before: Option<HtmlElement>,
    _on_retry: EventListener,
}

impl Overlay {
    /// Builds the overlay, appends it to `<body>`, makes the page behind it inert and moves the
    /// focus to its heading. `on_retry` runs when "try again now" is pressed; `help` (already
    /// checked against the allowed origins) becomes a "need help?" link in the dialog.
    pub fn show(
        document: &Document,
        messages: &Messages,
        theme: Theme,
        help: Option<&str>,
        on_retry: impl Fn() + 'static,
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
        card.set_attribute("lang", messages.lang_tag())?;
        let heading = el(&card, "h2", "")?;
        heading.set_id(HEADING_ID);
        heading.set_attribute("tabindex", "-1")?;
        heading.set_text_content(Some(messages.title()));
        let phase = el(&card, "p", "phase")?;
        // The operator's closed message right under the status line it explains.
        let closed = el(&card, "p", "closed")?;
        // One number: the people ahead ("29 personnes avant vous."), not a place beside it.
        let position = el(&card, "p", "position")?;
        let progress: HtmlProgressElement = el(&card, "progress", "")?.unchecked_into();
        progress.set_max(100.0);
        let eta = el(&card, "p", "eta")?;
        let countdown = el(&card, "p", "countdown")?;
        // The time of the last answer sits with the countdown: both say "it is working".
        let updated = el(&card, "p", "updated")?;
        let retry: HtmlButtonElement = el(&card, "button", "")?.unchecked_into();
        retry.set_type("button");
        retry.set_text_content(Some(messages.retry_label()));
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
        // Outside the dialog and never hidden, so that it is in the tree before it speaks.
        let live = el(&scrim, "div", "sr-only")?;
        live.set_attribute("role", "status")?;
        live.set_attribute("aria-live", "polite")?;
        live.set_attribute("lang", messages.lang_tag())?;

        let on_retry = EventListener::new(&retry, "click", move |_| on_retry());
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
            inerted,
            focus_before,
            _on_retry: on_retry,
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

    /// Shows `view`; `local_time` turns a timestamp into the user's HH:MM:SS.
    pub fn render(
        &self,
        view: &View,
        messages: &Messages,
        local_time: impl Fn(Timestamp) -> (u8, u8, u8),
    ) {
        set_text(&self.phase, Some(messages.heading(view.phase)));
        self.phase.set_class_name(if view.phase.in_progress() { "phase" } else { "phase still" });
        set_text(&self.position, view.ahead.map(|n| messages.ahead(n)).as_deref());
        set_text(&self.eta, view.eta.as_ref().map(|e| messages.eta(e.low, e.high)).as_deref());
        set_text(&self.countdown, view.next_attempt_in.map(|d| messages.countdown(d)).as_deref());
        set_text(&self.closed, view.closed_message.as_deref());
        set_text(&self.message, view.explains_quota.then(|| messages.message()));
        let updated = view.last_update.map(|t| {
            let (h, m, _) = local_time(t);
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
        self.retry.set_hidden(view.retry == RetryButton::Hidden);
        let enabled = view.retry == RetryButton::Enabled;
        let _ = self.retry.set_attribute("aria-disabled", if enabled { "false" } else { "true" });
    }

    /// Says `text` through the polite live region.
    pub fn announce(&self, text: &str) {
        self.live.set_text_content(Some(text));
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
