//! gmp's `go tool trace`: reads an execution trace the runtime wrote and
//! turns it into a self-contained HTML timeline of the Ps and a text summary.
//!
//! # Where it sits
//!
//! The runtime's recorder (`gmp::trace::start` / `stop`, from
//! `gmp_exec::trace`) writes scheduler events as **Chrome trace-event
//! JSON**, the format Perfetto and `chrome://tracing` open. That is enough to
//! look at a small trace, but those viewers know nothing of Gs and Ps, and a
//! busy second of a scheduler is a million events. `gmp-trace` reads the same
//! file, checks it, and writes one HTML page that needs no network and no
//! viewer install, plus a summary for the terminal:
//!
//! ```text
//! runtime recorder ──trace.json──▶ gmp-trace ──▶ trace.html   (canvas timeline)
//!                                            └─▶ --summary     (busiest Gs, longest
//!                                                               polls, steal matrix)
//! ```
//!
//! # The format, as gmp writes it
//!
//! | event | phase | meaning |
//! | --- | --- | --- |
//! | `process_name`, `thread_name` | `M` | one process per gmp runtime (`pid` = runtime + 1); one thread per P (`tid` = P index), `tid` 1000 for threads without a P, `tid` 2000 + M for an M that runs on without its P after a retake |
//! | `G17`, cat `poll` | `X` | one poll of a G on a P: `ts`, `dur` (µs, floats), args `g`, `m`, `end`, `spawn` |
//! | `wake` | `s` / `f` | a wake: `s` where the waker ran, `f` where the woken G next ran; paired by `id` |
//! | `runqueue`, `global queue` | `C` | run-queue depth of a P (`args: {"P0": 3}`) and of the global queue |
//! | `steal`, `handoff`, `park`, `unpark`, `netpoll`, `retake`, `G created`, `preempt mark` | `i` | scheduler decisions (see [`model::Mark`] for their arguments) |
//!
//! A poll's `end` is one of `pending`, `ready`, `yield`, `cancelled`,
//! `panicked`, `preempted`, and, from the recorder's bookkeeping, `skipped`
//! (a stale queue entry), `retaken` (sysmon took the P mid-poll; the poll
//! continues on the M's track) and `running` (still running when the
//! recording stopped) ([`model::PollEnd`]). Unknown instants are kept and
//! drawn generically; phases the runtime never writes (`B`/`E`, async events)
//! are counted and skipped, so any Chrome trace still opens.
//!
//! # What is checked
//!
//! A trace is rejected, with an [`io::Error`] of kind `InvalidData` wrapping a
//! [`TraceError`] that names the event by its index in `traceEvents`, when:
//!
//! 1. it is not JSON ([`ErrorKind::NotJson`]);
//! 2. it is JSON but neither `{"traceEvents": [...]}` nor an array of events
//!    ([`ErrorKind::NotATrace`]);
//! 3. an event lacks what its phase needs: `ph`; `pid`; `ts`; `tid` on slices,
//!    instants and flows; `dur` on slices; `id` on flows; `args.g` and
//!    `args.end` on polls; the arguments a known instant promises
//!    ([`ErrorKind::MissingField`]);
//! 4. a field has the wrong type or an impossible value: a string `ts`, a
//!    negative `dur`, an unknown `end`, a non-numeric counter
//!    ([`ErrorKind::BadValue`]);
//! 5. two slices on one track overlap: a P polls one G at a time
//!    ([`ErrorKind::Overlap`]).
//!
//! Flows that do not pair up (the recording stopped between a wake and the
//! woken G's poll) are not errors; the summary counts them.
//!
//! # How this maps to Go
//!
//! Go's execution tracer (`runtime/trace`) records binary per-P event
//! batches; `go tool trace` parses them, converts them to the same Chrome
//! trace-event JSON, and serves Chrome's Catapult trace viewer over a local
//! HTTP server. Catapult cannot hold much, so `go tool trace` cuts a big
//! trace into ranges of about 100 MiB of JSON and shows one at a time. Here
//! the page is one file you can mail, and it holds a million events whole:
//! the data is embedded in a compact columnar form (see the [`html`] module)
//! and drawn with level-of-detail culling, at most one shape per pixel column
//! per track. Go's "Goroutine analysis" page becomes the summary's busiest-G
//! table; Go's unblock → start arrows are our wake flows. Go records no steal
//! events; gmp does, so the summary adds a thief × victim steal matrix, the
//! first thing to look at when one P starves while another is buried.
//!
//! # Use
//!
//! ```no_run
//! let trace = gmp_trace::load("trace.json")?;
//! std::fs::write("trace.html", gmp_trace::html::to_html(&trace))?;
//! print!("{}", gmp_trace::Summary::new(&trace, 10));
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! or from the shell: `gmp-trace trace.json -o trace.html --summary`.
//! [`synth::Synth`] writes a synthetic trace in the runtime's format, for
//! trying the viewer before the runtime records real ones.

#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]

mod error;
pub mod html;
pub mod model;
mod parse;
pub mod summary;
pub mod synth;

use std::io::{self, Read};
use std::path::Path;

pub use error::{ErrorKind, TraceError};
pub use model::Trace;
pub use parse::parse_str;
pub use summary::Summary;

/// Reads and validates a trace file.
///
/// A bad trace gives an [`io::Error`] of kind `InvalidData` whose inner
/// error is a [`TraceError`] (its message starts with the path); a missing or
/// unreadable file gives the operating system's error, with the path.
///
/// # Examples
///
/// ```
/// let name = format!("gmp-trace-load-{}.json", std::process::id());
/// let path = std::env::temp_dir().join(name);
/// std::fs::write(&path, gmp_trace::synth::Synth::new(2, 100).to_json())?;
/// let trace = gmp_trace::load(&path);
/// std::fs::remove_file(&path)?;
/// assert!(trace?.slice_count() > 0);
/// // A missing file gives the system's error, with the path.
/// let err = gmp_trace::load(&path).unwrap_err();
/// assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
/// assert!(err.to_string().contains("gmp-trace-load-"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn load(path: impl AsRef<Path>) -> io::Result<Trace> {
    let path = path.as_ref();
    let bytes = std::fs::read(path)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
    Ok(from_bytes(bytes).map_err(|e| e.context(path.display()))?)
}

/// Reads and validates a trace from any reader (a file, stdin).
///
/// # Examples
///
/// ```
/// use gmp_trace::{ErrorKind, TraceError};
///
/// let json = gmp_trace::synth::Synth::new(2, 100).to_json();
/// let trace = gmp_trace::read(json.as_bytes())?;
/// assert_eq!(trace.tracks.iter().filter(|t| t.p().is_some()).count(), 2);
/// // A bad trace is `InvalidData`, with the `TraceError` inside.
/// let err = gmp_trace::read(&b"[1]"[..]).unwrap_err();
/// assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
/// let inner = err.get_ref().and_then(|e| e.downcast_ref::<TraceError>());
/// assert_eq!(inner.map(TraceError::kind), Some(ErrorKind::BadValue));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn read(mut reader: impl Read) -> io::Result<Trace> {
    let mut bytes = Vec::new();
    reader.read_to_end(&mut bytes)?;
    Ok(from_bytes(bytes)?)
}

fn from_bytes(bytes: Vec<u8>) -> Result<Trace, TraceError> {
    let text = String::from_utf8(bytes).map_err(|e| {
        TraceError::new(
            ErrorKind::NotJson,
            format!(
                "not JSON: invalid UTF-8 at byte {}",
                e.utf8_error().valid_up_to()
            ),
        )
    })?;
    parse_str(&text)
}
