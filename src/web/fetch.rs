//! `GET <gate>` with the fetch API, turned into a [`reply::Response`] for the core to classify.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use gloo_timers::callback::Timeout;
use js_sys::Promise;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{AbortController, Headers, RequestCredentials, RequestInit, RequestRedirect, Url};

use crate::machine::Solution;
use crate::reply::{self, Failure};
use crate::time::duration_millis;
use crate::wire::{CHALLENGE_PARAM, PASS_PARAM, SOLUTION_PARAM, TICKET_PARAM};

/// Longest body kept: native replies are a few hundred bytes, a proxy's error page can be huge.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// What [`get`] reports, once.
pub type OnFetched = Box<dyn FnOnce(Result<Fetched, Failure>)>;

#[wasm_bindgen]
extern "C" {
    /// A promise, seen through `then` with two plain functions.
    type Settling;

    /// `promise.then(f, f)`: `f` runs exactly once, with the value or the rejection reason.
    /// One self-freeing callback per step instead of an async state machine and an executor
    /// (wasm-bindgen-futures), which cost the widget several KiB.
    #[wasm_bindgen(method, js_name = then)]
    fn settle(this: &Settling, on_fulfilled: &JsValue, on_rejected: &JsValue);
}

/// Runs `f` once `promise` settles, with its value or its rejection reason.
pub(super) fn on_settled(promise: &Promise, f: JsValue) {
    promise.unchecked_ref::<Settling>().settle(&f, &f);
}

/// What the browser let us see of a response, owned so it outlives the fetch promises.
#[derive(Debug, Clone, Default)]
pub struct Fetched {
    status: u16,
    retry_after: Option<String>,
    ratelimit: Option<String>,
    ratelimit_reset: Option<String>,
    content_type: Option<String>,
    body: String,
    /// The gate answered with a redirect, which the browser did not follow.
    opaque_redirect: bool,
}

impl Fetched {
    /// The response as the core's [`reply::classify`] reads it.
    pub fn as_response(&self) -> reply::Response<'_> {
        reply::Response {
            status: self.status,
            retry_after: self.retry_after.as_deref(),
            ratelimit: self.ratelimit.as_deref(),
            ratelimit_reset: self.ratelimit_reset.as_deref(),
            content_type: self.content_type.as_deref(),
            body: &self.body,
            opaque_redirect: self.opaque_redirect,
        }
    }
}

/// `gate` (absolute) with `?ticket=`, the pass to renew and the proof of work set, so a
/// cross-origin poll stays a CORS simple request.
pub fn gate_url(
    gate: &str,
    ticket: Option<&str>,
    pass: Option<&str>,
    proof: Option<&Solution>,
) -> String {
    let Ok(url) = Url::new(gate) else { return gate.to_string() };
    let params = url.search_params();
    for (name, value) in [(TICKET_PARAM, ticket), (PASS_PARAM, pass)] {
        if let Some(value) = value {
            params.set(name, value);
        }
    }
    if let Some(proof) = proof {
        params.set(CHALLENGE_PARAM, &proof.challenge);
        params.set(SOLUTION_PARAM, &crate::text::decimal(proof.number));
    }
    url.href()
}

/// Sends `GET url`, aborting after `timeout`, and calls `done` with the outcome.
///
/// Redirects are not followed (`redirect: "manual"`): a login URL that sends the browser on to
/// a single sign-on server must not have every waiting browser poll that server too. The core
/// decides what the unfollowed redirect means ([`reply::classify`]).
pub fn get(url: &str, timeout: Duration, done: OnFetched) {
    let Ok(controller) = AbortController::new() else { return done(Err(Failure::Network)) };
    let timed_out = Rc::new(Cell::new(false));
    let deadline = {
        let (controller, timed_out) = (controller.clone(), timed_out.clone());
        let ms = u32::try_from(duration_millis(timeout)).unwrap_or(u32::MAX);
        Timeout::new(ms, move || {
            timed_out.set(true);
            controller.abort();
        })
    };
    let failure = move || if timed_out.get() { Failure::Timeout } else { Failure::Network };

    let init = RequestInit::new();
    init.set_method("GET");
    // The gate binds a place to its `waitroom_id` cookie: send it to a gate on another origin
    // of the same site too (the gate answers such origins with exact-origin CORS and
    // `Access-Control-Allow-Credentials: true`).
    init.set_credentials(RequestCredentials::Include);
    init.set_redirect(RequestRedirect::Manual);
    init.set_signal(Some(&controller.signal()));
    let Ok(headers) = Headers::new() else { return done(Err(failure())) };
    if headers.append("Accept", "application/json").is_err() {
        return done(Err(failure()));
    }
    init.set_headers(&headers);
    let pending = super::window().fetch_with_str_and_init(url, &init);

    let on_response = Closure::once_into_js(move |value: JsValue| {
        let Ok(response) = value.dyn_into::<web_sys::Response>() else {
            return done(Err(failure()));
        };
        let headers = response.headers();
        let header = |name: &str| headers.get(name).ok().flatten();
        let fetched = Fetched {
            status: response.status(),
            retry_after: header("Retry-After"),
            ratelimit: header("RateLimit"),
            ratelimit_reset: header("RateLimit-Reset"),
            content_type: header("Content-Type"),
            body: String::new(),
            // A CORS-mode fetch answers status 0 only as the opaque trace of a redirect.
            opaque_redirect: response.status() == 0,
        };
        let Ok(text) = response.text() else { return done(Err(failure())) };
        let on_body = Closure::once_into_js(move |value: JsValue| {
            // The timeout runs until here: a stalled body is a timeout too.
            drop(deadline);
            // Cut on the JS side first, so a proxy's huge page is never copied into wasm
            // memory (which never shrinks); then to the byte limit on a character boundary.
            match value.dyn_into::<js_sys::JsString>() {
                Ok(text) => {
                    let head = text.slice(0, MAX_BODY_BYTES as u32);
                    done(Ok(Fetched { body: cut(String::from(head), MAX_BODY_BYTES), ..fetched }))
                }
                Err(_) => done(Err(failure())),
            }
        });
        on_settled(&text, on_body);
    });
    on_settled(&pending, on_response);
}

/// `text` cut to at most `max` bytes, on a character boundary.
fn cut(mut text: String, max: usize) -> String {
    if text.len() > max {
        let end = (0..=max).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
        text.truncate(end);
    }
    text
}
