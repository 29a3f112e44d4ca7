//! The promises of a P's run queue, one test each.
#![cfg(not(loom))]

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;

use gmp_core::global::Global;
use gmp_core::runq::{self, Pushed, StealRunnext};
use gmp_core::ConfigError;

type G = Box<u32>;

fn pop_all(local: &mut runq::Local<G>) -> Vec<u32> {
    local.drain().map(|g| *g).collect()
}

#[test]
fn ring_is_fifo() {
    let global = Global::new();
    let (mut local, _) = runq::new::<G>();
    for i in 0..10 {
        assert_eq!(local.push_back(Box::new(i), &global), Pushed::Ring);
    }
    assert_eq!(local.len(), 10);
    assert_eq!(pop_all(&mut local), (0..10).collect::<Vec<_>>());
    assert!(local.is_empty());
}

#[test]
fn runnext_runs_first_and_inherits_time() {
    let global = Global::new();
    let (mut local, _) = runq::new::<G>();
    local.push_back(Box::new(1), &global);
    local.push_next(Box::new(2), &global);
    let (g, inherit) = local.pop().unwrap();
    assert_eq!((*g, inherit), (2, true));
    let (g, inherit) = local.pop().unwrap();
    assert_eq!((*g, inherit), (1, false));
}

#[test]
fn older_runnext_is_kicked_to_the_tail() {
    let global = Global::new();
    let (mut local, _) = runq::new::<G>();
    local.push_back(Box::new(1), &global);
    assert_eq!(local.push_next(Box::new(2), &global), Pushed::Runnext);
    assert_eq!(
        local.push_next(Box::new(3), &global),
        Pushed::Ring,
        "2 was displaced"
    );
    assert_eq!(pop_all(&mut local), vec![3, 1, 2]);
}

#[test]
fn full_ring_spills_half_plus_one_to_global() {
    let global = Global::new();
    let (mut local, _) = runq::with_capacity::<G>(8).unwrap();
    for i in 0..8 {
        assert_eq!(local.push_back(Box::new(i), &global), Pushed::Ring);
    }
    assert!(local.is_full());
    assert_eq!(local.push_back(Box::new(8), &global), Pushed::Overflow(5));
    assert_eq!(global.len(), 5);
    assert_eq!(pop_all(&mut local), vec![4, 5, 6, 7]);
    let spilled: Vec<u32> = global.drain().into_iter().map(|g| *g).collect();
    assert_eq!(spilled, vec![0, 1, 2, 3, 8]);
}

#[test]
fn runnext_overflow_keeps_every_item() {
    let global = Global::new();
    let (mut local, _) = runq::with_capacity::<G>(4).unwrap();
    for i in 0..100 {
        local.push_next(Box::new(i), &global);
    }
    let mut all: Vec<u32> = pop_all(&mut local);
    all.extend(global.drain().into_iter().map(|g| *g));
    all.sort_unstable();
    assert_eq!(all, (0..100).collect::<Vec<_>>());
}

#[test]
fn steal_takes_half_rounded_up() {
    let global = Global::new();
    let (mut victim, stealer) = runq::new::<G>();
    let (mut thief, _) = runq::new::<G>();
    for i in 0..7 {
        victim.push_back(Box::new(i), &global);
    }
    let (g, moved) = stealer.steal_into(&mut thief, StealRunnext::No).unwrap();
    assert_eq!(moved, 4);
    assert_eq!(*g, 3, "the last stolen item is returned");
    assert_eq!(pop_all(&mut thief), vec![0, 1, 2]);
    assert_eq!(pop_all(&mut victim), vec![4, 5, 6]);
}

#[test]
fn runnext_is_only_stolen_on_request_and_when_the_ring_is_empty() {
    let global = Global::new();
    let (mut victim, stealer) = runq::new::<G>();
    let (mut thief, _) = runq::new::<G>();
    victim.push_next(Box::new(9), &global);
    assert!(stealer.steal_into(&mut thief, StealRunnext::No).is_none());
    assert!(!stealer.is_empty());
    // With a ring item present, the ring is stolen, runnext stays.
    victim.push_back(Box::new(1), &global);
    let (g, moved) = stealer
        .steal_into(&mut thief, StealRunnext::AfterGrace)
        .unwrap();
    assert_eq!((*g, moved), (1, 1));
    // Ring empty: after the grace, runnext goes.
    let (g, moved) = stealer
        .steal_into(&mut thief, StealRunnext::AfterGrace)
        .unwrap();
    assert_eq!((*g, moved), (9, 1));
    assert!(victim.pop().is_none());
}

#[test]
fn steal_from_self_or_into_a_full_queue_takes_nothing() {
    let global = Global::new();
    let (mut local, stealer) = runq::with_capacity::<G>(4).unwrap();
    local.push_back(Box::new(1), &global);
    assert!(stealer
        .steal_into(&mut local, StealRunnext::AfterGrace)
        .is_none());
    let (mut full, _) = runq::with_capacity::<G>(2).unwrap();
    full.push_back(Box::new(2), &global);
    full.push_back(Box::new(3), &global);
    assert!(stealer.steal_into(&mut full, StealRunnext::No).is_none());
    assert_eq!(local.len(), 1);
}

#[test]
fn stealer_pop_drains_ring_then_runnext() {
    let global = Global::new();
    let (mut local, stealer) = runq::new::<G>();
    local.push_next(Box::new(5), &global);
    local.push_back(Box::new(6), &global);
    let got: Vec<u32> = std::iter::from_fn(|| stealer.pop()).map(|g| *g).collect();
    assert_eq!(got, vec![6, 5]);
    assert!(local.is_empty());
}

#[test]
fn global_share_follows_go() {
    // min(len/procs + 1, len), capped at half the ring and by `max`.
    let global = Global::new();
    for i in 0..100 {
        global.push(Box::new(i)).unwrap();
    }
    let (mut local, _) = runq::new::<G>();
    let (g, n) = global.grab_into(&mut local, 4, 0).unwrap();
    assert_eq!((*g, n), (0, 26));
    assert_eq!(local.len(), 25);
    let (g, n) = global.grab_into(&mut local, 4, 1).unwrap();
    assert_eq!((*g, n), (26, 1));

    let (mut small, _) = runq::with_capacity::<G>(8).unwrap();
    let (_, n) = global.grab_into(&mut small, 1, 0).unwrap();
    assert_eq!(n, 4, "capped at half the ring");
    assert_eq!(global.len(), 100 - 26 - 1 - 4);
}

#[test]
fn closed_global_hands_items_back() {
    let global = Global::new();
    global.push(Box::new(1u32)).unwrap();
    let drained = global.close();
    assert_eq!(drained.len(), 1);
    assert_eq!(*global.push(Box::new(2)).unwrap_err(), 2);
    let back: Vec<u32> = global
        .push_batch((3..6).map(Box::new))
        .unwrap_err()
        .map(|g| *g)
        .collect();
    assert_eq!(back, vec![3, 4, 5]);
    assert!(global.is_closed());
}

#[test]
fn bad_capacities_are_refused() {
    assert_eq!(
        runq::with_capacity::<G>(100).err(),
        Some(ConfigError::CapacityNotPowerOfTwo(100))
    );
    assert_eq!(
        runq::with_capacity::<G>(0).err(),
        Some(ConfigError::CapacityOutOfRange(0))
    );
    assert_eq!(
        runq::with_capacity::<G>(1).err(),
        Some(ConfigError::CapacityOutOfRange(1))
    );
    let msg = runq::with_capacity::<G>(100).err().unwrap().to_string();
    assert!(msg.contains("power of two"), "{msg}");
}

struct Counted(Arc<AtomicUsize>);
impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

#[test]
fn dropping_queues_drops_their_items() {
    let drops = Arc::new(AtomicUsize::new(0));
    {
        let global = Global::new();
        let (mut local, stealer) = runq::with_capacity::<Box<Counted>>(4).unwrap();
        for _ in 0..7 {
            local.push_back(Box::new(Counted(drops.clone())), &global);
        }
        local.push_next(Box::new(Counted(drops.clone())), &global);
        drop(local);
        assert_eq!(drops.load(SeqCst), 0, "the stealer keeps the ring alive");
        drop(stealer);
        assert_eq!(drops.load(SeqCst), 5, "four in the ring, one in runnext");
        drop(global);
    }
    assert_eq!(drops.load(SeqCst), 8);
}
