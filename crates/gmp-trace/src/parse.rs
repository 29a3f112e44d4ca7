//! Reading and validating a trace.
//!
//! The file is parsed in one pass: serde hands each element of `traceEvents`
//! to the [`Builder`] as it is read, so a million events never sit in memory
//! as JSON values, only as the compact [`crate::model`] types. The first bad
//! event stops the parse; its error names the event by its index in
//! `traceEvents` and the field at fault. Checks that need the whole file
//! (overlapping slices, flow pairing) run once at the end.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::{ErrorKind, TraceError};
use crate::model::{
    Counter, Flow, FlowId, Instant, Mark, Phase, PollEnd, Slice, StrId, Strings, Trace, Track,
};

/// The largest `|ts|` accepted, in µs: its nanosecond value stays below 2^53,
/// so the viewer's doubles hold it exactly (about 104 days).
const MAX_TS_US: f64 = 9.0e12;

/// Parses and validates a trace held in memory.
///
/// Accepts the object form (`{"traceEvents": [...], ...}`; other top-level keys
/// are ignored) and the bare array form of Chrome's trace-event format.
///
/// # Examples
///
/// ```
/// let event = r#"{"ph":"X","name":"G1","cat":"poll","pid":1,"tid":0,"ts":0,"dur":2,"args":{"g":1,"end":"ready"}}"#;
/// let object = format!(r#"{{"traceEvents":[{event}],"displayTimeUnit":"ns"}}"#);
/// let object = gmp_trace::parse_str(&object)?;
/// let array = gmp_trace::parse_str(&format!("[{event}]"))?;
/// assert_eq!(object.slice_count(), 1);
/// assert_eq!(array.tracks, object.tracks);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn parse_str(text: &str) -> Result<Trace, TraceError> {
    let mut builder = Builder::default();
    let mut de = serde_json::Deserializer::from_str(text);
    let outcome = TopLevel {
        builder: &mut builder,
    }
    .deserialize(&mut de)
    .and_then(|found| de.end().map(|()| found));
    if let Some(err) = builder.error.take() {
        return Err(err);
    }
    match outcome {
        Err(err) => {
            let data = err.classify() == serde_json::error::Category::Data;
            Err(if builder.in_events {
                let kind = if data {
                    ErrorKind::BadValue
                } else {
                    ErrorKind::NotJson
                };
                TraceError::new(kind, format!("traceEvents[{}]: {err}", builder.index))
            } else if data {
                TraceError::new(ErrorKind::NotATrace, format!("not a trace: {err}"))
            } else {
                TraceError::new(ErrorKind::NotJson, format!("not JSON: {err}"))
            })
        }
        Ok(false) => Err(TraceError::new(
            ErrorKind::NotATrace,
            "not a trace: the object has no `traceEvents` array",
        )),
        Ok(true) => builder.finish(),
    }
}

/// One element of `traceEvents`, with the fields any phase uses. Unknown
/// fields (`tts`, `sf`, `bp`, ...) are skipped.
#[derive(Deserialize)]
#[serde(expecting = "an event object")]
struct RawEvent<'a> {
    #[serde(borrow)]
    ph: Option<Cow<'a, str>>,
    #[serde(borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    cat: Option<Cow<'a, str>>,
    pid: Option<i64>,
    tid: Option<i64>,
    ts: Option<f64>,
    dur: Option<f64>,
    id: Option<Value>,
    args: Option<Map<String, Value>>,
}

/// The top level: an object with `traceEvents`, or a bare array of events.
/// Yields whether events were found.
struct TopLevel<'b> {
    builder: &'b mut Builder,
}

impl<'de> DeserializeSeed<'de> for TopLevel<'_> {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<bool, D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TopLevel<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object with a `traceEvents` array, or an array of events")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        let mut found = false;
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            if key == "traceEvents" && !found {
                map.next_value_seed(Events {
                    builder: &mut *self.builder,
                })?;
                found = true;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<bool, A::Error> {
        Events {
            builder: self.builder,
        }
        .visit_seq(seq)
        .map(|()| true)
    }
}

/// The `traceEvents` array: feeds each event to the builder as it is read.
struct Events<'b> {
    builder: &'b mut Builder,
}

impl<'de> DeserializeSeed<'de> for Events<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Events<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of events")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        // While `in_events` is set, a serde error belongs to event `index`
        // (see `parse_str`).
        self.builder.in_events = true;
        let mut index = 0;
        loop {
            self.builder.index = index;
            let Some(raw) = seq.next_element::<RawEvent<'de>>()? else {
                break;
            };
            if let Err(err) = self.builder.event(index, raw) {
                // Keep the real error; the serde one only unwinds the parse.
                self.builder.error = Some(err);
                return Err(de::Error::custom("event rejected"));
            }
            index += 1;
        }
        self.builder.in_events = false;
        Ok(())
    }
}

/// Whether a counter series' samples all came from one thread.
#[derive(Clone, Copy)]
enum TidState {
    One(i64),
    Mixed,
}

/// One `s` or `f` event, kept until all are read and can be paired.
struct FlowPoint {
    id: FlowId,
    start: bool,
    pid: i64,
    tid: i64,
    ts: i64,
    name: StrId,
    event: usize,
}

/// Accumulates events into tracks, counters and flow points.
#[derive(Default)]
struct Builder {
    /// The first semantic error; it stops the parse.
    error: Option<TraceError>,
    /// Whether the parse is inside `traceEvents`, at element `index`.
    in_events: bool,
    index: usize,
    process_name: Option<String>,
    processes: BTreeMap<i64, String>,
    tracks: Vec<Track>,
    track_index: HashMap<(i64, i64), usize>,
    counters: Vec<Counter>,
    counter_tids: Vec<TidState>,
    counter_index: HashMap<(i64, String, String), usize>,
    flow_points: Vec<FlowPoint>,
    strings: Strings,
    kinds: HashMap<(Phase, StrId), u64>,
    events: usize,
    start: Option<i64>,
    end: Option<i64>,
}

/// Names an event in error messages: `traceEvents[7] (X "G17")`.
struct At<'a> {
    index: usize,
    ph: &'a str,
    name: Option<&'a str>,
}

impl fmt::Display for At<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "traceEvents[{}] ({}", self.index, self.ph)?;
        if let Some(name) = self.name {
            write!(f, " {name:?}")?;
        }
        f.write_str(")")
    }
}

fn missing(at: &At<'_>, field: &str) -> TraceError {
    TraceError::new(
        ErrorKind::MissingField,
        format!("{at}: missing field `{field}`"),
    )
}

fn bad(at: &At<'_>, field: &str, why: impl fmt::Display) -> TraceError {
    TraceError::new(ErrorKind::BadValue, format!("{at}: field `{field}` {why}"))
}

/// A required field.
fn need<T>(at: &At<'_>, field: &str, value: Option<T>) -> Result<T, TraceError> {
    value.ok_or_else(|| missing(at, field))
}

/// A time in µs as integer nanoseconds.
fn nanos(at: &At<'_>, field: &str, us: f64) -> Result<i64, TraceError> {
    if !us.is_finite() || us.abs() > MAX_TS_US {
        return Err(bad(
            at,
            field,
            format_args!("is {us} µs, outside ±{MAX_TS_US} µs"),
        ));
    }
    // In range by the check above, so the cast is exact after rounding.
    Ok((us * 1000.0).round() as i64)
}

/// An optional non-negative integer argument.
fn arg_u64(at: &At<'_>, args: &Map<String, Value>, key: &str) -> Result<Option<u64>, TraceError> {
    match args.get(key) {
        None => Ok(None),
        Some(value) => value.as_u64().map(Some).ok_or_else(|| {
            bad(
                at,
                &format!("args.{key}"),
                format_args!("must be a non-negative integer, found {value}"),
            )
        }),
    }
}

/// A required non-negative integer argument.
fn need_u64(at: &At<'_>, args: &Map<String, Value>, key: &str) -> Result<u64, TraceError> {
    arg_u64(at, args, key)?.ok_or_else(|| missing(at, &format!("args.{key}")))
}

/// A required integer argument that may be negative (a P index).
fn need_i64(at: &At<'_>, args: &Map<String, Value>, key: &str) -> Result<i64, TraceError> {
    let value = args
        .get(key)
        .ok_or_else(|| missing(at, &format!("args.{key}")))?;
    value.as_i64().ok_or_else(|| {
        bad(
            at,
            &format!("args.{key}"),
            format_args!("must be an integer, found {value}"),
        )
    })
}

/// An optional string argument.
fn arg_str<'v>(
    at: &At<'_>,
    args: &'v Map<String, Value>,
    key: &str,
) -> Result<Option<&'v str>, TraceError> {
    match args.get(key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(value) => Err(bad(
            at,
            &format!("args.{key}"),
            format_args!("must be a string, found {value}"),
        )),
    }
}

fn us_text(ns: i64) -> String {
    format!("{} µs", ns as f64 / 1000.0)
}

impl Builder {
    /// Called once per element of `traceEvents`, in file order.
    fn event(&mut self, index: usize, raw: RawEvent<'_>) -> Result<(), TraceError> {
        self.events += 1;
        let at = At {
            index,
            ph: raw.ph.as_deref().unwrap_or("?"),
            name: raw.name.as_deref(),
        };
        let Some(ph) = raw.ph.as_deref() else {
            return Err(missing(&at, "ph"));
        };
        match ph {
            "M" => self.metadata(&at, &raw),
            "X" => self.slice(&at, &raw),
            "i" | "I" => self.instant(&at, &raw),
            "s" | "f" => self.flow(&at, &raw, ph == "s"),
            "C" => self.counter(&at, &raw),
            other => {
                self.count(Phase::Ignored, other);
                Ok(())
            }
        }
    }

    fn count(&mut self, phase: Phase, name: &str) {
        let name = self.strings.intern(name);
        self.count_id(phase, name);
    }

    fn count_id(&mut self, phase: Phase, name: StrId) {
        *self.kinds.entry((phase, name)).or_insert(0) += 1;
    }

    fn seen(&mut self, from: i64, to: i64) {
        self.start = Some(self.start.map_or(from, |s| s.min(from)));
        self.end = Some(self.end.map_or(to, |e| e.max(to)));
    }

    fn track(&mut self, pid: i64, tid: i64) -> &mut Track {
        let next = self.tracks.len();
        let index = *self.track_index.entry((pid, tid)).or_insert(next);
        if index == next {
            self.tracks.push(Track {
                pid,
                tid,
                name: format!("tid {tid}"),
                sort_index: None,
                slices: Vec::new(),
                instants: Vec::new(),
            });
        }
        &mut self.tracks[index]
    }

    /// The args object minus `skip`, as compact JSON, interned.
    fn args_blob(&mut self, args: Option<&Map<String, Value>>, skip: &[&str]) -> StrId {
        let Some(args) = args else {
            return StrId::NONE;
        };
        if args.keys().all(|k| skip.contains(&k.as_str())) {
            return StrId::NONE;
        }
        let rest: Map<String, Value> = args
            .iter()
            .filter(|(k, _)| !skip.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let text = Value::Object(rest).to_string();
        self.strings.intern(&text)
    }

    fn metadata(&mut self, at: &At<'_>, raw: &RawEvent<'_>) -> Result<(), TraceError> {
        let name = need(at, "name", raw.name.as_deref())?;
        self.count(Phase::Metadata, name);
        match name {
            "process_name" => {
                let args = need(at, "args", raw.args.as_ref())?;
                let value = need(at, "args.name", arg_str(at, args, "name")?)?;
                self.process_name.get_or_insert_with(|| value.to_owned());
                if let Some(pid) = raw.pid {
                    self.processes.insert(pid, value.to_owned());
                }
            }
            "thread_name" => {
                let pid = need(at, "pid", raw.pid)?;
                let tid = need(at, "tid", raw.tid)?;
                let args = need(at, "args", raw.args.as_ref())?;
                let value = need(at, "args.name", arg_str(at, args, "name")?)?;
                self.track(pid, tid).name = value.to_owned();
            }
            "thread_sort_index" => {
                let pid = need(at, "pid", raw.pid)?;
                let tid = need(at, "tid", raw.tid)?;
                let args = need(at, "args", raw.args.as_ref())?;
                let index = need_i64(at, args, "sort_index")?;
                self.track(pid, tid).sort_index = Some(index);
            }
            _ => {}
        }
        Ok(())
    }

    fn slice(&mut self, at: &At<'_>, raw: &RawEvent<'_>) -> Result<(), TraceError> {
        let name = need(at, "name", raw.name.as_deref())?;
        let pid = need(at, "pid", raw.pid)?;
        let tid = need(at, "tid", raw.tid)?;
        let start = nanos(at, "ts", need(at, "ts", raw.ts)?)?;
        let dur_us = need(at, "dur", raw.dur)?;
        if dur_us < 0.0 {
            return Err(bad(at, "dur", format_args!("is negative ({dur_us} µs)")));
        }
        let dur = nanos(at, "dur", dur_us)?;
        let cat = raw.cat.as_deref().unwrap_or("");
        let poll = cat == "poll";
        let args = raw.args.as_ref();
        let empty = Map::new();
        let a = args.unwrap_or(&empty);
        let g = arg_u64(at, a, "g")?;
        let m = arg_u64(at, a, "m")?;
        let end = match arg_str(at, a, "end")? {
            None => None,
            Some(text) => Some(PollEnd::from_name(text).ok_or_else(|| {
                bad(
                    at,
                    "args.end",
                    format_args!(
                        "is {text:?}, not one of pending, ready, yield, cancelled, panicked, preempted, skipped, retaken, running"
                    ),
                )
            })?),
        };
        if poll {
            need(at, "args.g", g)?;
            need(at, "args.end", end)?;
        }
        let spawn = match arg_str(at, a, "spawn")? {
            Some(site) => self.strings.intern(site),
            None => StrId::NONE,
        };
        let extra = self.args_blob(args, &["g", "m", "end", "spawn"]);
        let name = self.strings.intern(name);
        let cat_id = self.strings.intern(cat);
        self.count_id(Phase::Slice, if cat_id.is_none() { name } else { cat_id });
        self.seen(start, start + dur);
        self.track(pid, tid).slices.push(Slice {
            start,
            dur,
            name,
            cat: cat_id,
            g,
            m,
            end,
            spawn,
            extra,
            event: at.index,
        });
        Ok(())
    }

    fn instant(&mut self, at: &At<'_>, raw: &RawEvent<'_>) -> Result<(), TraceError> {
        let name = need(at, "name", raw.name.as_deref())?;
        let pid = need(at, "pid", raw.pid)?;
        let tid = need(at, "tid", raw.tid)?;
        let ts = nanos(at, "ts", need(at, "ts", raw.ts)?)?;
        let empty = Map::new();
        let args = raw.args.as_ref().unwrap_or(&empty);
        let mark = match name {
            "steal" => Mark::Steal {
                from: need_i64(at, args, "from")?,
                moved: need_u64(at, args, "moved")?,
            },
            "handoff" => Mark::Handoff,
            "park" => Mark::Park,
            "unpark" => Mark::Unpark,
            "netpoll" => Mark::Netpoll {
                woken: need_u64(at, args, "woken")?,
            },
            "retake" => Mark::Retake {
                g: need_u64(at, args, "g")?,
            },
            "G created" => Mark::GCreated {
                g: need_u64(at, args, "g")?,
                parent: need_u64(at, args, "parent")?,
            },
            "preempt mark" => Mark::PreemptMark {
                g: need_u64(at, args, "g")?,
            },
            _ => Mark::Other,
        };
        let args = self.args_blob(raw.args.as_ref(), &[]);
        self.count(Phase::Instant, name);
        let name = self.strings.intern(name);
        self.seen(ts, ts);
        self.track(pid, tid).instants.push(Instant {
            ts,
            name,
            mark,
            args,
            event: at.index,
        });
        Ok(())
    }

    fn flow(&mut self, at: &At<'_>, raw: &RawEvent<'_>, start: bool) -> Result<(), TraceError> {
        let pid = need(at, "pid", raw.pid)?;
        let tid = need(at, "tid", raw.tid)?;
        let ts = nanos(at, "ts", need(at, "ts", raw.ts)?)?;
        let id = match need(at, "id", raw.id.as_ref())? {
            Value::String(s) => FlowId::Str(s.clone()),
            Value::Number(n) => match (n.as_i64(), n.as_u64()) {
                (Some(i), _) => FlowId::Num(i.into()),
                (None, Some(u)) => FlowId::Num(u.into()),
                _ => {
                    return Err(bad(
                        at,
                        "id",
                        format_args!("must be an integer or a string, found {n}"),
                    ))
                }
            },
            other => {
                return Err(bad(
                    at,
                    "id",
                    format_args!("must be an integer or a string, found {other}"),
                ))
            }
        };
        let name = raw.name.as_deref().unwrap_or("flow");
        self.count(
            if start {
                Phase::FlowStart
            } else {
                Phase::FlowEnd
            },
            name,
        );
        let name = self.strings.intern(name);
        self.seen(ts, ts);
        self.track(pid, tid);
        self.flow_points.push(FlowPoint {
            id,
            start,
            pid,
            tid,
            ts,
            name,
            event: at.index,
        });
        Ok(())
    }

    fn counter(&mut self, at: &At<'_>, raw: &RawEvent<'_>) -> Result<(), TraceError> {
        let name = need(at, "name", raw.name.as_deref())?;
        let pid = need(at, "pid", raw.pid)?;
        let ts = nanos(at, "ts", need(at, "ts", raw.ts)?)?;
        let args = need(at, "args", raw.args.as_ref())?;
        if args.is_empty() {
            return Err(missing(at, "args.<series>"));
        }
        self.count(Phase::Counter, name);
        self.seen(ts, ts);
        for (key, value) in args {
            let value = value.as_f64().ok_or_else(|| {
                bad(
                    at,
                    &format!("args.{key}"),
                    format_args!("must be a number, found {value}"),
                )
            })?;
            let lookup = (pid, name.to_owned(), key.clone());
            let next = self.counters.len();
            let index = *self.counter_index.entry(lookup).or_insert(next);
            if index == next {
                self.counters.push(Counter {
                    pid,
                    tid: raw.tid,
                    name: name.to_owned(),
                    key: key.clone(),
                    label: String::new(),
                    samples: Vec::new(),
                });
                self.counter_tids.push(match raw.tid {
                    Some(tid) => TidState::One(tid),
                    None => TidState::Mixed,
                });
            }
            if let TidState::One(tid) = self.counter_tids[index] {
                if raw.tid != Some(tid) {
                    self.counter_tids[index] = TidState::Mixed;
                }
            }
            self.counters[index].samples.push((ts, value));
        }
        Ok(())
    }

    /// Checks what needs the whole file and assembles the [`Trace`].
    fn finish(mut self) -> Result<Trace, TraceError> {
        for track in &mut self.tracks {
            // Stable: slices that start together keep file order.
            track.slices.sort_by_key(|s| s.start);
            track.instants.sort_by_key(|i| i.ts);
            for pair in track.slices.windows(2) {
                let (a, b) = (&pair[0], &pair[1]);
                if b.start < a.end_ns() {
                    return Err(TraceError::new(
                        ErrorKind::Overlap,
                        format!(
                            "track {:?} (pid {}, tid {}): slice traceEvents[{}] ({:?} at {}) starts before slice traceEvents[{}] ({:?} at {} for {}) ends",
                            track.name,
                            track.pid,
                            track.tid,
                            b.event,
                            self.strings.get(b.name),
                            us_text(b.start),
                            a.event,
                            self.strings.get(a.name),
                            us_text(a.start),
                            us_text(a.dur),
                        ),
                    ));
                }
            }
        }
        self.tracks
            .sort_by_key(|t| (t.pid, t.sort_index.unwrap_or(t.tid), t.tid));
        let position: HashMap<(i64, i64), usize> = self
            .tracks
            .iter()
            .enumerate()
            .map(|(i, t)| ((t.pid, t.tid), i))
            .collect();

        // Pair flows: per id, in time order, each `f` closes the open `s`.
        self.flow_points
            .sort_by(|a, b| (&a.id, a.ts, a.event).cmp(&(&b.id, b.ts, b.event)));
        let mut flows = Vec::new();
        let (mut unmatched_starts, mut unmatched_ends) = (0, 0);
        let mut open: Option<&FlowPoint> = None;
        for (i, point) in self.flow_points.iter().enumerate() {
            if i > 0 && self.flow_points[i - 1].id != point.id {
                unmatched_starts += u64::from(open.take().is_some());
            }
            if point.start {
                unmatched_starts += u64::from(open.replace(point).is_some());
            } else if let Some(from) = open.take() {
                flows.push(Flow {
                    name: from.name,
                    id: from.id.clone(),
                    from_track: position[&(from.pid, from.tid)],
                    from_ts: from.ts,
                    to_track: position[&(point.pid, point.tid)],
                    to_ts: point.ts,
                });
            } else {
                unmatched_ends += 1;
            }
        }
        unmatched_starts += u64::from(open.is_some());
        flows.sort_by_key(|f| (f.from_ts, f.to_ts));

        // Label counter series and settle which thread each belongs to.
        let mut keys_per_name: HashMap<(i64, &str), usize> = HashMap::new();
        for c in &self.counters {
            *keys_per_name.entry((c.pid, c.name.as_str())).or_insert(0) += 1;
        }
        let labels: Vec<String> = self
            .counters
            .iter()
            .map(|c| {
                if keys_per_name[&(c.pid, c.name.as_str())] == 1 {
                    c.name.clone()
                } else {
                    format!("{} {}", c.name, c.key)
                }
            })
            .collect();
        for ((counter, label), tids) in self.counters.iter_mut().zip(labels).zip(&self.counter_tids)
        {
            counter.label = label;
            counter.tid = match tids {
                TidState::One(tid) => Some(*tid),
                TidState::Mixed => None,
            };
            counter.samples.sort_by_key(|s| s.0);
        }

        let kinds = self
            .kinds
            .iter()
            .map(|(&(phase, name), &n)| ((phase, self.strings.get(name).to_owned()), n))
            .collect();
        let start = self.start.unwrap_or(0);
        Ok(Trace {
            process_name: self.process_name,
            processes: self.processes,
            tracks: self.tracks,
            counters: self.counters,
            flows,
            unmatched_flow_starts: unmatched_starts,
            unmatched_flow_ends: unmatched_ends,
            strings: self.strings,
            kinds,
            events: self.events,
            start,
            end: self.end.unwrap_or(start),
        })
    }
}
