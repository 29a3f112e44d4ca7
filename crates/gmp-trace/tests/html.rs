//! The page: self-contained, carries the whole trace, and the embedded
//! columns decode back to exactly the parsed trace.

use gmp_trace::html::to_html;
use gmp_trace::model::PollEnd;
use gmp_trace::synth::Synth;
use gmp_trace::{load, parse_str, Trace};
use serde_json::Value;

fn example() -> Trace {
    load(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/example.json"
    ))
    .expect("fixture")
}

/// The text inside `<script type="application/json" id="gmp-data">`.
fn embedded_text(html: &str) -> &str {
    let open = r#"<script type="application/json" id="gmp-data">"#;
    let start = html.find(open).expect("data element") + open.len();
    let len = html[start..]
        .find("</script>")
        .expect("data element closes");
    &html[start..start + len]
}

/// The embedded data, parsed.
fn embedded(html: &str) -> Value {
    serde_json::from_str(embedded_text(html)).expect("embedded data is JSON")
}

/// A column: one number for "all equal", else an array (of deltas if `delta`).
fn column(v: &Value, n: usize, delta: bool) -> Vec<i64> {
    match v {
        Value::Number(x) => vec![x.as_i64().expect("integer"); n],
        Value::Array(items) => {
            assert_eq!(items.len(), n, "column length");
            let mut acc = 0;
            items
                .iter()
                .map(|x| {
                    let x = x.as_i64().expect("integer");
                    if delta {
                        acc += x;
                        acc
                    } else {
                        x
                    }
                })
                .collect()
        }
        other => panic!("a column is a number or an array, not {other}"),
    }
}

fn assert_data_matches(trace: &Trace, data: &Value) {
    let strings: Vec<&str> = data["strings"]
        .as_array()
        .expect("strings")
        .iter()
        .map(|s| s.as_str().expect("string"))
        .collect();
    let t0 = trace.start;
    assert_eq!(data["span"].as_i64(), Some(trace.span_ns()));
    assert_eq!(data["events"].as_u64(), Some(trace.events as u64));
    let ends: Vec<&str> = data["ends"]
        .as_array()
        .expect("ends")
        .iter()
        .map(|s| s.as_str().expect("end name"))
        .collect();
    assert_eq!(ends, PollEnd::ALL.map(PollEnd::as_str));

    let tracks = data["tracks"].as_array().expect("tracks");
    assert_eq!(tracks.len(), trace.tracks.len());
    for (track, t) in trace.tracks.iter().zip(tracks) {
        assert_eq!(t["name"].as_str(), Some(trace.track_label(track).as_str()));
        assert_eq!(t["tid"].as_i64(), Some(track.tid));
        let s = &t["slices"];
        let n = s["n"].as_u64().expect("n") as usize;
        assert_eq!(n, track.slices.len());
        let start = column(&s["t"], n, true);
        let dur = column(&s["d"], n, false);
        let g = column(&s["g"], n, false);
        let m = column(&s["m"], n, true);
        let e = column(&s["e"], n, false);
        let spawn = column(&s["s"], n, false);
        let name = column(&s["nm"], n, false);
        let extra = column(&s["x"], n, false);
        for (i, slice) in track.slices.iter().enumerate() {
            assert_eq!(start[i], slice.start - t0);
            assert_eq!(dur[i], slice.dur);
            assert_eq!(g[i], slice.g.map_or(-1, |g| g as i64));
            assert_eq!(m[i], slice.m.map_or(-1, |m| m as i64));
            let end = slice.end.map_or(-1, |x| {
                PollEnd::ALL.iter().position(|&y| y == x).unwrap() as i64
            });
            assert_eq!(e[i], end);
            assert_eq!(strings[spawn[i] as usize], trace.str(slice.spawn));
            assert_eq!(strings[extra[i] as usize], trace.str(slice.extra));
            let shown = if name[i] == 0 {
                format!("G{}", g[i])
            } else {
                strings[name[i] as usize].to_owned()
            };
            assert_eq!(shown, trace.str(slice.name));
        }
        let mut instants = 0;
        for group in t["marks"].as_array().expect("marks") {
            let n = group["n"].as_u64().expect("n") as usize;
            let name = strings[group["name"].as_u64().expect("name") as usize];
            let ts = column(&group["t"], n, true);
            let args = column(&group["a"], n, false);
            let expect: Vec<_> = track
                .instants
                .iter()
                .filter(|i| trace.str(i.name) == name)
                .collect();
            assert_eq!(expect.len(), n);
            for (j, inst) in expect.iter().enumerate() {
                assert_eq!(ts[j], inst.ts - t0);
                assert_eq!(strings[args[j] as usize], trace.str(inst.args));
            }
            instants += n;
        }
        assert_eq!(instants, track.instants.len());
    }

    let counters = data["counters"].as_array().expect("counters");
    assert_eq!(counters.len(), trace.counters.len());
    for (counter, c) in trace.counters.iter().zip(counters) {
        assert_eq!(c["label"].as_str(), Some(counter.label.as_str()));
        let n = c["n"].as_u64().expect("n") as usize;
        let ts = column(&c["t"], n, true);
        let values: Vec<f64> = c["v"]
            .as_array()
            .expect("values")
            .iter()
            .map(|v| v.as_f64().expect("number"))
            .collect();
        let expect_ts: Vec<i64> = counter.samples.iter().map(|s| s.0 - t0).collect();
        let expect_v: Vec<f64> = counter.samples.iter().map(|s| s.1).collect();
        assert_eq!((ts, values), (expect_ts, expect_v));
    }

    let f = &data["flows"];
    let n = f["n"].as_u64().expect("n") as usize;
    assert_eq!(n, trace.flows.len());
    let from = column(&f["t"], n, true);
    let d = column(&f["d"], n, false);
    let ft = column(&f["ft"], n, false);
    let tt = column(&f["tt"], n, false);
    for (i, flow) in trace.flows.iter().enumerate() {
        assert_eq!(from[i], flow.from_ts - t0);
        assert_eq!(from[i] + d[i], flow.to_ts - t0);
        assert_eq!(
            (ft[i], tt[i]),
            (flow.from_track as i64, flow.to_track as i64)
        );
    }
}

#[test]
fn the_embedded_data_decodes_back_to_the_example_trace() {
    let trace = example();
    assert_data_matches(&trace, &embedded(&to_html(&trace)));
}

#[test]
fn the_embedded_data_decodes_back_to_a_synthetic_trace() {
    let trace = parse_str(&Synth::new(3, 20_000).seed(7).to_json()).expect("valid");
    assert!(trace.slice_count() > 1_000);
    assert_data_matches(&trace, &embedded(&to_html(&trace)));
}

#[test]
fn the_page_carries_the_viewer_the_canvas_and_the_title() {
    let html = to_html(&example());
    assert!(html.starts_with("<!doctype html>"));
    assert!(html.contains("<title>gmp (procs=2) — gmp trace</title>"));
    assert!(html.contains(r#"<canvas id="timeline">"#));
    assert!(html.contains("window.gmpTrace"));
    assert!(html.contains("function drawSlices"));
    assert!(html.contains("Content-Security-Policy"));
    assert!(html.trim_end().ends_with("</html>"));
}

/// Strings that would break a careless page: a URL, a script end tag.
const HOSTILE: &str = r#"{"traceEvents":[
  {"ph":"M","name":"process_name","pid":1,"args":{"name":"https://evil.example/x </title><script>"}},
  {"ph":"M","name":"thread_name","pid":1,"tid":0,"args":{"name":"</script><script>alert(1)</script>"}},
  {"ph":"X","name":"G1","cat":"poll","pid":1,"tid":0,"ts":1,"dur":1,
   "args":{"g":1,"end":"ready","spawn":"http://cdn.example//cdn/lib.js","note":"<!-- //cdn.x -->"}},
  {"ph":"i","name":"<img src=x>","pid":1,"tid":0,"ts":3,"args":{"u":"https://x.example"}}
]}"#;

#[test]
fn the_page_has_no_external_url_even_when_the_trace_holds_some() {
    for trace in [example(), parse_str(HOSTILE).expect("valid")] {
        let html = to_html(&trace);
        for banned in ["http://", "https://", "//cdn"] {
            assert!(!html.contains(banned), "the page contains {banned:?}");
        }
        // Nothing outside the data loads a resource either.
        let markup = html.replace(embedded_text(&html), "");
        for banned in [
            "<link",
            "@import",
            "url(",
            " src=",
            "fetch(",
            "XMLHttpRequest",
        ] {
            assert!(!markup.contains(banned), "the page contains {banned:?}");
        }
    }
}

#[test]
fn trace_strings_cannot_close_the_data_element_or_open_a_tag() {
    let trace = parse_str(HOSTILE).expect("valid");
    let html = to_html(&trace);
    // The two inline scripts and the data element close once each.
    assert_eq!(html.matches("</script>").count(), 3);
    assert!(!html.contains("<img"));
    assert!(!html.contains("<!-- //"));
    // ...and the strings still arrive intact.
    let data = embedded(&html);
    assert_eq!(
        data["tracks"][0]["name"].as_str(),
        Some("</script><script>alert(1)</script>")
    );
    assert_data_matches(&trace, &data);
}

#[test]
fn constant_columns_are_written_as_one_number() {
    let trace = example();
    let data = embedded(&to_html(&trace));
    let slices = &data["tracks"][0]["slices"];
    // One poll, of G17 on M2: every column is constant.
    assert_eq!(slices["g"], Value::from(17));
    assert_eq!(slices["m"], Value::from(2));
    assert_eq!(slices["nm"], Value::from(0), "G17's name is rebuilt from g");
}

#[test]
fn the_embedded_data_is_several_times_smaller_than_the_trace() {
    let json = Synth::new(4, 50_000).to_json();
    let trace = parse_str(&json).expect("valid");
    let html = to_html(&trace);
    let data_len = embedded_text(&html).len();
    assert!(
        data_len * 4 < json.len(),
        "embedded data {data_len} bytes for a {} byte trace",
        json.len()
    );
}

#[test]
fn an_empty_trace_still_makes_a_page() {
    let trace = parse_str(r#"{"traceEvents":[]}"#).expect("valid");
    let html = to_html(&trace);
    assert_data_matches(&trace, &embedded(&html));
    assert!(html.contains("<title>gmp trace</title>"));
}
