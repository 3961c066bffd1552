//! The browser a place belongs to: the `waitroom_id` cookie, and the gate's other cookies.
//!
//! The gate gives every browser a random identifier in an `HttpOnly` cookie and binds each
//! ticket and pass it signs to that identifier (through [`crate::token::Binding`], a keyed
//! digest of it: the identifier itself never appears in a token, so a copied ticket does not
//! reveal the cookie that goes with it). A ticket or a pass is worth nothing without its cookie,
//! which a page's scripts cannot read and a pupil does not paste into a group chat.

use std::fmt;

use axum::http::header::COOKIE;
use axum::http::HeaderMap;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use cookie::{Cookie, SameSite};

/// Name of the cookie that identifies the browser.
pub const ID_COOKIE: &str = "waitroom_id";
/// Name of the cookie that carries the pass (for `GET /waitroom/auth` and the login handler).
pub const PASS_COOKIE: &str = "waitroom_pass";
/// How long the identifier cookie lives: a school day and more, renewed on every status reply.
const ID_MAX_AGE_S: i64 = 24 * 3600;
/// Random bytes in an identifier (128 bits: never guessed, never shared by chance).
const ID_BYTES: usize = 16;
/// Length of an identifier as written in the cookie (unpadded base64url).
const ID_LEN: usize = 22;

/// A browser's identifier, as its `waitroom_id` cookie carries it: 22 base64url characters.
#[derive(Clone, PartialEq, Eq)]
pub struct BrowserId(String);

impl fmt::Debug for BrowserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // An identifier is a credential of sorts: keep it out of logs.
        f.write_str("BrowserId(..)")
    }
}

impl BrowserId {
    /// A fresh identifier from the operating system's randomness; `None` when there is none.
    pub fn random() -> Option<BrowserId> {
        let mut bytes = [0u8; ID_BYTES];
        getrandom::getrandom(&mut bytes).ok()?;
        Some(BrowserId(URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// An identifier from `bytes`, for in-process drivers and tests.
    pub fn from_bytes(bytes: [u8; ID_BYTES]) -> BrowserId {
        BrowserId(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Reads a cookie value; `None` unless it has exactly the shape the gate writes.
    pub fn parse(value: &str) -> Option<BrowserId> {
        let shaped = value.len() == ID_LEN
            && value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        // The last character of 16 bytes in base64 carries 2 bits: decoding checks the rest.
        (shaped && URL_SAFE_NO_PAD.decode(value).is_ok()).then(|| BrowserId(value.to_string()))
    }

    /// The identifier as the cookie carries it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The value of cookie `name` in a request's `Cookie` headers, if present and not empty.
/// Pairs that do not parse are skipped; the first occurrence of `name` wins (the most specific
/// path comes first, as browsers send them).
pub fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name && !c.value().is_empty())
        .and_then(|c| match (c.name_raw(), c.value_raw()) {
            (Some(_), Some(value)) => Some(value),
            _ => None,
        })
}

/// The browser identifier a request carries, if it is well formed.
pub fn browser_id(headers: &HeaderMap) -> Option<BrowserId> {
    cookie_value(headers, ID_COOKIE).and_then(BrowserId::parse)
}

/// `Set-Cookie` for the identifier: `HttpOnly`, `SameSite=Lax`, `Path=/`, a day long, and
/// `Secure` when the browser reached the gate over HTTPS.
pub fn id_cookie(id: &BrowserId, secure: bool) -> String {
    build(ID_COOKIE, id.as_str(), ID_MAX_AGE_S, secure)
}

/// `Set-Cookie` for a pass, living as long as the pass.
pub fn pass_cookie(pass: &str, max_age_s: u64, secure: bool) -> String {
    build(PASS_COOKIE, pass, i64::try_from(max_age_s).unwrap_or(i64::MAX), secure)
}

fn build(name: &str, value: &str, max_age_s: i64, secure: bool) -> String {
    Cookie::build((name, value))
        .path("/")
        .max_age(cookie::time::Duration::seconds(max_age_s))
        .same_site(SameSite::Lax)
        .http_only(true)
        .secure(secure)
        .build()
        .to_string()
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(cookies: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for c in cookies {
            headers.append(COOKIE, HeaderValue::from_str(c).unwrap());
        }
        headers
    }

    #[test]
    fn a_random_identifier_is_22_characters_and_reads_back() {
        let id = BrowserId::random().unwrap();
        assert_eq!(id.as_str().len(), 22);
        assert_eq!(BrowserId::parse(id.as_str()), Some(id.clone()));
        assert_ne!(BrowserId::random(), Some(id));
    }

    #[test]
    fn identifiers_of_another_shape_are_refused() {
        let good = BrowserId::from_bytes([7; 16]);
        for bad in [
            "",
            "short",
            &format!("{}A", good.as_str()),
            &good.as_str().replace(|_| true, "!"),
            "AAAAAAAAAAAAAAAAAAAAA/",
            "AAAAAAAAAAAAAAAAAAAAAB", // a last character with bits 16 bytes cannot have
        ] {
            assert_eq!(BrowserId::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn the_identifier_is_found_among_other_cookies_and_headers() {
        let id = BrowserId::from_bytes([1; 16]);
        let h = headers(&["a=1; b=2", &format!("x=\"q\"; {ID_COOKIE}={}; c=3", id.as_str())]);
        assert_eq!(browser_id(&h), Some(id));
        assert_eq!(browser_id(&headers(&["waitroom_id=; z=1"])), None);
        assert_eq!(browser_id(&headers(&["waitroom_id=not-ours"])), None);
        assert_eq!(browser_id(&HeaderMap::new()), None);
        assert_eq!(
            cookie_value(&headers(&["=;;; ; waitroom_pass=p2.x"]), PASS_COOKIE),
            Some("p2.x")
        );
    }

    #[test]
    fn cookies_are_http_only_lax_rooted_and_secure_only_over_https() {
        let id = BrowserId::from_bytes([0; 16]);
        assert_eq!(
            id_cookie(&id, false),
            "waitroom_id=AAAAAAAAAAAAAAAAAAAAAA; HttpOnly; SameSite=Lax; Path=/; Max-Age=86400"
        );
        assert_eq!(
            pass_cookie("p2.1", 300, true),
            "waitroom_pass=p2.1; HttpOnly; SameSite=Lax; Secure; Path=/; Max-Age=300"
        );
    }
}
