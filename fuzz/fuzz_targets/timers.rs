//! Arbitrary sequences of timer operations (insert, move, re-arm, cancel, reset,
//! poll, run at an arbitrary `now`) replayed against a model that keeps each
//! shard's armed entries in a `BTreeSet` ordered by deadline. After every
//! operation the published deadlines and lengths must match the model; every
//! `run` must fire exactly the armed entries of its shard that are due, wake
//! exactly the ones whose task waits, and return the shard's next deadline.
//!
//! `RUSTC_BOOTSTRAP=1 cargo fuzz run timers` (from the repository root).
#![no_main]

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use gmp_netpoll::{TimerEntry, Timers};
use libfuzzer_sys::fuzz_target;

/// Enough entries for heaps three levels deep, where a removal can move an
/// element from one subtree into another.
const ENTRIES: usize = 64;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Idle,
    Armed { shard: usize, when: u64 },
    Fired,
}

struct Counter(AtomicUsize);

impl Wake for Counter {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

struct Slot {
    entry: Arc<TimerEntry>,
    waker: Waker,
    counter: Arc<Counter>,
    state: State,
    /// A task's waker is recorded and not yet handed out by a `run`.
    waiting: bool,
    /// Wakes expected so far.
    wakes: usize,
}

struct Harness {
    timers: Timers,
    base: Instant,
    shards: Vec<BTreeSet<(u64, usize)>>,
    slots: Vec<Slot>,
}

impl Harness {
    fn new(shards: usize) -> Harness {
        let timers = Timers::new(shards);
        // Every deadline and `now` is at or after `base`, which is at or after
        // the timers' epoch, so conversions are exact.
        let base = Instant::now();
        let slots = (0..ENTRIES)
            .map(|_| {
                let counter = Arc::new(Counter(AtomicUsize::new(0)));
                Slot {
                    entry: TimerEntry::new(),
                    waker: Waker::from(counter.clone()),
                    counter,
                    state: State::Idle,
                    waiting: false,
                    wakes: 0,
                }
            })
            .collect();
        Harness {
            timers,
            base,
            shards: vec![BTreeSet::new(); shards],
            slots,
        }
    }

    fn at(&self, ns: u64) -> Instant {
        self.base + Duration::from_nanos(ns)
    }

    fn model_min(&self, shard: usize) -> Option<u64> {
        self.shards[shard].first().map(|&(when, _)| when)
    }

    fn disarm_model(&mut self, id: usize) {
        if let State::Armed { shard, when } = self.slots[id].state {
            assert!(self.shards[shard].remove(&(when, id)));
        }
    }

    fn insert(&mut self, id: usize, shard: usize, when: u64) {
        let before = self.model_min(shard);
        let got = self.timers.insert(shard, &self.slots[id].entry, self.at(when));
        self.disarm_model(id);
        self.shards[shard].insert((when, id));
        self.slots[id].state = State::Armed { shard, when };
        let after = self.model_min(shard);
        let want = match before {
            None => true,
            Some(b) => after.unwrap() < b,
        };
        assert_eq!(got, want, "insert({id}, {shard}, {when}) earliest?");
    }

    fn cancel(&mut self, id: usize) {
        self.timers.cancel(&self.slots[id].entry);
        if let State::Armed { .. } = self.slots[id].state {
            self.disarm_model(id);
            self.slots[id].state = State::Idle;
        }
    }

    fn reset(&mut self, id: usize) {
        self.slots[id].entry.reset();
        if self.slots[id].state == State::Fired {
            self.slots[id].state = State::Idle;
        }
    }

    fn poll(&mut self, id: usize) {
        let slot = &mut self.slots[id];
        let got = slot.entry.poll_fired(&mut Context::from_waker(&slot.waker));
        if slot.state == State::Fired {
            assert_eq!(got, Poll::Ready(()), "entry {id} fired");
        } else {
            assert_eq!(got, Poll::Pending, "entry {id} not fired");
            slot.waiting = true;
        }
    }

    fn run(&mut self, shard: usize, now: u64) {
        let mut woken = Vec::new();
        let next = self.timers.run(shard, self.at(now), &mut woken);
        let due: Vec<(u64, usize)> = self.shards[shard]
            .iter()
            .take_while(|&&(when, _)| when <= now)
            .copied()
            .collect();
        let mut expect_woken = 0;
        for &(when, id) in &due {
            assert!(when <= now);
            self.shards[shard].remove(&(when, id));
            let slot = &mut self.slots[id];
            slot.state = State::Fired;
            if slot.waiting {
                slot.waiting = false;
                slot.wakes += 1;
                expect_woken += 1;
            }
        }
        assert_eq!(woken.len(), expect_woken, "wakers handed back by run");
        for w in woken {
            w.wake();
        }
        assert_eq!(next, self.model_min(shard).map(|w| self.at(w)), "run's next deadline");
    }

    fn check(&self) {
        let mut len = 0;
        let mut global: Option<u64> = None;
        for shard in 0..self.shards.len() {
            let min = self.model_min(shard);
            assert_eq!(
                self.timers.next_deadline_of(shard),
                min.map(|w| self.at(w)),
                "shard {shard}'s published deadline"
            );
            len += self.shards[shard].len();
            global = match (global, min) {
                (Some(g), Some(m)) => Some(g.min(m)),
                (g, m) => g.or(m),
            };
        }
        assert_eq!(self.timers.len(), len);
        assert_eq!(self.timers.next_deadline(), global.map(|w| self.at(w)));
        for (id, slot) in self.slots.iter().enumerate() {
            assert_eq!(slot.entry.is_fired(), slot.state == State::Fired, "entry {id}");
            assert_eq!(slot.counter.0.load(Ordering::Relaxed), slot.wakes, "wakes of {id}");
            let heap_refs = usize::from(matches!(slot.state, State::Armed { .. }));
            assert_eq!(Arc::strong_count(&slot.entry), 1 + heap_refs, "references to {id}");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, ops)) = data.split_first() else {
        return;
    };
    let mut h = Harness::new(1 + usize::from(first % 4));
    let shards = h.shards.len();
    for op in ops.chunks_exact(5) {
        let id = usize::from(op[1]) % ENTRIES;
        let shard = usize::from(op[2]) % shards;
        // Deadlines cluster on a few hundred values so that ties and "due
        // exactly now" come up often.
        let t = u64::from(u16::from_le_bytes([op[3], op[4]])) % 512;
        match op[0] % 6 {
            0 | 1 => h.insert(id, shard, t),
            2 => h.cancel(id),
            3 => h.run(shard, t),
            4 => h.poll(id),
            _ => h.reset(id),
        }
        h.check();
    }
});
