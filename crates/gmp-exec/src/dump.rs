//! Task dumps: every live G with its id, name, state, spawn site, and for a
//! running G the M it runs on and for how long — Go's goroutine dump, on stable
//! Rust and without stopping the runtime.
//!
//! A dump reads the live-task registries and each task's header. A task is
//! alive while it is registered (the registry holds a reference), and it leaves
//! the registry only when it completes, on the M that completed it. So the dump
//! closes a gate first: it sets `dumping`, runs the heavy side of the asymmetric
//! barrier (`sched/barrier.rs`), and waits until no M is inside a release; from
//! then until the dump reopens the gate, an M that completes a G waits before
//! taking it out of the registry, and every registered task stays alive. The
//! completing M pays two stores, a compiler barrier and a load for this, and
//! waits only while a dump runs (a millisecond for ten thousand Gs). Shutdown's
//! sweep, the only other place tasks leave registries, holds the dump lock.

use std::fmt;
use std::panic::Location;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::time::Duration;

use crate::sched::barrier;
use crate::sched::Shared;
use crate::sync::lock;
use crate::task::{Header, Id};

/// What a G is doing, as a dump sees it (Go's `_Grunnable`, `_Grunning`,
/// `_Gsyscall`, `_Gwaiting`).
///
/// ```
/// use gmp_exec::TaskState;
/// let rt = gmp_exec::Runtime::builder().procs(1).build().unwrap();
/// let h = rt.spawn(std::future::pending::<()>());
/// let state = loop {
///     let dump = rt.handle().dump();
///     let s = dump.tasks.iter().find(|t| t.id == h.id()).unwrap().state;
///     if s == TaskState::Waiting { break s; } // polled once, now parked
///     std::thread::yield_now();
/// };
/// assert_eq!(state.to_string(), "waiting");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TaskState {
    /// Queued, or woken and about to be queued.
    Runnable,
    /// Being polled by an M.
    Running,
    /// Being polled by an M that is inside `gmp::syscall`.
    Syscall,
    /// Parked on its wakers.
    Waiting,
}

impl fmt::Display for TaskState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TaskState::Runnable => "runnable",
            TaskState::Running => "running",
            TaskState::Syscall => "syscall",
            TaskState::Waiting => "waiting",
        })
    }
}

/// One G in a [`Dump`].
///
/// ```
/// let rt = gmp_exec::Runtime::builder().procs(1).build().unwrap();
/// let h = gmp_exec::task::Builder::new()
///     .name("idle")
///     .spawn_on(std::future::pending::<()>(), rt.handle())
///     .unwrap();
/// let dump = rt.handle().dump();
/// let g: &gmp_exec::TaskDump = dump.tasks.iter().find(|t| t.id == h.id()).unwrap();
/// assert_eq!(g.name.as_deref(), Some("idle"));
/// assert_eq!(g.running_on, None); // a pending G does not hold an M
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TaskDump {
    /// The G's id.
    pub id: Id,
    /// Its name, if it was spawned with one.
    pub name: Option<String>,
    /// What it is doing.
    pub state: TaskState,
    /// Where it was spawned.
    pub spawned_at: &'static Location<'static>,
    /// The M running it, if it is running.
    pub running_on: Option<usize>,
    /// How long its current poll has run (to within one sysmon look).
    pub running_for: Option<Duration>,
    /// What it waits on, where the runtime knows: one of gmp's own timers,
    /// sockets or `JoinHandle`s (a future from another crate is opaque).
    pub waiting_on: Option<String>,
    /// How long it has waited on that (to within a few milliseconds).
    pub waiting_for: Option<Duration>,
}

/// Every live G of a runtime at one moment ([`Handle::dump`](crate::Handle::dump)).
///
/// ```
/// let rt = gmp_exec::Runtime::builder().procs(1).build().unwrap();
/// let (_tx, rx) = futures::channel::oneshot::channel::<()>();
/// let h = rt.spawn(async move { let _ = rx.await; });
/// let dump = rt.handle().dump();
/// assert!(dump.tasks.iter().any(|t| t.id == h.id()));
/// println!("{dump}");
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Dump {
    /// The Gs, by id.
    pub tasks: Vec<TaskDump>,
}

impl fmt::Display for Dump {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} live Gs", self.tasks.len())?;
        for t in &self.tasks {
            write!(f, "G {}", t.id)?;
            if let Some(name) = &t.name {
                write!(f, " {name:?}")?;
            }
            write!(f, " [{}", t.state)?;
            if let Some(m) = t.running_on {
                write!(f, " on M {m}")?;
            }
            if let Some(d) = t.running_for {
                write!(f, " for {d:?}")?;
            }
            if let Some(w) = &t.waiting_on {
                write!(f, ", waiting on {w}")?;
                if let Some(d) = t.waiting_for {
                    write!(f, " for {d:?}")?;
                }
            }
            writeln!(f, "] spawned at {}", t.spawned_at)?;
        }
        Ok(())
    }
}

impl Shared {
    pub(crate) fn dump(&self) -> Dump {
        let _held = lock(&self.dump_lock);
        self.dumping.store(true, Relaxed);
        barrier::heavy_or_fence();
        let (_, _, ms) = self.ms_snapshot();
        for m in &ms {
            // Acquire: pairs with the Release that ends a release, so the
            // registry changes it made are visible before we walk.
            while m.in_release.load(Acquire) {
                std::hint::spin_loop();
            }
        }
        let now_ns = self.started.elapsed().as_nanos() as u64;
        let names = lock(&self.names).clone();
        let now_ms = crate::task::wait::coarse_ms();
        let mut tasks = Vec::new();
        let mut visit = |h: &Header| {
            let s = h.state.load();
            let running_m = ms.iter().find(|m| m.cur_g.load(Relaxed) == h.id);
            // A yielded coroutine keeps RUNNING while it waits for its M.
            let yielded = h.wait.load(Relaxed) == crate::task::wait::YIELDED;
            let state = if s.is_running() && yielded && running_m.is_none() {
                TaskState::Runnable
            } else if s.is_running() {
                match running_m {
                    Some(m) if m.in_syscall.load(Relaxed) => TaskState::Syscall,
                    _ => TaskState::Running,
                }
            } else if s.is_notified() {
                TaskState::Runnable
            } else {
                TaskState::Waiting
            };
            let running_for = running_m
                .filter(|_| s.is_running())
                .map(|m| Duration::from_nanos(now_ns.saturating_sub(m.poll_seen_ns.load(Relaxed))));
            let wait = (state == TaskState::Waiting)
                .then(|| crate::task::wait::decode(h.wait.load(Relaxed), now_ms))
                .flatten();
            tasks.push(TaskDump {
                id: h.task_id(),
                name: names.get(&h.id).map(|n| n.to_string()),
                state,
                spawned_at: h.location,
                running_on: running_m.filter(|_| s.is_running()).map(|m| m.id),
                running_for,
                waiting_on: wait.map(|(w, _)| w.to_string()),
                waiting_for: wait.map(|(_, d)| d),
            });
        };
        for p in self.ps.iter() {
            // SAFETY: the gate is closed (above): no G leaves a registry until
            // `dumping` is cleared below.
            unsafe { p.registry.for_each(&mut visit) };
        }
        // SAFETY: as above.
        unsafe { self.remote_registry().for_each(&mut visit) };
        // Release: what we read happens before any M goes on releasing.
        self.dumping.store(false, Release);
        tasks.sort_by_key(|t| t.id);
        Dump { tasks }
    }
}
