//! How gmp-trace copes with a million events: parse + validate time, page
//! size, page write time and summary time, for two shapes of trace.
//!
//! `cargo bench -p gmp-trace --bench large` (a plain binary, not criterion:
//! each step runs a few times and the best time is printed; ~30 s).
//!
//! * `synthetic`: 1 000 000 events from [`gmp_trace::synth::Synth`] with 8 Ps
//!   — every event kind, about 15 % of the events polls.
//! * `polls`: 1 000 000 back-to-back polls on 8 Ps, the worst case for the
//!   viewer (a million slices to cull).
//!
//! With `GMP_TRACE_BENCH_OUT=<dir>` the pages are also written there
//! (`synthetic.html`, `polls.html`), to open in a browser: with `#selftest`
//! at the end of the URL the page reports its load and frame times in the
//! `data-gmp-selftest` attribute of `<html>`.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use gmp_trace::synth::Synth;
use gmp_trace::{html, parse_str, Summary};

/// A million polls on 8 Ps, G ids cycling through 50 000.
fn polls_only(n: usize) -> String {
    let procs = 8;
    let mut json = String::with_capacity(n * 160);
    json.push_str("{\"traceEvents\":[\n");
    json.push_str(r#"{"ph":"M","name":"process_name","pid":1,"args":{"name":"gmp (procs=8)"}}"#);
    for p in 0..procs {
        write!(
            json,
            ",\n{{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":1,\"tid\":{p},\"args\":{{\"name\":\"P{p}\"}}}}"
        )
        .expect("write to String");
    }
    let mut clock = vec![0u64; procs];
    let mut x = 0x2545_f491_4f6c_dd1du64;
    for i in 0..n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let p = i % procs;
        let dur = 500 + x % 19_500;
        let g = 1 + (x >> 20) % 50_000;
        let ts = clock[p];
        write!(
            json,
            ",\n{{\"ph\":\"X\",\"name\":\"G{g}\",\"cat\":\"poll\",\"pid\":1,\"tid\":{p},\"ts\":{}.{:03},\"dur\":{}.{:03},\"args\":{{\"g\":{g},\"m\":{},\"end\":\"pending\",\"spawn\":\"src/a.rs:1:1\"}}}}",
            ts / 1000,
            ts % 1000,
            dur / 1000,
            dur % 1000,
            p + 1
        )
        .expect("write to String");
        clock[p] = ts + dur + 100 + (x >> 40) % 2_900;
    }
    json.push_str("\n]}\n");
    json
}

/// The best of `runs` timings of `f`, and its last result.
fn best<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut out = None;
    for _ in 0..runs {
        let start = Instant::now();
        let value = f();
        best = best.min(start.elapsed());
        out = Some(value);
    }
    (best, out.expect("runs > 0"))
}

fn measure(name: &str, json: &str) {
    let (parse, trace) = best(3, || parse_str(json).expect("valid trace"));
    let (write, page) = best(3, || {
        let mut bytes = Vec::with_capacity(json.len() / 4);
        html::write_html(&trace, &mut bytes).expect("write to Vec");
        bytes
    });
    let (summary, _) = best(3, || Summary::new(&trace, 10).to_string());
    if let Some(dir) = std::env::var_os("GMP_TRACE_BENCH_OUT") {
        let path = std::path::Path::new(&dir).join(format!("{name}.html"));
        std::fs::write(&path, &page).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    }
    println!(
        "{name:>9}: {} events, {} slices | trace {:.1} MB | parse+validate {:.0} ms | page {:.1} MB ({:.1} B/event) written in {:.0} ms | summary {:.0} ms",
        trace.events,
        trace.slice_count(),
        json.len() as f64 / 1e6,
        parse.as_secs_f64() * 1e3,
        page.len() as f64 / 1e6,
        page.len() as f64 / trace.events as f64,
        write.as_secs_f64() * 1e3,
        summary.as_secs_f64() * 1e3,
    );
}

fn main() {
    // `cargo test --benches` runs this too: keep that quick.
    let n = if std::env::args().any(|a| a == "--bench") {
        1_000_000
    } else {
        20_000
    };
    measure("synthetic", &Synth::new(8, n).to_json());
    measure("polls", &polls_only(n));
}
