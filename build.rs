//! Minifies the overlay's stylesheet into `OUT_DIR`, for `include_str!` in `src/web/overlay.rs`.
//!
//! The source keeps its comments and layout for people; every pupil downloads the wasm that
//! embeds it, where they are about 800 bytes of nothing. Only changes that cannot alter what a
//! rule means: comments go, runs of whitespace become one space, and whitespace next to
//! `{ } ; ,` or after `:` goes (never before `:`, where it separates `a :hover` from `a:hover`);
//! quoted strings are kept as they are.

use std::{env, fs, path::Path};

fn main() {
    let source = "src/web/overlay.css";
    println!("cargo::rerun-if-changed={source}");
    let css = fs::read_to_string(source).expect("src/web/overlay.css is readable");
    let out = Path::new(&env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("overlay.css");
    fs::write(out, minify(&css)).expect("OUT_DIR is writable");
}

fn minify(css: &str) -> String {
    let mut out = String::with_capacity(css.len());
    let mut rest = css;
    let mut space = false;
    let tight = |c: char| matches!(c, '{' | '}' | ';' | ',');
    while let Some(c) = rest.chars().next() {
        if rest.starts_with("/*") {
            rest = rest.find("*/").map_or("", |end| &rest[end + 2..]);
            continue;
        }
        if c == '"' || c == '\'' {
            // A string is copied as it is, whitespace included (`content: " : "`).
            let end = rest[1..].find(c).map_or(rest.len(), |i| i + 2);
            if space && !out.is_empty() && !out.ends_with(|p: char| tight(p) || p == ':') {
                out.push(' ');
            }
            space = false;
            out.push_str(&rest[..end]);
            rest = &rest[end..];
            continue;
        }
        rest = &rest[c.len_utf8()..];
        if c.is_whitespace() {
            space = true;
            continue;
        }
        if space && !out.is_empty() && !tight(c) && !out.ends_with(|p: char| tight(p) || p == ':') {
            out.push(' ');
        }
        space = false;
        out.push(c);
    }
    out
}
