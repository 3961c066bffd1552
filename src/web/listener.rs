//! DOM event listeners that detach when dropped, as `gloo-events` does.
//!
//! Why not `gloo-events` itself: measured, it costs the download more. With `gloo-events` 0.2
//! behind this same API (`new_with_options`, `passive: false` so that the guard can cancel a
//! submit, the callback given `&Event`), the widget was 57 371 bytes gzip against 57 263 with
//! this module: +108 bytes gzip, +0.2 KiB brotli, for 60 lines we keep. `make build`, then the
//! same build with the swap, compared with `scripts/sizes.mjs` (2026-11-30).

use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{AddEventListenerOptions, Event, EventTarget};

/// A listener on `target` for `kind`, removed when this handle is dropped.
#[must_use = "the listener is removed when the handle is dropped"]
#[derive(Debug)]
pub struct EventListener {
    target: EventTarget,
    kind: &'static str,
    capture: bool,
    callback: Closure<dyn FnMut(Event)>,
}

impl EventListener {
    /// Listens in the bubbling phase.
    pub fn new(target: &EventTarget, kind: &'static str, f: impl FnMut(Event) + 'static) -> Self {
        Self::add(target, kind, false, f)
    }

    /// Listens in the capture phase, so the handler runs before the page's own handlers
    /// on the element (the guard must cancel a submit before anything else sees it).
    pub fn new_capture(
        target: &EventTarget,
        kind: &'static str,
        f: impl FnMut(Event) + 'static,
    ) -> Self {
        Self::add(target, kind, true, f)
    }

    fn add(
        target: &EventTarget,
        kind: &'static str,
        capture: bool,
        f: impl FnMut(Event) + 'static,
    ) -> Self {
        let callback = Closure::<dyn FnMut(Event)>::new(f);
        let options = AddEventListenerOptions::new();
        options.set_capture(capture);
        // Adding a listener only fails on a non-callable callback, which a Closure never is.
        let _ = target.add_event_listener_with_callback_and_add_event_listener_options(
            kind,
            callback.as_ref().unchecked_ref(),
            &options,
        );
        EventListener { target: target.clone(), kind, capture, callback }
    }
}

impl Drop for EventListener {
    fn drop(&mut self) {
        let _ = self.target.remove_event_listener_with_callback_and_bool(
            self.kind,
            self.callback.as_ref().unchecked_ref(),
            self.capture,
        );
    }
}
