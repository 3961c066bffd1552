//! An SVG chart of requests per second over time, one line per strategy, log-scale y.
//!
//! Hand-written SVG: a plotting crate would bring font handling for a few axis labels.

use std::fmt::Write as _;

const WIDTH: f64 = 960.0;
const HEIGHT: f64 = 540.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 200.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 50.0;
/// Points per line at most: longer series are averaged over wider buckets.
const MAX_POINTS: usize = 1_200;
/// Colour-blind-safe palette (Okabe and Ito), yellow last: it reads poorly on white.
const COLOURS: [&str; 8] =
    ["#E69F00", "#56B4E9", "#009E73", "#0072B2", "#D55E00", "#CC79A7", "#000000", "#F0E442"];

/// One line: a name and the requests of each second.
#[derive(Debug, Clone, Copy)]
pub struct Series<'a> {
    /// Legend text.
    pub name: &'a str,
    /// Requests received in second `k`, for every `k`.
    pub per_second: &'a [u32],
}

/// The SVG document.
pub fn svg(title: &str, series: &[Series<'_>]) -> String {
    let seconds = series.iter().map(|s| s.per_second.len()).max().unwrap_or(0).max(1);
    let step = seconds.div_ceil(MAX_POINTS).max(1);
    let peak = series.iter().flat_map(|s| s.per_second.iter().copied()).max().unwrap_or(1).max(1);
    let decades = (f64::from(peak).log10().ceil() as i32).max(1);
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let x = |second: f64| LEFT + second / seconds as f64 * plot_w;
    // Zero has no logarithm: it sits on the bottom line with 1 request per second.
    let y = |rate: f64| TOP + plot_h - rate.max(1.0).log10() / f64::from(decades) * plot_h;

    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(out, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(out, r#"<text x="{LEFT}" y="24" font-size="15">{}</text>"#, escape(title));
    for d in 0..=decades {
        let yy = y(10f64.powi(d));
        let _ = writeln!(
            out,
            r##"<line x1="{LEFT}" x2="{:.1}" y1="{yy:.1}" y2="{yy:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
            LEFT + plot_w,
            LEFT - 6.0,
            yy + 4.0,
            10u64.pow(d as u32)
        );
    }
    let minute_step = nice_minutes(seconds);
    let mut m = 0;
    while m * 60 <= seconds {
        let xx = x((m * 60) as f64);
        let _ = writeln!(
            out,
            r##"<line x1="{xx:.1}" x2="{xx:.1}" y1="{TOP}" y2="{:.1}" stroke="#eee"/><text x="{xx:.1}" y="{:.1}" text-anchor="middle">{m}</text>"##,
            TOP + plot_h,
            TOP + plot_h + 16.0
        );
        m += minute_step;
    }
    let _ = writeln!(
        out,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">minutes after the first arrival</text>"#,
        LEFT + plot_w / 2.0,
        HEIGHT - 10.0
    );
    let _ = writeln!(
        out,
        r#"<text transform="translate(16 {:.1}) rotate(-90)" text-anchor="middle">requests per second (log scale)</text>"#,
        TOP + plot_h / 2.0
    );
    for (i, s) in series.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let mut points = String::new();
        for (k, chunk) in s.per_second.chunks(step).enumerate() {
            let rate = chunk.iter().map(|&r| f64::from(r)).sum::<f64>() / chunk.len() as f64;
            let _ = write!(points, "{:.1},{:.1} ", x((k * step) as f64), y(rate));
        }
        let _ = writeln!(
            out,
            r#"<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{}"/>"#,
            points.trim_end()
        );
        let ly = TOP + 10.0 + i as f64 * 18.0;
        let lx = LEFT + plot_w + 12.0;
        let _ = writeln!(
            out,
            r#"<line x1="{lx:.1}" x2="{:.1}" y1="{ly:.1}" y2="{ly:.1}" stroke="{colour}" stroke-width="3"/><text x="{:.1}" y="{:.1}">{}</text>"#,
            lx + 20.0,
            lx + 26.0,
            ly + 4.0,
            escape(s.name)
        );
    }
    out.push_str("</svg>\n");
    out
}

/// A tick spacing in minutes that gives at most about a dozen ticks.
fn nice_minutes(seconds: usize) -> usize {
    let minutes = seconds.div_ceil(60);
    [1, 2, 5, 10, 15, 30, 60, 120].into_iter().find(|&s| minutes / s <= 12).unwrap_or(240)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_one_polyline_per_series_with_escaped_labels() {
        let a = [1, 10, 100];
        let b = [0, 0, 5];
        let doc = svg(
            "a < b",
            &[Series { name: "x&y", per_second: &a }, Series { name: "z", per_second: &b }],
        );
        assert!(doc.starts_with("<svg"));
        assert_eq!(doc.matches("<polyline").count(), 2);
        assert!(doc.contains("a &lt; b") && doc.contains("x&amp;y"));
    }
}
