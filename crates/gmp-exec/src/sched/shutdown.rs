//! Runtime shutdown: every G's future is dropped exactly once, whether it sat in
//! a queue, was parked on a waker held elsewhere, or was being woken on another
//! thread at that very moment; then the Ms are joined.
//!
//! The order is what makes it sound:
//!
//! 1. Set the flag and **close the global queue**. From now on a wake from
//!    outside the runtime cannot queue its G: it gives its notified reference
//!    back (`Notified::release_closed`), clearing `NOTIFIED`.
//! 2. Wake every parked M with "exit"; busy Ms see the flag after their current
//!    poll. Wait for all M threads (up to the timeout, if one was given).
//! 3. **Drain** every P's ring and `runnext`, and the global queue (which still
//!    takes overflow from Ms that were running): dropping a notified reference
//!    cancels its G.
//! 4. **Sweep** the registries: every G still registered is idle or was being
//!    woken from outside. Shutdown takes the right to its stage and drops its
//!    future.
//! 5. **Wait out in-flight wakes**: a G that was `NOTIFIED` when swept had a
//!    waker on another thread between its CAS and its (failing) push; the
//!    scheduler must outlive that push, so we wait for `NOTIFIED` to clear.
//!
//! Steps 3 to 5 run once no M is left, so nothing polls, completes or pushes to
//! a local queue meanwhile. If `shutdown_timeout` stops waiting for an M stuck
//! in a poll, the last such M to return runs them instead.
//!
//! After that no G of this runtime can be scheduled again: each is `COMPLETE`,
//! so wakes, aborts and `JoinHandle`s touch only the G's own cell.

use std::sync::atomic::Ordering::SeqCst;
use std::time::Duration;

use crate::sync::thread;
use crate::task::TaskRef;

use super::Shared;

impl Shared {
    /// Shuts the runtime down. With a `timeout`, stops waiting for Ms still
    /// inside a poll after it: the last of them to return does the cleanup
    /// (steps 3 to 5) instead. Returns false if it stopped waiting.
    pub(crate) fn shutdown(&self, timeout: Option<Duration>) -> bool {
        // SeqCst: the flag every M, spawn and parking path reads before it
        // queues or parks (their SeqCst or locked reads see it, or they are
        // drained by the steps below); only the first caller shuts down.
        if self.shutdown.swap(true, SeqCst) {
            return true;
        }
        self.stop_sysmon();
        // 1.
        drop(self.global.close());
        // 2.
        self.wake_all_for_exit();
        // The poller M, if it was handed "exit" before it parked there.
        self.netpoll.notify();
        let all_exited = self.wait_threads(timeout);
        if all_exited {
            // 3-5, with no M left: nothing can poll, complete or push locally.
            self.cancel_everything();
        }
        self.blocking.shutdown(timeout);
        all_exited
    }

    /// Steps 3 to 5 of the module docs. Runs exactly once, on whichever thread
    /// sees the last M gone (so no sweep ever races a completion).
    pub(crate) fn cancel_everything(&self) {
        // Tasks leave the registries below without the dump gate.
        let _no_dumps = crate::sync::lock(&self.dump_lock);
        for p in self.ps.iter() {
            while let Some(task) = p.stealer.pop() {
                drop(task);
            }
        }
        drop(self.global.drain());

        // A spawn from outside registers under `remote_owner` after checking
        // the shutdown flag: taking the lock once orders every registration
        // made before the flag before the sweep, and every later spawn sees
        // the flag and cancels its G itself (`spawn_remote`).
        drop(crate::sync::lock(&self.remote_owner));
        let mut in_flight: Vec<TaskRef> = Vec::new();
        let registries = self
            .ps
            .iter()
            .map(|p| &p.registry)
            .chain(std::iter::once(self.remote_registry()));
        for registry in registries {
            for task in registry.take_all() {
                if task.header().state.load().is_notified() {
                    in_flight.push(task.clone());
                }
                task.shutdown();
            }
        }
        // Every queue is drained and closed, so a swept G that was NOTIFIED had
        // a wake in flight on another thread, between its CAS and its failing
        // push: a few instructions. The scheduler must outlive that push.
        for task in in_flight {
            while task.header().state.load().is_notified() {
                thread::yield_now();
            }
        }
    }
}
