//! What TCP and Unix streams share: reads, writes that cannot raise
//! `SIGPIPE`, shutdown, and the macros that give every stream type and half
//! its `futures_io` impls (with the `tokio-io` feature, `tokio::io`'s; with
//! the `hyper` feature, `hyper::rt`'s) and its blocking-style `std::io` impls.

use std::io::{self, IoSlice, IoSliceMut, Read};
use std::mem::MaybeUninit;
use std::net::Shutdown;
use std::task::{Context, Poll};

use gmp_netpoll::Direction;

use super::evented::Evented;
use super::sys::{self, AsSource};

/// A connected stream socket from std.
pub(crate) trait StreamSocket: AsSource {
    /// A read shorter than its buffer proves the receive queue empty (see
    /// [`short`]).
    const SHORT_READ_DRAINS: bool;
    /// Vectored read (`readv`).
    fn read_vectored(&self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize>;
    /// `shutdown(2)`.
    fn shutdown(&self, how: Shutdown) -> io::Result<()>;
}

impl StreamSocket for std::net::TcpStream {
    // A TCP read stops short only at an empty queue or at the urgent mark,
    // and the poller reports urgent data (`Ready::is_priority`).
    const SHORT_READ_DRAINS: bool = true;
    fn read_vectored(&self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        Read::read_vectored(&mut &*self, bufs)
    }
    fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        std::net::TcpStream::shutdown(self, how)
    }
}

#[cfg(unix)]
impl StreamSocket for std::os::unix::net::UnixStream {
    // A Unix stream read stops after a message that carried descriptors
    // (`SCM_RIGHTS`, which any peer may send) and, with `SO_PASSCRED`, between
    // writers with different credentials: data may be left that no new
    // event will announce.
    const SHORT_READ_DRAINS: bool = false;
    fn read_vectored(&self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        Read::read_vectored(&mut &*self, bufs)
    }
    fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        std::os::unix::net::UnixStream::shutdown(self, how)
    }
}

/// A write that took fewer bytes than it was given (but some) filled the
/// send queue: the next one would return `WouldBlock`. A TCP read that
/// returned fewer bytes than its buffer holds (but some) emptied the receive
/// queue: the next one would too. Either way the caller clears the readiness
/// ([`Registration::clear_drained`](gmp_netpoll::Registration::clear_drained))
/// and saves that system call.
///
/// For reads this needs the poller to tell a peer's close from readability
/// (epoll's `EPOLLRDHUP`): a FIN that arrived with the last data leaves the
/// read token marked read-closed, and the clear is skipped, so the next read
/// finds the end of file at once instead of waiting for an event the OS
/// already sent. Where the poller cannot tell (the `polling` backend), and
/// for Unix streams (see `SHORT_READ_DRAINS`), a read loop pays one
/// `WouldBlock` read per wake-up, as Go's `fd.Read` does.
fn short(len: usize) -> impl Fn(&usize) -> bool {
    move |&n| n > 0 && n < len
}

/// [`short`] for a read from an `S`, if its short reads prove the queue empty.
fn short_read<S: StreamSocket>(len: usize) -> impl Fn(&usize) -> bool {
    let short = short(len);
    move |n| S::SHORT_READ_DRAINS && short(n)
}

impl<S: StreamSocket> Evented<S> {
    pub(crate) fn poll_read(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        // SAFETY: an initialised `[u8]` is a valid `[MaybeUninit<u8>]`, and
        // `recv` writes only initialised bytes into it.
        let uninit = unsafe { &mut *(buf as *mut [u8] as *mut [MaybeUninit<u8>]) };
        self.poll_read_uninit(cx, uninit)
    }

    pub(crate) fn poll_read_uninit(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [MaybeUninit<u8>],
    ) -> Poll<io::Result<usize>> {
        let len = buf.len();
        self.poll_io_drain(
            Direction::Read,
            cx,
            |s| sys::recv_uninit(s.as_source(), buf),
            short_read::<S>(len),
        )
    }

    pub(crate) fn poll_read_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        let len = bufs.iter().map(|b| b.len()).sum();
        self.poll_io_drain(
            Direction::Read,
            cx,
            |s| s.read_vectored(bufs),
            short_read::<S>(len),
        )
    }

    pub(crate) fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let len = buf.len();
        self.poll_io_drain(
            Direction::Write,
            cx,
            |s| sys::send(s.as_source(), buf),
            short(len),
        )
    }

    pub(crate) fn poll_write_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let len = bufs.iter().map(|b| b.len()).sum();
        self.poll_io_drain(
            Direction::Write,
            cx,
            |s| sys::send_vectored(s.as_source(), bufs),
            short(len),
        )
    }

    pub(crate) fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        // SAFETY: as in `poll_read`.
        let uninit = unsafe { &mut *(buf as *mut [u8] as *mut [MaybeUninit<u8>]) };
        self.try_io(Direction::Read, |s| sys::recv_uninit(s.as_source(), uninit))
    }

    pub(crate) fn try_read_vectored(&self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        self.try_io(Direction::Read, |s| s.read_vectored(bufs))
    }

    pub(crate) fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        self.try_io(Direction::Write, |s| sys::send(s.as_source(), buf))
    }

    pub(crate) fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.try_io(Direction::Write, |s| {
            sys::send_vectored(s.as_source(), bufs)
        })
    }

    pub(crate) fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.get_ref().shutdown(how)
    }
}

/// `futures_io::AsyncRead` (and `tokio::io::AsyncRead` with `tokio-io`,
/// `hyper::rt::Read` with `hyper`) for a type, given how to reach its
/// `Evented` from `&Self`. The tokio and hyper reads `recv` straight into the
/// caller's uninitialised buffer.
macro_rules! async_read {
    ([$($g:tt)*] $ty:ty, |$s:ident| $ev:expr) => {
        impl<$($g)*> futures_io::AsyncRead for $ty {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut [u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                let $s = &*self;
                $ev.poll_read(cx, buf)
            }

            fn poll_read_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &mut [std::io::IoSliceMut<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                let $s = &*self;
                $ev.poll_read_vectored(cx, bufs)
            }
        }

        #[cfg(feature = "tokio-io")]
        impl<$($g)*> tokio::io::AsyncRead for $ty {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut tokio::io::ReadBuf<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                let $s = &*self;
                // SAFETY: `recv` writes only initialised bytes into the
                // unfilled part, and we mark as filled exactly the `n` bytes
                // it wrote.
                let unfilled = unsafe { buf.unfilled_mut() };
                let n = std::task::ready!($ev.poll_read_uninit(cx, unfilled))?;
                // SAFETY: the `n` bytes after the filled part were just
                // written by `recv`.
                unsafe { buf.assume_init(n) };
                buf.advance(n);
                std::task::Poll::Ready(Ok(()))
            }
        }

        #[cfg(feature = "hyper")]
        impl<$($g)*> hyper::rt::Read for $ty {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                mut buf: hyper::rt::ReadBufCursor<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                let $s = &*self;
                // SAFETY: `recv` writes straight into hyper's buffer (no
                // intermediate copy) and only initialised bytes; we advance
                // the cursor by exactly the `n` bytes it wrote.
                let unfilled = unsafe { buf.as_mut() };
                let n = std::task::ready!($ev.poll_read_uninit(cx, unfilled))?;
                // SAFETY: the `n` bytes at the cursor were just written by
                // `recv`, so they are initialised and filled.
                unsafe { buf.advance(n) };
                std::task::Poll::Ready(Ok(()))
            }
        }
    };
}

/// `futures_io::AsyncWrite` (and `tokio::io::AsyncWrite` with `tokio-io`,
/// `hyper::rt::Write` with `hyper`):
/// vectored writes, no buffering (flush does nothing), close shuts the write
/// side down.
macro_rules! async_write {
    ([$($g:tt)*] $ty:ty, |$s:ident| $ev:expr) => {
        impl<$($g)*> futures_io::AsyncWrite for $ty {
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                let $s = &*self;
                $ev.poll_write(cx, buf)
            }

            fn poll_write_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                let $s = &*self;
                $ev.poll_write_vectored(cx, bufs)
            }

            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(Ok(()))
            }

            fn poll_close(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                let $s = &*self;
                std::task::Poll::Ready($ev.shutdown(std::net::Shutdown::Write))
            }
        }

        #[cfg(feature = "tokio-io")]
        $crate::net::stream::shutdown_write!(tokio::io::AsyncWrite, [$($g)*] $ty, |$s| $ev);
        #[cfg(feature = "hyper")]
        $crate::net::stream::shutdown_write!(hyper::rt::Write, [$($g)*] $ty, |$s| $ev);
    };
}

/// tokio's `AsyncWrite` and hyper's `rt::Write`, which have the same methods:
/// vectored writes, no buffering, shutdown closes the write side.
#[cfg(any(feature = "tokio-io", feature = "hyper"))]
macro_rules! shutdown_write {
    ($tr:path, [$($g:tt)*] $ty:ty, |$s:ident| $ev:expr) => {
        impl<$($g)*> $tr for $ty {
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                let $s = &*self;
                $ev.poll_write(cx, buf)
            }

            fn poll_write_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                let $s = &*self;
                $ev.poll_write_vectored(cx, bufs)
            }

            fn is_write_vectored(&self) -> bool {
                true
            }

            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(Ok(()))
            }

            fn poll_shutdown(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                let $s = &*self;
                std::task::Poll::Ready($ev.shutdown(std::net::Shutdown::Write))
            }
        }
    };
}

/// Blocking-style `std::io::Read` and `std::io::Write` (see `blocking.rs`).
macro_rules! blocking_io {
    ([$($g:tt)*] $ty:ty, |$s:ident| $ev:expr) => {
        impl<$($g)*> std::io::Read for $ty {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                let $s = &*self;
                let ev = $ev;
                $crate::net::blocking::block("std::io::Read::read", |cx| ev.poll_read(cx, buf))
            }

            fn read_vectored(
                &mut self,
                bufs: &mut [std::io::IoSliceMut<'_>],
            ) -> std::io::Result<usize> {
                let $s = &*self;
                let ev = $ev;
                $crate::net::blocking::block("std::io::Read::read_vectored", |cx| {
                    ev.poll_read_vectored(cx, bufs)
                })
            }
        }

        impl<$($g)*> std::io::Write for $ty {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                let $s = &*self;
                let ev = $ev;
                $crate::net::blocking::block("std::io::Write::write", |cx| ev.poll_write(cx, buf))
            }

            fn write_vectored(&mut self, bufs: &[std::io::IoSlice<'_>]) -> std::io::Result<usize> {
                let $s = &*self;
                let ev = $ev;
                $crate::net::blocking::block("std::io::Write::write_vectored", |cx| {
                    ev.poll_write_vectored(cx, bufs)
                })
            }

            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
    };
}

#[cfg(any(feature = "tokio-io", feature = "hyper"))]
pub(crate) use shutdown_write;
pub(crate) use {async_read, async_write, blocking_io};
