//! The self-contained HTML timeline.
//!
//! One file: `assets/page.html` is the skeleton; `assets/viewer.css` and the
//! viewer's parts (`assets/viewer/*.js`) are pasted into it, and the trace
//! goes in as a `<script type="application/json">` element in the compact
//! form below, which the viewer decodes. Nothing is fetched: the page carries a Content Security
//! Policy of `default-src 'none'` (inline script and style only), so a browser
//! refuses any network access the page might attempt, and the page works on a
//! machine without internet.
//!
//! The viewer draws on one `<canvas>`: a track per thread, slices coloured by
//! G, instants as markers in a lane above the slices, counters as step charts,
//! wakes as arrows. It stays interactive on a million slices by never drawing
//! more than one shape per pixel column per track: a run of slices narrower
//! than a pixel is found with one binary search and drawn as a single column
//! whose height is the fraction of that pixel's time the P was busy (from a
//! prefix sum of durations), and counters take each column's maximum from a
//! max-pyramid. A frame costs O(tracks × width × log n), whatever the zoom.
//!
//! After every frame the page publishes `window.gmpTrace = {tracks,
//! slicesDrawn, errors, ...}` and mirrors it into `data-gmp-*` attributes of
//! the `<html>` element, where a headless browser's `--dump-dom` can read it
//! (see `tests/browser.sh`).
//!
//! # Embedded data
//!
//! A million events must fit in a page a browser opens in a second or two, so
//! the data is not the trace's own JSON (about 150 bytes an event) but one
//! array per field, one entry per slice, with times as integer nanoseconds:
//!
//! * Start times are **delta-encoded** within a track (a slice's start minus
//!   the previous one's), so a busy P's starts are a few digits each; `m`
//!   (the polling thread) is delta-encoded too, as it changes only on a
//!   handoff.
//! * A column whose values are all the same is written as that one number.
//! * Names, spawn sites and argument blobs are indices into one string table.
//!   A slice named `G<g>` (every poll) stores name 0 and the viewer rebuilds
//!   the name from `g`.
//! * Strings escape `<`, `>`, `&` and `/`, so the data can neither close its
//!   `<script>` element nor contain anything that looks like a URL.
//!
//! The layout (`v` is bumped when it changes; `assets/viewer/model.js` reads it;
//! `"events"` is the trace's event count):
//!
//! ```text
//! { "v": 1, "title": str, "t0": first time in µs, "span": ns, "events",
//!   "strings": [str],  "ends": [poll end names],
//!   "tracks": [{ "name", "pid", "tid",
//!       "slices": { "n", "t"(delta), "d", "g"(-1: none), "m"(delta, -1: none),
//!                   "e"(index into ends, -1: none), "s", "nm", "c", "x" (string ids) },
//!       "marks": [{ "name": string id, "n", "t"(delta), "a"(string ids) }] }],
//!   "counters": [{ "label", "track"(-1: process), "n", "t"(delta), "v" }],
//!   "flows": { "n", "t"(delta, from time), "d"(to - from), "ft", "tt" (track indices) } }
//! ```
//!
//! Every time is relative to the trace's first event.

mod data;

use std::io::{self, Write};

use crate::model::Trace;

const PAGE: &str = include_str!("../../assets/page.html");
const CSS: &str = include_str!("../../assets/viewer.css");
/// The viewer, by role; `page.html` wraps them in one function scope.
const JS: &str = concat!(
    include_str!("../../assets/viewer/model.js"),
    include_str!("../../assets/viewer/draw.js"),
    include_str!("../../assets/viewer/ui.js"),
    include_str!("../../assets/viewer/selftest.js"),
    include_str!("../../assets/viewer/start.js"),
);

/// The title of the page for `trace`: its process name(s), else "gmp trace".
///
/// # Examples
///
/// ```
/// let text = r#"[{"ph":"M","name":"process_name","pid":1,"args":{"name":"gmp runtime 0"}}]"#;
/// let trace = gmp_trace::parse_str(text)?;
/// assert_eq!(gmp_trace::html::title(&trace), "gmp runtime 0 — gmp trace");
/// let unnamed = gmp_trace::parse_str("[]")?;
/// assert_eq!(gmp_trace::html::title(&unnamed), "gmp trace");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn title(trace: &Trace) -> String {
    if trace.processes.is_empty() && trace.process_name.is_none() {
        "gmp trace".to_owned()
    } else {
        format!("{} — gmp trace", trace.title())
    }
}

/// Escapes text for an HTML text node or attribute.
fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '/' => out.push_str("&#47;"),
            c => out.push(c),
        }
    }
    out
}

/// Writes the page for `trace` to `out`.
///
/// # Examples
///
/// ```
/// use gmp_trace::synth::Synth;
///
/// let trace = gmp_trace::parse_str(&Synth::new(2, 100).to_json())?;
/// let mut page = Vec::new();
/// gmp_trace::html::write_html(&trace, &mut page)?;
/// let page = String::from_utf8(page)?;
/// assert!(page.starts_with("<!doctype html>"));
/// assert!(page.contains("<title>gmp (procs=2) — gmp trace</title>"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn write_html<W: Write>(trace: &Trace, out: W) -> io::Result<()> {
    let mut w = io::BufWriter::with_capacity(1 << 16, out);
    let title = title(trace);
    let mut rest = PAGE;
    // The skeleton holds each placeholder once; pieces go out in order.
    for placeholder in ["<!--TITLE-->", "/*CSS*/", "<!--DATA-->", "/*JS*/"] {
        let (before, after) = rest
            .split_once(placeholder)
            .unwrap_or_else(|| panic!("assets/page.html lacks the {placeholder} placeholder"));
        w.write_all(before.as_bytes())?;
        match placeholder {
            "<!--TITLE-->" => w.write_all(escape_html(&title).as_bytes())?,
            "/*CSS*/" => w.write_all(CSS.as_bytes())?,
            "<!--DATA-->" => data::write_data(&mut w, trace, &title)?,
            _ => w.write_all(JS.as_bytes())?,
        }
        rest = after;
    }
    w.write_all(rest.as_bytes())?;
    w.flush()
}

/// The page for `trace` as a string.
///
/// # Examples
///
/// ```
/// let text = r#"[{"ph":"M","name":"process_name","pid":1,"args":{"name":"demo"}},
///   {"ph":"X","name":"G1","cat":"poll","pid":1,"tid":0,"ts":0,"dur":2,"args":{"g":1,"end":"ready"}}]"#;
/// let page = gmp_trace::html::to_html(&gmp_trace::parse_str(text)?);
/// assert!(page.contains("<title>demo — gmp trace</title>"));
/// // One self-contained file: the data is inside it.
/// assert!(page.contains(r#"<script type="application/json""#));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn to_html(trace: &Trace) -> String {
    let mut bytes = Vec::new();
    write_html(trace, &mut bytes).expect("writing to a Vec cannot fail");
    String::from_utf8(bytes).expect("the page is UTF-8: its parts are")
}
