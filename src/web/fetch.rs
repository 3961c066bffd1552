//! `GET <gate>` with the fetch API, turned into a [`reply::Response`] for the core to classify.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use gloo_timers::callback::Timeout;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortController, Headers, Request, RequestCredentials, RequestInit, Url};

use crate::reply::{self, Failure};
use crate::time::duration_millis;
use crate::wire::TICKET_PARAM;

/// Longest body kept: native replies are a few hundred bytes, a proxy's error page can be huge.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// What the browser let us see of a response, owned so it outlives the fetch promises.
#[derive(Debug, Clone, Default)]
pub struct Fetched {
    status: u16,
    retry_after: Option<String>,
    ratelimit: Option<String>,
    ratelimit_reset: Option<String>,
    content_type: Option<String>,
    body: String,
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
        }
    }
}

/// `gate` (absolute) with `?ticket=` set, so a cross-origin poll stays a CORS simple request.
pub fn gate_url(gate: &str, ticket: Option<&str>) -> String {
    match (Url::new(gate), ticket) {
        (Ok(url), Some(ticket)) => {
            url.search_params().set(TICKET_PARAM, ticket);
            url.href()
        }
        _ => gate.to_string(),
    }
}

/// Sends `GET url`, aborting after `timeout`.
pub async fn get(url: &str, timeout: Duration) -> Result<Fetched, Failure> {
    let controller = AbortController::new().map_err(|_| Failure::Network)?;
    let timed_out = Rc::new(Cell::new(false));
    let _deadline = {
        let (controller, timed_out) = (controller.clone(), timed_out.clone());
        let ms = u32::try_from(duration_millis(timeout)).unwrap_or(u32::MAX);
        Timeout::new(ms, move || {
            timed_out.set(true);
            controller.abort();
        })
    };
    let failure = |_| if timed_out.get() { Failure::Timeout } else { Failure::Network };

    let init = RequestInit::new();
    init.set_method("GET");
    init.set_credentials(RequestCredentials::SameOrigin);
    init.set_signal(Some(&controller.signal()));
    let headers = Headers::new().map_err(failure)?;
    headers.append("Accept", "application/json").map_err(failure)?;
    init.set_headers(&headers);
    let request = Request::new_with_str_and_init(url, &init).map_err(failure)?;

    let window = web_sys::window().ok_or(Failure::Network)?;
    let response: web_sys::Response =
        JsFuture::from(window.fetch_with_request(&request)).await.map_err(failure)?.unchecked_into();
    let headers = response.headers();
    let header = |name: &str| headers.get(name).ok().flatten();
    let mut fetched = Fetched {
        status: response.status(),
        retry_after: header("Retry-After"),
        ratelimit: header("RateLimit"),
        ratelimit_reset: header("RateLimit-Reset"),
        content_type: header("Content-Type"),
        body: String::new(),
    };
    // The timeout still runs while the body streams in: a stalled body is a timeout too.
    let text = response.text().map_err(failure)?;
    let body = JsFuture::from(text).await.map_err(failure)?.as_string().unwrap_or_default();
    fetched.body = cut(body, MAX_BODY_BYTES);
    Ok(fetched)
}

/// `text` cut to at most `max` bytes, on a character boundary.
fn cut(mut text: String, max: usize) -> String {
    if text.len() > max {
        let end = (0..=max).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
        text.truncate(end);
    }
    text
}
