//! Where admission leads, and where it may not.
//!
//! The gate's reply, or `data-redirect`, may name a page to go to once the user is in. A gate
//! that was tampered with, or a reply forged on the way, must not send pupils on to a copy of
//! the login page elsewhere: a target is followed only on this page's origin or on one listed in
//! `data-redirect-allow`, and only as a web URL (`javascript:` and `data:` URLs have the opaque
//! origin "null", which a sandboxed page shares). Anywhere else the user stays on this page, and
//! the login they tried goes through.
//!
//! The browser resolves the target against the page ([`Resolved`]); what it means is decided
//! here.
//!
//! ```
//! use waitroom::redirect::{check, Resolved};
//!
//! let allowed = ["https://cas.example.fr".to_string()];
//! let here = "https://ent.example.fr";
//! let cas = Resolved {
//!     href: "https://cas.example.fr/login",
//!     protocol: "https:",
//!     origin: "https://cas.example.fr",
//! };
//! assert_eq!(check("https://cas.example.fr/login", Some(cas), here, &allowed).unwrap(), cas.href);
//! let evil = Resolved { href: "https://evil.example/", protocol: "https:", origin: "https://evil.example" };
//! assert_eq!(
//!     check("https://evil.example/", Some(evil), here, &allowed).unwrap_err().to_string(),
//!     "not redirecting to `https://evil.example/`: not this origin and not in data-redirect-allow"
//! );
//! ```

use std::fmt;

/// A redirect target as the browser resolved it against the page's base URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resolved<'a> {
    /// The absolute URL.
    pub href: &'a str,
    /// Its scheme with the colon, as `URL.protocol` gives it: `"https:"`.
    pub protocol: &'a str,
    /// Its origin, as `URL.origin` gives it: `"https://ent.example.fr"`, or `"null"`.
    pub origin: &'a str,
}

/// A target that is not followed. Its `Display` is the console warning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    target: String,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Plain concatenation, as in `config`: no formatting machinery in the widget.
        f.write_str(
            &[
                "not redirecting to `",
                &self.target,
                "`: not this origin and not in data-redirect-allow",
            ]
            .concat(),
        )
    }
}

/// Where to go for `target` (`resolved` by the browser, `None` when it is no URL at all), from
/// a page on `page_origin`: the absolute URL when it is a web URL on this origin or an
/// `allowed` one; otherwise the user stays, with the reason.
pub fn check(
    target: &str,
    resolved: Option<Resolved<'_>>,
    page_origin: &str,
    allowed: &[String],
) -> Result<String, Refused> {
    match resolved {
        Some(url)
            if matches!(url.protocol, "http:" | "https:")
                && (url.origin == page_origin || allowed.iter().any(|a| a == url.origin)) =>
        {
            Ok(url.href.to_string())
        }
        _ => Err(Refused { target: target.to_string() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HERE: &str = "https://ent.example.fr";

    fn resolved<'a>(href: &'a str, protocol: &'a str, origin: &'a str) -> Option<Resolved<'a>> {
        Some(Resolved { href, protocol, origin })
    }

    #[test]
    fn this_origin_and_allowed_origins_are_followed() {
        let allowed = ["https://cas.example.fr".to_string()];
        let same = resolved("https://ent.example.fr/accueil", "https:", HERE);
        assert_eq!(
            check("/accueil", same, HERE, &allowed).as_deref(),
            Ok("https://ent.example.fr/accueil")
        );
        let cas = resolved("https://cas.example.fr/login", "https:", "https://cas.example.fr");
        assert!(check("https://cas.example.fr/login", cas, HERE, &[]).is_err(), "not allowed yet");
        assert!(check("https://cas.example.fr/login", cas, HERE, &allowed).is_ok());
    }

    #[test]
    fn an_untrusted_origin_or_a_non_web_url_keeps_the_user_here() {
        let cases = [
            (
                "https://evil.example/",
                resolved("https://evil.example/", "https:", "https://evil.example"),
            ),
            // Another port or scheme is another origin.
            (
                "http://ent.example.fr/",
                resolved("http://ent.example.fr/", "http:", "http://ent.example.fr"),
            ),
            // Opaque origins are all "null": a sandboxed page's own origin is "null" too.
            ("javascript:alert(1)", resolved("javascript:alert(1)", "javascript:", "null")),
            ("data:text/html,x", resolved("data:text/html,x", "data:", "null")),
            ("http://[", None),
        ];
        for (target, url) in cases {
            assert_eq!(
                check(target, url, HERE, &["null".to_string()]).unwrap_err().to_string(),
                format!(
                    "not redirecting to `{target}`: not this origin and not in data-redirect-allow"
                ),
                "{target}"
            );
        }
        let sandboxed = resolved("data:text/html,x", "data:", "null");
        assert!(
            check("data:text/html,x", sandboxed, "null", &[]).is_err(),
            "null is no origin to trust"
        );
    }
}
