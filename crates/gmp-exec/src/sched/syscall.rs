//! The blocking-call paths: Go's `entersyscall`/`exitsyscall` ([`syscall`]:
//! the M keeps its P unless the call outlasts a sysmon look), its
//! `entersyscallblock` ([`block_in_place`]: the P goes at once), taking a P
//! back afterwards (`exitsyscall`'s fast and slow paths, `reacquire_p`), and
//! `handoffp`, which finds the released P a new M — the one place a P changes
//! hands because its M is blocked, whether the M let go of it or sysmon took
//! it (`retake`, in [`sysmon`](super::sysmon)).

use std::sync::atomic::Ordering::Relaxed;

use crate::trace::{self, Kind};

use super::m::NO_P;
use super::worker::Worker;
use super::Shared;

/// `gmp::block_in_place`: Go's `entersyscallblock`. The M hands its P to
/// another M at once, runs `f` without one, then takes a P back (its old one if
/// idle, else any idle one; if none is free, the rest of the current poll runs
/// without a P and the M waits for one when the poll returns).
///
/// In a coroutine G, `f` may park the G (a `coro::sleep`, a blocking-style
/// read on a gmp socket): the poll then returns to this M's scheduler without
/// a P, which takes one before it runs anything else, and the G resumes later
/// on this M holding that P. So a P is taken back only if the M holds none
/// when `f` returns: wiring a second one over it would lose the first for good.
pub(crate) fn block_in_place<R>(f: impl FnOnce() -> R) -> R {
    let handed_off = Worker::with_current(|w| w.is_some_and(Worker::enter_syscall_block));
    let out = f();
    if handed_off {
        Worker::with_current(|w| {
            if let Some(w) = w {
                if w.p.get().is_none() {
                    w.reacquire_p();
                }
            }
        });
    }
    out
}

/// `gmp::syscall`: Go's `entersyscall`/`exitsyscall`. The M keeps its P while
/// `f` runs; if `f` outlasts a sysmon look, sysmon hands the P to another M,
/// and this M takes one back when `f` returns.
///
/// A coroutine G whose `f` parks leaves the mark behind when its poll returns;
/// `execute` clears it there, so the M's other Gs do not run as if in a
/// syscall (the rest of `f`, after the G resumes, runs unmarked).
pub(crate) fn syscall<R>(f: impl FnOnce() -> R) -> R {
    let marked = Worker::with_current(|w| match w {
        Some(w) if w.p.get().is_some() => {
            w.m.in_syscall.store(true, Relaxed);
            true
        }
        _ => false,
    });
    let out = f();
    if marked {
        Worker::with_current(|w| {
            if let Some(w) = w {
                w.m.in_syscall.store(false, Relaxed);
                // The fast path is this one load; if sysmon took the P, `core`
                // notices and we take one back now, before user code goes on.
                if w.m.revoked.load(Relaxed) != NO_P && w.core().is_none() {
                    w.reacquire_p();
                }
            }
        });
    }
    out
}

impl Worker {
    /// sysmon took P `p` (it hands it on itself).
    #[cold]
    pub(super) fn lost_p(&self, p: usize) {
        self.m.acknowledge_revoked();
        self.p.set(None);
        self.old_p.set(Some(p));
        if self.stop_spinning() {
            self.shared.idle.spinning_stopped();
        }
    }

    /// Go's `entersyscallblock`, the start of `block_in_place`: gives the P to
    /// another M at once (through `handoff_p`, rule 2 of the essay). False if
    /// this M held none.
    fn enter_syscall_block(&self) -> bool {
        let Some(p) = self.p.get() else {
            return false;
        };
        self.p.set(None);
        self.old_p.set(Some(p));
        if self.m.unwire(p) {
            self.shared.ps[p].disown(p, self.m.id);
            self.shared.handoff_p(p);
        }
        true
    }

    /// Go's `exitsyscall`: takes back the old P if it is idle, else any idle P.
    /// False if none is free.
    pub(super) fn reacquire_p(&self) -> bool {
        if let Some(old) = self.old_p.take() {
            if self.shared.take_idle_p(old) {
                self.wire(old);
                return true;
            }
        }
        match self.shared.acquire_idle_p() {
            Some(p) => {
                self.wire(p);
                true
            }
            None => false,
        }
    }
}

impl Shared {
    /// Go's `handoffp`: finds P `p` (whose M let go of it) a new M: at once if
    /// it or the global queue has work; as a spinning M if nobody else is
    /// spinning or idle; otherwise it goes on the idle list.
    ///
    /// The caller holds the right to hand `p` on (its M let go of it, or
    /// sysmon revoked it): nobody else touches the P meanwhile. A P that
    /// `set_procs` took out of use is drained and dropped instead.
    pub(crate) fn handoff_p(&self, p: usize) {
        self.stats.handoffs.add(1);
        trace::record(Kind::Handoff, self.id, p as u32, trace::NO_P, 0, 0, 0);
        if p >= self.procs() {
            // SAFETY: the caller holds the right to hand `p` on (above), so
            // no M touches its state: this is the owner's access, and the
            // borrow ends before anything else runs.
            let core = unsafe { self.ps[p].core() };
            let mut batch = Vec::new();
            while let Some((task, _)) = core.runq.pop() {
                batch.push(task);
            }
            self.drop_p(p, batch);
            return;
        }
        if !self.ps[p].stealer.is_empty() || !self.global.is_empty() {
            self.start_m(Some(p), false);
            return;
        }
        if self.idle.spinning() + self.idle.npidle.load(Relaxed) == 0 && self.idle.claim_spinner() {
            self.start_m(Some(p), true);
            return;
        }
        self.release_p(p);
        // Go's handoffp re-checks for work that arrived meanwhile.
        if !self.global.is_empty() {
            self.wake_p();
        }
    }
}
