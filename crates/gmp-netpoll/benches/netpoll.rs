//! gmp-netpoll's numbers: timer insert+cancel at 1 000 and 1 000 000 pending,
//! `run` per fired timer, timer lateness through a blocking poll, and the poll
//! round trip of a readiness event on a socket pair (beside the bare `polling`
//! crate doing the same system calls).
//!
//! `cargo bench -p gmp-netpoll --bench netpoll` (add `-- --quick` for a short
//! run). Each figure is the median of several repetitions.

use std::hint::black_box;
use std::io::{self, Read, Write};
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use gmp_netpoll::{Direction, Reactor, Registration, TimerEntry, Timers};

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// ns per insert+cancel pair with `pending` other timers in the shard.
/// `earliest`: the new timer goes to the top of the heap (the deepest sift).
fn insert_cancel(pending: usize, earliest: bool, reps: usize, ops: usize) -> f64 {
    let timers = Timers::new(1);
    let base = Instant::now() + Duration::from_secs(1);
    let span = 10 * pending as u64 + 1;
    let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
    let keep: Vec<Arc<TimerEntry>> = (0..pending)
        .map(|_| {
            let e = TimerEntry::new();
            timers.insert(0, &e, base + Duration::from_nanos(1 + rng.next() % span));
            e
        })
        .collect();
    let probe = TimerEntry::new();
    let samples = (0..reps)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..ops {
                let at = if earliest {
                    base
                } else {
                    base + Duration::from_nanos(1 + rng.next() % span)
                };
                black_box(timers.insert(0, &probe, at));
                timers.cancel(&probe);
            }
            start.elapsed().as_nanos() as f64 / ops as f64
        })
        .collect();
    assert_eq!(timers.len(), pending);
    drop(keep);
    median(samples)
}

/// ns per fired timer when `run` fires `n` due timers, each with a waker.
fn run_per_fired(n: usize, reps: usize) -> f64 {
    let timers = Timers::new(1);
    let entries: Vec<_> = (0..n).map(|_| TimerEntry::new()).collect();
    let mut woken = Vec::with_capacity(n);
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let samples = (0..reps)
        .map(|_| {
            let base = Instant::now();
            let mut cx = Context::from_waker(Waker::noop());
            for e in &entries {
                timers.insert(0, e, base + Duration::from_nanos(rng.next() % n as u64));
                assert_eq!(e.poll_fired(&mut cx), Poll::Pending);
            }
            woken.clear();
            let start = Instant::now();
            timers.run(0, base + Duration::from_nanos(n as u64), &mut woken);
            let per = start.elapsed().as_nanos() as f64 / n as f64;
            assert_eq!(woken.len(), n);
            per
        })
        .collect();
    median(samples)
}

/// How late a 1 ms timer fires when the only thread blocks in the poller with
/// the next deadline as its timeout and runs the heap when it wakes:
/// (p50, p99, max) in µs.
fn lateness(samples: usize) -> io::Result<(f64, f64, f64)> {
    let reactor = Reactor::new()?;
    let timers = Timers::new(1);
    let entry = TimerEntry::new();
    let mut woken = Vec::new();
    let mut late = Vec::with_capacity(samples);
    for _ in 0..samples {
        let deadline = Instant::now() + Duration::from_millis(1);
        timers.insert(0, &entry, deadline);
        loop {
            let now = Instant::now();
            timers.run(0, now, &mut woken);
            if entry.is_fired() {
                late.push(now.duration_since(deadline).as_nanos() as f64 / 1e3);
                break;
            }
            let timeout = timers
                .next_deadline()
                .map(|d| d.saturating_duration_since(now));
            reactor.poll(timeout, &mut woken)?;
        }
    }
    late.sort_by(|a, b| a.total_cmp(b));
    let at = |q: f64| late[((late.len() - 1) as f64 * q) as usize];
    Ok((at(0.5), at(0.99), late[late.len() - 1]))
}

/// ns per readiness round trip through the reactor: the peer writes a byte,
/// `poll` delivers the event and the task's waker, the task reads the byte,
/// its next read would block, it clears and waits again.
struct ReactorTrip {
    reactor: Arc<Reactor>,
    // Declared before `a`: dropped first.
    reg: Registration,
    a: UnixStream,
    b: UnixStream,
    woken: Vec<Waker>,
}

impl ReactorTrip {
    fn new() -> io::Result<ReactorTrip> {
        let reactor = Arc::new(Reactor::new()?);
        let (a, b) = UnixStream::pair()?;
        a.set_nonblocking(true)?;
        // SAFETY: `reg` is declared before `a` in `ReactorTrip`, so it is
        // dropped first.
        let reg = unsafe { reactor.register(a.as_fd())? };
        let mut woken = Vec::new();
        // Take the first event (the socket's initial writability).
        reactor.poll(Some(Duration::ZERO), &mut woken)?;
        Ok(ReactorTrip {
            reactor,
            reg,
            a,
            b,
            woken,
        })
    }

    fn run(&mut self, iters: usize) -> io::Result<f64> {
        let (reactor, reg, a, b, woken) = (
            &self.reactor,
            &self.reg,
            &self.a,
            &mut self.b,
            &mut self.woken,
        );
        let mut cx = Context::from_waker(Waker::noop());
        let mut byte = [0u8; 1];
        let start = Instant::now();
        for _ in 0..iters {
            let pending = reg.poll_io(Direction::Read, &mut cx, || (&*a).read(&mut byte));
            assert!(pending.is_pending());
            b.write_all(&[7])?;
            woken.clear();
            reactor.poll(None, woken)?;
            assert_eq!(woken.len(), 1);
            match reg.poll_io(Direction::Read, &mut cx, || (&*a).read(&mut byte)) {
                Poll::Ready(Ok(1)) => {}
                other => panic!("read after the event: {other:?}"),
            }
        }
        Ok(start.elapsed().as_nanos() as f64 / iters as f64)
    }
}

/// The same system calls on the bare `polling` crate: edge-triggered epoll,
/// write, wait, read until `WouldBlock`.
struct BareTrip {
    poller: polling::Poller,
    events: polling::Events,
    a: UnixStream,
    b: UnixStream,
}

impl BareTrip {
    fn new() -> io::Result<BareTrip> {
        use polling::{Event, Events, PollMode, Poller};
        let poller = Poller::new()?;
        let (a, b) = UnixStream::pair()?;
        a.set_nonblocking(true)?;
        // SAFETY: deleted in `Drop`, before `a` is closed.
        unsafe { poller.add_with_mode(&a, Event::all(1), PollMode::Edge)? };
        let mut events = Events::new();
        poller.wait(&mut events, Some(Duration::ZERO))?;
        Ok(BareTrip {
            poller,
            events,
            a,
            b,
        })
    }

    fn run(&mut self, iters: usize) -> io::Result<f64> {
        let mut byte = [0u8; 1];
        let start = Instant::now();
        for _ in 0..iters {
            self.b.write_all(&[7])?;
            self.events.clear();
            self.poller.wait(&mut self.events, None)?;
            assert_eq!(self.events.len(), 1);
            assert_eq!((&self.a).read(&mut byte)?, 1);
            let again = (&self.a).read(&mut byte);
            assert!(matches!(again, Err(ref e) if e.kind() == io::ErrorKind::WouldBlock));
        }
        Ok(start.elapsed().as_nanos() as f64 / iters as f64)
    }
}

impl Drop for BareTrip {
    fn drop(&mut self) {
        let _ = self.poller.delete(&self.a);
    }
}

/// Both round trips, alternating repetitions so that both see the same
/// machine load: (reactor, bare polling) medians in ns.
fn round_trips(iters: usize, reps: usize) -> io::Result<(f64, f64)> {
    let (mut ours, mut bare) = (ReactorTrip::new()?, BareTrip::new()?);
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for _ in 0..reps {
        a.push(ours.run(iters)?);
        b.push(bare.run(iters)?);
    }
    Ok((median(a), median(b)))
}

fn main() -> io::Result<()> {
    let quick = std::env::args().any(|a| a == "--quick");
    let reps = if quick { 3 } else { 11 };
    let scale = if quick { 10 } else { 1 };

    println!("gmp-netpoll (median of {reps} repetitions)");
    for pending in [1_000, 1_000_000] {
        let ops = 200_000 / scale;
        let random = insert_cancel(pending, false, reps, ops);
        let top = insert_cancel(pending, true, reps, ops);
        println!(
            "timer insert+cancel, {pending:>9} pending: {random:7.1} ns/pair (random deadline), {top:7.1} ns/pair (new earliest)"
        );
    }
    for n in [1_000, 100_000] {
        println!(
            "timer run, {n:>9} due:          {:7.1} ns per fired timer",
            run_per_fired(n, reps)
        );
    }
    let (p50, p99, max) = lateness(if quick { 200 } else { 2_000 })?;
    println!("timer lateness, 1 ms sleeps via a blocking poll: p50 {p50:.1} µs, p99 {p99:.1} µs, max {max:.1} µs");
    let iters = 100_000 / scale;
    let (ours, bare) = round_trips(iters, reps)?;
    println!(
        "readiness round trip (unix socket pair): reactor {ours:.0} ns, bare polling {bare:.0} ns (overhead {:.0} ns)",
        ours - bare
    );
    Ok(())
}
