//! The browser driver (wasm32 only): thin and boring on purpose.
//!
//! It reads the script tag, translates browser events into [`crate::machine::Machine`]
//! `handle_*` calls and the machine's actions into DOM, fetch, timer and storage calls: every
//! callback posts an event to one queue, and one pump owns the machine (`driver.rs`). Every
//! decision about *what* to do lives in the core, where it is tested natively: what the overlay
//! shows ([`crate::machine::View`]), where admission may lead ([`crate::redirect`]), whether the
//! page is the gate's refusal ([`crate::reply::is_refusal_page`]). One module per Web API, as
//! gloo does.

mod driver;
pub mod events;
pub mod fetch;
pub mod guard;
pub mod listener;
pub mod overlay;
pub mod storage;
pub mod tabs;

use wasm_bindgen::prelude::*;
use web_sys::{Element, HtmlScriptElement, Window};

use crate::time::Timestamp;

/// Starts the widget for `script`, the `<script>` tag that loaded it (the loader passes it),
/// with the loader's proof-of-work `solver` when the browser has `crypto.subtle`:
/// `solver(challenge, target, max_number)` resolves to the number found, or `-1`.
///
/// A configuration error is logged and the widget stays out of the way; warnings are logged
/// one per bad attribute.
#[wasm_bindgen]
pub fn start(script: HtmlScriptElement, solver: Option<js_sys::Function>) {
    driver::Driver::start(script, solver);
}

#[wasm_bindgen]
extern "C" {
    /// The page's `window`, bound directly: the widget only ever runs in a page, and
    /// `web_sys::window()` finds it by probing four globals, with their glue, in every download.
    #[wasm_bindgen(thread_local_v2, js_name = window)]
    static WINDOW: Window;
}

/// Set on the `<script>` tag by the loader when the widget trapped or threw: the loader has
/// undone the overlay and the guard, and every callback and the guard must do nothing more.
pub const CRASHED: &str = "data-waitroom-crashed";

/// The page's `window`.
pub fn window() -> Window {
    WINDOW.with(Window::clone)
}

/// The tag's attributes as `(name, value)` pairs, for [`crate::config::Config::from_attributes`].
pub fn attributes(element: &Element) -> Vec<(String, String)> {
    let names = element.get_attribute_names();
    names
        .iter()
        .filter_map(|name| {
            let name = name.as_string()?;
            let value = element.get_attribute(&name)?;
            Some((name, value))
        })
        .collect()
}

/// Wall-clock time, read here at the edge and passed into the core.
pub fn now() -> Timestamp {
    Timestamp::from_millis(js_sys::Date::now().max(0.0) as u64)
}

/// Random bits for the machine's seed and the tab election: `crypto.getRandomValues`, or
/// `Math.random` where there is no Web Crypto.
pub fn random_u64() -> u64 {
    let mut bytes = [0u8; 8];
    let crypto = window().crypto().ok();
    match crypto.map(|c| c.get_random_values_with_u8_array(&mut bytes)) {
        Some(Ok(_)) => u64::from_le_bytes(bytes),
        _ => {
            let high = (js_sys::Math::random() * 4_294_967_296.0) as u64;
            let low = (js_sys::Math::random() * 4_294_967_296.0) as u64;
            (high << 32) | low
        }
    }
}

/// 32 random bits (an id that fits a JS number exactly).
pub fn random_u32() -> u32 {
    random_u64() as u32
}

/// The user's local time of day for `t`, as HH, MM: from the time zone's offset at that date,
/// one browser call where `getHours` and `getMinutes` would be two (each import costs every
/// pupil about 40 bytes, docs/size.md).
pub fn local_time(t: Timestamp) -> (u8, u8) {
    let ms = t.as_millis() as f64;
    let offset_minutes = js_sys::Date::new(&JsValue::from_f64(ms)).get_timezone_offset();
    let minute_of_day = (t.as_millis() / 60_000) as i64 - offset_minutes as i64;
    let minute_of_day = minute_of_day.rem_euclid(24 * 60) as u32;
    ((minute_of_day / 60) as u8, (minute_of_day % 60) as u8)
}

/// `console.warn`.
pub fn warn(message: &str) {
    web_sys::console::warn_1(&JsValue::from_str(message));
}

/// `console.error`.
pub fn error(message: &str) {
    web_sys::console::error_1(&JsValue::from_str(message));
}
