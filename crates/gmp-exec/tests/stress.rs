//! Randomized stress of the whole scheduler: every G is accounted for exactly
//! once across spawn (from a task, from a plain thread, from the runtime's
//! owner), wakes from foreign threads, stealing, abort and shutdown.
//!
//! Each round builds a runtime with 1 to 4 Ps and a random plan: Gs that yield
//! (and get stolen meanwhile), Gs woken again and again by foreign threads
//! (plain, by reference, and doubled wakes from two clones), parents that
//! spawn children on their own P, and Gs that never finish. Some Gs are
//! aborted while they run, park or are about to complete; the ones that never
//! finish are still parked, yielding or being woken on a foreign thread when
//! the runtime is dropped. Then the ledger must balance: every future dropped
//! exactly once, never polled twice at the same time, and every `JoinHandle`
//! holding the output (if the G finished) or a cancellation (if it did not).
//!
//! Bounded by a deadline and a round count, whichever comes first
//! (`GMP_STRESS_SECS`, default 3; `GMP_STRESS_ROUNDS`, default 10 000). The
//! seed is printed; `GMP_STRESS_SEED` replays a plan (the interleaving is the
//! machine's).
#![cfg(not(loom))]

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering::*};
use std::sync::{mpsc, Arc};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use gmp_exec::{AbortHandle, Handle, JoinHandle, Runtime};

/// The most children a parent spawns.
const MAX_CHILDREN: usize = 8;
/// Foreign threads that wake Gs.
const WAKERS: usize = 2;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// xorshift64*: a plan is a function of its seed.
#[derive(Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// What a G does.
#[derive(Clone, Debug)]
enum Plan {
    /// Yields this many times, then finishes.
    Yield(u32),
    /// Waits this many times for a wake from a foreign thread, then finishes.
    Foreign(u32),
    /// Spawns these children on its own P, awaits them all, then finishes.
    Parent(Vec<Plan>),
    /// Never finishes: yields forever (`true`) or waits for foreign wakes
    /// forever (`false`).
    Forever(bool),
}

/// The round's ledger: one slot per G.
struct Ledger {
    polling: Vec<AtomicBool>,
    dropped: Vec<AtomicU32>,
    finished: Vec<AtomicU32>,
    next_child: AtomicU32,
    first_child: u32,
}

impl Ledger {
    fn new(top: usize) -> Arc<Ledger> {
        let slots = top * (1 + MAX_CHILDREN);
        Arc::new(Ledger {
            polling: (0..slots).map(|_| AtomicBool::new(false)).collect(),
            dropped: (0..slots).map(|_| AtomicU32::new(0)).collect(),
            finished: (0..slots).map(|_| AtomicU32::new(0)).collect(),
            next_child: AtomicU32::new(top as u32),
            first_child: top as u32,
        })
    }
}

/// A wake job for a foreign thread.
struct Job {
    waker: Waker,
    fired: Arc<AtomicBool>,
}

/// Everything a G needs to do its plan.
#[derive(Clone)]
struct Ctx {
    ledger: Arc<Ledger>,
    wakers: Vec<mpsc::Sender<Job>>,
}

/// A G's future, wrapped to check it is never polled twice at once and is
/// dropped exactly once.
struct Tracked {
    id: u32,
    ledger: Arc<Ledger>,
    inner: Pin<Box<dyn Future<Output = u32> + Send>>,
}

impl Future for Tracked {
    type Output = u32;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
        let slot = &self.ledger.polling[self.id as usize];
        assert!(
            !slot.swap(true, Acquire),
            "G {} polled twice at once",
            self.id
        );
        let out = self.inner.as_mut().poll(cx);
        self.ledger.polling[self.id as usize].store(false, Release);
        out
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.ledger.dropped[self.id as usize].fetch_add(1, SeqCst);
    }
}

/// Waits for one wake from a foreign thread.
struct ForeignWake {
    to: mpsc::Sender<Job>,
    fired: Option<Arc<AtomicBool>>,
}

impl Future for ForeignWake {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        match &self.fired {
            // Acquire: pairs with the waker thread's Release before its wake.
            Some(fired) if fired.load(Acquire) => Poll::Ready(()),
            Some(_) => Poll::Pending,
            None => {
                let fired = Arc::new(AtomicBool::new(false));
                let job = Job {
                    waker: cx.waker().clone(),
                    fired: fired.clone(),
                };
                self.fired = Some(fired);
                // Once the waker threads are gone (after the runtime), this G
                // just stays parked until shutdown cancels it.
                let _ = self.to.send(job);
                Poll::Pending
            }
        }
    }
}

fn g(ctx: &Ctx, id: u32, plan: Plan) -> Tracked {
    let c = ctx.clone();
    let to = ctx.wakers[id as usize % WAKERS].clone();
    let inner: Pin<Box<dyn Future<Output = u32> + Send>> = Box::pin(async move {
        let wait = || ForeignWake {
            to: to.clone(),
            fired: None,
        };
        match plan {
            Plan::Yield(k) => {
                for _ in 0..k {
                    gmp_exec::yield_now().await;
                }
            }
            Plan::Foreign(k) => {
                for _ in 0..k {
                    wait().await;
                }
            }
            Plan::Parent(children) => {
                let mut handles = Vec::new();
                for plan in children {
                    let child = c.ledger.next_child.fetch_add(1, Relaxed);
                    handles.push((child, gmp_exec::spawn(g(&c, child, plan))));
                }
                for (child, h) in handles {
                    assert_eq!(h.await.expect("a child is never aborted"), child);
                }
            }
            Plan::Forever(true) => loop {
                gmp_exec::yield_now().await;
            },
            Plan::Forever(false) => loop {
                wait().await;
            },
        }
        c.ledger.finished[id as usize].fetch_add(1, SeqCst);
        id
    });
    Tracked {
        id,
        ledger: ctx.ledger.clone(),
        inner,
    }
}

/// A foreign thread: wakes each job it gets, in a shuffled order, in one of
/// three ways. Runs until every sender is gone, so it keeps waking Gs while
/// their runtime shuts down.
fn waker_thread(rx: mpsc::Receiver<Job>, mut rng: Rng, wakes: Arc<AtomicU64>) {
    let mut backlog: Vec<Job> = Vec::new();
    loop {
        let job = if backlog.is_empty() {
            rx.recv().ok()
        } else {
            rx.try_recv().ok()
        };
        let got = job.is_some();
        backlog.extend(job);
        if backlog.is_empty() {
            return;
        }
        // Hold a few back so wakes arrive out of order.
        if got && backlog.len() < 4 && rng.chance(50) {
            continue;
        }
        let i = rng.below(backlog.len() as u64) as usize;
        let job = backlog.swap_remove(i);
        // Release: the G reads `fired` (Acquire) when the wake polls it.
        job.fired.store(true, Release);
        wakes.fetch_add(1, Relaxed);
        match rng.below(3) {
            0 => job.waker.wake(),
            1 => job.waker.wake_by_ref(),
            _ => {
                // Two wakes of one G racing: it must run once per wake at most,
                // never twice at once.
                let twin = job.waker.clone();
                let t = std::thread::spawn(move || twin.wake());
                job.waker.wake();
                t.join().unwrap();
            }
        }
    }
}

#[derive(Default)]
struct Totals {
    rounds: u64,
    gs: u64,
    finished: u64,
    aborted: u64,
    shutdown_cancelled: u64,
    steals: u64,
    foreign_wakes: u64,
}

enum Fate {
    /// Must finish with its id.
    Finishes,
    /// Aborted: finishes or is cancelled, never both.
    Aborted,
    /// Left to the runtime's drop: cancelled.
    Shutdown,
}

fn plan_for(rng: &mut Rng, depth: u32) -> Plan {
    match rng.below(if depth == 0 { 4 } else { 2 }) {
        0 => Plan::Yield(rng.below(5) as u32),
        1 => Plan::Foreign(1 + rng.below(3) as u32),
        2 => Plan::Parent(
            (0..1 + rng.below(MAX_CHILDREN as u64))
                .map(|_| plan_for(rng, depth + 1))
                .collect(),
        ),
        _ => Plan::Yield(rng.below(50) as u32),
    }
}

fn round(seed: u64, totals: &mut Totals) {
    let mut rng = Rng::new(seed);
    let procs = 1 + rng.below(4) as usize;
    let top = 16 + rng.below(112) as usize;
    let ledger = Ledger::new(top);
    let wakes = Arc::new(AtomicU64::new(0));
    let mut senders = Vec::new();
    let mut threads = Vec::new();
    for i in 0..WAKERS {
        let (tx, rx) = mpsc::channel();
        senders.push(tx);
        let (r, w) = (Rng::new(seed ^ ((i as u64 + 1) << 32)), wakes.clone());
        threads.push(std::thread::spawn(move || waker_thread(rx, r, w)));
    }
    let ctx = Ctx {
        ledger: ledger.clone(),
        wakers: senders,
    };
    let rt = Runtime::builder()
        .procs(procs)
        .thread_name("stress")
        .build()
        .unwrap();

    // The plans, fates and where each G is spawned from.
    let mut plans = Vec::new();
    for _ in 0..top {
        let (plan, fate) = match rng.below(10) {
            0 => (Plan::Forever(rng.chance(50)), Fate::Shutdown),
            1 => (Plan::Forever(rng.chance(50)), Fate::Aborted),
            2 => (plan_for(&mut rng, 1), Fate::Aborted),
            _ => (plan_for(&mut rng, 0), Fate::Finishes),
        };
        plans.push((plan, fate, rng.below(3)));
    }

    // Spawn: from this thread, from a plain thread through a `Handle`, and from
    // inside a task; abort some at once and the rest later.
    let mut handles: Vec<Option<JoinHandle<u32>>> = (0..top).map(|_| None).collect();
    let mut aborts: Vec<(usize, AbortHandle)> = Vec::new();
    let (from_thread_tx, from_thread_rx) = mpsc::channel();
    let (from_task_tx, from_task_rx) = mpsc::channel();
    let mut by_thread = Vec::new();
    let mut by_task = Vec::new();
    for (id, (plan, fate, from)) in plans.iter().enumerate() {
        let fut = g(&ctx, id as u32, plan.clone());
        match from {
            0 => {
                let h = rt.spawn(fut);
                if matches!(fate, Fate::Aborted) && rng.chance(30) {
                    h.abort();
                }
                handles[id] = Some(h);
            }
            1 => by_thread.push((id, fut)),
            _ => by_task.push((id, fut)),
        }
    }
    let handle: Handle = rt.handle().clone();
    let spawner = std::thread::spawn(move || {
        for (id, fut) in by_thread {
            from_thread_tx.send((id, handle.spawn(fut))).unwrap();
        }
    });
    rt.spawn(async move {
        for (id, fut) in by_task {
            from_task_tx.send((id, gmp_exec::spawn(fut))).unwrap();
            if id % 4 == 0 {
                gmp_exec::yield_now().await;
            }
        }
    });
    for (id, h) in from_thread_rx.iter().chain(from_task_rx.iter()) {
        handles[id] = Some(h);
    }
    spawner.join().unwrap();
    for (id, (_, fate, _)) in plans.iter().enumerate() {
        if matches!(fate, Fate::Aborted) {
            aborts.push((id, handles[id].as_ref().unwrap().abort_handle()));
        }
    }
    // The later aborts, from another thread while the Gs run.
    let aborter = std::thread::spawn(move || {
        for (_, a) in aborts {
            a.abort();
        }
    });

    // Join everything that finishes or was aborted.
    let mut joined: Vec<Option<Result<u32, gmp_exec::JoinError>>> =
        (0..top).map(|_| None).collect();
    let waited: Vec<(usize, JoinHandle<u32>)> = plans
        .iter()
        .enumerate()
        .filter(|(_, (_, fate, _))| !matches!(fate, Fate::Shutdown))
        .map(|(id, _)| (id, handles[id].take().unwrap()))
        .collect();
    let results = rt.block_on(async move {
        let mut out = Vec::new();
        for (id, h) in waited {
            out.push((id, h.await));
        }
        out
    });
    aborter.join().unwrap();
    for (id, r) in results {
        joined[id] = Some(r);
    }
    totals.steals += rt.metrics().ps.iter().map(|p| p.steals).sum::<u64>();

    // Drop the runtime with the `Shutdown` Gs parked, yielding, or being woken
    // by the foreign threads at this moment.
    drop(rt);
    drop(ctx);
    for t in threads {
        t.join().unwrap();
    }
    for (id, h) in handles.iter_mut().enumerate() {
        if let Some(h) = h.take() {
            joined[id] = Some(futures::executor::block_on(h));
        }
    }

    // The ledger.
    let children = ledger.next_child.load(SeqCst);
    for id in 0..children as usize {
        assert_eq!(
            ledger.dropped[id].load(SeqCst),
            1,
            "seed {seed}: G {id} dropped {} times",
            ledger.dropped[id].load(SeqCst)
        );
        let finished = ledger.finished[id].load(SeqCst);
        assert!(
            finished <= 1,
            "seed {seed}: G {id} finished {finished} times"
        );
        if id >= ledger.first_child as usize {
            // Children are joined by their parents, which check the output.
            assert_eq!(finished, 1, "seed {seed}: child G {id} did not finish");
            continue;
        }
        let result = joined[id].take().expect("every top-level G is joined");
        match (&plans[id].1, result) {
            (Fate::Finishes, Ok(out)) => {
                assert_eq!(out, id as u32);
                assert_eq!(finished, 1, "seed {seed}: G {id}");
            }
            (Fate::Finishes, Err(e)) => panic!("seed {seed}: G {id} should finish: {e}"),
            (Fate::Aborted, Ok(out)) => {
                assert_eq!(out, id as u32);
                assert_eq!(finished, 1, "seed {seed}: G {id}");
            }
            (Fate::Aborted, Err(e)) => {
                assert!(e.is_cancelled(), "seed {seed}: G {id}: {e}");
                assert_eq!(finished, 0, "seed {seed}: G {id} finished yet cancelled");
                totals.aborted += 1;
            }
            (Fate::Shutdown, Err(e)) => {
                assert!(e.is_cancelled(), "seed {seed}: G {id}: {e}");
                assert_eq!(finished, 0, "seed {seed}: G {id} finished yet cancelled");
                totals.shutdown_cancelled += 1;
            }
            (Fate::Shutdown, Ok(_)) => panic!("seed {seed}: G {id} never finishes"),
        }
        totals.finished += u64::from(finished);
    }
    totals.rounds += 1;
    totals.gs += u64::from(children);
    totals.finished += u64::from(children - ledger.first_child);
    totals.foreign_wakes += wakes.load(SeqCst);
}

#[test]
fn every_g_is_accounted_for_once_across_spawn_wake_steal_abort_and_shutdown() {
    let secs = env_or("GMP_STRESS_SECS", 3);
    let rounds = env_or("GMP_STRESS_ROUNDS", 10_000);
    let seed = env_or(
        "GMP_STRESS_SEED",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64,
    );
    println!("GMP_STRESS_SEED={seed}");
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut totals = Totals::default();
    let mut rng = Rng::new(seed);
    while totals.rounds < rounds && Instant::now() < deadline {
        round(rng.next(), &mut totals);
    }
    let Totals {
        rounds,
        gs,
        finished,
        aborted,
        shutdown_cancelled,
        steals,
        foreign_wakes,
    } = totals;
    println!(
        "{rounds} rounds, {gs} Gs: {finished} finished, {aborted} cancelled by abort, \
         {shutdown_cancelled} by shutdown; {foreign_wakes} foreign wakes, {steals} steals"
    );
    assert!(rounds > 0);
}
