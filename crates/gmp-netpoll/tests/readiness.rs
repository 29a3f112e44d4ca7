//! Readiness end to end on real sockets: registration, waiting, waking, clearing,
//! and what a dropped registration leaves behind.
#![cfg(unix)]

mod common;

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

use common::{assert_before, counting_waker, cx, poll_ended_by, wake_all, PATIENCE};
use gmp_netpoll::{Direction, Reactor, Ready, Registration};

const ZERO: Option<Duration> = Some(Duration::ZERO);

fn reactor() -> Arc<Reactor> {
    Arc::new(Reactor::new().expect("a poller"))
}

fn unix_pair() -> (UnixStream, UnixStream) {
    let (a, b) = UnixStream::pair().unwrap();
    a.set_nonblocking(true).unwrap();
    (a, b)
}

fn tcp_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let b = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (a, _) = listener.accept().unwrap();
    a.set_nonblocking(true).unwrap();
    (a, b)
}

/// Registers `fd`. The tests drop every registration before its socket.
fn register(reactor: &Arc<Reactor>, fd: &impl AsFd) -> Registration {
    // SAFETY: each test drops the registration before the socket (declared
    // after it, or dropped explicitly first).
    unsafe { reactor.register(fd.as_fd()) }.expect("register")
}

fn read_ready(reg: &Registration, waker: &Waker) -> Poll<Ready> {
    reg.poll_ready(Direction::Read, &mut cx(waker))
        .map(|r| r.expect("no OS error"))
}

/// The scenario of the brief, on any stream: wait, write from the peer, poll,
/// read, would-block, wait again.
fn wait_write_poll_read<S>(a: S, mut b: impl Write)
where
    S: AsFd,
    for<'s> &'s S: Read,
{
    let reactor = reactor();
    let reg = register(&reactor, &a);
    let (waker, counter) = counting_waker();

    assert!(read_ready(&reg, &waker).is_pending(), "nothing to read yet");
    assert_eq!(reactor.waiters(), 1);

    // The first poll reports the socket's initial state (writable): that must
    // not wake a reader.
    let mut woken = Vec::new();
    reactor.poll(ZERO, &mut woken).unwrap();
    assert!(woken.is_empty(), "a reader woken by writability");
    assert!(read_ready(&reg, &waker).is_pending());

    b.write_all(b"hi").unwrap();
    let n = poll_ended_by(&reactor, &mut woken, "the peer's write");
    assert!(n >= 1);
    assert_eq!(woken.len(), 1, "the reader's waker is handed back");
    assert!(woken[0].will_wake(&waker));
    assert_eq!(reactor.waiters(), 0);
    wake_all(&mut woken);
    assert_eq!(counter.wakes(), 1);

    let mut buf = [0u8; 8];
    let read = reg.poll_io(Direction::Read, &mut cx(&waker), || (&a).read(&mut buf));
    assert!(matches!(read, Poll::Ready(Ok(2))), "{read:?}");
    assert_eq!(&buf[..2], b"hi");

    // Drained: the next read would block, clears readiness and waits again.
    let read = reg.poll_io(Direction::Read, &mut cx(&waker), || (&a).read(&mut buf));
    assert!(read.is_pending(), "{read:?}");
    assert_eq!(reactor.waiters(), 1);
    drop(reg);
}

#[test]
fn a_write_from_the_peer_wakes_the_waiting_reader_unix() {
    let (a, b) = unix_pair();
    wait_write_poll_read(a, b);
}

#[test]
fn a_write_from_the_peer_wakes_the_waiting_reader_tcp() {
    let (a, b) = tcp_pair();
    wait_write_poll_read(a, b);
}

#[test]
fn clear_after_would_block_makes_the_direction_wait() {
    let reactor = reactor();
    let (a, mut b) = unix_pair();
    let reg = register(&reactor, &a);
    let (waker, _) = counting_waker();
    b.write_all(b"x").unwrap();
    reactor.poll(ZERO, &mut Vec::new()).unwrap();

    let Poll::Ready(ready) = read_ready(&reg, &waker) else {
        panic!("readable after the event")
    };
    assert!(ready.is_readable());
    assert_eq!(ready.direction(), Direction::Read);
    let mut buf = [0u8; 4];
    assert_eq!((&a).read(&mut buf).unwrap(), 1);
    let err = (&a).read(&mut buf).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
    reg.clear(ready);
    assert!(read_ready(&reg, &waker).is_pending());
    drop(reg);
}

#[test]
fn an_event_racing_a_clear_is_not_lost() {
    let reactor = reactor();
    let (a, mut b) = unix_pair();
    let reg = register(&reactor, &a);
    let (waker, _) = counting_waker();
    let mut woken = Vec::new();
    b.write_all(b"x").unwrap();
    reactor.poll(ZERO, &mut woken).unwrap();

    // A task observes readiness and drains the socket...
    let Poll::Ready(ready) = read_ready(&reg, &waker) else {
        panic!("readable")
    };
    let mut buf = [0u8; 4];
    assert_eq!((&a).read(&mut buf).unwrap(), 1);
    // ...its next read would block; but before it clears, more data arrives and
    // the poller applies the (edge-triggered, never repeated) event.
    b.write_all(b"y").unwrap();
    assert!(reactor.poll(ZERO, &mut woken).unwrap() >= 1);
    reg.clear(ready);

    // The clear saw a newer tick and left the readiness alone.
    let Poll::Ready(again) = read_ready(&reg, &waker) else {
        panic!("the racing event was lost")
    };
    assert_ne!(again, ready);
    assert_eq!((&a).read(&mut buf).unwrap(), 1);
    assert_eq!(buf[0], b'y');
    drop(reg);
}

#[test]
fn poll_io_runs_the_operation_until_it_would_block() {
    let reactor = reactor();
    let (a, mut b) = unix_pair();
    let reg = register(&reactor, &a);
    let (waker, _) = counting_waker();
    b.write_all(b"abc").unwrap();
    reactor.poll(ZERO, &mut Vec::new()).unwrap();

    let mut got = Vec::new();
    loop {
        let mut byte = [0u8; 1];
        match reg.poll_io(Direction::Read, &mut cx(&waker), || (&a).read(&mut byte)) {
            Poll::Ready(Ok(1)) => got.push(byte[0]),
            Poll::Ready(other) => panic!("{other:?}"),
            Poll::Pending => break,
        }
    }
    assert_eq!(got, b"abc");
    assert_eq!(reactor.waiters(), 1);
    drop(reg);
}

#[test]
fn write_readiness_arrives_with_the_first_poll() {
    let reactor = reactor();
    let (a, _b) = unix_pair();
    let reg = register(&reactor, &a);
    let (waker, _) = counting_waker();
    let poll_write = || reg.poll_ready(Direction::Write, &mut cx(&waker));

    assert!(poll_write().is_pending(), "a registration starts not ready");
    let mut woken = Vec::new();
    reactor.poll(ZERO, &mut woken).unwrap();
    assert_eq!(woken.len(), 1);
    match poll_write() {
        Poll::Ready(Ok(ready)) => assert!(ready.is_writable()),
        other => panic!("{other:?}"),
    }
    drop(reg);
}

#[test]
fn waiters_counts_registrations_with_a_waiting_task() {
    let reactor = reactor();
    let (a1, mut b1) = unix_pair();
    let (a2, _b2) = unix_pair();
    let reg1 = register(&reactor, &a1);
    let reg2 = register(&reactor, &a2);
    let (waker, _) = counting_waker();
    assert_eq!(reactor.waiters(), 0);

    assert!(read_ready(&reg1, &waker).is_pending());
    assert_eq!(reactor.waiters(), 1);
    // A second direction of the same registration is the same waiter.
    assert!(reg1
        .poll_ready(Direction::Write, &mut cx(&waker))
        .is_pending());
    assert_eq!(reactor.waiters(), 1);
    assert!(read_ready(&reg2, &waker).is_pending());
    assert_eq!(reactor.waiters(), 2);

    // Writability ends reg1's write wait, not its read wait.
    let mut woken = Vec::new();
    reactor.poll(ZERO, &mut woken).unwrap();
    assert_eq!(woken.len(), 1);
    assert_eq!(reactor.waiters(), 2);

    b1.write_all(b"x").unwrap();
    woken.clear();
    reactor.poll(ZERO, &mut woken).unwrap();
    assert_eq!(woken.len(), 1);
    assert_eq!(reactor.waiters(), 1);

    drop(reg2);
    assert_eq!(reactor.waiters(), 0);
    drop(reg1);
}

#[test]
fn a_dropped_registration_wakes_nobody_and_leaks_nothing() {
    let reactor = reactor();
    let (a, mut b) = unix_pair();
    let reg = register(&reactor, &a);
    let (waker, counter) = counting_waker();
    assert!(read_ready(&reg, &waker).is_pending());
    assert!(reg
        .poll_ready(Direction::Write, &mut cx(&waker))
        .is_pending());
    assert_eq!(Arc::strong_count(&counter), 4, "ours, the waker, two slots");

    drop(reg);
    assert_eq!(counter.wakes(), 0);
    assert_eq!(Arc::strong_count(&counter), 2, "the slots' wakers are gone");
    assert_eq!(reactor.waiters(), 0);
    assert_eq!(reactor.registrations(), 0);
    assert_eq!(Arc::strong_count(&reactor), 1);

    b.write_all(b"x").unwrap();
    let mut woken = Vec::new();
    reactor.poll(ZERO, &mut woken).unwrap();
    assert!(woken.is_empty());
    assert_eq!(counter.wakes(), 0);
}

#[test]
fn a_dropped_registration_leaves_the_os_poller() {
    let reactor = reactor();
    let (a, mut b) = unix_pair();
    drop(register(&reactor, &a));

    // Not in the OS poller any more: data on it produces no event...
    b.write_all(b"x").unwrap();
    assert_eq!(reactor.poll(ZERO, &mut Vec::new()).unwrap(), 0);

    // ...and the same descriptor registers again (epoll would refuse a
    // descriptor it still holds), with its current state as the first event.
    let reg = register(&reactor, &a);
    assert!(reactor.poll(ZERO, &mut Vec::new()).unwrap() >= 1);
    let (waker, _) = counting_waker();
    assert!(read_ready(&reg, &waker).is_ready());
    drop(reg);
}

#[test]
fn a_hang_up_makes_both_directions_ready() {
    let reactor = reactor();
    let (a, b) = unix_pair();
    let reg = register(&reactor, &a);
    let (waker, counter) = counting_waker();
    let mut woken = Vec::new();
    reactor.poll(ZERO, &mut woken).unwrap();
    assert!(read_ready(&reg, &waker).is_pending());

    drop(b);
    reactor.poll(ZERO, &mut woken).unwrap();
    wake_all(&mut woken);
    assert_eq!(counter.wakes(), 1);
    let Poll::Ready(ready) = read_ready(&reg, &waker) else {
        panic!("readable after the hang-up")
    };
    #[cfg(target_os = "linux")]
    assert!(ready.is_hup(), "{ready:?}");
    let _ = ready;
    assert_eq!((&a).read(&mut [0u8; 4]).unwrap(), 0, "end of file");
    assert!(reg.poll_ready(Direction::Write, &mut cx(&waker)).is_ready());
    drop(reg);
}

#[test]
fn a_task_on_another_thread_is_woken_through_a_shared_registration() {
    let reactor = reactor();
    let (a, mut b) = unix_pair();
    let a = Arc::new(a);
    let reg = Arc::new(register(&reactor, &*a));
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();

    // The "task": waits for writability, parking its thread while pending.
    let writer = {
        let (reg, a) = (reg.clone(), a.clone());
        std::thread::spawn(move || {
            let waker = common::unparking_waker();
            let mut cx = cx(&waker);
            let mut told = false;
            loop {
                match reg.poll_io(Direction::Write, &mut cx, || (&*a).write(b"ping")) {
                    Poll::Ready(result) => return result.unwrap(),
                    Poll::Pending if !told => {
                        told = true;
                        ready_tx.send(()).unwrap();
                    }
                    Poll::Pending => {}
                }
                std::thread::park();
            }
        })
    };
    // The "M": once the task waits, a blocking poll delivers its waker.
    ready_rx.recv().unwrap();
    assert_eq!(reactor.waiters(), 1);
    let mut woken = Vec::new();
    let deadline = Instant::now() + PATIENCE;
    while woken.is_empty() {
        assert_before(deadline, "the waiting writer's waker handed back");
        poll_ended_by(&reactor, &mut woken, "the socket's writability");
    }
    wake_all(&mut woken);
    assert_eq!(writer.join().unwrap(), 4);
    let mut buf = [0u8; 4];
    b.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"ping");
    drop(reg);
}

/// The epoll backend tells a peer's close apart from readability.
const REPORTS_READ_CLOSED: bool = cfg!(all(target_os = "linux", not(gmp_polling)));

/// Polls until `reg`'s read direction is ready; returns its token.
fn wait_readable(reactor: &Reactor, reg: &Registration) -> Ready {
    let (waker, _) = counting_waker();
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Poll::Ready(ready) = read_ready(reg, &waker) {
            return ready;
        }
        assert_before(deadline, "the registration became readable");
        reactor.poll(Some(PATIENCE), &mut Vec::new()).unwrap();
    }
}

#[test]
fn a_short_read_clears_readiness_unless_the_peer_closed() {
    let reactor = reactor();
    let (a, mut b) = tcp_pair();
    let reg = register(&reactor, &a);
    let (waker, _) = counting_waker();
    let mut buf = [0u8; 64];

    // Data without a close: the short read proves the queue empty.
    b.write_all(b"more to come").unwrap();
    let ready = wait_readable(&reactor, &reg);
    assert!(!ready.is_read_closed(), "{ready:?}");
    assert_eq!((&a).read(&mut buf).unwrap(), 12);
    reg.clear_drained(ready);
    assert_eq!(
        read_ready(&reg, &waker).is_pending(),
        REPORTS_READ_CLOSED,
        "a short read clears reading only where a close would be reported"
    );

    // The last data and the close: the readiness stays for the end of file.
    b.write_all(b"bye").unwrap();
    drop(b);
    let ready = loop {
        let ready = wait_readable(&reactor, &reg);
        if ready.is_read_closed() || !REPORTS_READ_CLOSED {
            break ready;
        }
        // The data came in an event of its own; the close follows.
        let n = (&a).read(&mut buf).unwrap();
        assert!(n > 0);
        reg.clear_drained(ready);
    };
    // "bye", or the end of file if "bye" came in an event of its own.
    let n = (&a).read(&mut buf).unwrap();
    assert!(n == 3 || n == 0, "{n}");
    reg.clear_drained(ready);
    let Poll::Ready(again) = read_ready(&reg, &waker) else {
        panic!("a short read cleared the close")
    };
    assert_eq!(again, ready, "no event came since: the same token");
    assert_eq!((&a).read(&mut buf).unwrap(), 0, "end of file");
    drop(reg);
}

#[cfg(all(target_os = "linux", not(gmp_polling)))]
#[test]
fn a_close_queued_with_the_last_data_is_one_read_closed_event() {
    let reactor = reactor();
    let (a, mut b) = tcp_pair();
    b.write_all(b"last").unwrap();
    b.shutdown(std::net::Shutdown::Write).unwrap();
    // Registered once both are queued: the first event reports both.
    use std::os::fd::AsRawFd;
    let mut pfd = libc::pollfd {
        fd: a.as_raw_fd(),
        events: libc::POLLRDHUP,
        revents: 0,
    };
    // SAFETY: `pfd` is one valid `pollfd` for the duration of the call.
    assert_eq!(unsafe { libc::poll(&mut pfd, 1, 30_000) }, 1, "no FIN");
    let reg = register(&reactor, &a);
    let ready = wait_readable(&reactor, &reg);
    assert!(ready.is_readable() && ready.is_read_closed(), "{ready:?}");
    assert!(
        !ready.is_hup(),
        "only the peer's writing is shut: {ready:?}"
    );
    drop(reg);
}

#[test]
fn clear_drained_keeps_a_hang_up() {
    let reactor = reactor();
    let (a, b) = unix_pair();
    let reg = register(&reactor, &a);
    let (waker, _) = counting_waker();
    drop(b);
    let deadline = Instant::now() + PATIENCE;
    let write = loop {
        if let Poll::Ready(Ok(ready)) = reg.poll_ready(Direction::Write, &mut cx(&waker)) {
            if ready.is_hup() {
                break ready;
            }
        }
        assert_before(deadline, "the peer's close reported as a hang-up");
        reactor.poll(ZERO, &mut Vec::new()).unwrap();
    };
    reg.clear_drained(write);
    assert!(reg.poll_ready(Direction::Write, &mut cx(&waker)).is_ready());
    drop(reg);
}
