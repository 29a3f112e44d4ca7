//! Execution traces (Go's `runtime/trace`): what every P ran, when, and why.
//!
//! [`start`] begins recording scheduler events from every gmp runtime in the
//! process — polls (start, end and how they ended), G creation, wakes (who woke
//! whom), steals, P handoffs and retakes, preemption marks, Ms parking and
//! waking, and per-P queue depths sampled by sysmon — and [`stop`] writes them
//! as Chrome trace-event JSON, which Perfetto, `chrome://tracing` and gmp's own
//! `gmp-trace` viewer open: one track per P, one slice per poll, flow arrows
//! from a wake to the poll it caused, counter tracks for the queues.
//!
//! Each thread records into its own bounded ring (a flight recorder: when it is
//! full the oldest events go, and `stop` says how many), so recording takes an
//! uncontended lock and no shared cache line. When no trace runs, every
//! recording point costs one relaxed load of a global flag.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::panic::Location;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Events each thread keeps before the oldest are dropped.
const RING: usize = 1 << 18;
/// The `tid` of events from threads that hold no P.
const OUTSIDE_TID: u64 = 1000;
/// `tid`s of Ms running without a P (after a retake or `block_in_place`).
const NO_P_TID: u64 = 2000;
/// "No P" in an event.
pub(crate) const NO_P: u32 = u32::MAX;

static ON: AtomicBool = AtomicBool::new(false);
static GENERATION: AtomicU64 = AtomicU64::new(0);
static TRACER: Mutex<Option<Tracer>> = Mutex::new(None);

struct Tracer {
    path: PathBuf,
    file: File,
    epoch: Instant,
    generation: u64,
    bufs: Vec<Arc<Mutex<Ring>>>,
}

struct Ring {
    events: VecDeque<Event>,
    dropped: u64,
}

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `g` starts a poll on `p`; `b` is its spawn location.
    PollStart,
    /// `g`'s poll ended; `a` is a `PollEnd` code.
    PollEnd,
    /// `g` was created by `a` (0: outside any G); `b` is its spawn location.
    Created,
    /// `g` was woken by G `a` (0: outside any G).
    Wake,
    /// P `p` stole `b` Gs from P `a`.
    Steal,
    /// P `p` was handed to another M.
    Handoff,
    /// sysmon took P `p` from the M running `g`.
    Retake,
    /// sysmon marked `g` for preemption.
    Preempt,
    /// An M parked / was woken with P `p`.
    Park,
    Unpark,
    /// P `p`'s queue held `a` Gs (`p == NO_P`: the global queue).
    Depth,
    /// A netpoll or timer batch made `a` Gs runnable (on P `p`, or none).
    Netpoll,
}

/// How a poll ended (`Kind::PollEnd`'s `a`).
pub(crate) mod end {
    pub(crate) const PENDING: u64 = 0;
    pub(crate) const READY: u64 = 1;
    pub(crate) const YIELD: u64 = 2;
    pub(crate) const CANCELLED: u64 = 3;
    pub(crate) const PANICKED: u64 = 4;
    /// The notified reference found the task already running or complete.
    pub(crate) const SKIPPED: u64 = 5;

    pub(super) fn name(code: u64) -> &'static str {
        match code {
            PENDING => "pending",
            READY => "ready",
            YIELD => "yield",
            CANCELLED => "cancelled",
            PANICKED => "panicked",
            SKIPPED => "skipped",
            _ => "preempted",
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Event {
    ts: u64,
    kind: Kind,
    rt: u32,
    p: u32,
    m: u32,
    g: u64,
    a: u64,
    b: u64,
}

/// A thread's ring for one trace: (trace generation, ring, the trace's epoch).
type LocalRing = Option<(u64, Arc<Mutex<Ring>>, Instant)>;

thread_local! {
    static LOCAL: RefCell<LocalRing> = const { RefCell::new(None) };
}

/// A poll in progress in the trace: (start, track, G, spawn location).
type OpenPoll = (u64, (u32, u64), u64, u64);

/// True while a trace is being recorded (one relaxed load).
#[inline(always)]
pub(crate) fn on() -> bool {
    ON.load(Relaxed)
}

/// Records one event from this thread, if a trace is running.
#[allow(clippy::too_many_arguments)]
#[inline]
pub(crate) fn record(kind: Kind, rt: u32, p: u32, m: u32, g: u64, a: u64, b: u64) {
    record_maybe_at(None, kind, rt, p, m, g, a, b);
}

/// Records one event that happened at `at` (taken earlier by the caller), if a
/// trace is running. For a poll's start, whose time must come before anything
/// that sysmon can do to that poll: see `Worker::execute`.
#[allow(clippy::too_many_arguments)]
#[inline]
pub(crate) fn record_at(at: Instant, kind: Kind, rt: u32, p: u32, m: u32, g: u64, a: u64, b: u64) {
    record_maybe_at(Some(at), kind, rt, p, m, g, a, b);
}

/// `record` (time taken now) and `record_at`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn record_maybe_at(
    at: Option<Instant>,
    kind: Kind,
    rt: u32,
    p: u32,
    m: u32,
    g: u64,
    a: u64,
    b: u64,
) {
    if !on() {
        return;
    }
    let event = Event {
        ts: 0,
        kind,
        rt,
        p,
        m,
        g,
        a,
        b,
    };
    record_slow(event, at);
}

#[cold]
fn record_slow(mut event: Event, at: Option<Instant>) {
    let generation = GENERATION.load(Relaxed);
    LOCAL.with(|local| {
        let mut local = local.borrow_mut();
        let fresh = !matches!(&*local, Some((g, _, _)) if *g == generation);
        if fresh {
            let mut tracer = TRACER.lock().unwrap_or_else(|e| e.into_inner());
            let Some(tracer) = tracer.as_mut().filter(|t| t.generation == generation) else {
                return;
            };
            let ring = Arc::new(Mutex::new(Ring {
                events: VecDeque::new(),
                dropped: 0,
            }));
            tracer.bufs.push(ring.clone());
            *local = Some((generation, ring, tracer.epoch));
        }
        let Some((_, ring, epoch)) = &*local else {
            return;
        };
        event.ts = match at {
            Some(at) => at.saturating_duration_since(*epoch),
            None => epoch.elapsed(),
        }
        .as_nanos() as u64;
        let mut ring = ring.lock().unwrap_or_else(|e| e.into_inner());
        if ring.events.len() == RING {
            ring.events.pop_front();
            ring.dropped += 1;
        }
        ring.events.push_back(event);
    });
}

/// Starts recording an execution trace of every gmp runtime in the process,
/// to be written to `path` by [`stop`]. The file is created now, so a bad path
/// fails here.
///
/// ```no_run
/// gmp_exec::trace::start("trace.json").unwrap();
/// gmp_exec::block_on(async {
///     gmp_exec::spawn(async { 1 + 1 }).await.unwrap();
/// });
/// let stats = gmp_exec::trace::stop().unwrap();
/// println!("{} events in {}", stats.events, stats.path.display());
/// ```
pub fn start(path: impl AsRef<Path>) -> io::Result<()> {
    let mut tracer = TRACER.lock().unwrap_or_else(|e| e.into_inner());
    if tracer.is_some() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "a gmp trace is already being recorded; stop it first",
        ));
    }
    let path = path.as_ref().to_path_buf();
    let file = File::create(&path)?;
    let generation = GENERATION.fetch_add(1, Relaxed) + 1;
    *tracer = Some(Tracer {
        path,
        file,
        epoch: Instant::now(),
        generation,
        bufs: Vec::new(),
    });
    ON.store(true, Relaxed);
    Ok(())
}

/// What [`stop`] wrote.
///
/// ```
/// let path = std::env::temp_dir().join(format!("gmp-trace-stats-{}.json", std::process::id()));
/// gmp_exec::trace::start(&path)?;
/// gmp_exec::block_on(gmp_exec::spawn(async {})).unwrap();
/// let stats: gmp_exec::trace::TraceStats = gmp_exec::trace::stop()?;
/// assert_eq!(stats.path, path);
/// assert!(stats.events > 0);
/// assert_eq!(stats.dropped, 0);
/// std::fs::remove_file(&path)?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TraceStats {
    /// The trace file.
    pub path: PathBuf,
    /// Events recorded and written.
    pub events: usize,
    /// Events dropped because a thread's ring was full (the oldest go first).
    pub dropped: u64,
}

/// Stops recording and writes the trace as Chrome trace-event JSON.
///
/// ```
/// let path = std::env::temp_dir().join(format!("gmp-trace-stop-{}.json", std::process::id()));
/// gmp_exec::trace::start(&path)?;
/// gmp_exec::block_on(gmp_exec::spawn(async { 1 + 1 })).unwrap();
/// let stats = gmp_exec::trace::stop()?;
/// let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path)?)?;
/// assert!(json.to_string().len() > 2 && stats.events > 0);
/// std::fs::remove_file(&path)?;
/// // Nothing is recording any more.
/// assert_eq!(gmp_exec::trace::stop().unwrap_err().kind(), std::io::ErrorKind::NotFound);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn stop() -> io::Result<TraceStats> {
    ON.store(false, Relaxed);
    let tracer = TRACER
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take()
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no gmp trace is being recorded"))?;
    let mut events = Vec::new();
    let mut dropped = 0;
    for ring in &tracer.bufs {
        let mut ring = ring.lock().unwrap_or_else(|e| e.into_inner());
        dropped += ring.dropped;
        events.extend(ring.events.drain(..));
    }
    events.sort_by_key(|e| e.ts);
    let count = events.len();
    let mut out = BufWriter::new(tracer.file);
    write_json(&mut out, &events)?;
    out.flush()?;
    Ok(TraceStats {
        path: tracer.path,
        events: count,
        dropped,
    })
}

fn location(ptr: u64) -> String {
    let loc = ptr as *const Location<'static>;
    // SAFETY: locations are recorded from `&'static Location` (spawn sites),
    // or 0 for none.
    match unsafe { loc.as_ref() } {
        Some(l) => l.to_string(),
        None => String::new(),
    }
}

fn us(ns: u64) -> String {
    format!("{}.{:03}", ns / 1000, ns % 1000)
}

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// A track: `(pid, tid)`.
fn track(e: &Event, p: u32) -> (u32, u64) {
    let tid = if p == NO_P {
        if e.m == NO_P {
            OUTSIDE_TID
        } else {
            NO_P_TID + u64::from(e.m)
        }
    } else {
        u64::from(p)
    };
    (e.rt + 1, tid)
}

fn write_json(out: &mut impl Write, events: &[Event]) -> io::Result<()> {
    let mut lines: Vec<String> = Vec::new();
    let mut tracks: HashMap<(u32, u64), String> = HashMap::new();
    // Per M (pid, m): the open poll (start ts, track, g, location).
    let mut open: HashMap<(u32, u32), OpenPoll> = HashMap::new();
    // Per (pid, g): wakes waiting for their G's next poll.
    let mut pending_wakes: HashMap<(u32, u64), Vec<u64>> = HashMap::new();
    let mut flow_id = 0u64;
    let note = |tracks: &mut HashMap<(u32, u64), String>, t: (u32, u64)| {
        tracks.entry(t).or_insert_with(|| match t.1 {
            OUTSIDE_TID => "outside (threads without a P)".to_string(),
            tid if tid >= NO_P_TID => format!("M{} (no P)", tid - NO_P_TID),
            tid => format!("P{tid}"),
        });
    };
    let slice = |lines: &mut Vec<String>,
                 t: (u32, u64),
                 g: u64,
                 start: u64,
                 end: u64,
                 m: u32,
                 how: &str,
                 loc: u64| {
        lines.push(format!(
            "{{\"ph\":\"X\",\"name\":\"G{g}\",\"cat\":\"poll\",\"pid\":{},\"tid\":{},\"ts\":{},\"dur\":{},\"args\":{{\"g\":{g},\"m\":{m},\"end\":\"{how}\",\"spawn\":\"{}\"}}}}",
            t.0,
            t.1,
            us(start),
            us(end.saturating_sub(start)),
            esc(&location(loc))
        ));
    };
    for e in events {
        let pid = e.rt + 1;
        match e.kind {
            Kind::PollStart => {
                let t = track(e, e.p);
                note(&mut tracks, t);
                open.insert((pid, e.m), (e.ts, t, e.g, e.b));
                if let Some(ids) = pending_wakes.remove(&(pid, e.g)) {
                    for id in ids {
                        lines.push(format!(
                            "{{\"ph\":\"f\",\"name\":\"wake\",\"cat\":\"wake\",\"id\":{id},\"pid\":{},\"tid\":{},\"ts\":{},\"bp\":\"e\"}}",
                            t.0,
                            t.1,
                            us(e.ts)
                        ));
                    }
                }
            }
            Kind::PollEnd => {
                if let Some((start, t, g, loc)) = open.remove(&(pid, e.m)) {
                    slice(&mut lines, t, g, start, e.ts, e.m, end::name(e.a), loc);
                }
            }
            Kind::Retake => {
                // The M goes on polling without its P: close the slice on the
                // P's track and continue it on the M's own track, so the P's
                // next M does not overlap it.
                // The retaken M's open poll (by its id; by the G for traces
                // that name no M).
                let m_of_g = if open.contains_key(&(pid, e.m)) {
                    Some(e.m)
                } else {
                    open.iter()
                        .find(|(k, v)| k.0 == pid && v.2 == e.g)
                        .map(|(k, _)| k.1)
                };
                if let Some(m) = m_of_g {
                    if let Some((start, t, g, loc)) = open.remove(&(pid, m)) {
                        slice(&mut lines, t, g, start, e.ts, m, "retaken", loc);
                        let t2 = (pid, NO_P_TID + u64::from(m));
                        note(&mut tracks, t2);
                        open.insert((pid, m), (e.ts, t2, g, loc));
                    }
                }
                let t = track(e, e.p);
                note(&mut tracks, t);
                lines.push(instant(
                    "retake",
                    t,
                    e.ts,
                    &format!("\"g\":{},\"p\":{}", e.g, e.p),
                ));
            }
            Kind::Wake => {
                let t = track(e, e.p);
                note(&mut tracks, t);
                flow_id += 1;
                lines.push(format!(
                    "{{\"ph\":\"s\",\"name\":\"wake\",\"cat\":\"wake\",\"id\":{flow_id},\"pid\":{},\"tid\":{},\"ts\":{}}}",
                    t.0,
                    t.1,
                    us(e.ts)
                ));
                pending_wakes.entry((pid, e.g)).or_default().push(flow_id);
            }
            Kind::Created => {
                let t = track(e, e.p);
                note(&mut tracks, t);
                lines.push(instant(
                    "G created",
                    t,
                    e.ts,
                    &format!("\"g\":{},\"parent\":{}", e.g, e.a),
                ));
            }
            Kind::Steal => {
                let t = track(e, e.p);
                note(&mut tracks, t);
                lines.push(instant(
                    "steal",
                    t,
                    e.ts,
                    &format!("\"from\":{},\"moved\":{}", e.a, e.b),
                ));
            }
            Kind::Netpoll => {
                let t = track(e, e.p);
                note(&mut tracks, t);
                lines.push(instant("netpoll", t, e.ts, &format!("\"woken\":{}", e.a)));
            }
            Kind::Handoff => {
                let t = track(e, e.p);
                note(&mut tracks, t);
                lines.push(instant("handoff", t, e.ts, &format!("\"p\":{}", e.p)));
            }
            Kind::Preempt => {
                let t = track(e, e.p);
                note(&mut tracks, t);
                lines.push(instant("preempt mark", t, e.ts, &format!("\"g\":{}", e.g)));
            }
            Kind::Park | Kind::Unpark => {
                let t = track(e, e.p);
                note(&mut tracks, t);
                let name = if e.kind == Kind::Park {
                    "park"
                } else {
                    "unpark"
                };
                lines.push(instant(name, t, e.ts, &format!("\"m\":{}", e.m)));
            }
            Kind::Depth => {
                if e.p == NO_P {
                    lines.push(format!(
                        "{{\"ph\":\"C\",\"name\":\"global queue\",\"pid\":{pid},\"ts\":{},\"args\":{{\"len\":{}}}}}",
                        us(e.ts),
                        e.a
                    ));
                } else {
                    let t = (pid, u64::from(e.p));
                    note(&mut tracks, t);
                    lines.push(format!(
                        "{{\"ph\":\"C\",\"name\":\"runqueue\",\"pid\":{pid},\"tid\":{},\"ts\":{},\"args\":{{\"P{}\":{}}}}}",
                        e.p,
                        us(e.ts),
                        e.p,
                        e.a
                    ));
                }
            }
        }
    }
    // Polls still running when the trace stopped end at the last event.
    let last = events.last().map_or(0, |e| e.ts);
    for ((_, m), (start, t, g, loc)) in open {
        slice(&mut lines, t, g, start, last, m, "running", loc);
    }
    let mut pids: Vec<u32> = tracks.keys().map(|t| t.0).collect();
    pids.sort_unstable();
    pids.dedup();
    out.write_all(b"{\"traceEvents\":[\n")?;
    let mut first = true;
    let mut emit = |out: &mut dyn Write, s: &str| -> io::Result<()> {
        if !first {
            out.write_all(b",\n")?;
        }
        first = false;
        out.write_all(s.as_bytes())
    };
    for pid in &pids {
        emit(
            out,
            &format!("{{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":{pid},\"args\":{{\"name\":\"gmp runtime {}\"}}}}", pid - 1),
        )?;
    }
    let mut names: Vec<_> = tracks.into_iter().collect();
    names.sort();
    for ((pid, tid), name) in names {
        emit(
            out,
            &format!("{{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":{pid},\"tid\":{tid},\"args\":{{\"name\":\"{}\"}}}}", esc(&name)),
        )?;
    }
    for line in &lines {
        emit(out, line)?;
    }
    out.write_all(b"\n]}\n")
}

fn instant(name: &str, t: (u32, u64), ts: u64, args: &str) -> String {
    format!(
        "{{\"ph\":\"i\",\"name\":\"{name}\",\"cat\":\"sched\",\"s\":\"t\",\"pid\":{},\"tid\":{},\"ts\":{},\"args\":{{{args}}}}}",
        t.0,
        t.1,
        us(ts)
    )
}
