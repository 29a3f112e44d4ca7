//! Loom models of the run queue: every interleaving (up to the preemption bound)
//! of an owner and its thieves, checking that each G comes out exactly once.
//!
//! Run with `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test -p gmp-core
//! --release --test loom_runq` (CI does; bound 3 on demand).
#![cfg(loom)]

use std::ptr::NonNull;

use gmp_core::global::Global;
use gmp_core::runq::{self, Local, StealRunnext};
use gmp_core::Item;
use loom::sync::Arc;
use loom::thread;

/// A G that is just its id: no allocation, so a G handed out twice shows up as a
/// count of two instead of a double free.
#[derive(Debug)]
struct G(usize);

// SAFETY: the token is the id plus one, never null; `from_raw` inverts it. A
// `G` owns nothing, so duplicating a token (the bug these models hunt) cannot
// cause undefined behaviour, only a wrong count.
unsafe impl Item for G {
    fn into_raw(self) -> NonNull<()> {
        NonNull::new((self.0 + 1) as *mut ()).unwrap()
    }
    unsafe fn from_raw(ptr: NonNull<()>) -> Self {
        G(ptr.as_ptr() as usize - 1)
    }
}

impl std::ops::Deref for G {
    type Target = usize;
    fn deref(&self) -> &usize {
        &self.0
    }
}

/// Records the ids in `items`, checking that none is out of range.
fn tally(seen: &mut [u32], items: impl IntoIterator<Item = G>) {
    for g in items {
        assert!(*g < seen.len(), "torn or foreign item {}", *g);
        seen[*g] += 1;
    }
}

fn assert_once(seen: &[u32]) {
    for (id, n) in seen.iter().enumerate() {
        assert_eq!(*n, 1, "G {id} seen {n} times");
    }
}

fn drain_local(local: &mut Local<G>) -> Vec<G> {
    local.drain().collect()
}

/// A thief steals into its own queue; returns everything it got.
fn thief(victim: runq::Stealer<G>, runnext: StealRunnext) -> Vec<G> {
    let (mut mine, _) = runq::with_capacity::<G>(4).unwrap();
    let mut got = Vec::new();
    if let Some((g, moved)) = victim.steal_into(&mut mine, runnext) {
        assert!(moved >= 1);
        got.push(g);
    }
    got.extend(drain_local(&mut mine));
    got
}

#[test]
fn owner_push_pop_racing_two_thieves() {
    loom::model(|| {
        let global = Arc::new(Global::new());
        let (mut local, stealer) = runq::with_capacity::<G>(4).unwrap();
        for id in 0..2 {
            local.push_back(G(id), &global);
        }
        let t1 = {
            let s = stealer.clone();
            thread::spawn(move || thief(s, StealRunnext::No))
        };
        let t2 = thread::spawn(move || thief(stealer, StealRunnext::No));

        let mut got = Vec::new();
        local.push_back(G(2), &global);
        if let Some((g, _)) = local.pop() {
            got.push(g);
        }
        let mut seen = vec![0; 3];
        tally(&mut seen, t1.join().unwrap());
        tally(&mut seen, t2.join().unwrap());
        tally(&mut seen, got);
        tally(&mut seen, drain_local(&mut local));
        tally(&mut seen, global.drain());
        assert_once(&seen);
    });
}

#[test]
fn overflow_to_global_racing_a_steal() {
    loom::model(|| {
        let global = Arc::new(Global::new());
        let (mut local, stealer) = runq::with_capacity::<G>(2).unwrap();
        local.push_back(G(0), &global);
        local.push_back(G(1), &global);
        let t = thread::spawn(move || thief(stealer, StealRunnext::No));
        // The ring is full: this push spills (or, if the thief won, fits).
        local.push_back(G(2), &global);
        let mut seen = vec![0; 3];
        tally(&mut seen, t.join().unwrap());
        tally(&mut seen, drain_local(&mut local));
        tally(&mut seen, global.drain());
        assert_once(&seen);
    });
}

#[test]
fn runnext_stealing_racing_the_owner() {
    loom::model(|| {
        let global = Arc::new(Global::new());
        let (mut local, stealer) = runq::with_capacity::<G>(2).unwrap();
        local.push_next(G(0), &global);
        let t = thread::spawn(move || thief(stealer, StealRunnext::AfterGrace));
        // The owner replaces runnext (kicking the old one to the ring), then runs
        // whatever is next.
        local.push_next(G(1), &global);
        let mut got = Vec::new();
        if let Some((g, _)) = local.pop() {
            got.push(g);
        }
        let mut seen = vec![0; 2];
        tally(&mut seen, t.join().unwrap());
        tally(&mut seen, got);
        tally(&mut seen, drain_local(&mut local));
        tally(&mut seen, global.drain());
        assert_once(&seen);
    });
}

/// `push_next` onto an empty `runnext` is a plain store (only the owner makes it
/// non-null): two thieves that take `runnext` race the owner refilling it after
/// the first one emptied it.
#[test]
fn runnext_refilled_by_store_racing_two_thieves() {
    loom::model(|| {
        let global = Arc::new(Global::new());
        let (mut local, stealer) = runq::with_capacity::<G>(2).unwrap();
        local.push_next(G(0), &global);
        let t1 = {
            let s = stealer.clone();
            thread::spawn(move || thief(s, StealRunnext::AfterGrace))
        };
        let t2 = thread::spawn(move || thief(stealer, StealRunnext::AfterGrace));
        // Empty or not, depending on the thieves: the store path or the swap.
        local.push_next(G(1), &global);
        let mut seen = vec![0; 2];
        tally(&mut seen, t1.join().unwrap());
        tally(&mut seen, t2.join().unwrap());
        tally(&mut seen, drain_local(&mut local));
        tally(&mut seen, global.drain());
        assert_once(&seen);
    });
}

#[test]
fn global_share_racing_a_push() {
    loom::model(|| {
        let global = Arc::new(Global::new());
        for id in 0..2 {
            global.push(G(id)).unwrap();
        }
        let g2 = global.clone();
        let t = thread::spawn(move || {
            g2.push(G(2)).unwrap();
        });
        let (mut local, _) = runq::with_capacity::<G>(4).unwrap();
        let mut got = Vec::new();
        if let Some((g, _)) = global.grab_into(&mut local, 2, 0) {
            got.push(g);
        }
        t.join().unwrap();
        let mut seen = vec![0; 3];
        tally(&mut seen, got);
        tally(&mut seen, drain_local(&mut local));
        tally(&mut seen, global.drain());
        assert_once(&seen);
    });
}
