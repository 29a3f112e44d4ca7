//! gmp-coro's costs, printed as a table: stack allocation pooled and fresh,
//! the resume + suspend round trip (with raw corosensei on the same stack as the
//! floor), spawning a coroutine, and the memory of a million parked coroutines.
//!
//! `cargo bench -p gmp-coro --bench coro [alloc|round_trip|spawn|parked]` (set
//! `GMP_CORO_BENCH_PARKED` to change the number of parked coroutines from
//! 1 000 000).

use std::hint::black_box;
use std::ptr;
use std::time::{Duration, Instant};

use gmp_coro::stack::{page_size, Stack};
use gmp_coro::{suspend, Coroutine, Resumed, DEFAULT_STACK_SIZE};

fn per_op(total: Duration, n: usize) -> f64 {
    total.as_nanos() as f64 / n as f64
}

fn row(what: &str, value: f64, unit: &str) {
    println!("{what:<62} {value:>10.1} {unit}");
}

fn rss_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: usize = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * page_size()
}

/// The kernel memory holding this process's page tables (`VmPTE`), which RSS
/// does not count.
fn page_table_bytes() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmPTE:")).unwrap();
    let kib: usize = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib * 1024
}

/// Best of `rounds` timings of `f`, which performs `n` operations.
fn best(rounds: usize, n: usize, mut f: impl FnMut()) -> f64 {
    (0..rounds)
        .map(|_| {
            let t = Instant::now();
            f();
            per_op(t.elapsed(), n)
        })
        .fold(f64::INFINITY, f64::min)
}

fn stack_alloc() {
    const N: usize = 1_000_000;
    // Warm the pool and this thread's cache.
    drop(Stack::new(DEFAULT_STACK_SIZE).unwrap());
    let pooled = best(5, N, || {
        for _ in 0..N {
            black_box(Stack::new(DEFAULT_STACK_SIZE).unwrap());
        }
    });
    row("stack alloc, pooled (get + put, 64 KiB)", pooled, "ns");

    // Fresh: a size nobody used, so every get carves a new stack from a slab
    // (mapping the slab and installing its guards, amortised).
    const FRESH: usize = 100_000;
    let size = DEFAULT_STACK_SIZE + page_size();
    let mut keep = Vec::with_capacity(FRESH);
    let t = Instant::now();
    for _ in 0..FRESH {
        keep.push(Stack::new(size).unwrap());
    }
    let carve = per_op(t.elapsed(), FRESH);
    row(
        "stack alloc, fresh from a slab (mmap + guards amortised)",
        carve,
        "ns",
    );
    // Fresh stacks also pay a page fault when the coroutine first touches them.
    let t = Instant::now();
    for s in &keep {
        // SAFETY: the word just below the top is usable stack we own.
        unsafe { ((s.top() - 8) as *mut u64).write_volatile(1) };
    }
    row(
        "  + first touch of a fresh stack's top page",
        per_op(t.elapsed(), FRESH),
        "ns",
    );
    drop(keep);

    // The unpooled way: one mmap + guard page + munmap per stack (what a
    // stack-per-coroutine allocator such as corosensei's DefaultStack does).
    const SOLO: usize = 20_000;
    let page = page_size();
    let len = DEFAULT_STACK_SIZE + page;
    let solo = best(3, SOLO, || {
        for _ in 0..SOLO {
            // SAFETY: a fresh private mapping, given its guard and unmapped
            // again; nothing else touches it.
            unsafe {
                let p = libc::mmap(
                    ptr::null_mut(),
                    len,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                    -1,
                    0,
                );
                assert_ne!(p, libc::MAP_FAILED);
                assert_eq!(libc::mprotect(p, page, libc::PROT_NONE), 0);
                black_box(p);
                libc::munmap(p, len);
            }
        }
    });
    row(
        "stack alloc, one mmap + mprotect guard + munmap each",
        solo,
        "ns",
    );
}

fn round_trip() {
    const N: usize = 10_000_000;
    let mut co = Coroutine::new(DEFAULT_STACK_SIZE, || loop {
        suspend();
    })
    .unwrap();
    let ours = best(3, N, || {
        for _ in 0..N {
            let r = co.resume();
            debug_assert!(r.is_suspended());
            black_box(&r);
        }
    });
    row(
        "resume + suspend round trip, gmp_coro::Coroutine",
        ours,
        "ns",
    );

    // The floor: corosensei alone, on the same kind of stack.
    let mut raw = corosensei::Coroutine::with_stack(
        Stack::new(DEFAULT_STACK_SIZE).unwrap(),
        |y: &corosensei::Yielder<(), ()>, ()| loop {
            y.suspend(());
        },
    );
    let floor = best(3, N, || {
        for _ in 0..N {
            black_box(raw.resume(()));
        }
    });
    row(
        "resume + suspend round trip, raw corosensei (floor)",
        floor,
        "ns",
    );
}

fn spawn() {
    const N: usize = 1_000_000;
    let cost = best(3, N, || {
        for i in 0..N {
            let mut co = Coroutine::new(DEFAULT_STACK_SIZE, move || black_box(i)).unwrap();
            match co.resume() {
                Resumed::Finished(v) => {
                    black_box(v);
                }
                _ => unreachable!(),
            }
        }
    });
    row(
        "spawn: Coroutine::new + run to the end (pooled stack)",
        cost,
        "ns",
    );
}

fn parked() {
    let n: usize = std::env::var("GMP_CORO_BENCH_PARKED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    parked_n(n);
}

fn parked_n(n: usize) {
    let mut cos = Vec::with_capacity(n);
    let rss0 = rss_bytes();
    let pte0 = page_table_bytes();
    let t = Instant::now();
    for i in 0..n {
        let mut co = Coroutine::new(DEFAULT_STACK_SIZE, move || {
            let mut local = [i as u8; 256];
            black_box(&mut local);
            suspend();
            local[0]
        })
        .unwrap();
        assert!(co.resume().is_suspended());
        cos.push(co);
    }
    let create = per_op(t.elapsed(), n);
    let per = (rss_bytes() - rss0) as f64 / n as f64;
    let pte = (page_table_bytes() - pte0) as f64 / n as f64;
    row(
        &format!("parked coroutines: {n}, created + first resume"),
        create,
        "ns each",
    );
    row(
        "RSS per parked coroutine (stack pages + handle)",
        per,
        "bytes",
    );
    row(
        "  + page tables per parked coroutine (VmPTE, not in RSS)",
        pte,
        "bytes",
    );
    let t = Instant::now();
    drop(cos); // unwinds every stack and gives it back to the pool
    row(
        "drop a parked coroutine (forced unwind + back to pool)",
        per_op(t.elapsed(), n),
        "ns",
    );
}

fn main() {
    // `cargo bench` passes `--bench`; without it (`cargo test --benches`) run
    // one small section as a smoke test.
    if !std::env::args().any(|a| a == "--bench") {
        parked_n(1000);
        return;
    }
    // Any other argument that is not a flag picks sections by name.
    let picks: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let sections: [(&str, fn()); 4] = [
        ("alloc", stack_alloc),
        ("round_trip", round_trip),
        ("spawn", spawn),
        ("parked", parked),
    ];
    println!("gmp-coro benchmark (best of several rounds, one thread)");
    for (name, run) in sections {
        if picks.is_empty() || picks.iter().any(|p| name.contains(p.as_str())) {
            run();
        }
    }
}
