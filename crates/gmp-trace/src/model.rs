//! The validated trace: tracks of slices and instants, counter series and
//! flows, with every time in integer nanoseconds.
//!
//! [`crate::parse_str`] builds it; the summary and the HTML writer only read it.
//! Everything in it has passed validation: slices on one track are sorted and
//! never overlap, known instants carry their arguments, flows are paired.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

/// The `tid` that holds events of threads without a P (the runtime's
/// "outside" track: foreign threads, sysmon, the netpoller's waker).
///
/// # Examples
///
/// ```
/// use gmp_trace::model::OUTSIDE_TID;
///
/// let text = r#"[{"ph":"i","name":"netpoll","pid":1,"tid":1000,"ts":5,"args":{"woken":2}}]"#;
/// let trace = gmp_trace::parse_str(text)?;
/// let outside = trace.track(1, OUTSIDE_TID).expect("the outside track");
/// assert_eq!(outside.p(), None);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub const OUTSIDE_TID: i64 = 1000;

/// How a poll ended: the `end` argument of a `poll` slice.
///
/// # Examples
///
/// ```
/// use gmp_trace::model::PollEnd;
///
/// let text = r#"[{"ph":"X","name":"G1","cat":"poll","pid":1,"tid":0,"ts":0,"dur":5,"args":{"g":1,"end":"yield"}}]"#;
/// let trace = gmp_trace::parse_str(text)?;
/// assert_eq!(trace.tracks[0].slices[0].end, Some(PollEnd::Yield));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PollEnd {
    /// The future returned `Pending` and waits for a wake (Go: `gopark`).
    Pending,
    /// The future completed (Go: `goexit`).
    Ready,
    /// The G woke itself and went to the back of its P's queue (`yield_now`,
    /// Go: `Gosched`).
    Yield,
    /// The G was aborted; its future was dropped.
    Cancelled,
    /// The poll panicked; the panic went to the `JoinHandle`.
    Panicked,
    /// sysmon asked the G to give up its P after a long poll (Go: `preemptone`).
    Preempted,
    /// The M found the G already running or complete and did not poll it
    /// (a stale run-queue entry).
    Skipped,
    /// sysmon retook the P while the poll ran: the slice ends on the P's track
    /// and the poll goes on in a slice on the M's own track (`tid` 2000 + M).
    Retaken,
    /// The poll was still running when the recording stopped.
    Running,
}

impl PollEnd {
    /// Every variant, in the order the viewer numbers them.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_trace::model::PollEnd;
    ///
    /// assert_eq!(PollEnd::ALL.len(), 9);
    /// assert_eq!(PollEnd::ALL[0], PollEnd::Pending);
    /// assert_eq!(PollEnd::ALL[8], PollEnd::Running);
    /// ```
    pub const ALL: [PollEnd; 9] = [
        PollEnd::Pending,
        PollEnd::Ready,
        PollEnd::Yield,
        PollEnd::Cancelled,
        PollEnd::Panicked,
        PollEnd::Preempted,
        PollEnd::Skipped,
        PollEnd::Retaken,
        PollEnd::Running,
    ];

    /// The name the trace uses.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_trace::model::PollEnd;
    ///
    /// assert_eq!(PollEnd::Preempted.as_str(), "preempted");
    /// // `Display` prints the same name.
    /// assert_eq!(PollEnd::Ready.to_string(), "ready");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            PollEnd::Pending => "pending",
            PollEnd::Ready => "ready",
            PollEnd::Yield => "yield",
            PollEnd::Cancelled => "cancelled",
            PollEnd::Panicked => "panicked",
            PollEnd::Preempted => "preempted",
            PollEnd::Skipped => "skipped",
            PollEnd::Retaken => "retaken",
            PollEnd::Running => "running",
        }
    }

    /// The variant a trace's `end` string names, if any.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_trace::model::PollEnd;
    ///
    /// assert_eq!(PollEnd::from_name("cancelled"), Some(PollEnd::Cancelled));
    /// assert_eq!(PollEnd::from_name("Cancelled"), None);
    /// // Every name reads back as its variant.
    /// assert!(PollEnd::ALL.iter().all(|&e| PollEnd::from_name(e.as_str()) == Some(e)));
    /// ```
    pub fn from_name(name: &str) -> Option<PollEnd> {
        PollEnd::ALL.into_iter().find(|end| end.as_str() == name)
    }
}

impl fmt::Display for PollEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An interned string: an index into [`Strings`]. [`StrId::NONE`] is the
/// empty string and stands for "absent".
///
/// # Examples
///
/// ```
/// use gmp_trace::model::{StrId, Strings};
///
/// let mut strings = Strings::default();
/// let id = strings.intern("poll");
/// assert!(!id.is_none());
/// assert_eq!(strings.get(id), "poll");
/// assert_eq!(strings.get(StrId::NONE), "");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct StrId(pub(crate) u32);

impl StrId {
    /// The empty string: no value.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_trace::model::{StrId, Strings};
    ///
    /// let mut strings = Strings::default();
    /// assert_eq!(strings.intern(""), StrId::NONE);
    /// assert_eq!(StrId::default(), StrId::NONE);
    /// ```
    pub const NONE: StrId = StrId(0);

    /// Its index in the table (0 for [`StrId::NONE`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_trace::model::{StrId, Strings};
    ///
    /// let mut strings = Strings::default();
    /// let id = strings.intern("G1");
    /// assert_eq!(StrId::NONE.index(), 0);
    /// assert_eq!(id.index(), 1);
    /// assert_eq!(strings.iter().nth(id.index()), Some("G1"));
    /// ```
    pub fn index(self) -> usize {
        self.0 as usize
    }

    /// Whether this is [`StrId::NONE`].
    ///
    /// # Examples
    ///
    /// ```
    /// // A slice with no `args.spawn` has no spawn site.
    /// let text = r#"[{"ph":"X","name":"work","pid":1,"tid":0,"ts":0,"dur":3}]"#;
    /// let trace = gmp_trace::parse_str(text)?;
    /// let slice = &trace.tracks[0].slices[0];
    /// assert!(slice.spawn.is_none());
    /// assert!(!slice.name.is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_none(self) -> bool {
        self.0 == 0
    }
}

/// The string table: names, spawn sites and argument blobs repeat across a
/// million events, so each distinct one is stored once.
///
/// # Examples
///
/// ```
/// use gmp_trace::model::Strings;
///
/// let mut strings = Strings::default();
/// let a = strings.intern("src/main.rs:1:1");
/// let b = strings.intern("src/main.rs:1:1");
/// assert_eq!(a, b);
/// // The empty string and this one.
/// assert_eq!(strings.len(), 2);
/// ```
#[derive(Debug, Clone)]
pub struct Strings {
    list: Vec<Box<str>>,
    index: HashMap<Box<str>, u32>,
}

impl Default for Strings {
    fn default() -> Strings {
        let mut strings = Strings {
            list: Vec::new(),
            index: HashMap::new(),
        };
        strings.intern("");
        strings
    }
}

impl Strings {
    /// The id of `s`, adding it if new. The empty string is [`StrId::NONE`].
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_trace::model::{StrId, Strings};
    ///
    /// let mut strings = Strings::default();
    /// let park = strings.intern("park");
    /// let steal = strings.intern("steal");
    /// assert_ne!(park, steal);
    /// assert_eq!(strings.intern("park"), park);
    /// assert_eq!(strings.intern(""), StrId::NONE);
    /// ```
    pub fn intern(&mut self, s: &str) -> StrId {
        if let Some(&id) = self.index.get(s) {
            return StrId(id);
        }
        let id =
            u32::try_from(self.list.len()).expect("more than 2^32 distinct strings in a trace");
        self.list.push(s.into());
        self.index.insert(s.into(), id);
        StrId(id)
    }

    /// The string behind `id`.
    ///
    /// # Panics
    ///
    /// If `id` did not come from this table.
    ///
    /// # Examples
    ///
    /// ```
    /// let text = r#"[{"ph":"i","name":"park","pid":1,"tid":0,"ts":1}]"#;
    /// let trace = gmp_trace::parse_str(text)?;
    /// let name = trace.tracks[0].instants[0].name;
    /// assert_eq!(trace.strings.get(name), "park");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn get(&self, id: StrId) -> &str {
        self.list
            .get(id.index())
            .unwrap_or_else(|| panic!("StrId({}) is not from this string table", id.0))
    }

    /// How many strings the table holds, the empty one included.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_trace::model::Strings;
    ///
    /// let mut strings = Strings::default();
    /// assert_eq!(strings.len(), 1);
    /// strings.intern("G7");
    /// strings.intern("G7");
    /// assert_eq!(strings.len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Always false: the empty string is always there.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_trace::model::Strings;
    ///
    /// let strings = Strings::default();
    /// assert!(!strings.is_empty());
    /// assert_eq!(strings.len(), 1);
    /// ```
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Every string, in id order.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_trace::model::Strings;
    ///
    /// let mut strings = Strings::default();
    /// strings.intern("P0");
    /// strings.intern("P1");
    /// assert_eq!(strings.iter().collect::<Vec<_>>(), ["", "P0", "P1"]);
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.list.iter().map(|s| &**s)
    }
}

/// One `X` event: a P polling a G (or, for slices that are not polls, any
/// span of work on a track).
///
/// # Examples
///
/// ```
/// let text = r#"[{"ph":"X","name":"G3","cat":"poll","pid":1,"tid":0,"ts":1.5,"dur":2,
///   "args":{"g":3,"m":1,"end":"pending","spawn":"src/main.rs:4:5"}}]"#;
/// let trace = gmp_trace::parse_str(text)?;
/// let slice = &trace.tracks[0].slices[0];
/// assert_eq!((slice.start, slice.dur), (1_500, 2_000));
/// assert_eq!((slice.g, slice.m), (Some(3), Some(1)));
/// assert_eq!(trace.str(slice.spawn), "src/main.rs:4:5");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Slice {
    /// Start, in nanoseconds (the trace's `ts` × 1000, rounded).
    pub start: i64,
    /// Duration in nanoseconds, never negative.
    pub dur: i64,
    /// The event's `name` (`G17`).
    pub name: StrId,
    /// The event's `cat` (`poll`).
    pub cat: StrId,
    /// `args.g`: the G that was polled.
    pub g: Option<u64>,
    /// `args.m`: the M (OS thread) that polled it.
    pub m: Option<u64>,
    /// `args.end`: how the poll ended.
    pub end: Option<PollEnd>,
    /// `args.spawn`: where the G was spawned (`src/main.rs:10:5`).
    pub spawn: StrId,
    /// Any other arguments, as one compact JSON object (or [`StrId::NONE`]).
    pub extra: StrId,
    /// The event's index in `traceEvents`.
    pub event: usize,
}

impl Slice {
    /// One past the last nanosecond.
    ///
    /// # Examples
    ///
    /// ```
    /// let text = r#"[{"ph":"X","name":"G1","pid":1,"tid":0,"ts":10,"dur":4}]"#;
    /// let trace = gmp_trace::parse_str(text)?;
    /// assert_eq!(trace.tracks[0].slices[0].end_ns(), 14_000);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn end_ns(&self) -> i64 {
        self.start + self.dur
    }
}

/// What an instant event means, with the arguments the runtime promises for
/// its kind.
///
/// # Examples
///
/// ```
/// use gmp_trace::model::Mark;
///
/// let text = r#"[{"ph":"i","name":"steal","pid":1,"tid":1,"ts":5,"args":{"from":0,"moved":3}},
///   {"ph":"i","name":"my marker","pid":1,"tid":1,"ts":6}]"#;
/// let trace = gmp_trace::parse_str(text)?;
/// let marks: Vec<Mark> = trace.tracks[0].instants.iter().map(|i| i.mark).collect();
/// assert_eq!(marks, [Mark::Steal { from: 0, moved: 3 }, Mark::Other]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// This track's P stole `moved` Gs from P `from` (Go: `runqsteal`).
    Steal {
        /// The victim P.
        from: i64,
        /// How many Gs moved.
        moved: u64,
    },
    /// The P was handed to another M around a blocking call (Go: `handoffp`).
    Handoff,
    /// The M parked: nothing to run (Go: `stopm`).
    Park,
    /// An M was woken to run this P (Go: `wakep`/`startm`).
    Unpark,
    /// A netpoll batch made `woken` Gs runnable (Go: `injectglist`).
    Netpoll {
        /// How many Gs the batch woke.
        woken: u64,
    },
    /// sysmon took the P from an M stuck in G `g` (Go: `retake`).
    Retake {
        /// The G the M was stuck in.
        g: u64,
    },
    /// G `g` was spawned by G `parent` (Go: `newproc`).
    GCreated {
        /// The new G.
        g: u64,
        /// The G that spawned it.
        parent: u64,
    },
    /// sysmon marked G `g` for preemption (Go: `preemptone`).
    PreemptMark {
        /// The G asked to yield.
        g: u64,
    },
    /// An instant the viewer has no special meaning for.
    Other,
}

/// One `i` event.
///
/// # Examples
///
/// ```
/// use gmp_trace::model::Mark;
///
/// let text = r#"[{"ph":"i","name":"netpoll","pid":1,"tid":1000,"ts":2,"args":{"woken":4}}]"#;
/// let trace = gmp_trace::parse_str(text)?;
/// let instant = &trace.tracks[0].instants[0];
/// assert_eq!(instant.ts, 2_000);
/// assert_eq!(trace.str(instant.name), "netpoll");
/// assert_eq!(instant.mark, Mark::Netpoll { woken: 4 });
/// assert_eq!(trace.str(instant.args), r#"{"woken":4}"#);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Instant {
    /// When, in nanoseconds.
    pub ts: i64,
    /// The event's `name`.
    pub name: StrId,
    /// What it means.
    pub mark: Mark,
    /// All its arguments as one compact JSON object (or [`StrId::NONE`]).
    pub args: StrId,
    /// The event's index in `traceEvents`.
    pub event: usize,
}

/// One thread of the trace: a P (`tid` = P index), the outside track
/// ([`OUTSIDE_TID`]), or an M running without a P (`tid` 2000 + M).
///
/// # Examples
///
/// ```
/// let text = r#"[{"ph":"M","name":"thread_name","pid":1,"tid":0,"args":{"name":"P0"}},
///   {"ph":"X","name":"G2","pid":1,"tid":0,"ts":5,"dur":2},
///   {"ph":"X","name":"G1","pid":1,"tid":0,"ts":0,"dur":3}]"#;
/// let trace = gmp_trace::parse_str(text)?;
/// let p0 = trace.track(1, 0).expect("P0");
/// assert_eq!(p0.name, "P0");
/// // Sorted by start, whatever the file order.
/// assert_eq!(p0.slices[0].start, 0);
/// assert_eq!(p0.slices[1].start, 5_000);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Track {
    /// The process id.
    pub pid: i64,
    /// The thread id: the P index, or [`OUTSIDE_TID`].
    pub tid: i64,
    /// Its `thread_name` (`P0`), or `tid N` when the trace names none.
    pub name: String,
    /// Its `thread_sort_index`, if the trace gives one.
    pub sort_index: Option<i64>,
    /// Its slices, sorted by start, never overlapping.
    pub slices: Vec<Slice>,
    /// Its instants, sorted by time.
    pub instants: Vec<Instant>,
}

impl Track {
    /// The P this track belongs to, or `None` for the outside track and the
    /// tracks of Ms without a P.
    ///
    /// # Examples
    ///
    /// ```
    /// let text = r#"[{"ph":"i","name":"park","pid":1,"tid":2,"ts":0},
    ///   {"ph":"i","name":"park","pid":1,"tid":1000,"ts":0},
    ///   {"ph":"i","name":"park","pid":1,"tid":2003,"ts":0}]"#;
    /// let trace = gmp_trace::parse_str(text)?;
    /// let ps: Vec<Option<i64>> = trace.tracks.iter().map(|t| t.p()).collect();
    /// assert_eq!(ps, [Some(2), None, None]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn p(&self) -> Option<i64> {
        (0..OUTSIDE_TID).contains(&self.tid).then_some(self.tid)
    }

    /// Total time spent in slices, in nanoseconds.
    ///
    /// # Examples
    ///
    /// ```
    /// let text = r#"[{"ph":"X","name":"G1","pid":1,"tid":0,"ts":0,"dur":3},
    ///   {"ph":"X","name":"G2","pid":1,"tid":0,"ts":10,"dur":2}]"#;
    /// let trace = gmp_trace::parse_str(text)?;
    /// assert_eq!(trace.tracks[0].busy_ns(), 5_000);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn busy_ns(&self) -> i64 {
        self.slices.iter().map(|s| s.dur).sum()
    }
}

/// One counter series: an event name and one of its argument keys
/// (`runqueue` / `P0`), sampled over time.
///
/// # Examples
///
/// ```
/// let text = r#"[{"ph":"C","name":"runqueue","pid":1,"tid":0,"ts":2,"args":{"P0":1}},
///   {"ph":"C","name":"runqueue","pid":1,"tid":0,"ts":1,"args":{"P0":3}},
///   {"ph":"C","name":"runqueue","pid":1,"tid":1,"ts":1,"args":{"P1":0}}]"#;
/// let trace = gmp_trace::parse_str(text)?;
/// let p0 = &trace.counters[0];
/// assert_eq!((p0.name.as_str(), p0.key.as_str()), ("runqueue", "P0"));
/// assert_eq!(p0.label, "runqueue P0");
/// assert_eq!(p0.tid, Some(0));
/// assert_eq!(p0.samples, [(1_000, 3.0), (2_000, 1.0)]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Counter {
    /// The process id.
    pub pid: i64,
    /// The thread the samples were recorded on, if they all name the same
    /// one; the viewer draws the series under that thread's track.
    pub tid: Option<i64>,
    /// The event name (`runqueue`).
    pub name: String,
    /// The argument key (`P0`).
    pub key: String,
    /// What the viewer calls it: the name alone when the name has a single
    /// key (`global queue`), `name key` otherwise (`runqueue P0`).
    pub label: String,
    /// `(time in ns, value)`, sorted by time.
    pub samples: Vec<(i64, f64)>,
}

/// A flow id (`id` of an `s`/`f` pair): the format allows numbers and strings.
///
/// # Examples
///
/// ```
/// use gmp_trace::model::FlowId;
///
/// let text = r#"[{"ph":"s","name":"wake","id":"0x2a","pid":1,"tid":0,"ts":1},
///   {"ph":"f","name":"wake","id":"0x2a","pid":1,"tid":1,"ts":3}]"#;
/// let trace = gmp_trace::parse_str(text)?;
/// assert_eq!(trace.flows[0].id, FlowId::Str("0x2a".into()));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FlowId {
    /// A numeric id.
    Num(i128),
    /// A string id (`"0x2a"`).
    Str(String),
}

/// A wake: an arrow from the `s` event (where the waker ran) to the `f` event
/// (where the woken G ran).
///
/// # Examples
///
/// ```
/// use gmp_trace::model::FlowId;
///
/// let text = r#"[{"ph":"s","name":"wake","id":7,"pid":1,"tid":0,"ts":1},
///   {"ph":"f","name":"wake","id":7,"pid":1,"tid":1,"ts":3}]"#;
/// let trace = gmp_trace::parse_str(text)?;
/// let flow = &trace.flows[0];
/// assert_eq!(flow.id, FlowId::Num(7));
/// assert_eq!(trace.tracks[flow.from_track].tid, 0);
/// assert_eq!(trace.tracks[flow.to_track].tid, 1);
/// assert_eq!(flow.to_ts - flow.from_ts, 2_000);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Flow {
    /// The events' `name` (`wake`).
    pub name: StrId,
    /// The pairing id.
    pub id: FlowId,
    /// Index into [`Trace::tracks`] of the `s` event.
    pub from_track: usize,
    /// Time of the `s` event, in ns.
    pub from_ts: i64,
    /// Index into [`Trace::tracks`] of the `f` event.
    pub to_track: usize,
    /// Time of the `f` event, in ns.
    pub to_ts: i64,
}

/// The phase of an event, for [`Trace::kinds`].
///
/// # Examples
///
/// ```
/// use gmp_trace::model::Phase;
///
/// let text = r#"[{"ph":"i","name":"park","pid":1,"tid":0,"ts":1},
///   {"ph":"B","name":"old style","pid":1,"tid":0,"ts":1}]"#;
/// let trace = gmp_trace::parse_str(text)?;
/// assert_eq!(trace.kinds[&(Phase::Instant, "park".to_owned())], 1);
/// assert_eq!(trace.kinds[&(Phase::Ignored, "B".to_owned())], 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Phase {
    /// `X`: a complete slice.
    Slice,
    /// `i`/`I`: an instant.
    Instant,
    /// `s`: a flow start.
    FlowStart,
    /// `f`: a flow finish.
    FlowEnd,
    /// `C`: a counter sample.
    Counter,
    /// `M`: metadata.
    Metadata,
    /// Any other phase (`B`, `E`, `b`, ...): counted, otherwise ignored.
    Ignored,
}

impl Phase {
    /// How the summary prints it.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_trace::model::Phase;
    ///
    /// assert_eq!(Phase::FlowStart.as_str(), "flow start");
    /// // `Display` prints the same text.
    /// assert_eq!(Phase::Counter.to_string(), "counter");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Slice => "slice",
            Phase::Instant => "instant",
            Phase::FlowStart => "flow start",
            Phase::FlowEnd => "flow end",
            Phase::Counter => "counter",
            Phase::Metadata => "metadata",
            Phase::Ignored => "ignored",
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A parsed, validated trace.
///
/// # Examples
///
/// ```
/// use gmp_trace::synth::Synth;
///
/// let trace = gmp_trace::parse_str(&Synth::new(4, 500).seed(7).to_json())?;
/// assert!(trace.events >= 500);
/// assert!(trace.slice_count() > 0);
/// assert!(trace.start < trace.end);
/// assert_eq!(trace.title(), "gmp (procs=4)");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Trace {
    /// The `process_name` of the first process (`gmp runtime 0`).
    pub process_name: Option<String>,
    /// Every `process_name`, by `pid`: the runtime's recorder writes one
    /// process per gmp runtime.
    pub processes: BTreeMap<i64, String>,
    /// The tracks, sorted by process, then `thread_sort_index` (else `tid`).
    pub tracks: Vec<Track>,
    /// The counter series, in order of first appearance.
    pub counters: Vec<Counter>,
    /// Paired wakes, sorted by the `s` time.
    pub flows: Vec<Flow>,
    /// `s` events no `f` answered (the recording stopped before the woken G
    /// ran, say).
    pub unmatched_flow_starts: u64,
    /// `f` events with no `s` before them.
    pub unmatched_flow_ends: u64,
    /// The string table the slices and instants point into.
    pub strings: Strings,
    /// How many events of each phase and kind (`(Slice, "poll")`,
    /// `(Instant, "steal")`, ...). Slices count under their `cat` (else their
    /// name), the other phases under their name; [`Phase::Ignored`] under the
    /// phase letter.
    pub kinds: BTreeMap<(Phase, String), u64>,
    /// How many events `traceEvents` held.
    pub events: usize,
    /// The earliest time any event mentions, in ns (0 for an empty trace).
    pub start: i64,
    /// The latest time any event mentions (a slice's end counts), in ns.
    pub end: i64,
}

impl Trace {
    /// The string behind `id`.
    ///
    /// # Examples
    ///
    /// ```
    /// let text = r#"[{"ph":"X","name":"G9","cat":"poll","pid":1,"tid":0,"ts":0,"dur":1,"args":{"g":9,"end":"ready"}}]"#;
    /// let trace = gmp_trace::parse_str(text)?;
    /// let slice = &trace.tracks[0].slices[0];
    /// assert_eq!(trace.str(slice.name), "G9");
    /// assert_eq!(trace.str(slice.cat), "poll");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn str(&self, id: StrId) -> &str {
        self.strings.get(id)
    }

    /// How long the trace lasts, in ns.
    ///
    /// # Examples
    ///
    /// ```
    /// // From the slice's start at 10 µs to the instant at 40 µs.
    /// let text = r#"[{"ph":"X","name":"G1","pid":1,"tid":0,"ts":10,"dur":5},
    ///   {"ph":"i","name":"park","pid":1,"tid":0,"ts":40}]"#;
    /// let trace = gmp_trace::parse_str(text)?;
    /// assert_eq!(trace.span_ns(), 30_000);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn span_ns(&self) -> i64 {
        self.end - self.start
    }

    /// Total number of slices over all tracks.
    ///
    /// # Examples
    ///
    /// ```
    /// let text = r#"[{"ph":"X","name":"G1","pid":1,"tid":0,"ts":0,"dur":1},
    ///   {"ph":"X","name":"G2","pid":1,"tid":0,"ts":2,"dur":1},
    ///   {"ph":"X","name":"G3","pid":1,"tid":1,"ts":0,"dur":1}]"#;
    /// let trace = gmp_trace::parse_str(text)?;
    /// assert_eq!(trace.tracks.len(), 2);
    /// assert_eq!(trace.slice_count(), 3);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn slice_count(&self) -> usize {
        self.tracks.iter().map(|t| t.slices.len()).sum()
    }

    /// Whether the tracks belong to more than one process (runtime).
    ///
    /// # Examples
    ///
    /// ```
    /// let one = r#"[{"ph":"i","name":"park","pid":1,"tid":0,"ts":0}]"#;
    /// let two = r#"[{"ph":"i","name":"park","pid":1,"tid":0,"ts":0},
    ///   {"ph":"i","name":"park","pid":2,"tid":0,"ts":0}]"#;
    /// assert!(!gmp_trace::parse_str(one)?.multi_process());
    /// assert!(gmp_trace::parse_str(two)?.multi_process());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn multi_process(&self) -> bool {
        self.tracks.windows(2).any(|w| w[0].pid != w[1].pid)
    }

    /// What to call `track` where the process is not otherwise shown: its
    /// name, after its process's name when the trace has several
    /// (`gmp runtime 1 · P0`).
    ///
    /// # Examples
    ///
    /// ```
    /// let text = r#"[{"ph":"M","name":"process_name","pid":1,"args":{"name":"gmp runtime 0"}},
    ///   {"ph":"M","name":"process_name","pid":2,"args":{"name":"gmp runtime 1"}},
    ///   {"ph":"M","name":"thread_name","pid":1,"tid":0,"args":{"name":"P0"}},
    ///   {"ph":"M","name":"thread_name","pid":2,"tid":0,"args":{"name":"P0"}}]"#;
    /// let trace = gmp_trace::parse_str(text)?;
    /// let track = trace.track(2, 0).expect("P0 of runtime 1");
    /// assert_eq!(trace.track_label(track), "gmp runtime 1 · P0");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn track_label(&self, track: &Track) -> String {
        if self.multi_process() {
            match self.processes.get(&track.pid) {
                Some(process) => format!("{process} · {}", track.name),
                None => format!("pid {} · {}", track.pid, track.name),
            }
        } else {
            track.name.clone()
        }
    }

    /// A title for the whole trace: its process name(s), or `trace`.
    ///
    /// # Examples
    ///
    /// ```
    /// let text = r#"[{"ph":"M","name":"process_name","pid":1,"args":{"name":"gmp runtime 0"}}]"#;
    /// assert_eq!(gmp_trace::parse_str(text)?.title(), "gmp runtime 0");
    /// assert_eq!(gmp_trace::parse_str("[]")?.title(), "trace");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn title(&self) -> String {
        let names: Vec<&str> = self.processes.values().map(String::as_str).collect();
        match names.as_slice() {
            [] => self
                .process_name
                .clone()
                .unwrap_or_else(|| "trace".to_owned()),
            [one] => (*one).to_owned(),
            [first, rest @ ..] if rest.len() > 2 => {
                format!("{first} and {} more", rest.len())
            }
            all => all.join(", "),
        }
    }

    /// The track with this process and thread id.
    ///
    /// # Examples
    ///
    /// ```
    /// let text = r#"[{"ph":"i","name":"park","pid":1,"tid":3,"ts":0}]"#;
    /// let trace = gmp_trace::parse_str(text)?;
    /// assert_eq!(trace.track(1, 3).map(|t| t.instants.len()), Some(1));
    /// assert!(trace.track(1, 4).is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn track(&self, pid: i64, tid: i64) -> Option<&Track> {
        self.tracks.iter().find(|t| t.pid == pid && t.tid == tid)
    }
}
