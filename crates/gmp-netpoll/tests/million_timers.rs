//! A million pending timers: inserted across shards, then cancelled; every heap
//! reference is released (each entry's count drops back to the test's own).

use std::sync::Arc;
use std::time::{Duration, Instant};

use gmp_netpoll::{TimerEntry, Timers};

#[test]
fn a_million_timers_insert_then_cancel_release_everything() {
    const N: usize = 1_000_000;
    const SHARDS: usize = 4;
    let timers = Timers::new(SHARDS);
    let base = Instant::now() + Duration::from_secs(60);
    let entries: Vec<Arc<TimerEntry>> = (0..N).map(|_| TimerEntry::new()).collect();
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    for (i, e) in entries.iter().enumerate() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        timers.insert(
            i % SHARDS,
            e,
            base + Duration::from_nanos(x % 1_000_000_000),
        );
    }
    assert_eq!(timers.len(), N);
    assert!(entries.iter().all(|e| Arc::strong_count(e) == 2));

    // Cancel in a different order than insertion, so removals hit the middle
    // of the heaps, not just the ends.
    for i in (0..N).step_by(2).chain((1..N).step_by(2)) {
        timers.cancel(&entries[i]);
    }
    assert_eq!(timers.len(), 0);
    assert!(timers.is_empty());
    assert_eq!(timers.next_deadline(), None);
    let held = entries.iter().filter(|e| Arc::strong_count(e) != 1).count();
    assert_eq!(held, 0, "entries still referenced by a heap");
}
