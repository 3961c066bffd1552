//! A small, strict JSON reader and writer for the two documents the widget itself handles: the
//! gate's status reply ([`crate::wire::StatusReply::from_json`]) and the stored snapshot
//! ([`crate::machine::Snapshot::to_json`]).
//!
//! Why not serde_json: every pupil downloads the widget, and serde's generic code, its error
//! messages and core's float formatting cost about a fifth of the wasm (see `docs/size.md`).
//! This module is one non-generic parser into a tiny [`Value`] tree, and the same code runs in
//! the browser and in the native tests (but for turning a number's text into an `f64`, which
//! the platform does: [`Number::as_f64`]).
//!
//! It is strict where serde_json is (RFC 8259 grammar, no trailing characters, no lone
//! surrogates, no raw control characters in strings, a duplicate key is an error) and never
//! panics: nesting deeper than [`MAX_DEPTH`], objects wider than [`MAX_MEMBERS`] and numbers
//! longer than [`MAX_NUMBER_LEN`] are refused, so a hostile body costs bounded work.

/// Deepest nesting accepted; neither document nests more than two levels.
pub const MAX_DEPTH: usize = 32;
/// Most members accepted in one object, which bounds the duplicate-key check.
pub const MAX_MEMBERS: usize = 256;
/// Longest number accepted, in bytes: far more than any f64 needs to be written exactly.
pub const MAX_NUMBER_LEN: usize = 800;

/// A parsed JSON value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number, kept as written until a field says what it should be.
    Number(Number<'a>),
    /// A string, unescaped.
    String(String),
    /// An array: checked to be well-formed, its elements dropped (neither document has one).
    Array,
    /// An object's members in document order; keys are unique.
    Object(Vec<(String, Value<'a>)>),
}

/// A number as written in the document (valid JSON number grammar).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Number<'a>(&'a str);

impl<'a> Number<'a> {
    /// The number's text.
    pub fn as_str(&self) -> &'a str {
        self.0
    }

    /// The number as a `u64`, if it is a plain integer in range. As with serde_json, a sign, a
    /// fraction or an exponent makes it something else (`-0`, `1.0` and `1e3` are refused).
    pub fn as_u64(&self) -> Option<u64> {
        let mut n: u64 = 0;
        for b in self.0.bytes() {
            if !b.is_ascii_digit() {
                return None;
            }
            n = n.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
        }
        Some(n)
    }

    /// The nearest `f64` (correctly rounded); `None` when it is too large to be finite, as
    /// serde_json refuses `1e400`. Integers are numbers too.
    ///
    /// The platform reads it, the grammar being checked already: ECMAScript's `parseFloat` in
    /// the browser (correctly rounded by the standard up to 20 significant digits; the gate
    /// writes at most 17), std's natively. A reader of our own, a big integer behind Clinger's
    /// fast path, cost every pupil 3 KB of wasm (docs/size.md); `tests/web.rs` checks that the
    /// browser's gives the same bits on the hard cases below.
    pub fn as_f64(&self) -> Option<f64> {
        #[cfg(target_arch = "wasm32")]
        let x = js_sys::parse_float(self.0);
        #[cfg(not(target_arch = "wasm32"))]
        let x = self.0.parse::<f64>().ok()?;
        x.is_finite().then_some(x)
    }
}

impl<'a> Value<'a> {
    /// The member `key` of an object; `None` for a missing key or a value that is not an object.
    pub fn get(&self, key: &str) -> Option<&Value<'a>> {
        match self {
            Value::Object(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The member `key` read as an optional field, the way serde reads an `Option`: absent or
    /// `null` is `Some(None)`, a value that `convert` accepts is `Some(Some(_))`, anything else
    /// is `None` (the document is malformed).
    pub fn optional<T>(
        &self,
        key: &str,
        convert: impl FnOnce(&Value<'a>) -> Option<T>,
    ) -> Option<Option<T>> {
        match self.get(key) {
            None | Some(Value::Null) => Some(None),
            Some(value) => convert(value).map(Some),
        }
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The number as a `u64` ([`Number::as_u64`]), if this is one.
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Value::Number(n) => n.as_u64(),
            _ => None,
        }
    }

    /// The number as an `f64` ([`Number::as_f64`]), if this is one.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Number(n) => n.as_f64(),
            _ => None,
        }
    }
}

/// Parses one JSON document (surrounding whitespace allowed, nothing else); `None` if it is
/// not valid JSON or exceeds the limits above.
pub fn parse(text: &str) -> Option<Value<'_>> {
    let mut parser = Parser { text, pos: 0 };
    let value = parser.value(MAX_DEPTH)?;
    parser.skip_whitespace();
    (parser.pos == text.len()).then_some(value)
}

struct Parser<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.pos += 1;
        Some(b)
    }

    fn eat(&mut self, b: u8) -> bool {
        let found = self.peek() == Some(b);
        self.pos += usize::from(found);
        found
    }

    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn value(&mut self, depth: usize) -> Option<Value<'a>> {
        self.skip_whitespace();
        match self.peek()? {
            b'{' | b'[' if depth == 0 => None,
            b'{' => self.object(depth - 1),
            b'[' => self.array(depth - 1),
            b'"' => self.string().map(Value::String),
            b'-' | b'0'..=b'9' => self.number().map(Value::Number),
            _ => self.literal(),
        }
    }

    fn literal(&mut self) -> Option<Value<'a>> {
        let rest = self.text.get(self.pos..)?;
        let (value, len) = if rest.starts_with("true") {
            (Value::Bool(true), 4)
        } else if rest.starts_with("false") {
            (Value::Bool(false), 5)
        } else if rest.starts_with("null") {
            (Value::Null, 4)
        } else {
            return None;
        };
        self.pos += len;
        Some(value)
    }

    fn object(&mut self, depth: usize) -> Option<Value<'a>> {
        self.pos += 1; // `{`
        let mut members: Vec<(String, Value<'a>)> = Vec::new();
        self.skip_whitespace();
        if self.eat(b'}') {
            return Some(Value::Object(members));
        }
        loop {
            self.skip_whitespace();
            if self.peek()? != b'"' || members.len() == MAX_MEMBERS {
                return None;
            }
            let key = self.string()?;
            self.skip_whitespace();
            if !self.eat(b':') {
                return None;
            }
            let value = self.value(depth)?;
            if members.iter().any(|(k, _)| *k == key) {
                return None;
            }
            members.push((key, value));
            self.skip_whitespace();
            match self.next()? {
                b',' => {}
                b'}' => return Some(Value::Object(members)),
                _ => return None,
            }
        }
    }

    fn array(&mut self, depth: usize) -> Option<Value<'a>> {
        self.pos += 1; // `[`
        self.skip_whitespace();
        if self.eat(b']') {
            return Some(Value::Array);
        }
        loop {
            self.value(depth)?;
            self.skip_whitespace();
            match self.next()? {
                b',' => {}
                b']' => return Some(Value::Array),
                _ => return None,
            }
        }
    }

    fn string(&mut self) -> Option<String> {
        self.pos += 1; // `"`
        let mut out = String::new();
        loop {
            let start = self.pos;
            while matches!(self.peek(), Some(b) if b != b'"' && b != b'\\' && b >= 0x20) {
                self.pos += 1;
            }
            // Both ends sit next to ASCII bytes, so this slice is on character boundaries.
            out.push_str(self.text.get(start..self.pos)?);
            match self.next()? {
                b'"' => return Some(out),
                b'\\' => out.push(self.escape()?),
                _ => return None, // a raw control character
            }
        }
    }

    fn escape(&mut self) -> Option<char> {
        Some(match self.next()? {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => match self.hex4()? {
                high @ 0xD800..=0xDBFF => {
                    if !(self.eat(b'\\') && self.eat(b'u')) {
                        return None; // a lone high surrogate
                    }
                    let low = self.hex4()?;
                    if !(0xDC00..=0xDFFF).contains(&low) {
                        return None;
                    }
                    char::from_u32(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))?
                }
                // A lone low surrogate is not a character either.
                code => char::from_u32(code)?,
            },
            _ => return None,
        })
    }

    fn hex4(&mut self) -> Option<u32> {
        let mut code = 0;
        for _ in 0..4 {
            code = code * 16 + char::from(self.next()?).to_digit(16)?;
        }
        Some(code)
    }

    fn number(&mut self) -> Option<Number<'a>> {
        let start = self.pos;
        self.eat(b'-');
        match self.next()? {
            b'0' => {}
            b'1'..=b'9' => self.digits(),
            _ => return None,
        }
        if self.eat(b'.') {
            self.some_digits()?;
        }
        if self.eat(b'e') || self.eat(b'E') {
            let _ = self.eat(b'+') || self.eat(b'-');
            self.some_digits()?;
        }
        if self.pos - start > MAX_NUMBER_LEN {
            return None;
        }
        Some(Number(self.text.get(start..self.pos)?))
    }

    fn digits(&mut self) {
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
    }

    fn some_digits(&mut self) -> Option<()> {
        let start = self.pos;
        self.digits();
        (self.pos > start).then_some(())
    }
}

/// Writes one JSON object member by member, in the order given.
///
/// ```
/// use waitroom::json::ObjectWriter;
///
/// let mut w = ObjectWriter::new();
/// w.string("ticket", "t\"1").u64("position", 42).null("place");
/// assert_eq!(w.finish(), r#"{"ticket":"t\"1","position":42,"place":null}"#);
/// ```
#[derive(Debug)]
pub struct ObjectWriter {
    out: String,
}

impl Default for ObjectWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl ObjectWriter {
    /// An empty object.
    pub fn new() -> Self {
        ObjectWriter { out: String::from("{") }
    }

    /// Writes `"key":` and returns the buffer for the value.
    fn key(&mut self, key: &str) -> &mut String {
        if self.out.len() > 1 {
            self.out.push(',');
        }
        push_string(&mut self.out, key);
        self.out.push(':');
        &mut self.out
    }

    /// A string member.
    pub fn string(&mut self, key: &str, value: &str) -> &mut Self {
        push_string(self.key(key), value);
        self
    }

    /// An integer member.
    pub fn u64(&mut self, key: &str, value: u64) -> &mut Self {
        push_u64(self.key(key), value);
        self
    }

    /// A number member ([`push_f64`]).
    pub fn f64(&mut self, key: &str, value: f64) -> &mut Self {
        push_f64(self.key(key), value);
        self
    }

    /// A `null` member.
    pub fn null(&mut self, key: &str) -> &mut Self {
        self.key(key).push_str("null");
        self
    }

    /// A member whose value is already JSON (a nested object from another writer).
    pub fn raw(&mut self, key: &str, json: &str) -> &mut Self {
        self.key(key).push_str(json);
        self
    }

    /// An optional string member: `null` when absent, as serde writes an `Option`.
    pub fn optional_string(&mut self, key: &str, value: Option<&str>) -> &mut Self {
        match value {
            Some(value) => self.string(key, value),
            None => self.null(key),
        }
    }

    /// An optional integer member: `null` when absent.
    pub fn optional_u64(&mut self, key: &str, value: Option<u64>) -> &mut Self {
        match value {
            Some(value) => self.u64(key, value),
            None => self.null(key),
        }
    }

    /// The object's text.
    pub fn finish(mut self) -> String {
        self.out.push('}');
        self.out
    }
}

/// Appends `s` as a JSON string: quoted, with `"`, `\` and control characters escaped (as
/// serde_json escapes them), everything else as is.
pub fn push_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if c < ' ' => {
                out.push_str("\\u00");
                out.push(hex_digit(c as u8 >> 4));
                out.push(hex_digit(c as u8 & 0xF));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn hex_digit(n: u8) -> char {
    char::from(b"0123456789abcdef"[usize::from(n & 0xF)])
}

/// Appends `n` in decimal ([`crate::text::push_decimal`]).
pub fn push_u64(out: &mut String, n: u64) {
    crate::text::push_decimal(out, n);
}

/// Appends `x` as a JSON number rounded to three decimals (`4.5`, `0.001`, `-12`): the widget
/// stores rates for display, where a thousandth is plenty, and a shortest-round-trip float
/// writer would cost every pupil about a kilobyte of download. Magnitudes are capped at 10^15;
/// JSON has no infinities or NaN: those are written as `0`, and the widget never stores one.
pub fn push_f64(out: &mut String, x: f64) {
    let milli = if x.is_finite() { (x.abs().min(1e15) * 1000.0).round() as u64 } else { 0 };
    if x < 0.0 && milli > 0 {
        out.push('-');
    }
    crate::text::push_decimal(out, milli / 1000);
    let fraction = milli % 1000;
    if fraction > 0 {
        out.push('.');
        let digits = [fraction / 100, fraction / 10 % 10, fraction % 10];
        let used = if fraction % 100 == 0 {
            1
        } else if fraction % 10 == 0 {
            2
        } else {
            3
        };
        for d in &digits[..used] {
            out.push(char::from(b'0' + *d as u8));
        }
    }
}

/// Numbers whose nearest `f64` is hard to get right, with it: the native tests check std's
/// reader on them, `tests/web.rs` the browser's `parseFloat` behind [`Number::as_f64`].
#[doc(hidden)]
pub const HARD_FLOATS: [(&str, f64); 12] = [
    ("0.1", 0.1),
    ("4.5", 4.5),
    ("-2", -2.0),
    ("1e308", 1e308),
    ("1.7976931348623157e308", f64::MAX),
    ("2.2250738585072014e-308", f64::MIN_POSITIVE),
    ("5e-324", 5e-324),
    ("2.4703282292062328e-324", 5e-324), // just above half the smallest subnormal
    ("2.4703282292062327e-324", 0.0),    // just below it
    ("1e-400", 0.0),
    ("9007199254740993", 9_007_199_254_740_992.0), // a tie, to even
    ("0.30000000000000004", 0.300_000_000_000_000_04),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn number(text: &str) -> Number<'_> {
        match parse(text) {
            Some(Value::Number(n)) => n,
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn objects_keep_their_members_and_skip_arrays() {
        let v = parse(r#" {"a": [1, {"b": []}, "x"], "s": "é\n", "n": null, "t": true, "f": false, "o": {"k": -1.5e3}} "#)
            .unwrap();
        assert_eq!(v.get("a"), Some(&Value::Array));
        assert_eq!(v.get("s").and_then(Value::as_str), Some("é\n"));
        assert_eq!(v.get("n"), Some(&Value::Null));
        assert_eq!((v.get("t"), v.get("f")), (Some(&Value::Bool(true)), Some(&Value::Bool(false))));
        assert_eq!(v.get("o").and_then(|o| o.get("k")).and_then(Value::as_f64), Some(-1500.0));
        assert_eq!(v.get("missing"), None);
    }

    #[test]
    fn optional_members_read_like_serde_options() {
        let v = parse(r#"{"a":"x","b":null,"c":1}"#).unwrap();
        assert_eq!(v.optional("a", |v| v.as_str().map(str::to_owned)), Some(Some("x".to_owned())));
        assert_eq!(v.optional("b", Value::as_u64), Some(None));
        assert_eq!(v.optional("zz", Value::as_u64), Some(None));
        assert_eq!(
            v.optional("c", |v| v.as_str().map(str::to_owned)),
            None,
            "a wrong type is malformed"
        );
    }

    #[test]
    fn every_escape_is_read_including_surrogate_pairs() {
        let v = parse(r#""\"\\\/\b\f\n\r\t\u00e9\u20AC\ud83d\ude00""#).unwrap();
        assert_eq!(v.as_str(), Some("\"\\/\u{8}\u{c}\n\r\té€😀"));
    }

    #[test]
    fn bad_strings_are_refused() {
        for text in [
            r#""\x""#,           // unknown escape
            r#""\u12""#,         // short escape
            r#""\u12G4""#,       // not hex
            r#""\ud83d""#,       // lone high surrogate
            r#""\ud83d\u0041""#, // high surrogate then not a low one
            r#""\ude00""#,       // lone low surrogate
            "\"tab\there\"",     // raw control character
            r#""open"#,          // unterminated
            r#""\"#,
        ] {
            assert_eq!(parse(text), None, "{text}");
        }
    }

    #[test]
    fn number_grammar_is_strict() {
        for text in [
            "01",
            "-",
            "1.",
            ".5",
            "1e",
            "1e+",
            "+1",
            "NaN",
            "Infinity",
            "-Infinity",
            "0x10",
            "1_000",
        ] {
            assert_eq!(parse(text), None, "{text}");
        }
        for text in ["0", "-0", "10", "1.25", "-0.5e-3", "1E9", "1e+2"] {
            assert_eq!(number(text).as_str(), text);
        }
    }

    #[test]
    fn integers_read_like_serde_reads_a_u64() {
        assert_eq!(number("18446744073709551615").as_u64(), Some(u64::MAX));
        assert_eq!(number("18446744073709551616").as_u64(), None);
        for text in ["-0", "-1", "1.0", "1e3", "0.5"] {
            assert_eq!(number(text).as_u64(), None, "{text}");
        }
    }

    #[test]
    fn floats_are_correctly_rounded() {
        for (text, expected) in HARD_FLOATS {
            assert_eq!(number(text).as_f64().map(f64::to_bits), Some(expected.to_bits()), "{text}");
        }
        assert_eq!(number("1e309").as_f64(), None);
        assert_eq!(number("1.7976931348623159e308").as_f64(), None, "rounds to infinity");
    }

    #[test]
    fn duplicate_keys_trailing_text_and_deep_nesting_are_refused() {
        assert_eq!(parse(r#"{"a":1,"a":2}"#), None);
        assert_eq!(parse(r#"{"a":1} x"#), None);
        assert_eq!(parse(r#"{"a":1,}"#), None);
        assert_eq!(parse("[1,]"), None);
        assert_eq!(parse(""), None);
        let deep = |n| "[".repeat(n) + &"]".repeat(n);
        assert_eq!(parse(&deep(MAX_DEPTH)), Some(Value::Array));
        assert_eq!(parse(&deep(MAX_DEPTH + 1)), None);
        assert_eq!(parse(&"[".repeat(100_000)), None, "no stack overflow");
        let wide = |n: usize| {
            format!("{{{}}}", (0..n).map(|i| format!("\"k{i}\":0")).collect::<Vec<_>>().join(","))
        };
        assert!(parse(&wide(MAX_MEMBERS)).is_some());
        assert_eq!(parse(&wide(MAX_MEMBERS + 1)), None);
        assert_eq!(parse(&"1".repeat(MAX_NUMBER_LEN + 1)), None);
    }

    #[test]
    fn the_writer_escapes_like_serde_json() {
        let mut out = String::new();
        push_string(&mut out, "a\"b\\c\n\u{1}\u{7f}é😀");
        assert_eq!(out, "\"a\\\"b\\\\c\\n\\u0001\u{7f}é😀\"");
        let mut w = ObjectWriter::new();
        w.optional_string("a", None).optional_u64("b", Some(0)).raw("c", "{}").f64("d", 0.5);
        assert_eq!(w.finish(), r#"{"a":null,"b":0,"c":{},"d":0.5}"#);
    }

    #[test]
    fn floats_are_written_to_the_thousandth() {
        let cases: [(f64, &str); 13] = [
            (0.0, "0"),
            (-0.0, "0"),
            (4.5, "4.5"),
            (2.0, "2"),
            (6.25, "6.25"),
            (0.1, "0.1"),
            (1.0 / 3.0, "0.333"),
            (2.0 / 3.0, "0.667"),
            (0.0004, "0"),
            (-12.3456, "-12.346"),
            (2_105.263_157, "2105.263"),
            (1e21, "1000000000000000"),
            (f64::INFINITY, "0"),
        ];
        for (x, text) in cases {
            let mut out = String::new();
            push_f64(&mut out, x);
            assert_eq!(out, text, "{x}");
        }
        let mut out = String::new();
        push_f64(&mut out, f64::NAN);
        assert_eq!(out, "0");
    }

    proptest::proptest! {
        #[test]
        fn any_float_reads_back_within_half_a_thousandth(x in -1e9f64..1e9) {
            let mut out = String::new();
            push_f64(&mut out, x);
            let back = number(&out).as_f64().unwrap();
            proptest::prop_assert!((back - x).abs() <= 0.000_500_1, "{} -> {}", x, out);
        }

        #[test]
        fn floats_read_like_std(bits in proptest::num::u64::ANY) {
            // std's own shortest text, read back by ours: both must be correctly rounded.
            let x = f64::from_bits(bits);
            proptest::prop_assume!(x.is_finite());
            for text in [format!("{x:e}"), format!("{x:?}")] {
                proptest::prop_assert_eq!(number(&text).as_f64().map(f64::to_bits), Some(x.to_bits()), "{}", text);
            }
        }

        #[test]
        fn decimal_texts_read_like_std(mantissa in "[1-9][0-9]{0,40}", exponent in -360i32..330) {
            let text = format!("{mantissa}e{exponent}");
            let expected: f64 = text.parse().unwrap();
            let got = number(&text).as_f64();
            if expected.is_finite() {
                proptest::prop_assert_eq!(got.map(f64::to_bits), Some(expected.to_bits()), "{}", text);
            } else {
                proptest::prop_assert_eq!(got, None);
            }
        }

        #[test]
        fn strings_round_trip(s in ".{0,50}") {
            let mut out = String::new();
            push_string(&mut out, &s);
            let read = parse(&out);
            proptest::prop_assert_eq!(read.as_ref().and_then(Value::as_str), Some(s.as_str()));
        }

        #[test]
        fn parse_never_panics(text in "[\\[\\]{}\":,\\\\ue0-9.+-trufalsn \\x00-\\x7f]{0,120}") {
            let _ = parse(&text);
        }

        #[test]
        fn truncated_documents_are_refused_without_panicking(cut in 0usize..120) {
            let doc = r#"{"state":"queued","ticket":"t\u00e9\ud83d\ude00","position":42,"x":[1,{"y":null}],"advance_per_minute":4.5e-1}"#;
            let end = cut.min(doc.len() - 1);
            proptest::prop_assert_eq!(parse(&doc[..end]), None);
            proptest::prop_assert!(parse(doc).is_some());
        }
    }
}
