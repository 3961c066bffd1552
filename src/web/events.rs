//! The DOM events the host page can listen to, dispatched on the script tag (they bubble to
//! `document`): `waitroom:state`, `waitroom:admitted`, `waitroom:error`.

use js_sys::{Object, Reflect};
use wasm_bindgen::JsValue;
use web_sys::{CustomEvent, CustomEventInit, EventTarget};

use crate::machine::Phase;
use crate::machine::View;
use crate::time::duration_millis;

/// `waitroom:state`: the phase, position, people ahead and the ETA range in seconds.
pub const STATE: &str = "waitroom:state";
/// `waitroom:admitted`: the pass (or `null`).
pub const ADMITTED: &str = "waitroom:admitted";
/// `waitroom:error`: why the widget stepped aside (`reason`).
pub const ERROR: &str = "waitroom:error";

/// The fields of a `waitroom:state` event, compared to send one event per change only.
#[derive(Debug, Clone, PartialEq)]
pub struct State {
    phase: Phase,
    position: Option<u64>,
    ahead: Option<u64>,
    eta_s: Option<(u64, u64)>,
}

impl State {
    /// What `view` says, in whole seconds.
    pub fn of(view: &View) -> Self {
        State {
            phase: view.phase,
            position: view.position,
            ahead: view.ahead,
            eta_s: view
                .eta
                .as_ref()
                .map(|e| (duration_millis(e.low) / 1000, duration_millis(e.high) / 1000)),
        }
    }

    /// Dispatches `waitroom:state` on `target`.
    pub fn dispatch(&self, target: &EventTarget) {
        let (low, high) = self.eta_s.unzip();
        dispatch(
            target,
            STATE,
            &[
                ("phase", JsValue::from_str(phase_name(self.phase))),
                ("position", number(self.position)),
                ("ahead", number(self.ahead)),
                ("eta_low_s", number(low)),
                ("eta_high_s", number(high)),
            ],
        );
    }
}

/// Dispatches `waitroom:admitted` with the pass, or `null` when the gate gave none.
pub fn admitted(target: &EventTarget, pass: Option<&str>) {
    dispatch(target, ADMITTED, &[("pass", pass.map_or(JsValue::NULL, JsValue::from_str))]);
}

/// Dispatches `waitroom:error` with a short machine-readable `reason`.
pub fn error(target: &EventTarget, reason: &str) {
    dispatch(target, ERROR, &[("reason", JsValue::from_str(reason))]);
}

/// The phase's name in events: stable, lower-case, meant for code rather than people.
pub fn phase_name(phase: Phase) -> &'static str {
    match phase {
        Phase::Checking => "checking",
        Phase::Queued => "queued",
        Phase::Throttled => "throttled",
        Phase::Verifying => "verifying",
        Phase::Offline => "offline",
        Phase::Closed => "closed",
        Phase::Unavailable => "unavailable",
        Phase::CookiesRequired => "cookies_required",
        Phase::GaveUp => "gave_up",
        Phase::Admitted => "admitted",
    }
}

fn number(n: Option<u64>) -> JsValue {
    n.map_or(JsValue::NULL, |n| JsValue::from_f64(n as f64))
}

/// A bubbling, composed `CustomEvent` (it leaves a shadow root too) with `detail` built from `fields`.
fn dispatch(target: &EventTarget, kind: &str, fields: &[(&str, JsValue)]) {
    let detail = Object::new();
    for (key, value) in fields {
        let _ = Reflect::set(&detail, &JsValue::from_str(key), value);
    }
    let init = CustomEventInit::new();
    init.set_bubbles(true);
    init.set_composed(true);
    init.set_detail(&detail);
    if let Ok(event) = CustomEvent::new_with_event_init_dict(kind, &init) {
        let _ = target.dispatch_event(&event);
    }
}
