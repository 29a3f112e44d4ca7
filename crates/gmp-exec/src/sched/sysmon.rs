//! sysmon: Go's system monitor. No G waits behind a blocked thread.
//!
//! A thread of its own, holding no P. It sleeps 20 µs between looks, doubling
//! the sleep up to 10 ms once nothing has needed it for 50 looks in a row (its
//! network poll does not count, as in Go: only what it did to an M does), and
//! sleeps until woken once every P has been idle for 20 ms (an idle runtime
//! costs no CPU; a busy one that idles between bursts does not make each M
//! that takes a P wake sysmon). Each
//! look, for every M that is inside a poll:
//!
//! 1. **Syscall retake** (Go's `retake` of a `_Psyscall` P): an M that called
//!    `gmp::syscall(f)` and is still in it one look later loses its P, unless
//!    its P has nothing queued and other Ms are free to take new work, and the
//!    call has lasted less than 10 ms.
//! 2. **Queued work behind a poll**: if a P's poll has lasted two looks while its
//!    queue holds Gs (its `runnext` included) and there is an idle P but no
//!    spinning M, it wakes one (`wake_p`). That is what makes `runnext` truly
//!    stealable: no G sits in a P that is busy with something else for long
//!    without a thief looking at it.
//! 3. **Long poll** (more than `retake_after`, 10 ms by default): the G is
//!    marked for preemption — its cooperative budget runs out at its next gmp
//!    leaf future, and `preempt_check!` yields — and, if it is still in the
//!    same poll at a later look (it ignored the mark: a blocking call, a loop
//!    without a check), other Gs wait to run and no P is idle (so step 2
//!    cannot help), the M loses its P (Go's `handoffp`), so the rest of that
//!    P's queue runs on another M. The M finishes its poll without a P and
//!    then takes one back (`exitsyscall`). Go never takes the P of a running
//!    G, it only preempts it; a look's grace keeps that for every G that
//!    cooperates.
//! 4. **Watchdog**: a poll longer than `watchdog_after` (100 ms by default) is
//!    reported, once while it lasts and once with its total when it ends:
//!    the G's id, spawn site, the M, how long.
//!
//! Once per look, not per M: **netpoll** (Go's "poll network if not polled for
//! more than 10ms"): if no M is blocked in the poller and nobody has polled for
//! 10 ms, sysmon polls without blocking and injects the woken Gs; and it fires
//! timers more than a millisecond overdue, whose P's M is stuck in a long poll
//! (see `netpoll.rs`).
//!
//! Taking a P from an M that is running user code is the delicate part: that M
//! may spawn or wake at any moment, which touches its P's queue. `barrier.rs`
//! explains the protocol (an asymmetric Dekker pair: a compiler barrier on the
//! M's side, `membarrier(2)` on sysmon's, or a fence on each side where the
//! system has no `membarrier`); `M::p_lock` serialises the retake with the M's
//! own wiring and unwiring of Ps.

use std::collections::HashMap;
use std::panic::Location;
use std::sync::atomic::Ordering::{Acquire, Relaxed, SeqCst};
use std::time::{Duration, Instant};

use crate::metrics::SharedCounter;
use crate::sync::{lock, Arc, AtomicBool, Condvar, Mutex};
use crate::trace::{self, Kind};

use super::barrier;
use super::m::{M, NO_P};
use super::Shared;

const MIN_DELAY: Duration = Duration::from_micros(20);
const MAX_DELAY: Duration = Duration::from_millis(10);
/// Looks with nothing to do before the sleep starts doubling (Go: 50).
const IDLE_LOOKS: u32 = 50;
/// How long every P must stay idle before sysmon sleeps until woken.
const DEEP_SLEEP_AFTER: Duration = Duration::from_millis(20);
/// A syscall that has lasted this long loses its P even when nothing waits.
const SYSCALL_FORCE: Duration = Duration::from_millis(10);
/// Watchdog reports allowed per second (the rest are counted and summarised).
const REPORTS_PER_SEC: u32 = 10;

/// sysmon's thread and the flags used to wake and stop it.
pub(crate) struct Sysmon {
    ctl: Mutex<Ctl>,
    cv: Condvar,
    /// sysmon is asleep because every P was idle; whoever takes a P wakes it.
    asleep: AtomicBool,
    started: AtomicBool,
    handle: Mutex<Option<std::thread::JoinHandle<()>>>,
}

struct Ctl {
    stop: bool,
    wake: bool,
}

impl Sysmon {
    pub(crate) fn new() -> Sysmon {
        Sysmon {
            ctl: Mutex::new(Ctl {
                stop: false,
                wake: false,
            }),
            cv: Condvar::new(),
            asleep: AtomicBool::new(false),
            started: AtomicBool::new(false),
            handle: Mutex::new(None),
        }
    }
}

/// What sysmon remembers about one M between looks (Go's `sysmontick`).
struct View {
    ticks: u64,
    since: Instant,
    looks: u32,
    syscall_looks: u32,
    reported: bool,
    /// This poll's G was marked for preemption at an earlier look.
    marked: bool,
    g: u64,
    loc: *const Location<'static>,
}

impl Shared {
    /// Starts sysmon with the first M, if the runtime wants one.
    pub(crate) fn start_sysmon(&self) {
        // SeqCst: one starter among racing first Ms; nothing else is published.
        if !self.config.sysmon || self.sysmon.started.swap(true, SeqCst) {
            return;
        }
        if cfg!(loom) {
            return;
        }
        let Some(shared) = self.me.upgrade() else {
            return;
        };
        let name = format!("{}-sysmon", self.config.name);
        match std::thread::Builder::new()
            .name(name)
            .spawn(move || shared.sysmon_main())
        {
            Ok(h) => *lock(&self.sysmon.handle) = Some(h),
            Err(e) => {
                eprintln!("gmp: could not start sysmon: {e}; blocked threads will not be retaken")
            }
        }
    }

    /// Stops sysmon and joins it (at shutdown).
    pub(crate) fn stop_sysmon(&self) {
        lock(&self.sysmon.ctl).stop = true;
        self.sysmon.cv.notify_all();
        if let Some(h) = lock(&self.sysmon.handle).take() {
            let _ = h.join();
        }
    }

    /// Wakes sysmon if it sleeps because every P was idle. Called whenever a P
    /// leaves the idle list.
    #[inline]
    pub(crate) fn wake_sysmon(&self) {
        // SeqCst: pairs with sysmon's SeqCst store of `asleep` and re-check of
        // `npidle` (a Dekker pair: one of the two sees the other).
        if self.sysmon.asleep.load(SeqCst) {
            let mut ctl = lock(&self.sysmon.ctl);
            ctl.wake = true;
            drop(ctl);
            self.sysmon.cv.notify_all();
        }
    }

    /// Go's `sysmon`: the monitor's loop, on its own thread.
    fn sysmon_main(&self) {
        // Register for `membarrier` here, off every M: it takes the kernel an
        // RCU grace period (milliseconds). Until it is done, Ms use real fences
        // and sysmon does not retake; where it fails, they keep fencing and
        // sysmon retakes with a fence of its own (`barrier.rs`).
        barrier::available();
        let mut delay = MIN_DELAY;
        let mut idle_looks = 0u32;
        let mut version = u64::MAX;
        let mut ms: Vec<Arc<M>> = Vec::new();
        let mut views: HashMap<usize, View> = HashMap::new();
        let mut reports = RateLimit::new();
        let schedtrace = self.config.schedtrace;
        // `None` once the next line is beyond what `Instant` holds: a period
        // of `Duration::MAX` prints none (`+` panicked here, killing sysmon).
        let mut next_trace = schedtrace.and_then(|p| Instant::now().checked_add(p));
        // Since when every P has been idle with no M in a poll, as sysmon saw.
        let mut idle_since: Option<Instant> = None;
        loop {
            {
                let ctl = lock(&self.sysmon.ctl);
                if ctl.stop {
                    return;
                }
                let (ctl, _) = self
                    .sysmon
                    .cv
                    .wait_timeout(ctl, delay)
                    .unwrap_or_else(|e| e.into_inner());
                if ctl.stop {
                    return;
                }
            }
            if let Some(now_ms) = self.allm_if_changed(&mut version) {
                views.retain(|id, _| now_ms.iter().any(|m| m.id == *id));
                ms = now_ms;
            }
            let mut now = Instant::now();
            // Go's sysmon keeps ticking while schedtrace is on. It also keeps
            // watching while an M is still inside a poll that lost its P (the
            // watchdog reports it), which Go's sysmonwait does not.
            let all_idle = schedtrace.is_none()
                // SeqCst/Acquire: a heuristic for when to sleep deeply; wrong at worst
                // for one look, and `wake_sysmon`'s Dekker pair catches new work.
                && self.idle.npidle.load(SeqCst) == self.procs()
                && ms.iter().all(|m| m.cur_g.load(Acquire) == 0);
            if !all_idle {
                idle_since = None;
            } else if now.duration_since(*idle_since.get_or_insert(now)) >= DEEP_SLEEP_AFTER {
                // Idle for a while, not just between two bursts: sleep until a
                // P is taken. (Deep-sleeping at the first idle look made every
                // M that took a P after a short idle spell wake sysmon: one
                // futex wake per idle-to-busy change, thousands a second on a
                // socket server that drains its queue often.)
                if self.sysmon_sleep() {
                    return;
                }
                idle_since = None;
                now = Instant::now();
            }
            if trace::on() {
                // Counter tracks: every P's queue depth, and the global queue.
                for (i, p) in self.ps[..self.procs()].iter().enumerate() {
                    let depth = p.stealer.len() as u64;
                    trace::record(Kind::Depth, self.id, i as u32, trace::NO_P, 0, depth, 0);
                }
                let depth = self.global.len() as u64;
                trace::record(Kind::Depth, self.id, trace::NO_P, trace::NO_P, 0, depth, 0);
            }
            let mut acted = false;
            for m in &ms {
                acted |= self.look_at(m, &mut views, now, &mut reports);
            }
            // Go's "poll network if not polled for more than 10ms", and
            // timers whose P's M is stuck in a long poll. Not counted as
            // acting, as in Go (only a retake resets its backoff): on a server
            // whose Ms are all busy, sysmon is the poller every 10 ms, and
            // counting that dropped its sleep back to 20 µs each time, for
            // thousands of wake-ups a second.
            let _ = self.sysmon_netpoll(self.clock.now());
            if let (Some(period), Some(due)) = (schedtrace, next_trace) {
                if now >= due {
                    eprintln!(
                        "{}",
                        self.schedtrace_line(self.started, self.config.scheddetail)
                    );
                    next_trace = due.checked_add(period);
                }
            }
            if acted {
                idle_looks = 0;
                delay = MIN_DELAY;
            } else {
                idle_looks += 1;
                if idle_looks > IDLE_LOOKS {
                    delay = (delay * 2).min(MAX_DELAY);
                }
            }
            if let Some(period) = schedtrace {
                delay = delay.min(period);
            }
        }
    }

    /// Go's `sysmonwait`: every P is idle, so nothing can need sysmon until a P
    /// is taken. True if sysmon should stop.
    fn sysmon_sleep(&self) -> bool {
        let mut ctl = lock(&self.sysmon.ctl);
        ctl.wake = false;
        self.sysmon.asleep.store(true, SeqCst);
        // Re-check after publishing `asleep` (see `wake_sysmon`).
        if self.idle.npidle.load(SeqCst) != self.procs() {
            self.sysmon.asleep.store(false, SeqCst);
            return ctl.stop;
        }
        while !ctl.wake && !ctl.stop {
            ctl = self.sysmon.cv.wait(ctl).unwrap_or_else(|e| e.into_inner());
        }
        self.sysmon.asleep.store(false, SeqCst);
        ctl.stop
    }

    /// One look at one M; true if sysmon did something.
    fn look_at(
        &self,
        m: &M,
        views: &mut HashMap<usize, View>,
        now: Instant,
        reports: &mut RateLimit,
    ) -> bool {
        // Acquire: pairs with the M's Release store of `cur_g` in `execute`,
        // which it makes after `ticks` and `cur_loc`: a G seen here comes with
        // the ticks and location of its own poll.
        let g = m.cur_g.load(Acquire);
        let ticks = m.ticks.load(Relaxed);
        let view = views.entry(m.id).or_insert_with(|| View {
            ticks,
            since: now,
            looks: 0,
            syscall_looks: 0,
            reported: false,
            marked: false,
            g,
            loc: std::ptr::null(),
        });
        if g == 0 || ticks != view.ticks {
            if view.reported {
                self.report_end(m, view, now, reports);
            }
            m.poll_seen_ns
                .store((now - self.started).as_nanos() as u64, Relaxed);
            *view = View {
                ticks,
                since: now,
                looks: 0,
                syscall_looks: 0,
                reported: false,
                marked: false,
                g,
                loc: m.cur_loc.load(Relaxed),
            };
            return false;
        }
        view.looks += 1;
        let held = now - view.since;
        let p = m.p.load(Relaxed);
        let mut acted = false;

        // 1. Syscall retake.
        if m.in_syscall.load(Relaxed) {
            view.syscall_looks += 1;
            if view.syscall_looks >= 2 && p != NO_P {
                let quiet = self.ps[p].stealer.is_empty()
                    && self.idle.spinning() + self.idle.npidle.load(Relaxed) > 0;
                if (!quiet || held >= SYSCALL_FORCE)
                    && self.retake(m, p, ticks, &self.stats.syscall_retakes)
                {
                    acted = true;
                }
            }
        } else {
            view.syscall_looks = 0;
        }

        // 2. Queued work behind a running poll: get a thief looking.
        if view.looks >= 2 && p != NO_P && !self.ps[p].stealer.is_empty() {
            let before = self.idle.spinning();
            let idle = self.idle.npidle.load(Relaxed);
            self.wake_p();
            if before == 0 && idle > 0 {
                self.stats.sysmon_wakes.add(1);
                acted = true;
            }
        }

        // 3. Long poll: preemption mark, and a retake if anything waits.
        if let Some(limit) = self.config.retake_after {
            if held >= limit {
                // Asked at an earlier look and still in the same poll: the G
                // did not reach a point that honours the mark.
                let ignored = std::mem::replace(&mut view.marked, true);
                if !m.preempt.load(Relaxed) {
                    // Counted before it is set, as a retake is (`retake`): a G
                    // that yields at the mark lets others run at once.
                    self.stats.preempt_marks.add(1);
                    m.preempt.store(true, Relaxed);
                    let pp = if p == NO_P { trace::NO_P } else { p as u32 };
                    trace::record(Kind::Preempt, self.id, pp, m.id as u32, g, 0, 0);
                    acted = true;
                }
                // Retake only if the G ignored the mark for a look (Go only
                // preempts a running G; a G that yields at the mark, through its
                // budget or `preempt_check!`, keeps its P and the Gs it started,
                // which a coroutine G's spawns would otherwise leave bound to the
                // M that takes the P), and only if other Gs wait and no idle P
                // could run them: with an idle P, step 2's spinner takes the
                // queued Gs, and the long poll keeps its P (and its local spawns
                // and wakes).
                let waiting =
                    p != NO_P && (!self.ps[p].stealer.is_empty() || !self.global.is_empty());
                let no_idle_p = self.idle.npidle.load(Relaxed) == 0;
                if ignored && waiting && no_idle_p && self.retake(m, p, ticks, &self.stats.retakes)
                {
                    acted = true;
                }
            }
        }

        // 4. Watchdog.
        if let Some(limit) = self.config.watchdog_after {
            if held >= limit && !view.reported {
                view.reported = true;
                self.stats.watchdog_reports.add(1);
                view.loc = m.cur_loc.load(Relaxed);
                let name = self.task_name(view.g);
                reports.report(now, || {
                    format!(
                        "gmp: watchdog: G {}{name} (spawned at {}) has held M {} for {:?} in one \
                         poll; the Gs queued behind it wait for another M (use spawn_blocking, \
                         block_in_place or syscall for blocking calls)",
                        view.g,
                        location(view.loc),
                        m.id,
                        held
                    )
                });
            }
        }
        acted
    }

    fn report_end(&self, m: &M, view: &View, now: Instant, reports: &mut RateLimit) {
        let held = now - view.since;
        let name = self.task_name(view.g);
        reports.report(now, || {
            format!(
                "gmp: watchdog: G {}{name} (spawned at {}) held M {} for about {:?} in one poll",
                view.g,
                location(view.loc),
                m.id,
                held
            )
        });
    }

    /// ` "name"` for a named G, else nothing (for reports).
    fn task_name(&self, g: u64) -> String {
        match lock(&self.names).get(&g) {
            Some(name) => format!(" {name:?}"),
            None => String::new(),
        }
    }

    /// Go's `retake` + `handoffp`: takes P `p` from M `m`, which is still in the
    /// poll numbered `ticks`, and gives it to another M, counting it in
    /// `count`. False if the M moved on (or gave the P up) first.
    ///
    /// The count goes up before the handoff: the M that takes the P may run a
    /// queued G at once, and whoever waited for that G must find the retake
    /// that let it run already counted (a test reads `Metrics::retakes` right
    /// after the G ends).
    fn retake(&self, m: &M, p: usize, ticks: u64, count: &SharedCounter) -> bool {
        {
            let _held = lock(&m.p_lock);
            if m.p.load(Relaxed) != p || m.ticks.load(Relaxed) != ticks {
                return false;
            }
            m.p.store(NO_P, Relaxed);
            self.ps[p].disown(p, m.id);
            m.revoked.store(p, Relaxed);
            // `membarrier`, or a fence where there is none (the M then fences
            // too): the Dekker pair of barrier.rs, either form.
            barrier::heavy_or_fence();
            // Acquire: pairs with the M's Release in `leave_core`, so everything
            // it did to the P happens before the P's next M runs.
            while m.in_core.load(Acquire) {
                std::hint::spin_loop();
            }
        }
        let g = m.cur_g.load(Relaxed);
        trace::record(Kind::Retake, self.id, p as u32, m.id as u32, g, 0, 0);
        count.add(1);
        self.handoff_p(p);
        true
    }
}

fn location(loc: *const Location<'static>) -> String {
    // SAFETY: `cur_loc` only ever holds null or a `&'static Location` taken by
    // `#[track_caller]` at spawn.
    match unsafe { loc.as_ref() } {
        Some(l) => l.to_string(),
        None => "<unknown>".to_string(),
    }
}

/// At most [`REPORTS_PER_SEC`] watchdog lines a second, through `tracing` when
/// that feature is on, else to stderr.
struct RateLimit {
    window: Instant,
    sent: u32,
    dropped: u32,
}

impl RateLimit {
    fn new() -> RateLimit {
        RateLimit {
            window: Instant::now(),
            sent: 0,
            dropped: 0,
        }
    }

    fn report(&mut self, now: Instant, line: impl FnOnce() -> String) {
        if now - self.window >= Duration::from_secs(1) {
            if self.dropped > 0 {
                emit(format!(
                    "gmp: watchdog: {} more reports suppressed",
                    self.dropped
                ));
            }
            self.window = now;
            self.sent = 0;
            self.dropped = 0;
        }
        if self.sent < REPORTS_PER_SEC {
            self.sent += 1;
            emit(line());
        } else {
            self.dropped += 1;
        }
    }
}

/// A report goes through `tracing` with the `tracing` feature when sysmon's
/// thread has a subscriber (the process's global default); with none, and
/// without the feature, on stderr, so turning the feature on never makes the
/// reports vanish.
fn emit(line: String) {
    #[cfg(feature = "tracing")]
    if tracing::dispatcher::get_default(|d| !d.is::<tracing::subscriber::NoSubscriber>()) {
        tracing::warn!(target: "gmp::watchdog", "{line}");
        return;
    }
    eprintln!("{line}");
}
