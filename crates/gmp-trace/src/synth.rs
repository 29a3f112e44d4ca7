//! A synthetic trace in the runtime's format, for tests, demos and for sizing
//! the viewer.
//!
//! It is a toy simulation, not the runtime's recorder: `procs` Ps take Gs from
//! their own queue, then the global queue, then by stealing half of the
//! fullest other P's queue, and otherwise park. Gs spawn Gs, wake parked Gs
//! (a flow from the waker's poll to the woken G's next poll), yield, finish,
//! and now and then run long enough for sysmon to mark them and retake their P.
//! A netpoller on the outside track wakes parked Gs in batches. Every event
//! kind the viewer knows appears, the slices of one P never overlap, and the
//! same seed gives the same bytes.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::io::{self, Write};

use crate::model::OUTSIDE_TID;

/// Where the synthetic Gs are spawned, and how long their polls take (ns).
const SITES: [(&str, u64); 6] = [
    ("src/main.rs:12:5", 2_000),
    ("src/server.rs:48:13", 8_000),
    ("src/conn.rs:102:9", 3_500),
    ("src/db.rs:77:17", 25_000),
    ("src/cache.rs:31:9", 1_200),
    ("src/worker.rs:64:13", 60_000),
];

/// A poll longer than this is marked for preemption (sysmon's 10 ms, scaled
/// down so that a short trace shows some).
const PREEMPT_AFTER_NS: u64 = 150_000;

/// How far ahead a P with nothing else to do spins for a G about to become
/// runnable on the global queue.
const SPIN_NS: u64 = 5_000;

/// The parameters of a synthetic trace.
///
/// # Examples
///
/// ```
/// use gmp_trace::synth::Synth;
///
/// let trace = gmp_trace::parse_str(&Synth::new(4, 1_000).seed(42).to_json())?;
/// assert!(trace.events >= 1_000);
/// assert_eq!(trace.tracks.iter().filter(|t| t.p().is_some()).count(), 4);
/// assert!(!trace.flows.is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Synth {
    procs: usize,
    events: usize,
    seed: u64,
}

impl Synth {
    /// A trace of `procs` Ps and about `events` events (it stops at the
    /// first scheduling step that reaches the count, so a few more may come).
    ///
    /// # Panics
    ///
    /// If `procs` is 0 or not below [`OUTSIDE_TID`]: a P's index is its `tid`.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_trace::synth::Synth;
    ///
    /// let trace = gmp_trace::parse_str(&Synth::new(2, 300).to_json())?;
    /// assert!(trace.events >= 300);
    /// assert_eq!(trace.title(), "gmp (procs=2)");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(procs: usize, events: usize) -> Synth {
        assert!(
            procs > 0 && (procs as i64) < OUTSIDE_TID,
            "Synth::new: procs must be in 1..{OUTSIDE_TID}, got {procs}"
        );
        Synth {
            procs,
            events,
            seed: 0x9e37_79b9_7f4a_7c15,
        }
    }

    /// Another random sequence (the default seed is fixed).
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_trace::synth::Synth;
    ///
    /// let a = Synth::new(2, 200).seed(1);
    /// assert_eq!(a.to_json(), Synth::new(2, 200).seed(1).to_json());
    /// assert_ne!(a.to_json(), a.seed(2).to_json());
    /// ```
    pub fn seed(mut self, seed: u64) -> Synth {
        self.seed = seed;
        self
    }

    /// Writes the trace as JSON; returns how many events it holds.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_trace::synth::Synth;
    ///
    /// let mut bytes = Vec::new();
    /// let written = Synth::new(2, 200).write(&mut bytes)?;
    /// let trace = gmp_trace::parse_str(std::str::from_utf8(&bytes)?)?;
    /// assert_eq!(trace.events, written);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn write<W: Write>(&self, out: W) -> io::Result<usize> {
        let mut sim = Sim::new(self, out);
        sim.run(self.events)?;
        sim.out.finish()
    }

    /// The trace as a JSON string.
    ///
    /// # Examples
    ///
    /// ```
    /// use gmp_trace::synth::Synth;
    ///
    /// let synth = Synth::new(3, 100);
    /// let json = synth.to_json();
    /// assert!(json.starts_with(r#"{"traceEvents":"#));
    /// assert!(gmp_trace::parse_str(&json).is_ok());
    /// ```
    pub fn to_json(&self) -> String {
        let mut bytes = Vec::new();
        self.write(&mut bytes)
            .expect("writing to a Vec cannot fail");
        String::from_utf8(bytes).expect("the generator writes ASCII")
    }
}

/// splitmix64: small, fast, and good enough to make a trace look busy.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// True with probability `p`.
    fn chance(&mut self, p: f64) -> bool {
        ((self.next() >> 11) as f64 / (1u64 << 53) as f64) < p
    }

    /// Uniform in `lo..hi` (lo < hi).
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo)
    }
}

/// Writes events, one per line, and counts them.
struct Out<W: Write> {
    w: io::BufWriter<W>,
    events: usize,
    line: String,
}

impl<W: Write> Out<W> {
    fn event(&mut self, body: std::fmt::Arguments<'_>) -> io::Result<()> {
        self.line.clear();
        self.line
            .write_fmt(body)
            .expect("formatting into a String cannot fail");
        let sep = if self.events == 0 { "\n" } else { ",\n" };
        self.events += 1;
        self.w.write_all(sep.as_bytes())?;
        self.w.write_all(self.line.as_bytes())
    }

    fn finish(mut self) -> io::Result<usize> {
        self.w.write_all(b"\n]}\n")?;
        self.w.flush()?;
        Ok(self.events)
    }
}

/// A time in ns as the format's µs with three decimals.
struct Us(u64);

impl std::fmt::Display for Us {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{:03}", self.0 / 1000, self.0 % 1000)
    }
}

/// A runnable G and the time it became runnable: nobody may run it earlier.
#[derive(Clone, Copy)]
struct Ready {
    g: u64,
    at: u64,
}

/// Queues are FIFO in simulated time: the sim pushes out of time order (a P
/// records a whole poll at once), so a G goes behind those runnable before it.
fn enqueue(queue: &mut VecDeque<Ready>, r: Ready) {
    let at = queue.partition_point(|q| q.at <= r.at);
    queue.insert(at, r);
}

struct P {
    clock: u64,
    queue: VecDeque<Ready>,
    m: u64,
}

struct G {
    site: usize,
    polls_left: u32,
    /// The flow id of the wake that made it runnable, finished by its next
    /// poll.
    woken_by: Option<u64>,
}

/// Which queue a length change is for.
const GLOBAL: usize = usize::MAX;

struct Sim<W: Write> {
    out: Out<W>,
    rng: Rng,
    ps: Vec<P>,
    /// Indexed by G id; slot 0 unused. `None` once the G is dead.
    gs: Vec<Option<G>>,
    global: VecDeque<Ready>,
    waiting: Vec<u64>,
    live: usize,
    next_flow: u64,
    last_netpoll: u64,
    /// Queue length changes `(time, queue, delta)`. Ps act in time order only
    /// roughly (a P at time 10 may push at 15 before another P acts at 12), so
    /// the counters are written at the end, from these sorted by time.
    changes: Vec<(u64, usize, i64)>,
}

impl<W: Write> Sim<W> {
    fn new(cfg: &Synth, w: W) -> Sim<W> {
        Sim {
            out: Out {
                w: io::BufWriter::new(w),
                events: 0,
                line: String::new(),
            },
            rng: Rng(cfg.seed),
            ps: (0..cfg.procs)
                .map(|i| P {
                    clock: 0,
                    queue: VecDeque::new(),
                    m: i as u64 + 1,
                })
                .collect(),
            gs: vec![None],
            global: VecDeque::new(),
            waiting: Vec::new(),
            live: 0,
            next_flow: 1,
            last_netpoll: 0,
            changes: Vec::new(),
        }
    }

    fn run(&mut self, target: usize) -> io::Result<()> {
        let procs = self.ps.len();
        self.out.w.write_all(b"{\"traceEvents\": [")?;
        self.out.event(format_args!(
            r#"{{"ph":"M","name":"process_name","pid":1,"args":{{"name":"gmp (procs={procs})"}}}}"#
        ))?;
        for p in 0..procs {
            self.out.event(format_args!(
                r#"{{"ph":"M","name":"thread_name","pid":1,"tid":{p},"args":{{"name":"P{p}"}}}}"#
            ))?;
        }
        self.out.event(format_args!(
            r#"{{"ph":"M","name":"thread_name","pid":1,"tid":{OUTSIDE_TID},"args":{{"name":"outside (foreign threads)"}}}}"#
        ))?;
        // The main G: never finishes, spawns the first workers.
        let main = self.new_g(0, u32::MAX);
        self.push_local(0, main, 0);

        while self.out.events + self.changes.len() < target {
            let p = (0..procs)
                .min_by_key(|&i| self.ps[i].clock)
                .expect("at least one P");
            match self.find_runnable(p)? {
                Some(g) => self.poll(p, g)?,
                None => self.idle(p)?,
            }
        }
        self.counters()
    }

    /// Writes the run-queue counters from the recorded changes.
    fn counters(&mut self) -> io::Result<()> {
        let mut changes = std::mem::take(&mut self.changes);
        changes.sort_by_key(|c| c.0);
        let mut local = vec![0i64; self.ps.len()];
        let mut global = 0i64;
        for (ts, queue, delta) in changes {
            if queue == GLOBAL {
                global += delta;
                self.out.event(format_args!(
                    r#"{{"ph":"C","name":"global queue","pid":1,"ts":{},"args":{{"len":{global}}}}}"#,
                    Us(ts)
                ))?;
            } else {
                local[queue] += delta;
                let len = local[queue];
                self.out.event(format_args!(
                    r#"{{"ph":"C","name":"runqueue","pid":1,"tid":{queue},"ts":{},"args":{{"P{queue}":{len}}}}}"#,
                    Us(ts)
                ))?;
            }
        }
        Ok(())
    }

    fn new_g(&mut self, site: usize, polls: u32) -> u64 {
        self.gs.push(Some(G {
            site,
            polls_left: polls,
            woken_by: None,
        }));
        self.live += 1;
        self.gs.len() as u64 - 1
    }

    fn g(&mut self, g: u64) -> &mut G {
        self.gs[g as usize].as_mut().expect("a live G")
    }

    fn push_local(&mut self, p: usize, g: u64, at: u64) {
        enqueue(&mut self.ps[p].queue, Ready { g, at });
        self.changes.push((at, p, 1));
    }

    fn push_global(&mut self, g: u64, at: u64) {
        enqueue(&mut self.global, Ready { g, at });
        self.changes.push((at, GLOBAL, 1));
    }

    fn instant(&mut self, tid: i64, ts: u64, name: &str, args: &str) -> io::Result<()> {
        self.out.event(format_args!(
            r#"{{"ph":"i","name":"{name}","cat":"sched","s":"t","pid":1,"tid":{tid},"ts":{},"args":{{{args}}}}}"#,
            Us(ts)
        ))
    }

    /// Go's `findRunnable`, much simplified: local queue, global queue,
    /// steal. A G is never run before it became runnable: the P waits (its
    /// clock moves on) when it takes one from the future.
    fn find_runnable(&mut self, p: usize) -> io::Result<Option<u64>> {
        let now = self.ps[p].clock;
        if let Some(r) = self.ps[p].queue.pop_front() {
            let at = now.max(r.at);
            self.ps[p].clock = at;
            self.changes.push((at, p, -1));
            return Ok(Some(r.g));
        }
        match self.global.front().copied() {
            // Runnable now, or soon enough to spin for (Go's spinning M).
            Some(first) if first.at <= now + SPIN_NS => {
                let at = now.max(first.at);
                self.global.pop_front();
                self.changes.push((at, GLOBAL, -1));
                // The fair share of the rest (Go's globrunqget), if runnable by now.
                let share = self.global.len() / self.ps.len();
                for _ in 0..share {
                    match self.global.front() {
                        Some(r) if r.at <= at => {
                            let r = *r;
                            self.global.pop_front();
                            self.changes.push((at, GLOBAL, -1));
                            self.push_local(p, r.g, at);
                        }
                        _ => break,
                    }
                }
                self.ps[p].clock = at;
                return Ok(Some(first.g));
            }
            _ => {}
        }
        // Steal half of what the fullest other P had queued by now.
        let procs = self.ps.len();
        let start = self.rng.below(procs as u64) as usize;
        let ready_by = |q: &VecDeque<Ready>| q.iter().take_while(|r| r.at <= now).count();
        let victim = (0..procs)
            .map(|i| (start + i) % procs)
            .filter(|&v| v != p)
            .map(|v| (v, ready_by(&self.ps[v].queue)))
            .max_by_key(|&(_, n)| n)
            .filter(|&(_, n)| n > 0);
        if let Some((v, ready)) = victim {
            let moved = ready.div_ceil(2);
            let stolen: Vec<Ready> = self.ps[v].queue.drain(..moved).collect();
            self.changes.push((now, v, -(moved as i64)));
            self.instant(
                p as i64,
                now,
                "steal",
                &format!(r#""from":{v},"moved":{moved}"#),
            )?;
            for r in &stolen[1..] {
                self.push_local(p, r.g, now);
            }
            return Ok(Some(stolen[0].g));
        }
        Ok(None)
    }

    /// When the next queued G becomes runnable, if any is queued.
    fn next_ready(&self) -> Option<u64> {
        let local = self.ps.iter().filter_map(|p| p.queue.front().map(|r| r.at));
        let global = self.global.front().map(|r| r.at);
        local.chain(global).min()
    }

    /// Nothing to run: the netpoller may wake a batch, else the M parks
    /// until work appears (Go's `stopm` until a `wakep`) or a while passes.
    fn idle(&mut self, p: usize) -> io::Result<()> {
        let now = self.ps[p].clock;
        if !self.waiting.is_empty() && now >= self.last_netpoll + 20_000 {
            let ts = now + self.rng.range(500, 5_000);
            self.last_netpoll = ts;
            let n = (self.rng.range(1, 6) as usize).min(self.waiting.len());
            self.instant(OUTSIDE_TID, ts, "netpoll", &format!(r#""woken":{n}"#))?;
            for _ in 0..n {
                let i = self.rng.below(self.waiting.len() as u64) as usize;
                let g = self.waiting.swap_remove(i);
                self.wake(g, OUTSIDE_TID, ts)?;
                self.push_global(g, ts);
            }
            self.ps[p].clock = ts + 300;
            return Ok(());
        }
        let mut nap = self.rng.range(5_000, 40_000);
        if let Some(next) = self.next_ready() {
            nap = nap.min(next.saturating_sub(now).max(1_000));
        }
        self.instant(p as i64, now, "park", "")?;
        self.ps[p].clock = now + nap;
        self.instant(p as i64, now + nap, "unpark", "")?;
        if self.live < self.ps.len() * 4 {
            // Load arrives from outside: a new connection, say.
            let site = self.rng.below(SITES.len() as u64) as usize;
            let polls = self.rng.range(2, 12) as u32;
            let g = self.new_g(site, polls);
            self.push_global(g, now + nap);
        }
        Ok(())
    }

    /// Starts a wake flow from `tid` at `ts`; the woken G's next poll ends it.
    fn wake(&mut self, g: u64, tid: i64, ts: u64) -> io::Result<()> {
        let id = self.next_flow;
        self.next_flow += 1;
        self.g(g).woken_by = Some(id);
        self.out.event(format_args!(
            r#"{{"ph":"s","name":"wake","cat":"wake","id":{id},"pid":1,"tid":{tid},"ts":{}}}"#,
            Us(ts)
        ))
    }

    fn poll(&mut self, p: usize, g: u64) -> io::Result<()> {
        let start = self.ps[p].clock;
        let (site, woken_by) = {
            let gs = self.g(g);
            (gs.site, gs.woken_by.take())
        };
        if let Some(id) = woken_by {
            self.out.event(format_args!(
                r#"{{"ph":"f","name":"wake","cat":"wake","id":{id},"pid":1,"tid":{p},"ts":{},"bp":"e"}}"#,
                Us(start)
            ))?;
        }
        let base = SITES[site].1;
        let mut dur = base / 2 + self.rng.below(base);
        if self.rng.chance(0.01) {
            dur *= 20;
        }
        let tid = p as i64;

        // What the G does while it runs: spawn, wake a parked G.
        let spawns = if self.live < self.ps.len() * 24 {
            usize::from(self.rng.chance(0.3)) + usize::from(self.rng.chance(0.1))
        } else {
            0
        };
        for _ in 0..spawns {
            let at = start + self.rng.range(0, dur.max(1));
            let child_site = self.rng.below(SITES.len() as u64) as usize;
            let polls = self.rng.range(1, 10) as u32;
            let child = self.new_g(child_site, polls);
            self.instant(
                tid,
                at,
                "G created",
                &format!(r#""g":{child},"parent":{g}"#),
            )?;
            self.push_local(p, child, at);
        }
        if !self.waiting.is_empty() && self.rng.chance(0.25) {
            let at = start + self.rng.range(0, dur.max(1));
            let i = self.rng.below(self.waiting.len() as u64) as usize;
            let woken = self.waiting.swap_remove(i);
            self.wake(woken, tid, at)?;
            self.push_local(p, woken, at);
        }

        let end = start + dur;
        let left = {
            let gs = self.g(g);
            gs.polls_left = gs.polls_left.saturating_sub(1);
            gs.polls_left
        };
        let outcome = if left == 0 {
            match self.rng.below(100) {
                0 => "panicked",
                1..=2 => "cancelled",
                _ => "ready",
            }
        } else if dur > PREEMPT_AFTER_NS {
            self.instant(
                OUTSIDE_TID,
                start + PREEMPT_AFTER_NS,
                "preempt mark",
                &format!(r#""g":{g}"#),
            )?;
            "preempted"
        } else if self.rng.chance(0.12) {
            "yield"
        } else {
            "pending"
        };
        let m = self.ps[p].m;
        self.out.event(format_args!(
            r#"{{"ph":"X","name":"G{g}","cat":"poll","pid":1,"tid":{p},"ts":{},"dur":{},"args":{{"g":{g},"m":{m},"end":"{outcome}","spawn":"{}"}}}}"#,
            Us(start),
            Us(dur),
            SITES[site].0
        ))?;
        match outcome {
            "ready" | "panicked" | "cancelled" => {
                self.gs[g as usize] = None;
                self.live -= 1;
            }
            "yield" => self.push_local(p, g, end),
            "preempted" => self.push_global(g, end),
            _ => self.waiting.push(g),
        }
        let mut clock = end + self.rng.range(300, 1_500);
        if self.rng.chance(0.01) {
            // A blocking call: sysmon retakes the P and hands it to a new M.
            self.instant(OUTSIDE_TID, end + 20_000, "retake", &format!(r#""g":{g}"#))?;
            self.instant(tid, end + 20_500, "handoff", "")?;
            self.ps[p].m += self.ps.len() as u64;
            clock = end + 21_000;
        }
        self.ps[p].clock = clock;
        Ok(())
    }
}
