//! The guard: the login form cannot be submitted until the gate admits the user, yet keeps
//! everything the user typed.
//!
//! One capture-phase `submit` listener on the document cancels submits of the guarded form(s).
//! Forms are looked up at submit time, so the guard works whether the script runs before or
//! after the form is parsed.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use wasm_bindgen::JsCast;
use web_sys::{Document, Element, HtmlElement, HtmlFormElement, HtmlInputElement, SubmitEvent};

use super::listener::EventListener;
use crate::text::decimal;

/// Marks the buttons the guard made `aria-disabled`, so that the loader can undo it after a crash.
const DISABLED_MARK: &str = "data-waitroom-disabled";
/// Marks the sentence the guard put under each disabled button, for the same reason.
const REASON_MARK: &str = "data-waitroom-reason";
/// The id of a reason: this and a number.
const REASON_ID: &str = "waitroom-reason-";

const SUBMIT_BUTTONS: &str =
    "button:not([type]), button[type=submit], input[type=submit], input[type=image]";

/// A submit the guard cancelled, to replay once the user is admitted.
#[derive(Debug, Clone)]
pub struct Blocked {
    /// The form.
    pub form: HtmlFormElement,
    /// The button that submitted it, so its `name=value` is sent too.
    pub submitter: Option<HtmlElement>,
}

impl Blocked {
    /// Submits the form again, with its validation and its `submit` handlers, as the user
    /// meant, in a task of its own: the admission may come while the cancelled submit is still
    /// being dispatched (a stored admission found at the first submit with
    /// `data-check="submit"`), and a form does not submit from within its own submit event.
    ///
    /// The timer is let go rather than held: the widget is dropped with the admission, and the
    /// replay must outlive it. `Window.setTimeout` with a self-freeing closure instead cost the
    /// download 130 bytes gzip (measured with `make build`, 2026-11-30).
    pub fn replay(self) {
        gloo_timers::callback::Timeout::new(0, move || self.submit()).forget();
    }

    fn submit(&self) {
        let with_submitter =
            self.submitter.as_ref().map(|s| self.form.request_submit_with_submitter(Some(s)));
        if !matches!(with_submitter, Some(Ok(()))) {
            let _ = self.form.request_submit();
        }
    }
}

/// Keeps the guarded form(s) from submitting until [`Guard::lift`].
#[derive(Debug)]
pub struct Guard {
    document: Document,
    selector: Option<String>,
    on: Rc<Cell<bool>>,
    blocked: Rc<RefCell<Option<Blocked>>>,
    /// Buttons we marked `aria-disabled`, to unmark exactly those, and the reasons we added.
    marked: Vec<Element>,
    reasons: Vec<Element>,
    _listener: EventListener,
}

impl Guard {
    /// Guards the form(s) matched by `selector` (or the login form); `on_blocked` runs after
    /// each cancelled submit.
    ///
    /// Once the loader has set [`super::CRASHED`] on `script`, submits go through untouched.
    pub fn new(
        document: &Document,
        script: &Element,
        selector: Option<&str>,
        on_blocked: impl Fn() + 'static,
    ) -> Guard {
        let on = Rc::new(Cell::new(true));
        let blocked = Rc::new(RefCell::new(None));
        let selector = selector.and_then(|s| match document.query_selector(s) {
            Ok(_) => Some(s.to_string()),
            Err(_) => {
                super::warn(
                    &[
                        "waitroom: data-guard: `",
                        s,
                        "` is not a valid CSS selector; guarding the login form instead",
                    ]
                    .concat(),
                );
                None
            }
        });
        let listener = {
            let (on, blocked, document2, selector, script) =
                (on.clone(), blocked.clone(), document.clone(), selector.clone(), script.clone());
            EventListener::new_capture(document, "submit", move |event| {
                let Some(form) = event.target().and_then(|t| t.dyn_into::<HtmlFormElement>().ok())
                else {
                    return;
                };
                if !on.get()
                    || script.has_attribute(super::CRASHED)
                    || !guarded_forms(&document2, selector.as_deref()).contains(&form)
                {
                    return;
                }
                event.prevent_default();
                event.stop_immediate_propagation();
                let submitter = event.dyn_ref::<SubmitEvent>().and_then(SubmitEvent::submitter);
                *blocked.borrow_mut() = Some(Blocked { form, submitter });
                on_blocked();
            })
        };
        Guard {
            document: document.clone(),
            selector,
            on,
            blocked,
            marked: Vec::new(),
            reasons: Vec::new(),
            _listener: listener,
        }
    }

    /// Whether submits are still cancelled.
    pub fn is_on(&self) -> bool {
        self.on.get()
    }

    /// The guarded forms, as the document is now.
    pub fn forms(&self) -> Vec<HtmlFormElement> {
        guarded_forms(&self.document, self.selector.as_deref())
    }

    /// Marks the guarded forms' submit buttons `aria-disabled`, makes them look disabled, and
    /// puts `reason` under each, linked with `aria-describedby`, so that everyone, seeing or
    /// not, knows why nothing happens yet. Safe to call again when more of the page has loaded.
    pub fn mark_buttons(&mut self, reason: &str) {
        if !self.is_on() {
            return;
        }
        for form in self.forms() {
            for button in query_all(&form, SUBMIT_BUTTONS) {
                if button.has_attribute("aria-disabled") {
                    continue;
                }
                let _ = button.set_attribute("aria-disabled", "true");
                let _ = button.set_attribute(DISABLED_MARK, "");
                // The style property, not a style attribute: a strict CSP allows the former.
                if let Some(html) = button.dyn_ref::<HtmlElement>() {
                    let _ = html.style().set_property("opacity", "0.6");
                }
                if let Ok(note) = self.document.create_element("p") {
                    let id = [REASON_ID, &decimal(self.reasons.len() as u64)].concat();
                    note.set_id(&id);
                    note.set_text_content(Some(reason));
                    let _ = note.set_attribute(REASON_MARK, "");
                    if !button.has_attribute("aria-describedby") {
                        let _ = button.set_attribute("aria-describedby", &id);
                    }
                    let _ = button.after_with_node_1(&note);
                    self.reasons.push(note);
                }
                self.marked.push(button);
            }
        }
    }

    /// Whether the user is typing in a guarded form: the focus is in one of its text fields,
    /// which holds something already.
    pub fn being_typed_in(&self) -> bool {
        let Some(active) = self.document.active_element() else { return false };
        let typed = match active.dyn_ref::<HtmlInputElement>() {
            Some(input) => {
                !matches!(input.type_().as_str(), "submit" | "button" | "checkbox" | "radio")
                    && !input.value().is_empty()
            }
            None => active.tag_name() == "TEXTAREA",
        };
        typed && self.forms().iter().any(|form| form.contains(Some(&active)))
    }

    /// Where the user carries on once let in: the guarded form's first empty field, or its
    /// submit button when everything is filled in.
    pub fn first_empty_field(&self) -> Option<HtmlElement> {
        let forms = self.forms();
        let fields = forms.iter().flat_map(|form| {
            query_all(form, "input:not([type=hidden]):not([disabled]), textarea, select")
        });
        let empty = fields.filter_map(|e| e.dyn_into::<HtmlInputElement>().ok()).find(|i| {
            i.value().is_empty() && !matches!(i.type_().as_str(), "submit" | "button" | "checkbox")
        });
        empty.map(Into::into).or_else(|| {
            let form = forms.first()?;
            query_all(form, SUBMIT_BUTTONS).into_iter().next()?.dyn_into().ok()
        })
    }

    /// Lets submits through again and returns the last cancelled submit, if any.
    pub fn lift(&mut self) -> Option<Blocked> {
        self.on.set(false);
        for button in self.marked.drain(..) {
            let _ = button.remove_attribute("aria-disabled");
            let _ = button.remove_attribute(DISABLED_MARK);
            if let Some(html) = button.dyn_ref::<HtmlElement>() {
                // An empty value removes the property, as the loader's stepping aside does.
                let _ = html.style().set_property("opacity", "");
            }
            // The link to the reason we added, not one the page had.
            if button.get_attribute("aria-describedby").is_some_and(|by| by.starts_with(REASON_ID))
            {
                let _ = button.remove_attribute("aria-describedby");
            }
        }
        for reason in self.reasons.drain(..) {
            reason.remove();
        }
        self.blocked.borrow_mut().take()
    }

    /// Puts `pass` into a hidden input named `field` in each guarded form (reusing one that exists).
    pub fn add_pass(&self, field: &str, pass: &str) {
        for form in self.forms() {
            let existing = form
                .query_selector(&["input[name=\"", field, "\"]"].concat())
                .ok()
                .flatten()
                .and_then(|e| e.dyn_into::<HtmlInputElement>().ok());
            let input = match existing {
                Some(input) => input,
                None => {
                    let Some(input) = create_input(&self.document) else { continue };
                    input.set_type("hidden");
                    input.set_name(field);
                    let _ = form.append_child(&input);
                    input
                }
            };
            input.set_value(pass);
        }
    }
}

/// `selector`'s forms (a matched element that is not a form stands for its form, or the forms
/// inside it); without a selector, the form holding a password field, else the first form.
fn guarded_forms(document: &Document, selector: Option<&str>) -> Vec<HtmlFormElement> {
    let Some(selector) = selector else {
        let login = document
            .query_selector("form input[type=password]")
            .ok()
            .flatten()
            .and_then(|input| input.closest("form").ok().flatten())
            .or_else(|| document.query_selector("form").ok().flatten());
        return login.into_iter().filter_map(|f| f.dyn_into().ok()).collect();
    };
    let mut forms: Vec<HtmlFormElement> = Vec::new();
    for element in query_all(document, selector) {
        let found = match element.closest("form").ok().flatten() {
            Some(form) => vec![form],
            None => query_all(&element, "form"),
        };
        for form in found.into_iter().filter_map(|f| f.dyn_into::<HtmlFormElement>().ok()) {
            if !forms.contains(&form) {
                forms.push(form);
            }
        }
    }
    forms
}

/// Matches of `selector` under `root`; an invalid selector matches nothing.
fn query_all(root: &impl AsRef<web_sys::Node>, selector: &str) -> Vec<Element> {
    let list = if let Some(document) = root.as_ref().dyn_ref::<Document>() {
        document.query_selector_all(selector)
    } else if let Some(element) = root.as_ref().dyn_ref::<Element>() {
        element.query_selector_all(selector)
    } else {
        return Vec::new();
    };
    let Ok(list) = list else { return Vec::new() };
    (0..list.length()).filter_map(|i| list.item(i)?.dyn_into().ok()).collect()
}

fn create_input(document: &Document) -> Option<HtmlInputElement> {
    document.create_element("input").ok()?.dyn_into().ok()
}
