//! The text summary: where the time went, which Gs took it, who stole from
//! whom.
//!
//! [`Summary::new`] computes plain numbers (tests check them); its `Display`
//! prints the tables `gmp-trace --summary` shows. It answers what Go's
//! `go tool trace` answers on its "Goroutine analysis" page (which Gs ran
//! longest, from which creation site), plus what Go's tracer cannot: Go
//! records no steal events, gmp does, so the summary can show the steal
//! matrix, a P × P table of who took work from whom.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use crate::model::{Mark, Phase, PollEnd, Trace};

/// One P (or the outside track) and how busy it was.
///
/// # Examples
///
/// ```
/// let text = r#"[{"ph":"M","name":"thread_name","pid":1,"tid":0,"args":{"name":"P0"}},
///   {"ph":"X","name":"G1","pid":1,"tid":0,"ts":0,"dur":3},
///   {"ph":"X","name":"G2","pid":1,"tid":0,"ts":4,"dur":2}]"#;
/// let summary = gmp_trace::Summary::new(&gmp_trace::parse_str(text)?, 5);
/// let p0 = &summary.tracks[0];
/// assert_eq!((p0.name.as_str(), p0.tid), ("P0", 0));
/// assert_eq!((p0.polls, p0.busy_ns), (2, 5_000));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackStat {
    /// The track's name (`P0`).
    pub name: String,
    /// Its thread id.
    pub tid: i64,
    /// Slices on it.
    pub polls: u64,
    /// Their total duration, in ns.
    pub busy_ns: i64,
}

/// One G's polls over the whole trace.
///
/// # Examples
///
/// ```
/// let text = r#"[{"ph":"X","name":"G1","cat":"poll","pid":1,"tid":0,"ts":0,"dur":3,
///     "args":{"g":1,"end":"pending","spawn":"src/main.rs:2:5"}},
///   {"ph":"X","name":"G1","cat":"poll","pid":1,"tid":1,"ts":4,"dur":7,"args":{"g":1,"end":"ready"}}]"#;
/// let summary = gmp_trace::Summary::new(&gmp_trace::parse_str(text)?, 5);
/// let g = &summary.busiest[0];
/// assert_eq!((g.g, g.polls, g.total_ns, g.max_ns), (1, 2, 10_000, 7_000));
/// assert_eq!(g.spawn.as_deref(), Some("src/main.rs:2:5"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GStat {
    /// The G.
    pub g: u64,
    /// How many times it was polled.
    pub polls: u64,
    /// Total time in its polls, in ns.
    pub total_ns: i64,
    /// Its longest poll, in ns.
    pub max_ns: i64,
    /// Where it was spawned, if the trace says.
    pub spawn: Option<String>,
}

/// One poll, for the longest-polls table.
///
/// # Examples
///
/// ```
/// use gmp_trace::model::PollEnd;
///
/// let text = r#"[{"ph":"M","name":"thread_name","pid":1,"tid":1,"args":{"name":"P1"}},
///   {"ph":"X","name":"G1","cat":"poll","pid":1,"tid":0,"ts":10,"dur":2,"args":{"g":1,"end":"ready"}},
///   {"ph":"X","name":"G2","cat":"poll","pid":1,"tid":1,"ts":12,"dur":6,"args":{"g":2,"end":"preempted"}}]"#;
/// let summary = gmp_trace::Summary::new(&gmp_trace::parse_str(text)?, 1);
/// let poll = &summary.longest[0];
/// assert_eq!((poll.g, poll.name.as_str(), poll.track.as_str()), (Some(2), "G2", "P1"));
/// // The start counts from the trace's first event, at 10 µs.
/// assert_eq!((poll.start_ns, poll.dur_ns), (2_000, 6_000));
/// assert_eq!(poll.end, Some(PollEnd::Preempted));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollStat {
    /// The G polled, if the slice names one.
    pub g: Option<u64>,
    /// The slice's name (`G17`).
    pub name: String,
    /// The track it ran on (`P0`).
    pub track: String,
    /// When it started, in ns after the trace's first event.
    pub start_ns: i64,
    /// How long it ran, in ns.
    pub dur_ns: i64,
    /// How it ended.
    pub end: Option<PollEnd>,
    /// Where its G was spawned.
    pub spawn: Option<String>,
}

/// Steals between one thief and one victim.
///
/// # Examples
///
/// ```
/// use gmp_trace::summary::StealCell;
///
/// let text = r#"[{"ph":"i","name":"steal","pid":1,"tid":1,"ts":1,"args":{"from":0,"moved":4}},
///   {"ph":"i","name":"steal","pid":1,"tid":1,"ts":2,"args":{"from":0,"moved":2}}]"#;
/// let summary = gmp_trace::Summary::new(&gmp_trace::parse_str(text)?, 5);
/// assert_eq!(summary.steals[&1].get(1, 0), StealCell { steals: 2, moved: 6 });
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StealCell {
    /// How many steals.
    pub steals: u64,
    /// How many Gs they moved.
    pub moved: u64,
}

/// Who stole from whom in one runtime (process): thief P × victim P.
///
/// # Examples
///
/// ```
/// let text = r#"[{"ph":"M","name":"thread_name","pid":1,"tid":2,"args":{"name":"P2"}},
///   {"ph":"i","name":"steal","pid":1,"tid":1,"ts":1,"args":{"from":0,"moved":3}}]"#;
/// let summary = gmp_trace::Summary::new(&gmp_trace::parse_str(text)?, 5);
/// let matrix = &summary.steals[&1];
/// // P2 is a track; P1 and P0 take part in a steal.
/// assert_eq!(matrix.ps, [0, 1, 2]);
/// assert_eq!(matrix.get(1, 0).moved, 3);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StealMatrix {
    /// Every P that is a track of the trace or takes part in a steal, sorted.
    pub ps: Vec<i64>,
    cells: BTreeMap<(i64, i64), StealCell>,
}

impl StealMatrix {
    /// Steals by `thief` from `victim` (zero if none).
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_trace::summary::StealCell;
    ///
    /// let text = r#"[{"ph":"i","name":"steal","pid":1,"tid":0,"ts":1,"args":{"from":1,"moved":2}}]"#;
    /// let summary = gmp_trace::Summary::new(&gmp_trace::parse_str(text)?, 5);
    /// let matrix = &summary.steals[&1];
    /// assert_eq!(matrix.get(0, 1), StealCell { steals: 1, moved: 2 });
    /// assert_eq!(matrix.get(1, 0), StealCell::default());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn get(&self, thief: i64, victim: i64) -> StealCell {
        self.cells
            .get(&(thief, victim))
            .copied()
            .unwrap_or_default()
    }

    /// All steals together.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_trace::summary::StealCell;
    ///
    /// let text = r#"[{"ph":"i","name":"steal","pid":1,"tid":1,"ts":1,"args":{"from":0,"moved":4}},
    ///   {"ph":"i","name":"steal","pid":1,"tid":2,"ts":2,"args":{"from":0,"moved":1}}]"#;
    /// let summary = gmp_trace::Summary::new(&gmp_trace::parse_str(text)?, 5);
    /// assert_eq!(summary.steals[&1].total(), StealCell { steals: 2, moved: 5 });
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn total(&self) -> StealCell {
        self.cells
            .values()
            .fold(StealCell::default(), |a, c| StealCell {
                steals: a.steals + c.steals,
                moved: a.moved + c.moved,
            })
    }
}

/// Everything `--summary` prints.
///
/// # Examples
///
/// ```
/// use gmp_trace::model::PollEnd;
///
/// let text = r#"[{"ph":"M","name":"process_name","pid":1,"args":{"name":"demo"}},
///   {"ph":"X","name":"G1","cat":"poll","pid":1,"tid":0,"ts":0,"dur":4,"args":{"g":1,"end":"pending"}},
///   {"ph":"X","name":"G1","cat":"poll","pid":1,"tid":0,"ts":6,"dur":2,"args":{"g":1,"end":"ready"}}]"#;
/// let summary = gmp_trace::Summary::new(&gmp_trace::parse_str(text)?, 10);
/// assert_eq!(summary.ends, [(PollEnd::Pending, 1), (PollEnd::Ready, 1)]);
/// // `Display` prints the tables, after a one-line overview.
/// assert!(summary.to_string().starts_with("demo: 3 events over 8.00 µs, 1 tracks\n"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// The trace's process name(s) (see [`Trace::title`]).
    pub title: String,
    /// Events in the file.
    pub events: usize,
    /// From the first event to the last, in ns.
    pub span_ns: i64,
    /// Per track: polls and busy time.
    pub tracks: Vec<TrackStat>,
    /// The Gs with the most poll time, most first (ties: more polls, then
    /// lower id).
    pub busiest: Vec<GStat>,
    /// The longest polls, longest first (ties: earlier first).
    pub longest: Vec<PollStat>,
    /// The steal matrix of each process (runtime) that has P tracks or
    /// steals, by `pid`. Steals never cross runtimes.
    pub steals: BTreeMap<i64, StealMatrix>,
    /// The name of each process in `steals`, for headings.
    pub process_names: BTreeMap<i64, String>,
    /// Event counts by phase and kind (see [`Trace::kinds`]).
    pub kinds: Vec<(Phase, String, u64)>,
    /// How polls ended.
    pub ends: Vec<(PollEnd, u64)>,
    /// Paired wakes.
    pub flows: usize,
    /// Wake starts nothing finished.
    pub unmatched_flow_starts: u64,
    /// Wake ends nothing started.
    pub unmatched_flow_ends: u64,
}

impl Summary {
    /// Summarises `trace`, keeping the `top` busiest Gs and longest polls.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_trace::synth::Synth;
    ///
    /// let trace = gmp_trace::parse_str(&Synth::new(4, 2_000).to_json())?;
    /// let summary = gmp_trace::Summary::new(&trace, 3);
    /// assert_eq!(summary.busiest.len(), 3);
    /// assert_eq!(summary.longest.len(), 3);
    /// assert!(summary.longest[0].dur_ns >= summary.longest[2].dur_ns);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(trace: &Trace, top: usize) -> Summary {
        let tracks = trace
            .tracks
            .iter()
            .map(|t| TrackStat {
                name: trace.track_label(t),
                tid: t.tid,
                polls: t.slices.len() as u64,
                busy_ns: t.busy_ns(),
            })
            .collect();

        let mut per_g: HashMap<u64, GStat> = HashMap::new();
        let mut ends: BTreeMap<PollEnd, u64> = BTreeMap::new();
        for slice in trace.tracks.iter().flat_map(|t| &t.slices) {
            if let Some(end) = slice.end {
                *ends.entry(end).or_insert(0) += 1;
            }
            let Some(g) = slice.g else { continue };
            let stat = per_g.entry(g).or_insert_with(|| GStat {
                g,
                polls: 0,
                total_ns: 0,
                max_ns: 0,
                spawn: None,
            });
            stat.polls += 1;
            stat.total_ns += slice.dur;
            stat.max_ns = stat.max_ns.max(slice.dur);
            if stat.spawn.is_none() && !slice.spawn.is_none() {
                stat.spawn = Some(trace.str(slice.spawn).to_owned());
            }
        }
        let mut busiest: Vec<GStat> = per_g.into_values().collect();
        busiest.sort_by(|a, b| (b.total_ns, b.polls, a.g).cmp(&(a.total_ns, a.polls, b.g)));
        busiest.truncate(top);

        // (dur, start, track, index), longest first.
        let mut polls: Vec<(i64, i64, usize, usize)> = trace
            .tracks
            .iter()
            .enumerate()
            .flat_map(|(ti, t)| {
                t.slices
                    .iter()
                    .enumerate()
                    .map(move |(si, s)| (s.dur, s.start, ti, si))
            })
            .collect();
        let order = |a: &(i64, i64, usize, usize), b: &(i64, i64, usize, usize)| {
            b.0.cmp(&a.0).then((a.1, a.2, a.3).cmp(&(b.1, b.2, b.3)))
        };
        if polls.len() > top && top > 0 {
            polls.select_nth_unstable_by(top - 1, order);
        }
        polls.truncate(top);
        polls.sort_by(order);
        let longest = polls
            .into_iter()
            .map(|(_, _, ti, si)| {
                let track = &trace.tracks[ti];
                let s = &track.slices[si];
                PollStat {
                    g: s.g,
                    name: trace.str(s.name).to_owned(),
                    track: trace.track_label(track),
                    start_ns: s.start - trace.start,
                    dur_ns: s.dur,
                    end: s.end,
                    spawn: (!s.spawn.is_none()).then(|| trace.str(s.spawn).to_owned()),
                }
            })
            .collect();

        // Per process: its Ps, and (thief, victim) cells.
        type Cells = BTreeMap<(i64, i64), StealCell>;
        let mut per_pid: BTreeMap<i64, (BTreeSet<i64>, Cells)> = BTreeMap::new();
        for track in &trace.tracks {
            if let Some(p) = track.p() {
                per_pid.entry(track.pid).or_default().0.insert(p);
            }
            for inst in &track.instants {
                if let Mark::Steal { from, moved } = inst.mark {
                    let (ps, cells) = per_pid.entry(track.pid).or_default();
                    ps.insert(track.tid);
                    ps.insert(from);
                    let cell = cells.entry((track.tid, from)).or_default();
                    cell.steals += 1;
                    cell.moved += moved;
                }
            }
        }
        let steals: BTreeMap<i64, StealMatrix> = per_pid
            .into_iter()
            .map(|(pid, (ps, cells))| {
                let ps = ps.into_iter().collect();
                (pid, StealMatrix { ps, cells })
            })
            .collect();
        let process_names = steals
            .keys()
            .map(|&pid| {
                let name = trace
                    .processes
                    .get(&pid)
                    .cloned()
                    .unwrap_or_else(|| format!("pid {pid}"));
                (pid, name)
            })
            .collect();

        Summary {
            title: trace.title(),
            events: trace.events,
            span_ns: trace.span_ns(),
            tracks,
            busiest,
            longest,
            steals,
            process_names,
            kinds: trace
                .kinds
                .iter()
                .map(|((phase, name), &n)| (*phase, name.clone(), n))
                .collect(),
            ends: ends.into_iter().collect(),
            flows: trace.flows.len(),
            unmatched_flow_starts: trace.unmatched_flow_starts,
            unmatched_flow_ends: trace.unmatched_flow_ends,
        }
    }
}

fn steal_table(f: &mut fmt::Formatter<'_>, matrix: &StealMatrix) -> fmt::Result {
    let total = matrix.total();
    if total.steals == 0 {
        return writeln!(f, "   (no steals)");
    }
    let name = |p: i64| format!("P{p}");
    let mut headers = vec!["thief \\ victim".to_owned()];
    headers.extend(matrix.ps.iter().map(|&p| name(p)));
    let rows: Vec<Vec<String>> = matrix
        .ps
        .iter()
        .map(|&thief| {
            let mut row = vec![name(thief)];
            row.extend(matrix.ps.iter().map(|&victim| {
                let c = matrix.get(thief, victim);
                if thief == victim {
                    "·".to_owned()
                } else if c.steals == 0 {
                    "-".to_owned()
                } else {
                    format!("{}/{}", c.steals, c.moved)
                }
            }));
            row
        })
        .collect();
    let header_refs: Vec<&str> = headers.iter().map(String::as_str).collect();
    let right: Vec<usize> = (1..headers.len()).collect();
    table(f, &header_refs, &rows, &right)?;
    writeln!(
        f,
        "   total: {} steals, {} Gs moved",
        total.steals, total.moved
    )
}

/// A duration for people: `850 ns`, `3.25 µs`, `12.50 ms`, `1.20 s`.
///
/// # Examples
///
/// ```
/// use gmp_trace::summary::format_duration;
///
/// assert_eq!(format_duration(850), "850 ns");
/// assert_eq!(format_duration(3_250), "3.25 µs");
/// assert_eq!(format_duration(12_500_000), "12.50 ms");
/// assert_eq!(format_duration(1_200_000_000), "1.20 s");
/// ```
pub fn format_duration(ns: i64) -> String {
    let a = ns.unsigned_abs();
    if a < 1_000 {
        format!("{ns} ns")
    } else if a < 1_000_000 {
        format!("{:.2} µs", ns as f64 / 1e3)
    } else if a < 1_000_000_000 {
        format!("{:.2} ms", ns as f64 / 1e6)
    } else {
        format!("{:.2} s", ns as f64 / 1e9)
    }
}

/// A time since the trace's start, to the nanosecond: `12.500 µs`,
/// `5.638690 ms`, `1.000000001 s`.
///
/// # Examples
///
/// ```
/// use gmp_trace::summary::format_instant;
///
/// assert_eq!(format_instant(12_500), "12.500 µs");
/// assert_eq!(format_instant(5_638_690), "5.638690 ms");
/// assert_eq!(format_instant(1_000_000_001), "1.000000001 s");
/// ```
pub fn format_instant(ns: i64) -> String {
    let a = ns.unsigned_abs();
    if a < 1_000_000 {
        format!("{:.3} µs", ns as f64 / 1e3)
    } else if a < 1_000_000_000 {
        format!("{:.6} ms", ns as f64 / 1e6)
    } else {
        format!("{:.9} s", ns as f64 / 1e9)
    }
}

/// Prints rows under headers; columns listed in `right` are right-aligned.
fn table(
    f: &mut fmt::Formatter<'_>,
    headers: &[&str],
    rows: &[Vec<String>],
    right: &[usize],
) -> fmt::Result {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |f: &mut fmt::Formatter<'_>, cells: &mut dyn Iterator<Item = &str>| {
        let mut out = String::from(" ");
        for (i, cell) in cells.enumerate() {
            let pad = widths[i].saturating_sub(cell.chars().count());
            out.push_str("  ");
            if right.contains(&i) {
                out.extend(std::iter::repeat_n(' ', pad));
                out.push_str(cell);
            } else {
                out.push_str(cell);
                out.extend(std::iter::repeat_n(' ', pad));
            }
        }
        writeln!(f, "{}", out.trim_end())
    };
    line(f, &mut headers.iter().copied())?;
    for row in rows {
        line(f, &mut row.iter().map(String::as_str))?;
    }
    Ok(())
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{}: {} events over {}, {} tracks",
            self.title,
            self.events,
            format_duration(self.span_ns),
            self.tracks.len()
        )?;

        writeln!(f, "\nTracks")?;
        let rows: Vec<Vec<String>> = self
            .tracks
            .iter()
            .map(|t| {
                let util = if self.span_ns > 0 {
                    100.0 * t.busy_ns as f64 / self.span_ns as f64
                } else {
                    0.0
                };
                vec![
                    t.name.clone(),
                    t.polls.to_string(),
                    format_duration(t.busy_ns),
                    format!("{util:.1}%"),
                ]
            })
            .collect();
        table(f, &["track", "polls", "busy", "busy %"], &rows, &[1, 2, 3])?;

        writeln!(f, "\nBusiest Gs (by total poll time)")?;
        if self.busiest.is_empty() {
            writeln!(f, "   (no polls name a G)")?;
        } else {
            let rows: Vec<Vec<String>> = self
                .busiest
                .iter()
                .map(|g| {
                    vec![
                        format!("G{}", g.g),
                        g.polls.to_string(),
                        format_duration(g.total_ns),
                        format_duration(g.total_ns / g.polls.max(1) as i64),
                        format_duration(g.max_ns),
                        g.spawn.clone().unwrap_or_else(|| "-".into()),
                    ]
                })
                .collect();
            table(
                f,
                &["G", "polls", "total", "mean", "longest", "spawned at"],
                &rows,
                &[1, 2, 3, 4],
            )?;
        }

        writeln!(f, "\nLongest polls")?;
        if self.longest.is_empty() {
            writeln!(f, "   (no slices)")?;
        } else {
            let rows: Vec<Vec<String>> = self
                .longest
                .iter()
                .map(|p| {
                    vec![
                        p.g.map_or_else(|| p.name.clone(), |g| format!("G{g}")),
                        p.track.clone(),
                        format_instant(p.start_ns),
                        format_duration(p.dur_ns),
                        p.end.map_or("-", PollEnd::as_str).to_owned(),
                        p.spawn.clone().unwrap_or_else(|| "-".into()),
                    ]
                })
                .collect();
            table(
                f,
                &["G", "P", "start", "duration", "end", "spawned at"],
                &rows,
                &[2, 3],
            )?;
        }

        let several = self.steals.len() > 1;
        if self.steals.is_empty() {
            writeln!(
                f,
                "\nSteal matrix (row: thief, column: victim; steals/Gs moved)"
            )?;
            writeln!(f, "   (no Ps)")?;
        }
        for (pid, matrix) in &self.steals {
            write!(
                f,
                "\nSteal matrix (row: thief, column: victim; steals/Gs moved)"
            )?;
            if several {
                write!(f, ": {}", self.process_names[pid])?;
            }
            writeln!(f)?;
            steal_table(f, matrix)?;
        }

        writeln!(f, "\nEvents by kind")?;
        let rows: Vec<Vec<String>> = self
            .kinds
            .iter()
            .map(|(phase, name, n)| vec![name.clone(), phase.to_string(), n.to_string()])
            .collect();
        table(f, &["kind", "phase", "count"], &rows, &[2])?;
        if !self.ends.is_empty() {
            let ends: Vec<String> = self
                .ends
                .iter()
                .map(|(end, n)| format!("{end} {n}"))
                .collect();
            writeln!(f, "   polls ended: {}", ends.join(", "))?;
        }
        writeln!(
            f,
            "   wakes: {} paired, {} starts unanswered, {} ends unstarted",
            self.flows, self.unmatched_flow_starts, self.unmatched_flow_ends
        )
    }
}
