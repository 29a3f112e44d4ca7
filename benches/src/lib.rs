//! Shared helpers for gmp's benchmarks (the benchmark targets live beside this
//! crate's `Cargo.toml`). Nothing here is published.

use std::ptr::NonNull;

/// A one-word work item that owns nothing, so queue benchmarks measure the queue
/// and not the allocator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token(pub usize);

// SAFETY: the token is the value plus one (never null) and `from_raw` inverts it;
// a `Token` owns nothing, so converting it is always sound.
unsafe impl gmp_core::Item for Token {
    #[inline]
    fn into_raw(self) -> NonNull<()> {
        NonNull::new((self.0 + 1) as *mut ()).expect("token values stay below usize::MAX")
    }

    #[inline]
    unsafe fn from_raw(ptr: NonNull<()>) -> Self {
        Token(ptr.as_ptr() as usize - 1)
    }
}

pub mod cli;
pub mod rt;

/// A tokio multi-thread runtime with `procs` workers and, on it, a TCP
/// listener on a free loopback port: how every tokio server of the socket
/// benchmarks (`echo`, `hyper`) starts.
pub fn tokio_listener(
    procs: usize,
) -> (
    tokio::runtime::Runtime,
    tokio::net::TcpListener,
    std::net::SocketAddr,
) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(procs)
        .enable_io()
        .build()
        .unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    (rt, listener, addr)
}

/// Names a directory of prebuilt Go programs for the side-by-side rows (one
/// binary per folder of `benches/go`, named after it: `sched`, `echo`), for a
/// machine without a Go toolchain; `benches/device/build.sh` stages them.
pub const GO_DIR_ENV: &str = "GMP_BENCH_GO_DIR";

/// The Go program `benches/go/<name>`, ready for its arguments: the prebuilt
/// binary in [`GO_DIR_ENV`] if that is set, else `go run .` in its folder.
pub fn go_program(name: &str) -> std::process::Command {
    match std::env::var_os(GO_DIR_ENV) {
        Some(dir) => std::process::Command::new(std::path::Path::new(&dir).join(name)),
        None => {
            let mut cmd = std::process::Command::new("go");
            cmd.args(["run", "."])
                .current_dir(format!("{}/go/{name}", env!("CARGO_MANIFEST_DIR")));
            cmd
        }
    }
}

/// The median of `samples` (the mean of the middle two for an even count).
pub fn median(mut samples: Vec<f64>) -> f64 {
    assert!(!samples.is_empty(), "median of no samples");
    samples.sort_by(|a, b| a.total_cmp(b));
    let n = samples.len();
    if n % 2 == 1 {
        samples[n / 2]
    } else {
        (samples[n / 2 - 1] + samples[n / 2]) / 2.0
    }
}

/// This process's resident set size in bytes (Linux: `/proc/self/statm`).
pub fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("/proc/self/statm");
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .expect("statm's second field is the resident page count");
    pages * 4096
}

/// Results by (shape, procs) and runtime, printed as a Markdown table with the
/// ratios that matter: ours against the best peer and against tokio.
pub struct Table {
    columns: Vec<String>,
    rows: Vec<(String, usize)>,
    cells: std::collections::HashMap<(String, usize, String), f64>,
    units: std::collections::HashMap<String, String>,
}

impl Table {
    /// A table with these runtime columns, in this order.
    pub fn new(columns: &[&str]) -> Table {
        Table {
            columns: columns.iter().map(|c| c.to_string()).collect(),
            rows: Vec::new(),
            cells: Default::default(),
            units: Default::default(),
        }
    }

    /// Sets the unit printed for `shape` (default: `ns/op`, or `B/task` for
    /// memory shapes).
    pub fn set_unit(&mut self, shape: &str, unit: &str) {
        self.units.insert(shape.to_string(), unit.to_string());
    }

    /// Records one cell.
    pub fn record(&mut self, shape: &str, procs: usize, runtime: &str, value: f64) {
        let row = (shape.to_string(), procs);
        if !self.rows.contains(&row) {
            self.rows.push(row);
        }
        self.cells
            .insert((shape.to_string(), procs, runtime.to_string()), value);
    }

    /// The value of one cell, if recorded.
    pub fn get(&self, shape: &str, procs: usize, runtime: &str) -> Option<f64> {
        self.cells
            .get(&(shape.to_string(), procs, runtime.to_string()))
            .copied()
    }

    /// Renders the table; `ours / best peer` and `ours / reference` columns
    /// (lower is better).
    pub fn markdown(&self, ours: &str, reference: &str) -> String {
        let mut out = String::new();
        out.push_str("| shape | procs | unit |");
        for c in &self.columns {
            out.push_str(&format!(" {c} |"));
        }
        out.push_str(&format!(" {ours} / best peer | {ours} / {reference} |\n"));
        out.push_str("| --- | ---: | --- |");
        for _ in &self.columns {
            out.push_str(" ---: |");
        }
        out.push_str(" ---: | ---: |\n");
        let mut rows = self.rows.clone();
        rows.sort_by_key(|(shape, procs)| (shape_order(shape), *procs));
        for (shape, procs) in &rows {
            let unit = match self.units.get(shape) {
                Some(unit) => unit.as_str(),
                None if shape.contains("memory") => "B/task",
                None => "ns/op",
            };
            out.push_str(&format!("| {shape} | {procs} | {unit} |"));
            for c in &self.columns {
                match self.get(shape, *procs, c) {
                    Some(v) if v < 100.0 => out.push_str(&format!(" {v:.1} |")),
                    Some(v) => out.push_str(&format!(" {v:.0} |")),
                    None => out.push_str(" — |"),
                }
            }
            let mine = self.get(shape, *procs, ours);
            let best_peer = self
                .columns
                .iter()
                .filter(|c| !c.starts_with(ours))
                .filter_map(|c| self.get(shape, *procs, c))
                .min_by(|a, b| a.total_cmp(b));
            let reference = self.get(shape, *procs, reference);
            let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
                (Some(a), Some(b)) if b > 0.0 => format!("{:.2}", a / b),
                _ => "—".to_string(),
            };
            out.push_str(&format!(
                " {} | {} |\n",
                ratio(mine, best_peer),
                ratio(mine, reference)
            ));
        }
        out
    }
}

fn shape_order(shape: &str) -> usize {
    [
        "spawn_many_local",
        "spawn_many_remote",
        "yield_many",
        "chained_spawn",
        "ping_pong",
        "park_memory",
    ]
    .iter()
    .position(|s| *s == shape)
    .unwrap_or(usize::MAX)
}
