//! The browser driver in headless Chromium: `make test-wasm`.
//!
//! These protect the edge the native tests cannot reach: attributes read from a real tag, the
//! overlay as the DOM shows it (French text, no HTML from the server), the snapshot in
//! `localStorage`, the guard on a real form, the events a host page listens to, and one whole
//! start against a stubbed `fetch`.
#![cfg(target_arch = "wasm32")]

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;
use web_sys::{
    CustomEvent, Document, Element, HtmlFormElement, HtmlInputElement, HtmlScriptElement,
};

use waitroom::config::{Config, Theme};
use waitroom::eta::EtaRange;
use waitroom::machine::{Phase, Place, RetryButton, Snapshot, Status, View};
use waitroom::messages::{Language, Messages};
use waitroom::time::Timestamp;
use waitroom::web::listener::EventListener;
use waitroom::web::overlay::Overlay;
use waitroom::web::storage::Store;
use waitroom::web::{self, events, guard::Guard};

wasm_bindgen_test_configure!(run_in_browser);

/// The browser's `parseFloat` behind `Number::as_f64` gives the nearest `f64`, bit for bit, on
/// the numbers that are hard to get right (the native tests run the same list against std's).
#[wasm_bindgen_test]
fn the_browser_reads_json_numbers_to_the_nearest_float() {
    for (text, expected) in waitroom::json::HARD_FLOATS {
        let read = waitroom::json::parse(text).and_then(|v| v.as_f64());
        assert_eq!(read.map(f64::to_bits), Some(expected.to_bits()), "{text}");
    }
    for too_large in ["1e309", "1.7976931348623159e308"] {
        assert_eq!(waitroom::json::parse(too_large).and_then(|v| v.as_f64()), None, "{too_large}");
    }
}

/// "Last update at HH:MM" is the user's own clock: one time-zone offset and integer arithmetic
/// give what `getHours` and `getMinutes` would, across a year (both changes of summer time:
/// `make test-wasm` runs Chromium with `TZ=Europe/Paris`) and at the epoch.
#[wasm_bindgen_test]
fn the_last_update_shows_the_users_local_hour_and_minute() {
    let year_2026 = 1_767_225_600_000u64;
    let times = (0..1_300u64).map(|i| year_2026 + i * 24_271_000).chain([0, 59_999, 3_600_000]);
    let offsets: std::collections::BTreeSet<i64> = times
        .clone()
        .map(|ms| js_sys::Date::new(&JsValue::from_f64(ms as f64)).get_timezone_offset() as i64)
        .collect();
    assert!(
        offsets.len() > 1,
        "one offset ({offsets:?}): run with TZ=Europe/Paris (make test-wasm)"
    );
    for ms in times {
        let date = js_sys::Date::new(&JsValue::from_f64(ms as f64));
        let expected = (date.get_hours() as u8, date.get_minutes() as u8);
        assert_eq!(web::local_time(Timestamp::from_millis(ms)), expected, "{ms}");
    }
}

fn document() -> Document {
    web_sys::window().unwrap().document().unwrap()
}

fn element(tag: &str, attributes: &[(&str, &str)]) -> Element {
    let e = document().create_element(tag).unwrap();
    for (name, value) in attributes {
        e.set_attribute(name, value).unwrap();
    }
    e
}

fn fr() -> Messages {
    Messages::new(Language::Fr, None, None)
}

fn queued_view() -> View {
    View {
        phase: Phase::Queued,
        position: Some(42),
        ahead: Some(41),
        eta: Some(EtaRange { low: Duration::from_secs(180), high: Duration::from_secs(300) }),
        progress_percent: Some(40),
        next_attempt_in: Some(Duration::from_secs(12)),
        last_update: Some(Timestamp::from_millis(1_775_462_533_000)),
        closed_message: None,
        explains_quota: true,
        retry: RetryButton::Hidden,
        overlay: true,
        retry_in: None,
        pass_left: None,
        pass_warning: false,
        failed_open: false,
    }
}

/// Text of the overlay element with `class`, `None` when it is hidden.
fn shown(overlay: &Overlay, class: &str) -> Option<String> {
    let e = overlay.root().query_selector(&[".", class].concat()).unwrap().unwrap();
    let hidden = e.unchecked_ref::<web_sys::HtmlElement>().hidden();
    (!hidden).then(|| e.text_content().unwrap())
}

/// Resolves with the `detail` of the next `kind` event reaching `document`.
fn next_event(kind: &'static str) -> (JsFuture, EventListener) {
    let slot: Rc<RefCell<Option<Function>>> = Rc::default();
    let promise = Promise::new(&mut |resolve, _| *slot.borrow_mut() = Some(resolve));
    let listener = EventListener::new(&document(), kind, move |event| {
        let detail = event.unchecked_ref::<CustomEvent>().detail();
        if let Some(resolve) = slot.borrow_mut().take() {
            resolve.call1(&JsValue::NULL, &detail).unwrap();
        }
    });
    (JsFuture::from(promise), listener)
}

fn get(object: &JsValue, key: &str) -> JsValue {
    Reflect::get(object, &key.into()).unwrap()
}

#[wasm_bindgen_test]
fn script_attributes_become_config_and_warnings() {
    let script = element(
        "script",
        &[
            ("src", "/waitroom/waitroom.js"),
            ("data-gate", "/waitroom/status"),
            ("data-theme", "dark"),
            ("data-max-delay", "abc"),
        ],
    );
    let attributes = web::attributes(&script);
    let (config, warnings) =
        Config::from_attributes(attributes.iter().map(|(k, v)| (k.as_str(), v.as_str()))).unwrap();
    assert_eq!(config.gate, "/waitroom/status");
    assert_eq!(config.theme, Theme::Dark);
    assert_eq!(config.max_delay, Duration::from_secs(120));
    let warnings: Vec<String> = warnings.iter().map(ToString::to_string).collect();
    assert_eq!(warnings, ["data-max-delay: `abc` is not a number of milliseconds; using 120000"]);
}

#[wasm_bindgen_test]
fn overlay_shows_the_view_in_french_as_an_accessible_dialog() {
    let overlay = Overlay::show(&document(), &fr(), Theme::Auto, None, |_| {}).unwrap();
    overlay.render(&queued_view(), &fr(), |_| (8, 2));

    assert_eq!(shown(&overlay, "phase").as_deref(), Some("Vous êtes dans la file d’attente."));
    assert_eq!(shown(&overlay, "position").as_deref(), Some("41 personnes avant vous."));
    assert_eq!(
        shown(&overlay, "eta").as_deref(),
        Some("Temps d’attente\u{a0}: entre 3 et 5\u{a0}minutes.")
    );
    assert_eq!(
        shown(&overlay, "countdown").as_deref(),
        Some("La page vérifie à nouveau dans 12\u{a0}secondes.")
    );
    assert_eq!(
        shown(&overlay, "updated").as_deref(),
        Some("Le portail a répondu à 8\u{a0}heures 2.")
    );
    assert_eq!(shown(&overlay, "closed"), None);
    assert!(shown(&overlay, "message").unwrap().starts_with("Attendez votre tour."));

    let root = overlay.root();
    let dialog = root.query_selector("[role=dialog]").unwrap().unwrap();
    assert_eq!(dialog.get_attribute("aria-modal").as_deref(), Some("true"));
    let heading =
        root.get_element_by_id(&dialog.get_attribute("aria-labelledby").unwrap()).unwrap();
    assert_eq!(heading.text_content().as_deref(), Some("Connexion au portail"));
    assert_eq!(root.active_element(), Some(heading), "the focus moves to the dialog's heading");
    let progress = root.query_selector("progress").unwrap().unwrap();
    assert_eq!(progress.get_attribute("value").as_deref(), Some("40"));
    assert_eq!(
        progress.get_attribute("aria-label").as_deref(),
        Some("Progression\u{a0}: 40\u{202f}%")
    );
    let live = root.query_selector("[role=status]").unwrap().unwrap();
    assert_eq!(live.get_attribute("aria-live").as_deref(), Some("polite"));
    assert!(root
        .query_selector("button")
        .unwrap()
        .unwrap()
        .unchecked_ref::<web_sys::HtmlElement>()
        .hidden());

    let gave_up = View { phase: Phase::GaveUp, retry: RetryButton::Disabled, ..queued_view() };
    overlay.render(&gave_up, &fr(), |_| (8, 2));
    let retry = root.query_selector("button").unwrap().unwrap();
    assert!(!retry.unchecked_ref::<web_sys::HtmlElement>().hidden());
    assert_eq!(retry.text_content().as_deref(), Some("Réessayer maintenant"));
    assert_eq!(retry.get_attribute("aria-disabled").as_deref(), Some("true"));
    overlay.render(&View { retry: RetryButton::Enabled, ..gave_up }, &fr(), |_| (8, 2));
    assert_eq!(retry.get_attribute("aria-disabled").as_deref(), Some("false"));
    assert!(
        root.query_selector(".phase.still").unwrap().is_some(),
        "given up, nothing happens by itself: the status dot stops pulsing"
    );
    overlay.render(&queued_view(), &fr(), |_| (8, 2));
    assert!(root.query_selector(".phase.still").unwrap().is_none(), "queued, it pulses");

    let host = overlay.host().clone();
    assert!(host.is_connected());
    drop(overlay);
    assert!(!host.is_connected(), "dropping the overlay removes it");
}

#[wasm_bindgen_test]
fn the_help_link_is_inside_the_dialog_and_says_it_opens_a_new_tab() {
    let overlay = Overlay::show(&document(), &fr(), Theme::Auto, Some("/aide"), |_| {}).unwrap();
    let link = overlay.root().query_selector("[role=dialog] a").unwrap().expect("a help link");
    assert_eq!(link.get_attribute("href").as_deref(), Some("/aide"));
    assert_eq!(link.get_attribute("target").as_deref(), Some("_blank"));
    assert_eq!(link.get_attribute("rel").as_deref(), Some("noopener"));
    assert_eq!(link.text_content().as_deref(), Some("Besoin d’aide\u{202f}? (nouvel onglet)"));
    drop(overlay);
    let overlay = Overlay::show(&document(), &fr(), Theme::Auto, None, |_| {}).unwrap();
    assert!(overlay.root().query_selector("a").unwrap().is_none(), "no data-help, no link");
}

#[wasm_bindgen_test]
fn a_hostile_closed_message_is_shown_as_text_never_as_html() {
    let hostile = "<img src=x onerror=alert(1)><b>Fermé</b>";
    let view = View {
        phase: Phase::Closed,
        position: None,
        ahead: None,
        eta: None,
        progress_percent: None,
        next_attempt_in: Some(Duration::from_secs(90)),
        last_update: None,
        closed_message: Some(hostile.to_string()),
        explains_quota: false,
        retry: RetryButton::Hidden,
        overlay: true,
        retry_in: None,
        pass_left: None,
        pass_warning: false,
        failed_open: false,
    };
    let overlay = Overlay::show(&document(), &fr(), Theme::Light, None, |_| {}).unwrap();
    overlay.render(&view, &fr(), |_| (0, 0));
    assert_eq!(shown(&overlay, "closed").as_deref(), Some(hostile));
    assert!(overlay.root().query_selector("img, b").unwrap().is_none());
    let retry = overlay.root().query_selector("button").unwrap().unwrap();
    assert!(
        retry.unchecked_ref::<web_sys::HtmlElement>().hidden(),
        "the next attempt is automatic"
    );
    assert_eq!(shown(&overlay, "position"), None);
    assert_eq!(shown(&overlay, "eta"), None);
}

#[wasm_bindgen_test]
fn the_snapshot_survives_a_reload_in_local_storage() {
    let mut store = Store::new("https://ent.example.fr/waitroom/status");
    let snapshot = Snapshot {
        ticket: Some("t.abc".to_string()),
        next_at: Timestamp::from_millis(1_775_462_460_000),
        attempt: 2,
        status: Status::Queued,
        place: Some(Place {
            position: 42,
            at: Timestamp::from_millis(1_775_462_400_000),
            advance_per_minute: 6.5,
            eta: Duration::from_secs(300),
            entry_position: 70,
        }),
        last_update: Some(Timestamp::from_millis(1_775_462_400_000)),
        saved_at: Timestamp::from_millis(1_775_462_400_500),
    };
    store.save(&snapshot);
    assert_eq!(Store::new("https://ent.example.fr/waitroom/status").load(), Some(snapshot));
    let raw = web_sys::window().unwrap().local_storage().unwrap().unwrap();
    assert!(raw.get_item("waitroom:v1:https://ent.example.fr/waitroom/status").unwrap().is_some());
    raw.set_item(store.key(), "{not json").unwrap();
    assert_eq!(store.load(), None, "a garbled entry is ignored, not fatal");
}

/// A login form in the page, whose own submit handler counts what gets through.
fn login_form() -> (HtmlFormElement, Rc<RefCell<u32>>, EventListener) {
    let form: HtmlFormElement = element("form", &[("action", "/login")]).unchecked_into();
    form.append_child(&element("input", &[("name", "user"), ("value", "eleve")])).unwrap();
    form.append_child(&element("input", &[("type", "password"), ("name", "pw")])).unwrap();
    form.append_child(&element("button", &[("type", "submit")])).unwrap();
    document().body().unwrap().append_child(&form).unwrap();
    let submitted = Rc::new(RefCell::new(0));
    let count = submitted.clone();
    let listener = EventListener::new(&form, "submit", move |event| {
        event.prevent_default(); // the test page must not navigate
        *count.borrow_mut() += 1;
    });
    (form, submitted, listener)
}

#[wasm_bindgen_test]
fn once_the_loader_marks_a_crash_the_guard_lets_submits_through() {
    let (form, submitted, _page) = login_form();
    let script = document().create_element("script").unwrap();
    let guard = Guard::new(&document(), &script, None, || {});
    form.request_submit().unwrap();
    assert_eq!(*submitted.borrow(), 0, "guarded");
    script.set_attribute(waitroom::web::CRASHED, "").unwrap();
    form.request_submit().unwrap();
    assert_eq!(*submitted.borrow(), 1, "the crashed widget no longer holds the form");
    drop(guard);
    form.remove();
}

#[wasm_bindgen_test]
async fn the_guard_blocks_submit_until_lifted_and_keeps_what_was_typed() {
    let (form, submitted, _page) = login_form();
    let blocked = Rc::new(RefCell::new(0));
    let mut guard = {
        let blocked = blocked.clone();
        Guard::new(&document(), &document().create_element("script").unwrap(), None, move || {
            *blocked.borrow_mut() += 1
        })
    };
    guard.mark_buttons("Attendez votre tour pour vous connecter.");
    guard.mark_buttons("again: nothing twice");
    let button = form.query_selector("button").unwrap().unwrap();
    assert_eq!(button.get_attribute("aria-disabled").as_deref(), Some("true"));
    // It looks disabled, and says why, to the eye and to a screen reader.
    let style = web_sys::window().unwrap().get_computed_style(&button).unwrap().unwrap();
    assert_eq!(style.get_property_value("opacity").unwrap(), "0.6");
    let reason = button.get_attribute("aria-describedby").expect("linked to its reason");
    let note = document().get_element_by_id(&reason).expect("the reason is on the page");
    assert_eq!(note.text_content().as_deref(), Some("Attendez votre tour pour vous connecter."));
    assert_eq!(form.query_selector_all("[data-waitroom-reason]").unwrap().length(), 1);
    let first = guard.first_empty_field().expect("a field to carry on in");
    assert_eq!(first.get_attribute("name").as_deref(), Some("pw"), "the empty password");

    form.request_submit().unwrap();
    assert_eq!((*blocked.borrow(), *submitted.borrow()), (1, 0), "blocked before the page sees it");

    let replay = guard.lift().expect("the blocked submit is kept for replay");
    assert_eq!(button.get_attribute("aria-disabled"), None);
    assert_eq!(button.get_attribute("aria-describedby"), None);
    assert!(document().get_element_by_id(&reason).is_none(), "the reason goes with the guard");
    let style = web_sys::window().unwrap().get_computed_style(&button).unwrap().unwrap();
    assert_eq!(style.get_property_value("opacity").unwrap(), "1");
    guard.add_pass("waitroom_pass", "p.123");
    replay.replay();
    assert_eq!(*submitted.borrow(), 0, "in a task of its own, outside any submit event");
    sleep(0).await;
    assert_eq!(*submitted.borrow(), 1);
    let user: HtmlInputElement =
        form.query_selector("[name=user]").unwrap().unwrap().unchecked_into();
    assert_eq!(user.value(), "eleve");
    let pass: HtmlInputElement =
        form.query_selector("[name=waitroom_pass]").unwrap().unwrap().unchecked_into();
    assert_eq!((pass.type_().as_str(), pass.value().as_str()), ("hidden", "p.123"));
    form.remove();
}

#[wasm_bindgen_test]
async fn events_bubble_to_the_document_with_their_details() {
    let script = element("script", &[]);
    document().body().unwrap().append_child(&script).unwrap();

    let (state, _l1) = next_event(events::STATE);
    events::State::of(&queued_view()).dispatch(&script);
    let detail = state.await.unwrap();
    assert_eq!(get(&detail, "phase").as_string().as_deref(), Some("queued"));
    assert_eq!(get(&detail, "position").as_f64(), Some(42.0));
    assert_eq!(get(&detail, "ahead").as_f64(), Some(41.0));
    assert_eq!(
        (get(&detail, "eta_low_s").as_f64(), get(&detail, "eta_high_s").as_f64()),
        (Some(180.0), Some(300.0))
    );

    let (admitted, _l2) = next_event(events::ADMITTED);
    events::admitted(&script, Some("p.1"));
    assert_eq!(get(&admitted.await.unwrap(), "pass").as_string().as_deref(), Some("p.1"));

    let (error, _l3) = next_event(events::ERROR);
    events::error(&script, "unavailable");
    assert_eq!(get(&error.await.unwrap(), "reason").as_string().as_deref(), Some("unavailable"));
    script.remove();
}

#[wasm_bindgen_test]
async fn a_tag_without_data_gate_stays_out_of_the_way() {
    let (form, submitted, _page) = login_form();
    let script: HtmlScriptElement = element("script", &[("data-guard", "form")]).unchecked_into();
    document().body().unwrap().append_child(&script).unwrap();
    let (error, _l) = next_event(events::ERROR);
    web::start(script.clone(), None);
    assert_eq!(get(&error.await.unwrap(), "reason").as_string().as_deref(), Some("config"));
    form.request_submit().unwrap();
    assert_eq!(*submitted.borrow(), 1, "no guard without a gate");
    form.remove();
    script.remove();
}

/// `s` as a JavaScript string literal (a JSON string is one).
fn js_string(s: &str) -> String {
    let mut out = String::new();
    waitroom::json::push_string(&mut out, s);
    out
}

/// Replaces `window.fetch` with a stub answering `status` and `body` (JSON), returning the
/// original to put back.
fn stub_fetch(status: u16, body: &str) -> JsValue {
    let window = web_sys::window().unwrap();
    let original = get(&window, "fetch");
    let stub = Function::new_with_args(
        "",
        &[
            "return () => Promise.resolve(new Response(",
            &js_string(body),
            ", {status: ",
            &status.to_string(),
            ", headers: {'Content-Type': 'application/json', 'Retry-After': '60'}}));",
        ]
        .concat(),
    )
    .call0(&JsValue::NULL)
    .unwrap();
    Reflect::set(&window, &"fetch".into(), &stub).unwrap();
    original
}

#[wasm_bindgen_test]
async fn a_queued_reply_shows_the_overlay_then_admission_lifts_the_guard() {
    let (form, submitted, _page) = login_form();
    let gate = "/stub/queued-then-admitted";
    web_sys::window().unwrap().local_storage().unwrap().unwrap().clear().unwrap();
    let original = stub_fetch(
        503,
        r#"{"state":"queued","ticket":"t.1","position":42,"eta_seconds":300,"retry_after_ms":60000,"advance_per_minute":8.0}"#,
    );
    let script: HtmlScriptElement =
        element("script", &[("data-gate", gate), ("data-pass-field", "waitroom_pass")])
            .unchecked_into();
    document().body().unwrap().append_child(&script).unwrap();

    let (state, _l) = next_event(events::STATE);
    web::start(script.clone(), None);
    let first = state.await.unwrap();
    assert_eq!(get(&first, "phase").as_string().as_deref(), Some("checking"));
    assert!(
        document().query_selector("waitroom-overlay").unwrap().is_none(),
        "nothing shows while checking"
    );

    let (state, _l) = next_event(events::STATE);
    let queued = state.await.unwrap();
    assert_eq!(get(&queued, "phase").as_string().as_deref(), Some("queued"));
    assert_eq!(get(&queued, "position").as_f64(), Some(42.0));
    let host = document().query_selector("waitroom-overlay").unwrap().expect("the overlay is up");
    let text = host.shadow_root().unwrap().text_content().unwrap();
    assert!(text.contains("41 personnes avant vous."), "{text}");
    form.request_submit().unwrap();
    assert_eq!(*submitted.borrow(), 0, "guarded while queued");

    // Another tab is admitted: this one follows through the storage event.
    let (admitted, _l) = next_event(events::ADMITTED);
    admit_from_another_tab(gate, "p.42");
    assert_eq!(get(&admitted.await.unwrap(), "pass").as_string().as_deref(), Some("p.42"));

    let focused = host.shadow_root().unwrap().active_element().map(|e| e.text_content());
    assert_eq!(focused, Some(Some("Entrer maintenant".into())), "Enter goes at once");
    let pass: HtmlInputElement =
        form.query_selector("[name=waitroom_pass]").unwrap().unwrap().unchecked_into();
    assert_eq!(pass.value(), "p.42");
    // The submit held while queued is announced, then sent: at once with « Entrer maintenant ».
    sleep(50).await;
    assert_eq!(*submitted.borrow(), 0, "announced before it goes");
    let shown = host.shadow_root().unwrap().text_content().unwrap();
    assert!(shown.contains("Vous allez entrer dans le portail dans 3\u{a0}secondes."), "{shown}");
    enter_now(&host);
    sleep(50).await;
    assert_eq!(*submitted.borrow(), 1);
    host.remove(); // the notice would stay for the next tests

    Reflect::set(&web_sys::window().unwrap(), &"fetch".into(), &original).unwrap();
    form.remove();
    script.remove();
}

/// Presses « Entrer maintenant » in the overlay of `host`.
fn enter_now(host: &Element) {
    let root = host.shadow_root().unwrap();
    let buttons = root.query_selector_all("button").unwrap();
    let enter = (0..buttons.length())
        .filter_map(|i| buttons.item(i))
        .find(|b| b.text_content().as_deref() == Some("Entrer maintenant"))
        .expect("« Entrer maintenant »");
    enter.unchecked_ref::<web_sys::HtmlElement>().click();
}

/// Removes what admitted widgets leave on the page (their notices), for the next tests.
fn remove_notices() {
    let left = document().query_selector_all("waitroom-overlay").unwrap();
    for i in 0..left.length() {
        if let Some(host) = left.item(i) {
            host.unchecked_into::<Element>().remove();
        }
    }
}

/// What another tab does when it is admitted: store an admitted snapshot for `gate`.
fn admit_from_another_tab(gate: &str, pass: &str) {
    let key = [
        "waitroom:v1:",
        &web_sys::Url::new_with_base(gate, &document().base_uri().unwrap().unwrap())
            .unwrap()
            .href(),
    ]
    .concat();
    store_admission(&key, pass);
}

/// A `storage` event that writes an admitted snapshot under `key`.
fn store_admission(key: &str, pass: &str) {
    let admitted_snapshot = Snapshot {
        ticket: Some("t.1".to_string()),
        next_at: Timestamp::EPOCH,
        attempt: 0,
        status: Status::Admitted { pass: Some(pass.to_string()), expires_at: None },
        place: None,
        last_update: None,
        // Now: a snapshot from the future is not believed (Snapshot::checked).
        saved_at: web::now(),
    };
    let init = web_sys::StorageEventInit::new();
    init.set_key(Some(key));
    init.set_new_value(Some(&admitted_snapshot.to_json()));
    let event = web_sys::StorageEvent::new_with_event_init_dict("storage", &init).unwrap();
    web_sys::window().unwrap().dispatch_event(&event).unwrap();
}

/// A `fetch` that fails the way the browser reports a network error or a timeout, through
/// the promise's rejection: the driver must still hear about it.
#[wasm_bindgen_test]
async fn a_failed_or_timed_out_fetch_is_unavailable() {
    let stubs = [
        ("/stub/network-error", "return () => Promise.reject(new TypeError('Failed to fetch'));"),
        (
            "/stub/never-answers",
            "return (url, init) => new Promise((_, reject) => init.signal.addEventListener('abort', \
             () => reject(new DOMException('aborted', 'AbortError'))));",
        ),
    ];
    for (gate, stub) in stubs {
        let window = web_sys::window().unwrap();
        let original = get(&window, "fetch");
        let stub = Function::new_with_args("", stub).call0(&JsValue::NULL).unwrap();
        Reflect::set(&window, &"fetch".into(), &stub).unwrap();
        let script: HtmlScriptElement = element(
            "script",
            &[("data-gate", gate), ("data-fail", "closed"), ("data-timeout", "1000")],
        )
        .unchecked_into();
        document().body().unwrap().append_child(&script).unwrap();

        let (state, _l) = next_event(events::STATE);
        web::start(script.clone(), None);
        assert_eq!(get(&state.await.unwrap(), "phase").as_string().as_deref(), Some("checking"));
        let (state, _l) = next_event(events::STATE);
        assert_eq!(
            get(&state.await.unwrap(), "phase").as_string().as_deref(),
            Some("unavailable"),
            "{gate}"
        );

        // Let the widget go, so that it neither polls nor shows its overlay in later tests.
        let (admitted, _l) = next_event(events::ADMITTED);
        admit_from_another_tab(gate, "p.1");
        admitted.await.unwrap();
        remove_notices();
        Reflect::set(&window, &"fetch".into(), &original).unwrap();
        script.remove();
    }
}

/// A host page's handler of `waitroom:state` that submits the form runs while the driver is
/// still performing the action that sent the event: the submit it causes waits in the queue for
/// that same pump, which is not entered twice (a second borrow of the widget would trap).
#[wasm_bindgen_test]
async fn a_submit_from_a_host_handler_of_our_event_is_queued_for_the_same_pump() {
    let (form, submitted, _page) = login_form();
    let gate = "/stub/never-answers-reentrant";
    let window = web_sys::window().unwrap();
    window.local_storage().unwrap().unwrap().clear().unwrap();
    let original = get(&window, "fetch");
    let stub = Function::new_with_args("", "return () => new Promise(() => {});")
        .call0(&JsValue::NULL)
        .unwrap();
    Reflect::set(&window, &"fetch".into(), &stub).unwrap();
    let script: HtmlScriptElement = element("script", &[("data-gate", gate)]).unchecked_into();
    document().body().unwrap().append_child(&script).unwrap();
    let host_submits = {
        let form = form.clone();
        EventListener::new(&script, events::STATE, move |_| {
            let _ = form.request_submit();
        })
    };

    web::start(script.clone(), None);
    assert_eq!(*submitted.borrow(), 0, "held by the guard");
    assert!(
        document().query_selector("waitroom-overlay").unwrap().is_some(),
        "the held submit was handled: the overlay says why, even while checking"
    );
    drop(host_submits);

    // Another gate's admission, or another script's key, is not ours.
    store_admission("waitroom:v1:https://other.example/status", "p.other");
    store_admission("session", "p.other");
    sleep(50).await;
    assert!(document().query_selector("waitroom-overlay").unwrap().is_some(), "still waiting");
    assert_eq!(*submitted.borrow(), 0, "still held");

    let (admitted, _l) = next_event(events::ADMITTED);
    admit_from_another_tab(gate, "p.7");
    admitted.await.unwrap();
    sleep(50).await;
    let host = document().query_selector("waitroom-overlay").unwrap().unwrap();
    enter_now(&host);
    sleep(50).await;
    assert_eq!(*submitted.borrow(), 1, "and replayed once admitted");
    remove_notices();
    Reflect::set(&window, &"fetch".into(), &original).unwrap();
    form.remove();
    script.remove();
}

async fn sleep(ms: i32) {
    let promise = Promise::new(&mut |resolve, _| {
        web_sys::window()
            .unwrap()
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms)
            .unwrap();
    });
    JsFuture::from(promise).await.unwrap();
}
