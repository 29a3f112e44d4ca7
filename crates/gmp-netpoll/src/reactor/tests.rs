//! The reactor in both of its modes. The integration tests exercise the mode the
//! OS picks (edge-triggered here); these run the same scenarios on a reactor
//! forced into oneshot mode with re-arming, which other platforms use.

use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use super::{Reactor, Registration};
use crate::Direction;

const ZERO: Option<Duration> = Some(Duration::ZERO);

fn modes() -> [Arc<Reactor>; 2] {
    [
        Arc::new(Reactor::new().unwrap()),
        Arc::new(Reactor::new_oneshot().unwrap()),
    ]
}

fn pair() -> (UnixStream, UnixStream) {
    let (a, b) = UnixStream::pair().unwrap();
    a.set_nonblocking(true).unwrap();
    (a, b)
}

fn register(reactor: &Arc<Reactor>, a: &UnixStream) -> Registration {
    // SAFETY: every test drops the registration before the socket.
    unsafe { reactor.register(a.as_fd()) }.unwrap()
}

fn poll(reg: &Registration, dir: Direction) -> Poll<()> {
    let mut cx = Context::from_waker(Waker::noop());
    reg.poll_ready(dir, &mut cx).map(|r| {
        r.unwrap();
    })
}

#[test]
fn oneshot_is_selected_only_on_request() {
    let [edge, oneshot] = modes();
    assert!(edge.edge, "epoll supports edge-triggered polling");
    assert!(!oneshot.edge);
}

#[test]
fn a_reader_waiting_beside_a_writer_is_woken_in_both_modes() {
    for reactor in modes() {
        let (a, mut b) = pair();
        let reg = register(&reactor, &a);
        let mut woken = Vec::new();
        // Both directions wait; the socket is writable at once, not readable.
        assert!(poll(&reg, Direction::Read).is_pending());
        assert!(poll(&reg, Direction::Write).is_pending());
        reactor.poll(ZERO, &mut woken).unwrap();
        assert_eq!(woken.len(), 1, "edge: {}", reactor.edge);
        assert!(poll(&reg, Direction::Write).is_ready());
        assert_eq!(reactor.waiters(), 1);

        // In oneshot mode the writability event disarmed the source: only the
        // re-arm for the remaining reader lets this event through.
        b.write_all(b"x").unwrap();
        woken.clear();
        reactor
            .poll(Some(Duration::from_secs(30)), &mut woken)
            .unwrap();
        assert_eq!(woken.len(), 1, "edge: {}", reactor.edge);
        assert!(poll(&reg, Direction::Read).is_ready());
        assert_eq!(reactor.waiters(), 0);
        drop(reg);
    }
}

#[test]
fn a_cleared_direction_is_re_armed_when_a_task_waits_again() {
    for reactor in modes() {
        let (a, mut b) = pair();
        let reg = register(&reactor, &a);
        let waker = Waker::noop();
        let mut cx = Context::from_waker(waker);
        let mut buf = [0u8; 8];
        for round in 0..3u8 {
            b.write_all(&[round]).unwrap();
            let mut woken = Vec::new();
            let mut got = None;
            while got.is_none() {
                match reg.poll_io(Direction::Read, &mut cx, || (&a).read(&mut buf)) {
                    Poll::Ready(n) => got = Some(n.unwrap()),
                    Poll::Pending => {
                        reactor
                            .poll(Some(Duration::from_secs(30)), &mut woken)
                            .unwrap();
                    }
                }
            }
            assert_eq!(got, Some(1));
            assert_eq!(buf[0], round);
            // Drained: the next read clears and waits (and in oneshot mode
            // re-arms the read interest).
            let next = reg.poll_io(Direction::Read, &mut cx, || (&a).read(&mut buf));
            assert!(next.is_pending());
        }
        drop(reg);
    }
}

#[test]
fn an_event_for_a_dropped_registration_reaches_nobody() {
    // The key of a dropped registration is retired: a new registration in the
    // same slot has a new generation, so events keyed for the old one miss.
    let reactor = Arc::new(Reactor::new().unwrap());
    let (a, _b) = pair();
    let old = register(&reactor, &a);
    let old_key = old.source.key;
    drop(old);
    let (c, _d) = pair();
    let new = register(&reactor, &c);
    assert_ne!(new.source.key, old_key);
    assert_eq!(
        new.source.key & 0xffff,
        old_key & 0xffff,
        "the slot is reused"
    );
    assert!(super::lock(&reactor.sources).get(old_key).is_none());
    drop(new);
}

#[test]
fn try_ready_peeks_without_displacing_the_waiting_task() {
    for reactor in modes() {
        let (a, mut b) = pair();
        let reg = register(&reactor, &a);
        assert!(
            reg.try_ready(Direction::Read).is_none(),
            "a new source is not ready"
        );
        // A task waits for reading; peeking must not take its place.
        assert!(poll(&reg, Direction::Read).is_pending());
        assert!(reg.try_ready(Direction::Read).is_none());
        b.write_all(b"x").unwrap();
        let mut woken = Vec::new();
        while woken.is_empty() {
            reactor
                .poll(Some(Duration::from_secs(30)), &mut woken)
                .unwrap();
        }
        assert_eq!(woken.len(), 1, "edge: {}", reactor.edge);
        let ready = reg
            .try_ready(Direction::Read)
            .expect("readable after the event");
        assert!(ready.is_readable());
        // Drain, then clear with the peeked token: the next wait waits.
        let mut buf = [0u8; 4];
        assert_eq!((&a).read(&mut buf).unwrap(), 1);
        reg.clear(ready);
        assert!(reg.try_ready(Direction::Read).is_none());
        drop(reg);
    }
}

#[test]
fn registering_a_registered_fd_again_is_an_error_in_both_modes() {
    for reactor in modes() {
        let (a, _b) = pair();
        let first = register(&reactor, &a);
        // SAFETY: the failed registration holds nothing; `first` is dropped
        // before `a`.
        let err = unsafe { reactor.register(a.as_fd()) }.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::AlreadyExists, "{err}");
        assert_eq!(reactor.registrations(), 1, "the first one stays");
        // The first registration still hears its events.
        assert!(poll(&first, Direction::Read).is_pending());
        (&_b).write_all(b"x").unwrap();
        let mut woken = Vec::new();
        for _ in 0..500 {
            reactor
                .poll(Some(Duration::from_millis(10)), &mut woken)
                .unwrap();
            if poll(&first, Direction::Read).is_ready() {
                break;
            }
        }
        assert!(poll(&first, Direction::Read).is_ready());
        drop(first);
        // Once it is gone, the fd can be registered again.
        let again = register(&reactor, &a);
        drop(again);
    }
}
