//! Making a G: Go's `newproc`. On an M of this runtime the new G goes to
//! its P's `runnext` (Go's `runqput(pp, newg, true)`); from anywhere else to
//! the global queue (`globrunqput`), with `wakep` either way. Both paths
//! share one helper for the steps every new G takes (`new_g`).

use std::future::Future;
use std::panic::Location;
use std::ptr::NonNull;
use std::sync::atomic::Ordering::{Relaxed, SeqCst};

use gmp_core::runq::Pushed;

use crate::sync::{fence, lock, Arc};
use crate::task::{self, Header, JoinHandle, Notified};
use crate::trace::{self, Kind};

use super::worker::Worker;
use super::{slot_code, Shared};

impl Shared {
    /// Go's `newproc`: creates a G for `future` and makes it runnable.
    pub(crate) fn spawn<F>(
        self: &Arc<Self>,
        future: F,
        location: &'static Location<'static>,
        name: Option<&str>,
    ) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        Worker::with_current(|w| self.spawn_from(w, future, location, name))
    }

    /// `spawn` for a caller that has read this thread's M already (`w`, which
    /// may be an M of another runtime): the thread-local is read once per
    /// spawn (`context::spawn`).
    #[inline]
    pub(crate) fn spawn_from<F>(
        self: &Arc<Self>,
        w: Option<&Worker>,
        future: F,
        location: &'static Location<'static>,
        name: Option<&str>,
    ) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        if self.is_shutdown() {
            return self.spawn_cancelled(future, location);
        }
        let sched = NonNull::from(&**self);
        let local = match w {
            Some(w) if w.is_for(self) => w.spawn_local(future, sched, location, name),
            _ => Err(future),
        };
        match local {
            Ok(handle) => handle,
            Err(future) => self.spawn_remote(future, sched, location, name),
        }
    }

    /// The steps every new G takes once a registry holds it, on either spawn
    /// path: its registry slot, its name, its creation event (made on P `p` of
    /// M `m`, by G `parent`; `trace::NO_P` and 0 from outside).
    #[inline]
    fn new_g(&self, task: &Notified, slot: u64, name: Option<&str>, p: u32, m: u32, parent: u64) {
        let header = task.header();
        // SAFETY: the task is not published yet: the caller holds its only
        // notified reference and has queued it nowhere.
        unsafe { header.set_registry_slot(slot) };
        if let Some(name) = name {
            self.name_task(header, name);
        }
        if trace::on() {
            let loc = header.location as *const Location<'static> as u64;
            trace::record(Kind::Created, self.id, p, m, header.id, parent, loc);
        }
    }

    /// Gives a task that is not yet published a name (kept in the name table,
    /// out of the hot task cell).
    pub(crate) fn name_task(&self, task: &Header, name: &str) {
        task.state.set_named();
        lock(&self.names).insert(task.id, std::sync::Arc::from(name));
    }

    /// A spawn from a thread that holds no P of this runtime: the global queue.
    fn spawn_remote<F>(
        &self,
        future: F,
        sched: NonNull<Shared>,
        location: &'static Location<'static>,
        name: Option<&str>,
    ) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let id = self.goids.next_id();
        // SAFETY: `sched` is this runtime's `Shared`, which outlives its tasks'
        // schedulable lifetime (see `shutdown`).
        let (notified, handle) = unsafe { task::new_task(future, sched, id, location, None) };
        let header = notified.cell_ptr();
        let mut owner = lock(&self.remote_owner);
        if self.is_shutdown() {
            // Shutdown began after the caller's check, and its sweep may have
            // passed the remote registry already (it takes this lock first, see
            // `cancel_everything`): registered now, this G would never be
            // cancelled. It is cancelled here instead, never registered.
            drop(owner);
            // The registry's reference is never handed to a registry.
            notified.header().state.ref_dec();
            drop(notified);
            return handle;
        }
        let index = owner.register(&self.remote_registry, header);
        if self.metrics_on() {
            // Under the registry lock, whose holder is the counter's one
            // writer: a plain add on a line the lock already brought here,
            // where a `fetch_add` after the unlock cost 5 % of a remote spawn.
            self.stats.remote_spawned.add(1);
        }
        drop(owner);
        let slot = slot_code(self.capacity(), index);
        self.new_g(&notified, slot, name, trace::NO_P, trace::NO_P, 0);
        self.inject(notified);
        handle
    }

    /// After shutdown: a task that never runs; its handle reports cancellation.
    fn spawn_cancelled<F>(
        &self,
        future: F,
        location: &'static Location<'static>,
    ) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let id = self.goids.next_id();
        let sched = NonNull::from(self);
        // SAFETY: the task is never scheduled: its notified reference is
        // cancelled right here, and it is not registered (`release` finds its
        // slot code out of range and reports no registry reference).
        let (notified, handle) = unsafe { task::new_task(future, sched, id, location, None) };
        // The registry's reference is never handed to a registry: drop it.
        notified.header().state.ref_dec();
        drop(notified);
        handle
    }

    /// Puts a G on the global queue and makes sure an M will look (Go's
    /// `globrunqput` + `wakep`). If the runtime is shut down, the G is released
    /// for shutdown to cancel.
    pub(crate) fn inject(&self, task: Notified) {
        match self.global.push(task) {
            Ok(()) => {
                // The submitter's StoreLoad barrier (module docs).
                fence(SeqCst);
                self.wake_p();
            }
            Err(task) => task.release_closed(),
        }
    }
}

impl Worker {
    /// Go's `newproc` on an M: the new G goes to this P's `runnext`. Gives the
    /// future back if this M holds no P.
    ///
    /// Unlike Go, a spinner is woken only if the push put something in the
    /// ring: a lone `runnext` G is about to run here, and a thief may not take it
    /// before its grace anyway, so waking an M for it costs a futex wake for
    /// nothing (tokio draws the same line at its LIFO slot).
    pub(crate) fn spawn_local<F>(
        &self,
        future: F,
        sched: NonNull<Shared>,
        location: &'static Location<'static>,
        name: Option<&str>,
    ) -> Result<JoinHandle<F::Output>, F>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let Some(mut core) = self.core() else {
            return Err(future);
        };
        let p = self.p.get().expect("core() implies a P");
        let shared = &*self.shared;
        let id = core.goids.next(&shared.goids);
        // SAFETY: `sched` is this runtime's `Shared` (see `Shared::spawn`).
        let (notified, handle) =
            unsafe { task::new_task(future, sched, id, location, Some(&mut core.free)) };
        let index = core
            .registry
            .register(&shared.ps[p].registry, notified.cell_ptr());
        let parent = self.m.cur_g.load(Relaxed);
        shared.new_g(
            &notified,
            slot_code(p, index),
            name,
            p as u32,
            self.m.id as u32,
            parent,
        );
        let pushed = if self.keep_next(true) {
            core.runq.push_next(notified, &shared.global)
        } else {
            core.runq.push_back(notified, &shared.global)
        };
        // Counted inside the P-state access: once it ends, sysmon may hand the
        // P to another M, which then writes these single-writer counters.
        if let Some(stats) = self.stats(p) {
            stats.spawned.add(1);
            stats.count_push(pushed);
        }
        drop(core);
        if pushed != Pushed::Runnext {
            shared.wake_p();
        }
        Ok(handle)
    }
}
