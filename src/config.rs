//! Configuration from the script tag's `data-*` attributes.
//!
//! Integrators configure waitroom with attributes on one `<script>` tag, often by hand and in a
//! hurry on the morning the portal falls over. So parsing never fails on a bad value: each bad
//! attribute yields one [`ConfigWarning`] that names the attribute, the value and what is used
//! instead, and the page keeps working. Only a missing or unusable `data-gate` stops the widget
//! ([`ConfigError`]), because without it there is nothing to wait for.
//!
//! [`ATTRIBUTES`] documents every attribute; the README table is checked against it.

use std::fmt;
use std::time::Duration;

use crate::backoff::{Backoff, Jitter};
use crate::text::decimal;
use crate::time::duration_millis;

/// Which protocol the gate speaks (`data-protocol`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Protocol {
    /// Native JSON when the reply carries it, plain HTTP status and headers otherwise.
    #[default]
    Auto,
    /// Plain HTTP only: 2xx admits, 429/503 with `Retry-After` waits (nginx `limit_req`, a quota page).
    Http,
    /// The native waitroom JSON protocol of the reference gate.
    Native,
}

/// Language of the texts (`data-lang`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LangSetting {
    /// The page's language (`<html lang>`), then French.
    #[default]
    Auto,
    /// French.
    Fr,
    /// English.
    En,
}

/// What to do when the gate cannot be reached for reasons other than "quota reached" (`data-fail`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FailPolicy {
    /// Let the user in after `fail_open_after`: the widget must never lock everyone out by itself.
    #[default]
    Open,
    /// Keep the user waiting until the gate answers (an explicit choice of the operator).
    Closed,
}

/// When to ask the gate (`data-check`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Check {
    /// As soon as the page loads, so the user waits before typing their password.
    #[default]
    Load,
    /// Only when the guarded form is submitted.
    Submit,
}

/// Colour scheme of the overlay (`data-theme`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Theme {
    /// Follow `prefers-color-scheme`.
    #[default]
    Auto,
    /// Light.
    Light,
    /// Dark.
    Dark,
}

/// The widget's configuration, parsed and range-checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `data-gate`: URL or path of the gate. Required: non-empty, no whitespace or control characters.
    pub gate: String,
    /// `data-protocol`.
    pub protocol: Protocol,
    /// `data-guard`: CSS selector of the element(s) to guard; `None` lets the driver pick the form
    /// that contains a password field.
    pub guard: Option<String>,
    /// `data-lang`.
    pub lang: LangSetting,
    /// `data-title`: overrides the overlay's title.
    pub title: Option<String>,
    /// `data-message`: replaces the explanation (default: the short plain-language one in `messages`).
    pub message: Option<String>,
    /// `data-base-delay`: first backoff delay.
    pub base_delay: Duration,
    /// `data-max-delay`: backoff cap; never below `base_delay`.
    pub max_delay: Duration,
    /// `data-jitter`.
    pub jitter: Jitter,
    /// `data-timeout`: how long one request to the gate may take.
    pub timeout: Duration,
    /// `data-redirect`: where to go after admission (the driver checks the origin).
    pub redirect: Option<String>,
    /// `data-redirect-allow`: origins allowed as redirect targets besides the page's own, each
    /// normalised to `scheme://host[:port]` in lower case.
    pub redirect_allow: Vec<String>,
    /// `data-help`: where "Besoin d'aide ?" in the dialog leads (the driver checks the origin
    /// as for `redirect`), so that help and "forgot your password" stay reachable while waiting.
    pub help: Option<String>,
    /// `data-fail`.
    pub fail: FailPolicy,
    /// `data-fail-open-after`: how long the gate may be unreachable before fail-open lets the user in.
    pub fail_open_after: Duration,
    /// `data-check`.
    pub check: Check,
    /// `data-theme`.
    pub theme: Theme,
    /// `data-pass-field`: name of a hidden input to put the pass into (`[A-Za-z0-9_-]{1,64}`).
    pub pass_field: Option<String>,
    /// `data-max-attempts`: give up after this many failed attempts; `None` never gives up.
    pub max_attempts: Option<u32>,
}

/// One documented attribute, for the README table and the integrator docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttributeDoc {
    /// Full attribute name, e.g. `data-max-delay`.
    pub name: &'static str,
    /// The kind of value: `URL`, `keyword`, `ms`, …
    pub kind: &'static str,
    /// The default, as written in the attribute (`—` when there is none).
    pub default: &'static str,
    /// Allowed values or range.
    pub values: &'static str,
    /// One line saying what it does.
    pub description: &'static str,
}

/// Every attribute waitroom reads. Any other `data-*` attribute on the tag draws a warning.
pub const ATTRIBUTES: &[AttributeDoc] = &[
    doc("data-gate", "URL", "— (required)", "URL or path, no spaces", "Where to ask for admission; without it waitroom stays out of the way."),
    doc("data-protocol", "keyword", "auto", "auto, http, native", "What the gate speaks: native JSON, plain HTTP status codes, or whichever answers."),
    doc("data-guard", "CSS selector", "the form with a password field", "any selector", "Element(s) kept disabled until the user is admitted."),
    doc("data-lang", "keyword", "auto", "auto, fr, en", "Language of the texts; auto follows the page, then French."),
    doc("data-title", "text", "Connexion au portail", "any text", "Replaces the overlay's title."),
    doc("data-message", "text", "a short plain-language explanation", "any text", "Replaces the explanation shown under the status (README: Accessibility)."),
    doc("data-base-delay", "ms", "1000", "100–60000", "First retry delay before jitter; later ones double."),
    doc("data-max-delay", "ms", "120000", "1000–3600000, at least data-base-delay", "Longest delay between two checks."),
    doc("data-jitter", "keyword", "full", "full, equal, decorrelated", "How each delay is randomised so users do not come back together."),
    doc("data-timeout", "ms", "10000", "1000–60000", "How long one request to the gate may take."),
    doc("data-redirect", "URL", "— (stay on the page)", "same origin or data-redirect-allow", "Where to take the user once admitted."),
    doc("data-redirect-allow", "origins", "— (same origin only)", "space-separated https://host[:port]", "Other origins data-redirect, data-help and the gate may send the user to."),
    doc("data-help", "URL", "— (no link)", "same origin or data-redirect-allow", "A help page, linked from the waiting dialog as « Besoin d’aide ? » / “Need help?”."),
    doc("data-fail", "keyword", "open", "open, closed", "Whether an unreachable gate eventually lets users in (open) or keeps them waiting (closed)."),
    doc("data-fail-open-after", "ms", "30000", "0–600000", "How long the gate may be unreachable before fail-open lets the user in."),
    doc("data-check", "keyword", "load", "load, submit", "Ask the gate when the page loads, or only when the form is submitted."),
    doc("data-theme", "keyword", "auto", "auto, light, dark", "Colour scheme of the overlay; auto follows the system."),
    doc("data-pass-field", "name", "— (none)", "1–64 of A–Z a–z 0–9 _ -", "Name of a hidden input added to the form to carry the admission pass."),
    doc("data-max-attempts", "count", "none", "1–1000, or none / 0", "Give up after this many failed attempts; none keeps trying."),
];

const fn doc(
    name: &'static str,
    kind: &'static str,
    default: &'static str,
    values: &'static str,
    description: &'static str,
) -> AttributeDoc {
    AttributeDoc { name, kind, default, values, description }
}

/// A bad attribute that was ignored, replaced by a default, or partly skipped.
///
/// Its `Display` is the console warning, one line a person can act on:
/// `data-max-delay: `abc` is not a number of milliseconds; using 120000`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigWarning {
    /// Full attribute name, e.g. `data-max-delay`.
    pub attribute: String,
    /// The value as written (trimmed).
    pub value: String,
    /// What is wrong with it, e.g. `is not a number of milliseconds`.
    pub reason: String,
    /// The value used instead (`120000`, `full`, `none`); empty when the attribute is ignored or
    /// its bad parts skipped.
    pub default_used: String,
    kind: WarningKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WarningKind {
    /// The value was replaced by `default_used`.
    Replaced,
    /// The whole attribute is unknown and ignored.
    Unknown,
    /// Some parts of a list were skipped, the rest kept.
    Skipped,
}

impl ConfigWarning {
    fn replaced(attribute: &str, value: &str, reason: impl Into<String>, used: &str) -> Self {
        ConfigWarning {
            attribute: attribute.to_string(),
            value: value.to_string(),
            reason: reason.into(),
            default_used: used.to_string(),
            kind: WarningKind::Replaced,
        }
    }
}

/// Longest value echoed in a warning: a pasted blob must not flood the console.
const MAX_ECHO_CHARS: usize = 120;

impl fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Plain concatenation: `write!` with arguments would bring core's formatting machinery
        // into the widget for one console line.
        if self.kind == WarningKind::Unknown {
            return f.write_str(&[&self.attribute, ": unknown attribute; ignored"].concat());
        }
        let mut echo: String = self.value.chars().take(MAX_ECHO_CHARS).collect();
        if echo.len() < self.value.len() {
            echo.push('…');
        }
        let (outcome, used) = match self.kind {
            WarningKind::Skipped => ("skipped", ""),
            _ => ("using ", self.default_used.as_str()),
        };
        f.write_str(
            &[&self.attribute, ": `", &echo, "` ", &self.reason, "; ", outcome, used].concat(),
        )
    }
}

/// Why the widget cannot start. It then stays out of the way and the page works as if it were absent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// `data-gate` is absent or blank.
    MissingGate,
    /// `data-gate` contains whitespace or control characters, so it cannot be a URL.
    InvalidGate {
        /// The value as written (trimmed).
        value: String,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::MissingGate => f.write_str("data-gate is missing: waitroom stays out of the way"),
            ConfigError::InvalidGate { value } => f.write_str(
                &[
                    "data-gate: `",
                    value,
                    "` is not a URL or path (it contains spaces or control characters): waitroom stays out of the way",
                ]
                .concat(),
            ),
        }
    }
}

impl std::error::Error for ConfigError {}

/// Defaults and ranges, in milliseconds.
const BASE_DELAY: Range = Range { default: 1_000, min: 100, max: 60_000 };
const MAX_DELAY: Range = Range { default: 120_000, min: 1_000, max: 3_600_000 };
const TIMEOUT: Range = Range { default: 10_000, min: 1_000, max: 60_000 };
const FAIL_OPEN_AFTER: Range = Range { default: 30_000, min: 0, max: 600_000 };
const MAX_ATTEMPTS: Range = Range { default: 0, min: 1, max: 1_000 };
const MAX_PASS_FIELD_LEN: usize = 64;

#[derive(Debug, Clone, Copy)]
struct Range {
    default: u64,
    min: u64,
    max: u64,
}

impl Config {
    /// The configuration with every default, for the gate at `gate` (tests, the simulator).
    /// `gate` is taken as is, without the checks of [`Config::from_attributes`].
    pub fn for_gate(gate: &str) -> Config {
        Config {
            gate: gate.to_string(),
            protocol: Protocol::Auto,
            guard: None,
            lang: LangSetting::Auto,
            title: None,
            message: None,
            base_delay: Duration::from_millis(BASE_DELAY.default),
            max_delay: Duration::from_millis(MAX_DELAY.default),
            jitter: Jitter::Full,
            timeout: Duration::from_millis(TIMEOUT.default),
            redirect: None,
            redirect_allow: Vec::new(),
            help: None,
            fail: FailPolicy::Open,
            fail_open_after: Duration::from_millis(FAIL_OPEN_AFTER.default),
            check: Check::Load,
            theme: Theme::Auto,
            pass_field: None,
            max_attempts: None,
        }
    }

    /// Parses the script tag's attributes.
    ///
    /// Keys are full attribute names (`"data-gate"`, matched case-insensitively as HTML does);
    /// non-`data-` keys (`src`, `defer`, `id`…) are ignored silently. Values are trimmed; keyword
    /// values are case-insensitive. A bad value yields one warning and the default (or, for a
    /// number out of range, the nearest bound); an unknown `data-*` name yields one warning. An
    /// empty text attribute (`data-title=""`) counts as absent. When a name repeats, the last wins.
    ///
    /// ```
    /// use waitroom::config::Config;
    ///
    /// let (config, warnings) = Config::from_attributes([
    ///     ("src", "/waitroom/waitroom.js"),
    ///     ("data-gate", "/waitroom/api/status"),
    ///     ("data-max-delay", "abc"),
    /// ])
    /// .unwrap();
    /// assert_eq!(config.gate, "/waitroom/api/status");
    /// assert_eq!(
    ///     warnings[0].to_string(),
    ///     "data-max-delay: `abc` is not a number of milliseconds; using 120000"
    /// );
    /// ```
    pub fn from_attributes<'a, I: IntoIterator<Item = (&'a str, &'a str)>>(
        attrs: I,
    ) -> Result<(Config, Vec<ConfigWarning>), ConfigError> {
        // Collect first so the last occurrence of a name wins and cross-attribute checks
        // (max-delay against base-delay) see both values whatever their order.
        let mut seen: Vec<(String, &'a str)> = Vec::new();
        for (key, value) in attrs {
            let key = key.trim().to_ascii_lowercase();
            if !key.starts_with("data-") {
                continue;
            }
            seen.retain(|(k, _)| *k != key);
            seen.push((key, value.trim()));
        }
        let get = |name: &str| seen.iter().find(|(k, _)| k == name).map(|(_, v)| *v);

        let gate = match get("data-gate") {
            None | Some("") => return Err(ConfigError::MissingGate),
            Some(g) if !is_url_like(g) => {
                return Err(ConfigError::InvalidGate { value: g.to_string() })
            }
            Some(g) => g,
        };

        let mut config = Config::for_gate(gate);
        let mut warnings = Vec::new();
        let w = &mut warnings;

        for (key, value) in &seen {
            let (key, value) = (key.as_str(), *value);
            match key {
                "data-gate" => {}
                "data-protocol" => {
                    config.protocol = keyword(
                        w,
                        key,
                        value,
                        &[
                            ("auto", Protocol::Auto),
                            ("http", Protocol::Http),
                            ("native", Protocol::Native),
                        ],
                    );
                }
                "data-guard" => config.guard = text(value),
                "data-lang" => config.lang = lang(w, value),
                "data-title" => config.title = text(value),
                "data-message" => config.message = text(value),
                "data-base-delay" => config.base_delay = millis(w, key, value, BASE_DELAY),
                "data-max-delay" => config.max_delay = millis(w, key, value, MAX_DELAY),
                "data-jitter" => {
                    config.jitter = keyword(
                        w,
                        key,
                        value,
                        &[
                            ("full", Jitter::Full),
                            ("equal", Jitter::Equal),
                            ("decorrelated", Jitter::Decorrelated),
                        ],
                    );
                }
                "data-timeout" => config.timeout = millis(w, key, value, TIMEOUT),
                "data-redirect" => config.redirect = url(w, key, value),
                "data-help" => config.help = url(w, key, value),
                "data-redirect-allow" => config.redirect_allow = redirect_allow(w, value),
                "data-fail" => {
                    config.fail = keyword(
                        w,
                        key,
                        value,
                        &[("open", FailPolicy::Open), ("closed", FailPolicy::Closed)],
                    )
                }
                "data-fail-open-after" => {
                    config.fail_open_after = millis(w, key, value, FAIL_OPEN_AFTER)
                }
                "data-check" => {
                    config.check =
                        keyword(w, key, value, &[("load", Check::Load), ("submit", Check::Submit)])
                }
                "data-theme" => {
                    config.theme = keyword(
                        w,
                        key,
                        value,
                        &[("auto", Theme::Auto), ("light", Theme::Light), ("dark", Theme::Dark)],
                    )
                }
                "data-pass-field" => config.pass_field = pass_field(w, value),
                "data-max-attempts" => config.max_attempts = max_attempts(w, value),
                _ => w.push(ConfigWarning {
                    attribute: key.to_string(),
                    value: value.to_string(),
                    reason: "unknown attribute".to_string(),
                    default_used: String::new(),
                    kind: WarningKind::Unknown,
                }),
            }
        }

        if config.max_delay < config.base_delay {
            // A cap below the base would silently turn every delay into the cap; the operator
            // most likely mistyped one of the two, so say so and keep a sane schedule.
            let used = config.base_delay.max(Duration::from_millis(MAX_DELAY.default));
            let base = decimal(duration_millis(config.base_delay));
            let value = get("data-max-delay").unwrap_or_default();
            warnings.push(ConfigWarning::replaced(
                "data-max-delay",
                value,
                ["is below data-base-delay (", &base, ")"].concat(),
                &decimal(duration_millis(used)),
            ));
            config.max_delay = used;
        }

        Ok((config, warnings))
    }

    /// The backoff this configuration asks for: base, cap, jitter and attempt limit.
    pub fn backoff(&self, seed: u64) -> Backoff {
        let backoff = Backoff::seeded(seed)
            .with_base(self.base_delay)
            .with_cap(self.max_delay)
            .with_jitter(self.jitter);
        match self.max_attempts {
            Some(n) => backoff.with_max_attempts(n),
            None => backoff.without_max_attempts(),
        }
    }
}

/// Non-empty, and no whitespace or control characters (which no URL or path may contain raw).
fn is_url_like(value: &str) -> bool {
    !value.is_empty() && !value.chars().any(|c| c.is_whitespace() || c.is_control())
}

fn text(value: &str) -> Option<String> {
    (!value.is_empty()).then(|| value.to_string())
}

/// One of `options`, matched case-insensitively; on no match, a warning and the first option
/// (the default). The array type makes an empty option list impossible.
fn keyword<T: Copy, const N: usize>(
    w: &mut Vec<ConfigWarning>,
    key: &str,
    value: &str,
    options: &[(&str, T); N],
) -> T {
    if let Some((_, v)) = options.iter().find(|(name, _)| name.eq_ignore_ascii_case(value)) {
        return *v;
    }
    let names: Vec<&str> = options.iter().map(|(name, _)| *name).collect();
    let (default_name, default) = options[0];
    w.push(ConfigWarning::replaced(
        key,
        value,
        ["is not one of ", &names.join(", ")].concat(),
        default_name,
    ));
    default
}

/// `fr`, `en`, `auto`, or a language tag whose primary subtag is one of them (`fr-FR`, `en-GB`).
fn lang(w: &mut Vec<ConfigWarning>, value: &str) -> LangSetting {
    let primary = value.split(['-', '_']).next().unwrap_or("");
    match primary.to_ascii_lowercase().as_str() {
        "auto" if primary.len() == value.len() => LangSetting::Auto,
        "fr" => LangSetting::Fr,
        "en" => LangSetting::En,
        _ => {
            w.push(ConfigWarning::replaced(
                "data-lang",
                value,
                "is not one of auto, fr, en",
                "auto",
            ));
            LangSetting::Auto
        }
    }
}

fn millis(w: &mut Vec<ConfigWarning>, key: &str, value: &str, range: Range) -> Duration {
    let Some(n) = parse_count(value) else {
        w.push(ConfigWarning::replaced(
            key,
            value,
            "is not a number of milliseconds",
            &decimal(range.default),
        ));
        return Duration::from_millis(range.default);
    };
    Duration::from_millis(clamp(w, key, value, n, range, " ms"))
}

/// Out of range: the nearest bound keeps as much of the operator's intent as is safe.
fn clamp(
    w: &mut Vec<ConfigWarning>,
    key: &str,
    value: &str,
    n: Option<u64>,
    range: Range,
    unit: &str,
) -> u64 {
    match n {
        Some(n) if n < range.min => {
            let min = decimal(range.min);
            w.push(ConfigWarning::replaced(
                key,
                value,
                ["is below the minimum ", &min, unit].concat(),
                &min,
            ));
            range.min
        }
        Some(n) if n <= range.max => n,
        // Too many digits for u64 is above the maximum too.
        _ => {
            let max = decimal(range.max);
            w.push(ConfigWarning::replaced(
                key,
                value,
                ["is above the maximum ", &max, unit].concat(),
                &max,
            ));
            range.max
        }
    }
}

/// `Some(Some(n))` for plain digits, `Some(None)` for digits that overflow, `None` otherwise.
/// Signs, decimals and exponents are refused: an attribute is written by hand, and `1.5` or
/// `1e3` more likely means a misunderstanding of the unit than a number we should guess at.
fn parse_count(value: &str) -> Option<Option<u64>> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(value.parse().ok())
}

/// A URL attribute (`data-redirect`, `data-help`); its origin is checked by the driver, which
/// knows the page's.
fn url(w: &mut Vec<ConfigWarning>, key: &str, value: &str) -> Option<String> {
    if value.is_empty() {
        return None;
    }
    if !is_url_like(value) {
        w.push(ConfigWarning::replaced(
            key,
            value,
            "is not a URL (it contains spaces or control characters)",
            "none",
        ));
        return None;
    }
    Some(value.to_string())
}

fn redirect_allow(w: &mut Vec<ConfigWarning>, value: &str) -> Vec<String> {
    let mut allowed = Vec::new();
    let mut bad = Vec::new();
    for entry in value.split_whitespace() {
        match normalise_origin(entry) {
            Some(origin) if !allowed.contains(&origin) => allowed.push(origin),
            Some(_) => {}
            None => bad.push(entry),
        }
    }
    if !bad.is_empty() {
        w.push(ConfigWarning {
            attribute: "data-redirect-allow".to_string(),
            value: bad.join(" "),
            reason: "is not an origin like https://ent.example.fr (scheme and host, no path)"
                .to_string(),
            default_used: String::new(),
            kind: WarningKind::Skipped,
        });
    }
    allowed
}

/// `https://Host:8443/` → `https://host:8443`, the form `location.origin` takes, so the driver can
/// compare strings. Refuses paths, queries, fragments and user info: an allow-list entry is an
/// origin, and anything more suggests the operator meant something we would not enforce.
fn normalise_origin(entry: &str) -> Option<String> {
    let lower = entry.to_ascii_lowercase();
    // Split at the first `:` rather than searching for `://`: a valid scheme has no `:`, and a
    // char split needs no substring searcher in the widget.
    let (scheme, rest) = lower.split_once(':')?;
    let rest = rest.strip_prefix("//")?;
    if scheme != "https" && scheme != "http" {
        return None;
    }
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    let (host, port) = match authority.rsplit_once(':') {
        // An IPv6 literal such as [::1] without a port ends in `]`.
        Some((host, port)) if !port.ends_with(']') => (host, Some(port)),
        _ => (authority, None),
    };
    let host_ok = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(ipv6) => {
            !ipv6.is_empty()
                && ipv6.chars().all(|c| c.is_ascii_hexdigit() || matches!(c, ':' | '.'))
        }
        None => {
            !host.is_empty()
                && host.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'))
        }
    };
    let port_ok =
        port.is_none_or(|p| p.bytes().all(|b| b.is_ascii_digit()) && p.parse::<u16>().is_ok());
    (host_ok && port_ok).then(|| [scheme, "://", authority].concat())
}

fn pass_field(w: &mut Vec<ConfigWarning>, value: &str) -> Option<String> {
    if value.is_empty() {
        return None;
    }
    let ok = value.len() <= MAX_PASS_FIELD_LEN
        && value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !ok {
        w.push(ConfigWarning::replaced(
            "data-pass-field",
            value,
            "is not a field name of 1 to 64 letters, digits, _ or -",
            "none",
        ));
        return None;
    }
    Some(value.to_string())
}

fn max_attempts(w: &mut Vec<ConfigWarning>, value: &str) -> Option<u32> {
    const KEY: &str = "data-max-attempts";
    if value.eq_ignore_ascii_case("none") {
        return None;
    }
    match parse_count(value) {
        None => {
            w.push(ConfigWarning::replaced(
                KEY,
                value,
                "is not a number of attempts or none",
                "none",
            ));
            None
        }
        Some(Some(0)) => None,
        Some(n) => u32::try_from(clamp(w, KEY, value, n, MAX_ATTEMPTS, "")).ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse(attrs: &[(&str, &str)]) -> (Config, Vec<String>) {
        let mut all = vec![("data-gate", "/waitroom/api/status")];
        all.extend_from_slice(attrs);
        let (config, warnings) = Config::from_attributes(all).unwrap();
        (config, warnings.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn gate_alone_gives_every_default_and_no_warning() {
        let (config, warnings) = parse(&[]);
        assert_eq!(config, Config::for_gate("/waitroom/api/status"));
        assert!(warnings.is_empty());
        assert_eq!(config.base_delay, Duration::from_secs(1));
        assert_eq!(config.max_delay, Duration::from_secs(120));
        assert_eq!(config.timeout, Duration::from_secs(10));
        assert_eq!(config.fail_open_after, Duration::from_secs(30));
        assert_eq!(config.jitter, Jitter::Full);
        assert_eq!(config.max_attempts, None);
    }

    #[test]
    fn missing_or_blank_gate_keeps_the_widget_out_of_the_way() {
        assert_eq!(Config::from_attributes([("src", "x.js")]), Err(ConfigError::MissingGate));
        assert_eq!(
            Config::from_attributes([("data-gate", "  \t ")]),
            Err(ConfigError::MissingGate)
        );
        assert_eq!(
            ConfigError::MissingGate.to_string(),
            "data-gate is missing: waitroom stays out of the way"
        );
    }

    #[test]
    fn gate_with_spaces_or_controls_is_refused() {
        let err = Config::from_attributes([("data-gate", "/api/ status")]).unwrap_err();
        assert_eq!(err, ConfigError::InvalidGate { value: "/api/ status".to_string() });
        assert!(err.to_string().starts_with("data-gate: `/api/ status` is not a URL"));
        assert!(Config::from_attributes([("data-gate", "/api\u{7}")]).is_err());
    }

    #[test]
    fn gate_is_trimmed_and_attribute_names_are_case_insensitive() {
        let (config, _) =
            Config::from_attributes([("DATA-GATE", "  https://gate.example.fr/status \n")])
                .unwrap();
        assert_eq!(config.gate, "https://gate.example.fr/status");
    }

    #[test]
    fn every_attribute_is_parsed() {
        let (config, warnings) = parse(&[
            ("data-protocol", "NATIVE"),
            ("data-guard", "#login-form"),
            ("data-lang", "en"),
            ("data-title", "Titre"),
            ("data-message", "Patientez"),
            ("data-base-delay", "500"),
            ("data-max-delay", "60000"),
            ("data-jitter", "Decorrelated"),
            ("data-timeout", "5000"),
            ("data-redirect", "/ent/accueil"),
            ("data-redirect-allow", "https://ENT.example.fr/ http://localhost:8080"),
            ("data-help", "/aide#connexion"),
            ("data-fail", "closed"),
            ("data-fail-open-after", "0"),
            ("data-check", "submit"),
            ("data-theme", "dark"),
            ("data-pass-field", "waitroom_pass"),
            ("data-max-attempts", "12"),
        ]);
        assert_eq!(warnings, Vec::<String>::new());
        assert_eq!(config.protocol, Protocol::Native);
        assert_eq!(config.guard.as_deref(), Some("#login-form"));
        assert_eq!(config.lang, LangSetting::En);
        assert_eq!(config.title.as_deref(), Some("Titre"));
        assert_eq!(config.message.as_deref(), Some("Patientez"));
        assert_eq!(config.base_delay, Duration::from_millis(500));
        assert_eq!(config.max_delay, Duration::from_secs(60));
        assert_eq!(config.jitter, Jitter::Decorrelated);
        assert_eq!(config.timeout, Duration::from_secs(5));
        assert_eq!(config.redirect.as_deref(), Some("/ent/accueil"));
        assert_eq!(config.help.as_deref(), Some("/aide#connexion"));
        assert_eq!(config.redirect_allow, ["https://ent.example.fr", "http://localhost:8080"]);
        assert_eq!(config.fail, FailPolicy::Closed);
        assert_eq!(config.fail_open_after, Duration::ZERO);
        assert_eq!(config.check, Check::Submit);
        assert_eq!(config.theme, Theme::Dark);
        assert_eq!(config.pass_field.as_deref(), Some("waitroom_pass"));
        assert_eq!(config.max_attempts, Some(12));
    }

    #[test]
    fn bad_numbers_warn_with_the_default_used() {
        let (config, warnings) = parse(&[("data-max-delay", "abc"), ("data-timeout", "1e3")]);
        assert_eq!(config.max_delay, Duration::from_secs(120));
        assert_eq!(config.timeout, Duration::from_secs(10));
        assert_eq!(
            warnings,
            [
                "data-max-delay: `abc` is not a number of milliseconds; using 120000",
                "data-timeout: `1e3` is not a number of milliseconds; using 10000",
            ]
        );
    }

    #[test]
    fn out_of_range_numbers_are_clamped_to_the_nearest_bound() {
        let (config, warnings) = parse(&[
            ("data-base-delay", "5"),
            ("data-timeout", "99999999999999999999999"),
            ("data-fail-open-after", "600001"),
        ]);
        assert_eq!(config.base_delay, Duration::from_millis(100));
        assert_eq!(config.timeout, Duration::from_secs(60));
        assert_eq!(config.fail_open_after, Duration::from_secs(600));
        assert_eq!(
            warnings,
            [
                "data-base-delay: `5` is below the minimum 100 ms; using 100",
                "data-timeout: `99999999999999999999999` is above the maximum 60000 ms; using 60000",
                "data-fail-open-after: `600001` is above the maximum 600000 ms; using 600000",
            ]
        );
    }

    #[test]
    fn range_bounds_are_inclusive() {
        let (config, warnings) = parse(&[
            ("data-base-delay", "60000"),
            ("data-max-delay", "3600000"),
            ("data-timeout", "1000"),
            ("data-fail-open-after", "600000"),
            ("data-max-attempts", "1000"),
        ]);
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(config.base_delay, Duration::from_secs(60));
        assert_eq!(config.max_delay, Duration::from_secs(3600));
        assert_eq!(config.max_attempts, Some(1000));
    }

    #[test]
    fn max_delay_below_base_delay_falls_back_whatever_the_order() {
        for attrs in [
            [("data-max-delay", "2000"), ("data-base-delay", "5000")],
            [("data-base-delay", "5000"), ("data-max-delay", "2000")],
        ] {
            let (config, warnings) = parse(&attrs);
            assert_eq!(config.base_delay, Duration::from_secs(5));
            assert_eq!(config.max_delay, Duration::from_secs(120));
            assert_eq!(
                warnings,
                ["data-max-delay: `2000` is below data-base-delay (5000); using 120000"]
            );
        }
    }

    #[test]
    fn bad_keywords_warn_with_the_choices() {
        let (config, warnings) =
            parse(&[("data-jitter", "gaussian"), ("data-fail", "maybe"), ("data-protocol", "")]);
        assert_eq!(config.jitter, Jitter::Full);
        assert_eq!(config.fail, FailPolicy::Open);
        assert_eq!(
            warnings,
            [
                "data-jitter: `gaussian` is not one of full, equal, decorrelated; using full",
                "data-fail: `maybe` is not one of open, closed; using open",
                "data-protocol: `` is not one of auto, http, native; using auto",
            ]
        );
    }

    #[test]
    fn lang_accepts_tags_with_a_region() {
        assert_eq!(parse(&[("data-lang", "fr-FR")]).0.lang, LangSetting::Fr);
        assert_eq!(parse(&[("data-lang", "EN_gb")]).0.lang, LangSetting::En);
        assert_eq!(parse(&[("data-lang", "AUTO")]).0.lang, LangSetting::Auto);
        let (config, warnings) = parse(&[("data-lang", "de")]);
        assert_eq!(config.lang, LangSetting::Auto);
        assert_eq!(warnings, ["data-lang: `de` is not one of auto, fr, en; using auto"]);
        assert_eq!(parse(&[("data-lang", "auto-x")]).1.len(), 1);
    }

    #[test]
    fn unknown_data_attributes_warn_and_others_are_silent() {
        let (_, warnings) = parse(&[
            ("data-frobnicate", "1"),
            ("data-waitroom-debug", "1"),
            ("src", "/waitroom/waitroom.js"),
            ("defer", ""),
            ("id", "waitroom"),
            ("nonce", "abc"),
        ]);
        assert_eq!(
            warnings,
            [
                "data-frobnicate: unknown attribute; ignored",
                "data-waitroom-debug: unknown attribute; ignored"
            ]
        );
    }

    #[test]
    fn empty_text_attributes_count_as_absent() {
        let (config, warnings) = parse(&[
            ("data-title", " "),
            ("data-message", ""),
            ("data-guard", ""),
            ("data-redirect", ""),
            ("data-help", ""),
            ("data-pass-field", ""),
        ]);
        assert!(warnings.is_empty());
        assert_eq!(config, Config::for_gate("/waitroom/api/status"));
    }

    #[test]
    fn the_last_of_repeated_attributes_wins() {
        let (config, warnings) = parse(&[("data-jitter", "bogus"), ("data-jitter", "equal")]);
        assert_eq!(config.jitter, Jitter::Equal);
        assert!(warnings.is_empty());
    }

    #[test]
    fn redirect_allow_keeps_good_origins_and_skips_the_rest_in_one_warning() {
        let (config, warnings) = parse(&[(
            "data-redirect-allow",
            "https://a.example.fr ftp://b.example.fr https://c.example.fr/path https://[::1]:8443 https://a.example.fr https://u@d.fr http://e.fr:99999 https://a:b:80",
        )]);
        assert_eq!(config.redirect_allow, ["https://a.example.fr", "https://[::1]:8443"]);
        assert_eq!(
            warnings,
            ["data-redirect-allow: `ftp://b.example.fr https://c.example.fr/path https://u@d.fr http://e.fr:99999 https://a:b:80` is not an origin like https://ent.example.fr (scheme and host, no path); skipped"]
        );
    }

    #[test]
    fn pass_field_must_be_a_plain_name() {
        assert_eq!(
            parse(&[("data-pass-field", "wr-pass_2")]).0.pass_field.as_deref(),
            Some("wr-pass_2")
        );
        let long = "a".repeat(65);
        for bad in ["a b", "pass\"><script>", "é", long.as_str()] {
            let (config, warnings) = parse(&[("data-pass-field", bad)]);
            assert_eq!(config.pass_field, None);
            assert_eq!(warnings.len(), 1, "{bad}");
        }
        assert_eq!(
            parse(&[("data-pass-field", "a b")]).1,
            ["data-pass-field: `a b` is not a field name of 1 to 64 letters, digits, _ or -; using none"]
        );
    }

    #[test]
    fn max_attempts_zero_or_none_never_gives_up() {
        assert_eq!(parse(&[("data-max-attempts", "0")]).0.max_attempts, None);
        assert_eq!(parse(&[("data-max-attempts", "NONE")]).0.max_attempts, None);
        let (config, warnings) = parse(&[("data-max-attempts", "5000")]);
        assert_eq!(config.max_attempts, Some(1000));
        assert_eq!(warnings, ["data-max-attempts: `5000` is above the maximum 1000; using 1000"]);
        let (config, warnings) = parse(&[("data-max-attempts", "-1")]);
        assert_eq!(config.max_attempts, None);
        assert_eq!(
            warnings,
            ["data-max-attempts: `-1` is not a number of attempts or none; using none"]
        );
    }

    #[test]
    fn redirect_with_spaces_is_refused() {
        let (config, warnings) = parse(&[("data-redirect", "javascript: alert(1)")]);
        assert_eq!(config.redirect, None);
        assert_eq!(warnings.len(), 1);
    }

    #[test]
    fn a_help_link_that_is_not_a_url_is_refused_with_a_warning_naming_it() {
        let (config, warnings) = parse(&[("data-help", "javascript: alert(1)")]);
        assert_eq!(config.help, None);
        assert_eq!(
            warnings,
            ["data-help: `javascript: alert(1)` is not a URL (it contains spaces or control characters); using none"]
        );
    }

    #[test]
    fn warnings_do_not_echo_a_huge_value_in_full() {
        let huge = "x".repeat(10_000);
        let (_, warnings) = parse(&[("data-timeout", &huge)]);
        assert!(warnings[0].len() < 250, "{}", warnings[0]);
        assert!(warnings[0].contains("x…`"));
    }

    #[test]
    fn backoff_follows_the_configuration() {
        let (config, _) = parse(&[
            ("data-base-delay", "250"),
            ("data-max-delay", "4000"),
            ("data-jitter", "equal"),
            ("data-max-attempts", "3"),
        ]);
        let backoff = config.backoff(1);
        assert_eq!(backoff.base(), Duration::from_millis(250));
        assert_eq!(backoff.cap(), Duration::from_secs(4));
        assert_eq!(backoff.jitter(), Jitter::Equal);
        assert_eq!(backoff.count(), 3);
        assert_eq!(Config::for_gate("/g").backoff(1).max_attempts(), None);
    }

    #[test]
    fn every_parsed_attribute_is_documented_and_every_documented_one_is_parsed() {
        // A value no attribute accepts: each known attribute either warns naming itself or
        // (free text) accepts it, but none may be reported as unknown.
        for doc in ATTRIBUTES {
            let result =
                Config::from_attributes([("data-gate", "/g"), (doc.name, "bogus value\u{1}")]);
            if doc.name == "data-gate" {
                assert!(result.is_err());
                continue;
            }
            let (_, warnings) = result.unwrap();
            assert!(warnings.iter().all(|w| w.attribute == doc.name), "{}: {warnings:?}", doc.name);
            assert!(
                warnings.iter().all(|w| w.kind != WarningKind::Unknown),
                "{} is not parsed",
                doc.name
            );
        }
        // And the reverse: names the parser knows must all be in the table. The parser's list is
        // the match in from_attributes; probe every name that appears in this file's source.
        let source = include_str!("config.rs");
        let documented: Vec<&str> = ATTRIBUTES.iter().map(|d| d.name).collect();
        for name in source.split('"').filter(|s| s.starts_with("data-") && !s.contains(' ')) {
            let unknown = match Config::from_attributes([("data-gate", "/g"), (name, "")]) {
                Ok((_, warnings)) => warnings.iter().any(|w| w.kind == WarningKind::Unknown),
                Err(_) => false, // data-gate itself
            };
            assert!(
                unknown || documented.contains(&name),
                "{name} is parsed but not in ATTRIBUTES"
            );
        }
        assert_eq!(ATTRIBUTES.len(), 19);
    }

    #[test]
    fn attribute_docs_are_complete_lines() {
        for doc in ATTRIBUTES {
            assert!(doc.name.starts_with("data-"));
            for field in [doc.kind, doc.default, doc.values, doc.description] {
                assert!(!field.is_empty() && !field.contains('\n'), "{}", doc.name);
            }
        }
    }

    proptest! {
        #[test]
        fn any_attributes_parse_without_panicking_and_within_ranges(
            attrs in proptest::collection::vec(("data-[a-z-]{0,16}", ".{0,24}"), 0..8),
            pick in proptest::collection::vec((0..18usize, ".{0,12}"), 0..8),
        ) {
            let mut all: Vec<(String, String)> = vec![("data-gate".into(), "/g".into())];
            all.extend(attrs);
            all.extend(pick.into_iter().map(|(i, v)| (ATTRIBUTES[i].name.to_string(), v)));
            if let Ok((config, warnings)) = Config::from_attributes(all.iter().map(|(k, v)| (k.as_str(), v.as_str()))) {
                prop_assert!(config.base_delay >= Duration::from_millis(100) && config.base_delay <= Duration::from_secs(60));
                prop_assert!(config.max_delay >= config.base_delay && config.max_delay <= Duration::from_secs(3600));
                prop_assert!(config.timeout >= Duration::from_secs(1) && config.timeout <= Duration::from_secs(60));
                prop_assert!(config.fail_open_after <= Duration::from_secs(600));
                prop_assert!(config.max_attempts.is_none_or(|n| (1..=1000).contains(&n)));
                prop_assert!(!config.gate.is_empty());
                for w in warnings {
                    let _ = w.to_string();
                }
            }
        }
    }
}
