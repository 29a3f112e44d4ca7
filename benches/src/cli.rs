//! What the benchmark binaries share besides the runtimes: their command-line
//! flags and the closed-loop load generator of the socket benchmarks.

use std::str::FromStr;
use std::sync::{Arc, Barrier};
use std::time::Instant;

/// The value of a number flag (`--rounds 7`); panics with the flag's name if
/// it is missing or not a number.
pub fn number(value: Option<String>, flag: &str) -> usize {
    value
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{flag} takes a number"))
}

/// The value of a list flag (`--procs 1,2,4`); panics with the flag's name if
/// it is missing or an item does not parse.
pub fn list<T: FromStr>(value: Option<String>, flag: &str) -> Vec<T> {
    value
        .unwrap_or_else(|| panic!("{flag} takes a comma-separated list"))
        .split(',')
        .map(|item| {
            item.parse()
                .unwrap_or_else(|_| panic!("{flag}: cannot read {item:?}"))
        })
        .collect()
}

/// A closed-loop load generator on blocking std sockets: `conns` split
/// among `threads` plain threads; each thread, `rounds` times, calls `send`
/// on every connection of its share and then `recv` on every one, so one
/// exchange per connection is always in flight. `send` and `recv` get the
/// thread's own state (made by `state`), the round and the connection's
/// index among all of them. Returns exchanges per second, from the moment
/// every thread is released to the end of the last.
pub fn closed_loop<C, S>(
    conns: Vec<C>,
    threads: usize,
    rounds: usize,
    state: impl Fn() -> S,
    send: fn(&mut S, usize, usize, &mut C),
    recv: fn(&mut S, usize, usize, &mut C),
) -> f64
where
    C: Send + 'static,
    S: Send + 'static,
{
    assert!(threads > 0, "a load generator needs a thread");
    let total = conns.len();
    let per_thread = total.div_ceil(threads);
    let mut conns = conns.into_iter();
    let start = Arc::new(Barrier::new(threads + 1));
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let mut group: Vec<C> = conns.by_ref().take(per_thread).collect();
            let mut state = state();
            let start = start.clone();
            std::thread::spawn(move || {
                let first = t * per_thread;
                start.wait();
                for round in 0..rounds {
                    for (c, conn) in group.iter_mut().enumerate() {
                        send(&mut state, round, first + c, conn);
                    }
                    for (c, conn) in group.iter_mut().enumerate() {
                        recv(&mut state, round, first + c, conn);
                    }
                }
            })
        })
        .collect();
    start.wait();
    let began = Instant::now();
    for h in handles {
        h.join().expect("a load generator thread failed");
    }
    (total * rounds) as f64 / began.elapsed().as_secs_f64()
}
