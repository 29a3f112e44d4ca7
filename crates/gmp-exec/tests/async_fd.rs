//! `io::AsyncFd`: readiness for any descriptor (a pipe, a socket made by
//! hand) on the netpoller the sockets use; a descriptor registered twice is
//! an error, never a lost wake-up.
#![cfg(all(unix, not(loom)))]

use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use gmp_exec::io::{AsyncFd, Interest};
use gmp_exec::Runtime;

mod common;
use common::within;

fn set_nonblocking(fd: &OwnedFd) {
    // SAFETY: plain fcntl calls on a descriptor we own.
    unsafe {
        let flags = libc::fcntl(fd.as_raw_fd(), libc::F_GETFL);
        assert!(flags >= 0);
        assert_eq!(
            libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK),
            0
        );
    }
}

/// A nonblocking pipe: (read end, write end) as Files.
fn pipe() -> (std::fs::File, std::fs::File) {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors pipe writes.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: both are new descriptors nobody else owns.
    let (r, w) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    set_nonblocking(&r);
    set_nonblocking(&w);
    (r.into(), w.into())
}

async fn read_some(fd: &AsyncFd<std::fs::File>, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        let mut guard = fd.readable().await?;
        if let Ok(result) = guard.try_io(|fd| fd.get_ref().read(buf)) {
            return result;
        }
    }
}

#[test]
fn a_pipe_wakes_its_reader_each_time_it_is_written() {
    let rt = Runtime::builder().procs(2).build().unwrap();
    within("pipe reader", move || {
        rt.block_on(async {
            let (r, w) = pipe();
            let r = AsyncFd::new(r).unwrap();
            let w = AsyncFd::with_interest(w, Interest::WRITABLE).unwrap();
            let reader = gmp_exec::spawn(async move {
                let mut got = Vec::new();
                let mut buf = [0; 64];
                loop {
                    let n = read_some(&r, &mut buf).await.unwrap();
                    if n == 0 {
                        return got;
                    }
                    got.extend_from_slice(&buf[..n]);
                }
            });
            for i in 0..100u8 {
                let mut guard = w.writable().await.unwrap();
                match guard.try_io(|w| w.get_ref().write(&[i])) {
                    Ok(n) => assert_eq!(n.unwrap(), 1),
                    Err(_) => unreachable!("a pipe with room"),
                }
                gmp_exec::yield_now().await;
            }
            drop(w); // the reader sees end of file
            let got = reader.await.unwrap();
            assert_eq!(got, (0..100u8).collect::<Vec<_>>());
        })
    });
}

#[test]
fn a_full_pipe_waits_for_room() {
    let rt = Runtime::builder().procs(2).build().unwrap();
    within("full pipe", move || {
        rt.block_on(async {
            let (r, w) = pipe();
            let mut w = AsyncFd::new(w).unwrap();
            // Fill it.
            let chunk = [7u8; 4096];
            let mut written = 0usize;
            loop {
                match w.get_mut().write(&chunk) {
                    Ok(n) => written += n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) => panic!("{e}"),
                }
            }
            let writer = gmp_exec::spawn(async move {
                loop {
                    let mut guard = w.writable_mut().await.unwrap();
                    if let Ok(n) = guard.try_io(|w| w.get_mut().write(b"!")) {
                        return n.unwrap();
                    }
                }
            });
            // Drain from a plain thread: the writer must be woken by the room.
            let drained = std::thread::spawn(move || {
                let mut r = r;
                let mut buf = vec![0; written + 1];
                let mut total = 0;
                while total < written + 1 {
                    match r.read(&mut buf[total..]) {
                        Ok(n) => total += n,
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::yield_now(),
                        Err(e) => panic!("{e}"),
                    }
                }
                total
            });
            assert_eq!(writer.await.unwrap(), 1);
            assert_eq!(drained.join().unwrap(), written + 1);
        })
    });
}

#[cfg(all(feature = "coro", any(unix, windows)))]
#[test]
fn a_hand_made_socket_works_from_async_and_coroutine_gs() {
    let rt = Runtime::builder().procs(1).build().unwrap();
    let _guard = rt.enter();
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the pair socketpair writes.
    let made = unsafe { libc::socketpair(libc::AF_UNIX, libc::SOCK_STREAM, 0, fds.as_mut_ptr()) };
    assert_eq!(made, 0);
    // SAFETY: new descriptors nobody else owns.
    let (a, b) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    set_nonblocking(&a);
    set_nonblocking(&b);
    let a = AsyncFd::new(std::os::unix::net::UnixStream::from(a)).unwrap();
    let b = AsyncFd::new(std::os::unix::net::UnixStream::from(b)).unwrap();
    // A coroutine G reads blocking-style; an async G writes.
    let reader = gmp_exec::coro::spawn(move || {
        let mut buf = [0; 5];
        let n =
            gmp_exec::coro::wait(a.async_io(Interest::READABLE, |s| (&*s).read(&mut buf))).unwrap();
        buf[..n].to_vec()
    });
    let writer = gmp_exec::spawn(async move {
        b.async_io(Interest::WRITABLE, |s| (&*s).write(b"hello"))
            .await
            .unwrap();
        b
    });
    let (got, _b) = within("socketpair", move || {
        (reader.join().unwrap(), writer.join().unwrap())
    });
    assert_eq!(got, b"hello");
}

#[test]
fn registering_a_registered_fd_is_an_error_and_the_first_keeps_working() {
    let rt = Runtime::builder().procs(1).build().unwrap();
    within("double registration", move || {
        rt.block_on(async {
            let (r, mut w) = pipe();
            let raw = r.as_raw_fd();
            let first = AsyncFd::new(r).unwrap();
            let err = AsyncFd::new(raw).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::AlreadyExists, "{err}");
            let (back, err) = AsyncFd::try_new(raw).unwrap_err().into_parts();
            assert_eq!((back, err.kind()), (raw, io::ErrorKind::AlreadyExists));
            // A gmp socket's descriptor cannot be taken either.
            let listener = gmp_exec::net::TcpListener::bind("127.0.0.1:0")
                .await
                .unwrap();
            let err = AsyncFd::new(listener.as_raw_fd()).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
            // No wake-up was lost: the first registration still hears.
            let reader = gmp_exec::spawn(async move {
                let mut buf = [0; 1];
                read_some(&first, &mut buf).await.unwrap()
            });
            gmp_exec::yield_now().await;
            w.write_all(b"x").unwrap();
            assert_eq!(reader.await.unwrap(), 1);
        })
    });
}

#[test]
fn clear_ready_makes_the_next_wait_wait() {
    let rt = Runtime::builder().procs(1).build().unwrap();
    within("clear_ready", move || {
        rt.block_on(async {
            let (r, mut w) = pipe();
            let r = AsyncFd::new(r).unwrap();
            w.write_all(b"a").unwrap();
            let mut guard = r.readable().await.unwrap();
            let mut buf = [0; 8];
            assert_eq!(guard.get_inner().read(&mut buf).unwrap(), 1);
            guard.clear_ready();
            // Not ready now: a poll records the waker and returns Pending.
            let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
            assert!(r.poll_read_ready(&mut cx).is_pending());
            w.write_all(b"b").unwrap();
            let guard = r.readable().await.unwrap();
            assert_eq!(guard.get_inner().read(&mut buf).unwrap(), 1);
            // into_inner deregisters: the fd can be registered again.
            drop(guard);
            let file = r.into_inner();
            let _again = AsyncFd::new(file).unwrap();
        })
    });
}
