//! Server instructions about *when* to come back: `Retry-After` and the RateLimit header fields.
//!
//! The widget never retries before the server's instruction (DESIGN.md, "no early retry, ever"),
//! so these parsers must understand every form a real server or proxy sends, and must turn
//! anything hostile or broken into `None` (fall back to our own backoff) rather than into a huge,
//! negative or panicking value. Civil-date arithmetic is done here by hand (Howard Hinnant's
//! `days_from_civil`) because a date crate would cost every pupil tens of KiB for three formats.

use std::time::Duration;

use crate::time::Timestamp;

/// Longest server-instructed delay we honour; longer values (a ten-year Retry-After) are clamped to it.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// `Retry-After` value → delay from `now`.
///
/// Accepts delay-seconds (`"120"`) or an HTTP-date in IMF-fixdate (`"Sun, 06 Nov 1994 08:49:37 GMT"`)
/// and the two obsolete forms RFC 9110 §5.6.7 requires recipients to accept: RFC 850
/// (`"Sunday, 06-Nov-94 08:49:37 GMT"`, whose two-digit year is read as the most recent matching
/// year that is not more than 50 years after `now`) and asctime (`"Sun Nov  6 08:49:37 1994"`).
///
/// A date in the past gives `Some(Duration::ZERO)`. Garbage (negative, non-numeric, `"1e3"`, empty,
/// overflowing) gives `None`. The result is clamped to [`MAX_RETRY_AFTER`]. Surrounding whitespace
/// is trimmed.
///
/// ```
/// use std::time::Duration;
/// use waitroom::retry_after::{parse_retry_after, parse_http_date};
///
/// let now = parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
/// assert_eq!(parse_retry_after(" 120 ", now), Some(Duration::from_secs(120)));
/// assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:50:07 GMT", now), Some(Duration::from_secs(30)));
/// assert_eq!(parse_retry_after("soon", now), None);
/// ```
pub fn parse_retry_after(value: &str, now: Timestamp) -> Option<Duration> {
    let value = value.trim();
    if let Some(delay) = parse_delay_seconds(value) {
        return Some(delay);
    }
    let date = parse_date_millis(value, Some(now))?;
    let now = i128::from(now.as_millis());
    let ahead = u64::try_from((date - now).max(0)).unwrap_or(u64::MAX);
    Some(Duration::from_millis(ahead).min(MAX_RETRY_AFTER))
}

/// HTTP-date (any of the three forms) → [`Timestamp`]; `None` if invalid (unknown format, bad day,
/// month or time ranges, 30 February…) or before 1970.
///
/// Without a clock, an RFC 850 two-digit year cannot follow RFC 9110's "not more than 50 years in
/// the future" rule; it is read as 1970–2069 instead (the RFC 6265 §5.1.1 rule), which agrees
/// with RFC 9110 until the 2020s are long past. [`parse_retry_after`] applies the exact rule.
///
/// The day name must be a valid one but is not checked against the date: the date fields carry
/// the meaning, and RFC 9110 asks recipients to be robust.
pub fn parse_http_date(value: &str) -> Option<Timestamp> {
    let ms = parse_date_millis(value.trim(), None)?;
    u64::try_from(ms).ok().map(Timestamp::from_millis)
}

/// The `t` parameter (seconds until the quota resets) of the IETF RateLimit header fields draft,
/// e.g. `RateLimit: "default";r=0;t=30` → 30 s. Clamped to [`MAX_RETRY_AFTER`].
///
/// When several policies are listed, the longest `t` among the exhausted ones (`r=0`) wins, since
/// they are the ones that block us; if none is exhausted, the longest `t` overall. The dictionary
/// form of earlier drafts (`limit=100, remaining=0, reset=30`) is accepted too. `None` when no
/// usable reset time is present.
pub fn parse_ratelimit(value: &str) -> Option<Duration> {
    let mut exhausted: Option<u64> = None;
    let mut any: Option<u64> = None;
    for member in split_outside_quotes(value, ',') {
        let mut parts = split_outside_quotes(member, ';');
        let head = parts.next().unwrap_or("").trim();
        // Earlier drafts: a dictionary whose `reset` member is the delay.
        if let Some(("reset", v)) = head.split_once('=').map(|(k, v)| (k.trim(), v.trim())) {
            if let Some(s) = parse_sf_integer(v) {
                any = Some(any.map_or(s, |a| a.max(s)));
            }
            continue;
        }
        let (mut reset, mut remaining) = (None, None);
        for param in parts {
            if let Some((key, v)) = param.split_once('=') {
                match key.trim() {
                    "t" => reset = parse_sf_integer(v.trim()),
                    "r" => remaining = parse_sf_integer(v.trim()),
                    _ => {}
                }
            }
        }
        if let Some(t) = reset {
            any = Some(any.map_or(t, |a| a.max(t)));
            if remaining == Some(0) {
                exhausted = Some(exhausted.map_or(t, |a| a.max(t)));
            }
        }
    }
    exhausted.or(any).map(clamp_seconds)
}

/// The older `RateLimit-Reset: 30` header value (delay-seconds), clamped to [`MAX_RETRY_AFTER`].
///
/// Some servers send an epoch timestamp in the similar `X-RateLimit-Reset`; such a value is read
/// as a (very long) delay and clamped, which errs on the side of waiting.
pub fn parse_ratelimit_reset(value: &str) -> Option<Duration> {
    parse_delay_seconds(value.trim())
}

/// delay-seconds = 1*DIGIT, clamped. Rejects `+5`, `-5`, `1e3`, `1.5` and values beyond `u64`.
fn parse_delay_seconds(value: &str) -> Option<Duration> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse::<u64>().ok().map(clamp_seconds)
}

fn clamp_seconds(seconds: u64) -> Duration {
    Duration::from_secs(seconds).min(MAX_RETRY_AFTER)
}

/// A non-negative Structured Field integer (at most 15 digits, RFC 9651 §3.3.1).
fn parse_sf_integer(value: &str) -> Option<u64> {
    if value.is_empty() || value.len() > 15 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse().ok()
}

/// Splits on `separator` except inside double-quoted strings (policy names may contain commas).
fn split_outside_quotes(value: &str, separator: char) -> impl Iterator<Item = &str> {
    let mut rest = Some(value);
    std::iter::from_fn(move || {
        let s = rest?;
        let (mut quoted, mut escaped) = (false, false);
        for (i, c) in s.char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' if quoted => escaped = true,
                '"' => quoted = !quoted,
                c if c == separator && !quoted => {
                    // `get`, not indexing: `i` is a boundary, and this keeps panic text out of the widget.
                    rest = s.get(i + c.len_utf8()..);
                    return s.get(..i);
                }
                _ => {}
            }
        }
        rest = None;
        Some(s)
    })
}

const DAY_NAMES: [&str; 7] =
    ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
const MONTHS: [&str; 12] =
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// A parsed civil date and time, not yet checked against the calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Civil {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
}

/// Milliseconds since the epoch (negative before 1970) of any of the three HTTP-date forms.
/// `now` resolves RFC 850 two-digit years; see [`parse_http_date`] for the rule without it.
fn parse_date_millis(value: &str, now: Option<Timestamp>) -> Option<i128> {
    let civil = parse_imf_fixdate(value)
        .or_else(|| parse_rfc850(value, now))
        .or_else(|| parse_asctime(value))?;
    to_millis(civil)
}

/// `Sun, 06 Nov 1994 08:49:37 GMT`
fn parse_imf_fixdate(value: &str) -> Option<Civil> {
    let (day_name, rest) = split_day_name(value)?;
    short_day_name(day_name)?;
    let mut fields = rest.split(' ');
    let day = two_digits(fields.next()?)?;
    let month = month(fields.next()?)?;
    let year = four_digits(fields.next()?)?;
    let (hour, minute, second) = time_of_day(fields.next()?)?;
    (fields.next()? == "GMT" && fields.next().is_none()).then_some(())?;
    Some(Civil { year, month, day, hour, minute, second })
}

/// `Sun, rest` → `("Sun", "rest")`. A day name holds no comma, so the first one must be
/// followed by the space; a char split needs no substring searcher in the widget.
fn split_day_name(value: &str) -> Option<(&str, &str)> {
    let (day_name, rest) = value.split_once(',')?;
    Some((day_name, rest.strip_prefix(' ')?))
}

/// `Sunday, 06-Nov-94 08:49:37 GMT`
fn parse_rfc850(value: &str, now: Option<Timestamp>) -> Option<Civil> {
    let (day_name, rest) = split_day_name(value)?;
    DAY_NAMES.contains(&day_name).then_some(())?;
    let mut fields = rest.split(' ');
    let mut date = fields.next()?.split('-');
    let day = two_digits(date.next()?)?;
    let month = month(date.next()?)?;
    let yy = two_digits(date.next()?)?;
    date.next().is_none().then_some(())?;
    let (hour, minute, second) = time_of_day(fields.next()?)?;
    (fields.next()? == "GMT" && fields.next().is_none()).then_some(())?;
    let mut civil = Civil { year: 0, month, day, hour, minute, second };
    civil.year = match now {
        Some(now) => rfc850_year(yy, civil, now),
        None if yy >= 70 => 1900 + i64::from(yy),
        None => 2000 + i64::from(yy),
    };
    Some(civil)
}

/// RFC 9110 §5.6.7: "a timestamp that appears to be more than 50 years in the future" means
/// "the most recent year in the past that had the same last two digits". So: the latest year
/// ending in `yy` whose date is not more than 50 years after `now`.
fn rfc850_year(yy: u32, civil: Civil, now: Timestamp) -> i64 {
    let now_secs = (now.as_millis() / 1000) as i64;
    let (now_year, now_month, now_day) = civil_from_days(now_secs.div_euclid(86_400));
    let limit_year = now_year + 50;
    let mut year = limit_year - (limit_year - i64::from(yy)).rem_euclid(100);
    if year == limit_year {
        // Same year as the limit: compare the rest of the date with "now plus 50 years".
        let of_day = now_secs.rem_euclid(86_400) as u32;
        let limit = (now_month, now_day, of_day / 3600, of_day / 60 % 60, of_day % 60);
        if (civil.month, civil.day, civil.hour, civil.minute, civil.second) > limit {
            year -= 100;
        }
    }
    year
}

/// `Sun Nov  6 08:49:37 1994` (the day is space-padded, or two digits)
fn parse_asctime(value: &str) -> Option<Civil> {
    let rest = value.get(..4).filter(|head| head.ends_with(' ')).and_then(|head| {
        short_day_name(head.get(..3)?)?;
        value.get(4..)
    })?;
    let month = month(rest.get(..3)?)?;
    let rest = rest.get(3..)?.strip_prefix(' ')?;
    let (day, rest) = if let Some(single) = rest.strip_prefix(' ') {
        let digit = single.get(..1)?;
        (two_digits(&["0", digit].concat())?, single.get(1..)?)
    } else {
        (two_digits(rest.get(..2)?)?, rest.get(2..)?)
    };
    let mut fields = rest.strip_prefix(' ')?.split(' ');
    let (hour, minute, second) = time_of_day(fields.next()?)?;
    let year = four_digits(fields.next()?)?;
    fields.next().is_none().then_some(())?;
    Some(Civil { year, month, day, hour, minute, second })
}

fn short_day_name(name: &str) -> Option<()> {
    DAY_NAMES.iter().any(|d| d.get(..3) == Some(name)).then_some(())
}

fn month(name: &str) -> Option<u32> {
    MONTHS.iter().position(|m| *m == name).map(|i| i as u32 + 1)
}

fn digits(s: &str, n: usize) -> Option<u32> {
    (s.len() == n && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok())?
}

fn two_digits(s: &str) -> Option<u32> {
    digits(s, 2)
}

fn four_digits(s: &str) -> Option<i64> {
    digits(s, 4).map(i64::from)
}

/// `HH:MM:SS`, with second 60 allowed for a leap second (RFC 9110 grammar comment).
fn time_of_day(s: &str) -> Option<(u32, u32, u32)> {
    let mut parts = s.split(':');
    let hour = two_digits(parts.next()?)?;
    let minute = two_digits(parts.next()?)?;
    let second = two_digits(parts.next()?)?;
    if parts.next().is_some() || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    Some((hour, minute, second))
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn to_millis(c: Civil) -> Option<i128> {
    if !(1..=12).contains(&c.month) || c.day == 0 || c.day > days_in_month(c.year, c.month) {
        return None;
    }
    let days = days_from_civil(c.year, c.month, c.day);
    let secs = i128::from(days) * 86_400
        + i128::from(c.hour) * 3600
        + i128::from(c.minute) * 60
        + i128::from(c.second);
    Some(secs * 1000)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant, "chrono-Compatible
/// Low-Level Date Algorithms"): eras of 400 years, years starting in March so the leap day
/// is last.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400; // [0, 399]
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1; // [0, 365]
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; // [0, 146096]
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`]: (year, month 1–12, day 1–31).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097; // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11], March = 0
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    use proptest::prelude::*;

    /// Formats an IMF-fixdate, e.g. `Sun, 06 Nov 1994 08:49:37 GMT` (milliseconds truncated): the
    /// oracle the parser is checked against. Nothing in the widget or the gate writes HTTP dates.
    fn format_http_date(t: Timestamp) -> String {
        let secs = t.as_millis() / 1000;
        let days = (secs / 86_400) as i64;
        let of_day = secs % 86_400;
        let (year, month, day) = civil_from_days(days);
        // 1970-01-01 was a Thursday (index 4 with Sunday = 0).
        let weekday = DAY_NAMES[((days + 4) % 7) as usize];
        format!(
            "{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT",
            &weekday[..3],
            day,
            MONTHS[(month - 1) as usize],
            year,
            of_day / 3600,
            of_day / 60 % 60,
            of_day % 60
        )
    }

    /// 1994-11-06T08:49:37Z, the RFC's example date.
    const RFC_EXAMPLE_MS: u64 = 784_111_777_000;

    fn at(ms: u64) -> Timestamp {
        Timestamp::from_millis(ms)
    }

    #[test]
    fn delay_seconds_are_read_and_trimmed() {
        let now = at(0);
        assert_eq!(parse_retry_after("120", now), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after("  0\t", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("007", now), Some(Duration::from_secs(7)));
    }

    #[test]
    fn garbage_retry_after_is_none() {
        let now = at(RFC_EXAMPLE_MS);
        for bad in [
            "",
            "   ",
            "-1",
            "+5",
            "1e3",
            "1.5",
            "12 s",
            "soon",
            "0x10",
            "１２",
            "NaN",
            "99999999999999999999999",
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 6 Nov 1994 08:49:37 GMT",
        ] {
            assert_eq!(parse_retry_after(bad, now), None, "{bad:?}");
        }
    }

    #[test]
    fn ten_year_retry_after_is_clamped_to_an_hour() {
        assert_eq!(parse_retry_after("315360000", at(0)), Some(MAX_RETRY_AFTER));
        assert_eq!(parse_retry_after("18446744073709551615", at(0)), Some(MAX_RETRY_AFTER));
        assert_eq!(
            parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT", at(0)),
            Some(MAX_RETRY_AFTER)
        );
    }

    #[test]
    fn all_three_date_forms_name_the_same_instant() {
        let expected = Some(at(RFC_EXAMPLE_MS));
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), expected);
        assert_eq!(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), expected);
        assert_eq!(parse_http_date("Sun Nov  6 08:49:37 1994"), expected);
        assert_eq!(parse_http_date("Sun Nov 06 08:49:37 1994"), expected);
        assert_eq!(parse_http_date("  Sun, 06 Nov 1994 08:49:37 GMT \r\n"), expected);
    }

    #[test]
    fn a_date_in_the_future_is_a_delay_from_now() {
        let now = at(RFC_EXAMPLE_MS);
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:51:37 GMT", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Sun Nov  6 08:50:37 1994", now),
            Some(Duration::from_secs(60))
        );
        // Milliseconds of `now` count: the date is 1.5 s ahead, not 2 s.
        let now = at(RFC_EXAMPLE_MS + 500);
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:39 GMT", now),
            Some(Duration::from_millis(1_500))
        );
    }

    #[test]
    fn a_date_in_the_past_means_retry_now() {
        let now = at(RFC_EXAMPLE_MS);
        assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:49:36 GMT", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("Thu, 01 Jan 1970 00:00:00 GMT", now), Some(Duration::ZERO));
        // Before the epoch cannot be a Timestamp, but it is still clearly in the past.
        assert_eq!(parse_retry_after("Mon, 01 Jan 1900 00:00:00 GMT", now), Some(Duration::ZERO));
        assert_eq!(parse_http_date("Mon, 01 Jan 1900 00:00:00 GMT"), None);
    }

    #[test]
    fn out_of_range_fields_are_rejected() {
        for bad in [
            "Sun, 30 Feb 2020 00:00:00 GMT",
            "Sun, 29 Feb 2100 00:00:00 GMT",
            "Sun, 31 Apr 2021 00:00:00 GMT",
            "Sun, 00 Jan 2021 00:00:00 GMT",
            "Sun, 32 Jan 2021 00:00:00 GMT",
            "Sun, 01 Jan 2021 24:00:00 GMT",
            "Sun, 01 Jan 2021 23:60:00 GMT",
            "Sun, 01 Jan 2021 23:59:61 GMT",
            "Sun, 01 Foo 2021 00:00:00 GMT",
            "Sun, 01 jan 2021 00:00:00 GMT",
            "Dim, 01 Jan 2021 00:00:00 GMT",
            "Sun, 01 Jan 21 00:00:00 GMT",
            "Sun, 01 Jan 2021 00:00 GMT",
            "Sun, 01 Jan 2021 00:00:00 GMT extra",
            "Sun,  01 Jan 2021 00:00:00 GMT",
            "Sun Nov 36 08:49:37 1994",
            "Sun Nov  6 08:49:37 94",
            "Sun Nov   6 08:49:37 1994",
            "Sunday, 31-Jun-21 00:00:00 GMT",
            "Sun, 06-Nov-94 08:49:37 GMT",
            "Sun, 06 Nov 1994 08:49:37 GMT\u{e9}",
            "\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}",
        ] {
            assert_eq!(parse_http_date(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn leap_days_and_leap_seconds_are_accepted() {
        assert_eq!(parse_http_date("Tue, 29 Feb 2000 00:00:00 GMT"), Some(at(951_782_400_000)));
        assert_eq!(parse_http_date("Thu, 29 Feb 2024 12:00:00 GMT"), Some(at(1_709_208_000_000)));
        // 23:59:60 is the same instant as the next midnight in POSIX time.
        assert_eq!(
            parse_http_date("Sat, 31 Dec 2016 23:59:60 GMT"),
            parse_http_date("Sun, 01 Jan 2017 00:00:00 GMT")
        );
    }

    #[test]
    fn a_wrong_day_name_is_tolerated() {
        assert_eq!(parse_http_date("Mon, 06 Nov 1994 08:49:37 GMT"), Some(at(RFC_EXAMPLE_MS)));
    }

    #[test]
    fn rfc850_two_digit_years_follow_the_fifty_year_rule() {
        let now = parse_http_date("Tue, 06 Apr 2021 08:00:00 GMT").unwrap();
        let year_of = |v: &str| {
            let ms = parse_date_millis(v, Some(now)).unwrap();
            civil_from_days((ms / 86_400_000) as i64).0
        };
        assert_eq!(year_of("Tuesday, 06-Apr-21 08:00:30 GMT"), 2021);
        assert_eq!(year_of("Monday, 01-Jan-70 00:00:00 GMT"), 2070);
        // 2071-04-06T08:00:00 is exactly fifty years ahead: not *more* than fifty.
        assert_eq!(year_of("Monday, 06-Apr-71 08:00:00 GMT"), 2071);
        assert_eq!(year_of("Monday, 06-Apr-71 08:00:01 GMT"), 1971);
        assert_eq!(year_of("Sunday, 06-Nov-94 08:49:37 GMT"), 1994);
        assert_eq!(
            parse_retry_after("Tuesday, 06-Apr-21 08:00:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", now), Some(Duration::ZERO));
    }

    #[test]
    fn rfc850_without_a_clock_reads_1970_to_2069() {
        assert_eq!(parse_http_date("Thursday, 01-Jan-70 00:00:00 GMT"), Some(at(0)));
        assert_eq!(parse_http_date("Friday, 01-Jan-60 00:00:00 GMT"), Some(at(2_840_140_800_000)));
    }

    #[test]
    fn format_produces_imf_fixdate() {
        assert_eq!(format_http_date(at(RFC_EXAMPLE_MS + 999)), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(format_http_date(at(0)), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(format_http_date(at(951_782_400_000)), "Tue, 29 Feb 2000 00:00:00 GMT");
        assert_eq!(format_http_date(at(1_617_696_000_000)), "Tue, 06 Apr 2021 08:00:00 GMT");
    }

    #[test]
    fn format_survives_the_far_future() {
        let s = format_http_date(at(u64::MAX));
        assert!(s.ends_with(" GMT"), "{s}");
    }

    #[test]
    fn ratelimit_t_parameter_is_the_reset_delay() {
        assert_eq!(parse_ratelimit(r#""default";r=0;t=30"#), Some(Duration::from_secs(30)));
        assert_eq!(parse_ratelimit(r#"  "default" ; r=0 ; t=30  "#), Some(Duration::from_secs(30)));
        assert_eq!(parse_ratelimit("day;r=10;t=7200"), Some(MAX_RETRY_AFTER));
        assert_eq!(parse_ratelimit(r#""a,b;c";r=0;t=5"#), Some(Duration::from_secs(5)));
    }

    #[test]
    fn ratelimit_prefers_the_longest_exhausted_policy() {
        let v = r#""burst";r=0;t=10, "day";r=500;t=3000, "hour";r=0;t=60"#;
        assert_eq!(parse_ratelimit(v), Some(Duration::from_secs(60)));
        let none_exhausted = r#""burst";r=3;t=10, "hour";r=9;t=60"#;
        assert_eq!(parse_ratelimit(none_exhausted), Some(Duration::from_secs(60)));
    }

    #[test]
    fn ratelimit_accepts_the_older_dictionary_form() {
        assert_eq!(
            parse_ratelimit("limit=100, remaining=0, reset=42"),
            Some(Duration::from_secs(42))
        );
    }

    #[test]
    fn ratelimit_without_a_usable_reset_is_none() {
        for bad in [
            "",
            r#""default";r=0"#,
            r#""default";r=0;t=-5"#,
            r#""default";t=1.5"#,
            "t=abc",
            "\"unterminated;t=5",
            r#""default";t=9999999999999999"#,
        ] {
            assert_eq!(parse_ratelimit(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn ratelimit_reset_is_delay_seconds() {
        assert_eq!(parse_ratelimit_reset(" 30 "), Some(Duration::from_secs(30)));
        assert_eq!(parse_ratelimit_reset("1700000000"), Some(MAX_RETRY_AFTER));
        assert_eq!(parse_ratelimit_reset("-30"), None);
        assert_eq!(parse_ratelimit_reset(""), None);
    }

    #[test]
    fn civil_conversion_matches_known_days() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }

    proptest! {
        #[test]
        fn civil_round_trips(days in -1_000_000i64..3_000_000) {
            let (y, m, d) = civil_from_days(days);
            prop_assert!((1..=12).contains(&m) && d >= 1 && d <= days_in_month(y, m));
            prop_assert_eq!(days_from_civil(y, m, d), days);
        }

        #[test]
        fn format_then_parse_round_trips_to_the_second(secs in 0u64..253_402_300_800) {
            let t = at(secs * 1000);
            prop_assert_eq!(parse_http_date(&format_http_date(t)), Some(t));
        }

        #[test]
        fn retry_after_never_panics_and_never_exceeds_the_clamp(value in ".{0,40}", now: u64) {
            if let Some(d) = parse_retry_after(&value, at(now)) {
                prop_assert!(d <= MAX_RETRY_AFTER);
            }
            let _ = parse_http_date(&value);
            if let Some(d) = parse_ratelimit(&value) {
                prop_assert!(d <= MAX_RETRY_AFTER);
            }
        }

        #[test]
        fn date_like_strings_never_panic(
            day in "[A-Za-z]{3,9}", dd in "[0-9 ]{1,3}", mon in "[A-Za-z]{3}", y in "[0-9]{2,5}",
            t in "[0-9:]{5,9}", now: u64,
        ) {
            for v in [
                format!("{day}, {dd} {mon} {y} {t} GMT"),
                format!("{day}, {dd}-{mon}-{y} {t} GMT"),
                format!("{day} {mon} {dd} {t} {y}"),
            ] {
                let _ = parse_retry_after(&v, at(now));
            }
        }
    }
}
