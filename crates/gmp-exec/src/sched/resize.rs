//! Changing the number of Ps while Gs run: Go's `procresize`, behind
//! `runtime.GOMAXPROCS(n)` (here `Handle::set_procs`).
//!
//! Go stops the world to resize; gmp does not need to. Every P up to the
//! runtime's `max_procs` is allocated when it is built and never moves (its
//! run queue is read by thieves without a lock), so a resize only changes
//! which of them are *in use*: `Shared::nprocs`, written under the idle lock.
//!
//! * **Growing** (`k` to `n`): the Ps `k..n` that nobody holds (the idle
//!   set's `dropped` marks) go on the idle list, and `wake_p` starts an M if
//!   work is waiting. A P beyond `k` that an M still held (it had not noticed
//!   the last shrink yet) simply stays with that M.
//! * **Shrinking** (`n` to `k`): the idle Ps beyond `k` leave the idle list
//!   at once. A P beyond `k` that an M holds is given up by that M at the top
//!   of its next scheduling round (`Worker::drop_p_out_of_use`): it moves the
//!   P's queued Gs to the global queue (Go's `destroy` →
//!   `globrunqputbatch`), lets go of the P for good, and goes on with an idle
//!   P or parks. An M blocked in a call keeps its P until sysmon retakes it;
//!   `handoff_p` then drains it the same way (rule 2 of the essay). `pidle_put`
//!   never puts a P out of use on the idle list: it marks it dropped.
//! * **Timers** stay in the shard of the P that armed them. Go moves a
//!   destroyed P's timers to another P; here the M in the poller and sysmon
//!   run every shard's due timers, so none is lost, and one in a P out of use
//!   fires at most a sysmon look late while every M is busy.
//! * **Coroutine Gs** stay bound to their Ms, which keep running them with
//!   whatever P they hold next (rule 4).
//!
//! Steal orders exist for every count (`Shared::order`), so a search uses the
//! order for the count it read.

use std::sync::atomic::Ordering::Relaxed;

use crate::sync::lock;
use crate::task::Notified;

use super::idle::pidle_put;
use super::worker::Worker;
use super::Shared;

impl Shared {
    /// Go's `procresize` for `runtime.GOMAXPROCS(n)`: makes `n` Ps in use (1
    /// to `capacity`, checked by the caller) and returns the previous count.
    pub(crate) fn set_procs(&self, n: usize) -> usize {
        debug_assert!((1..=self.capacity()).contains(&n));
        let mut set = lock(&self.idle.set);
        let old = self.procs();
        // Relaxed: the idle lock orders it with the list changes below; the
        // lock-free readers only need to see it eventually (see `nprocs`).
        self.nprocs.store(n, Relaxed);
        if n < old {
            // The idle Ps beyond `n` leave the list; the held ones are given
            // up by their Ms (module docs).
            let set = &mut *set;
            let before = set.pidle.len();
            for &p in &set.pidle {
                if p >= n {
                    set.dropped[p] = true;
                }
            }
            set.pidle.retain(|&p| p < n);
            let gone = before - set.pidle.len();
            // SeqCst: `npidle` mirrors the idle list for the submitters'
            // lock-free reads (rule 3).
            self.idle
                .npidle
                .fetch_sub(gone, std::sync::atomic::Ordering::SeqCst);
        } else {
            for p in old..n {
                if set.dropped[p] {
                    set.dropped[p] = false;
                    pidle_put(&mut set, self, p);
                }
            }
        }
        drop(set);
        if n > old {
            // New idle Ps: if work waits, an M takes one (Go's `procresize`
            // ends by waking Ms for the runnable Gs).
            self.wake_p();
        }
        self.wake_sysmon();
        old
    }

    /// A P out of use that nobody holds any more: its queued Gs go to the
    /// global queue, and it is dropped (or put on the idle list, if a resize
    /// brought it back meanwhile). The caller owned the P and has let go of
    /// it, and `batch` holds what its queue held.
    pub(crate) fn drop_p(&self, p: usize, batch: Vec<Notified>) {
        pidle_put(&mut lock(&self.idle.set), self, p);
        if !batch.is_empty() {
            self.inject_batch(batch.into_iter(), 0);
        }
    }
}

impl Worker {
    /// At the top of a scheduling round: if `set_procs` took this M's P out
    /// of use, the M gives it up for good (module docs). True if it did.
    #[inline]
    pub(super) fn drop_p_out_of_use(&self) -> bool {
        let Some(p) = self.p.get() else {
            return false;
        };
        if p < self.shared.procs() {
            return false;
        }
        self.give_up_p_out_of_use(p)
    }

    #[cold]
    fn give_up_p_out_of_use(&self, p: usize) -> bool {
        let Some(mut core) = self.core() else {
            // sysmon took it meanwhile; its hand-off drains it.
            return true;
        };
        let mut batch = Vec::new();
        while let Some((task, _)) = core.runq.pop() {
            batch.push(task);
        }
        drop(core);
        self.p.set(None);
        self.old_p.set(None);
        if self.stop_spinning() {
            self.shared.idle.spinning_stopped();
        }
        if self.m.unwire(p) {
            self.shared.ps[p].disown(p, self.m.id);
            self.shared.drop_p(p, batch);
        } else {
            // sysmon revoked it after our last look: it hands the P on (and
            // `handoff_p` drains nothing, the queue being ours now).
            self.shared.inject_batch(batch.into_iter(), 0);
        }
        true
    }
}
