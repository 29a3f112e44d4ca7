//! A child's standard streams as gmp streams: [`ChildStdin`],
//! [`ChildStdout`], [`ChildStderr`].
//!
//! std makes the pipes (blocking, close-on-exec); the parent's ends are put
//! in nonblocking mode and registered with the netpoller like sockets (the
//! child's ends are other open files, untouched). Reads and writes are
//! `read(2)`/`write(2)`: a pipe has no `send` flags, and a write to a pipe
//! whose reader is gone fails with `BrokenPipe` because Rust programs start
//! with `SIGPIPE` ignored.

use std::fmt;
use std::fs::File;
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::process::Stdio;
use std::task::{Context, Poll};

use gmp_netpoll::Direction;

use crate::net::evented::Evented;

/// One end of a pipe, registered.
struct Pipe {
    io: Evented<File>,
}

impl Pipe {
    fn new(fd: OwnedFd) -> io::Result<Pipe> {
        set_nonblocking(fd.as_fd(), true)?;
        Ok(Pipe {
            io: Evented::new(File::from(fd))?,
        })
    }

    fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.io
            .poll_io(Direction::Read, cx, |mut f: &File| f.read(buf))
    }

    fn poll_read_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        self.io
            .poll_io(Direction::Read, cx, |mut f: &File| f.read_vectored(bufs))
    }

    fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.io
            .poll_io(Direction::Write, cx, |mut f: &File| f.write(buf))
    }

    fn poll_write_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.io
            .poll_io(Direction::Write, cx, |mut f: &File| f.write_vectored(bufs))
    }

    /// Deregisters the pipe and hands it back in blocking mode.
    fn into_blocking_fd(self) -> io::Result<OwnedFd> {
        let fd = OwnedFd::from(self.io.into_inner());
        set_nonblocking(fd.as_fd(), false)?;
        Ok(fd)
    }
}

fn set_nonblocking(fd: BorrowedFd<'_>, on: bool) -> io::Result<()> {
    // SAFETY: `fcntl` with `F_GETFL`/`F_SETFL` on an open descriptor takes
    // no pointers.
    unsafe {
        let flags = libc::fcntl(fd.as_raw_fd(), libc::F_GETFL);
        if flags == -1 {
            return Err(io::Error::last_os_error());
        }
        let flags = if on {
            flags | libc::O_NONBLOCK
        } else {
            flags & !libc::O_NONBLOCK
        };
        if libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags) == -1 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

macro_rules! pipe_type {
    ($(#[$doc:meta])* $name:ident, $std:ty) => {
        $(#[$doc])*
        pub struct $name {
            inner: Pipe,
        }

        impl $name {
            /// Registers std's pipe end with the current runtime (this M's,
            /// the entered one, or the default), in nonblocking mode.
            pub fn from_std(pipe: $std) -> io::Result<$name> {
                Ok($name {
                    inner: Pipe::new(OwnedFd::from(pipe))?,
                })
            }

            /// Deregisters the pipe and gives its descriptor back, in
            /// blocking mode again (to hand to another process).
            pub fn into_owned_fd(self) -> io::Result<OwnedFd> {
                self.inner.into_blocking_fd()
            }
        }

        impl TryFrom<$name> for Stdio {
            type Error = io::Error;

            /// The pipe as another child's stream (a shell pipeline).
            fn try_from(pipe: $name) -> io::Result<Stdio> {
                Ok(Stdio::from(pipe.into_owned_fd()?))
            }
        }

        impl AsFd for $name {
            fn as_fd(&self) -> BorrowedFd<'_> {
                self.inner.io.as_fd()
            }
        }

        impl AsRawFd for $name {
            fn as_raw_fd(&self) -> RawFd {
                self.inner.io.as_fd().as_raw_fd()
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("fd", &self.as_raw_fd())
                    .finish()
            }
        }
    };
}

macro_rules! read_pipe {
    ($name:ident) => {
        impl futures_io::AsyncRead for $name {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                self.inner.poll_read(cx, buf)
            }

            fn poll_read_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &mut [IoSliceMut<'_>],
            ) -> Poll<io::Result<usize>> {
                self.inner.poll_read_vectored(cx, bufs)
            }
        }

        #[cfg(feature = "tokio-io")]
        impl tokio::io::AsyncRead for $name {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut tokio::io::ReadBuf<'_>,
            ) -> Poll<io::Result<()>> {
                let n = std::task::ready!(self.inner.poll_read(cx, buf.initialize_unfilled()))?;
                buf.advance(n);
                Poll::Ready(Ok(()))
            }
        }

        /// Blocking-style, as the sockets' (see `gmp::net`): parks a
        /// coroutine G, blocks a plain thread, panics in an async G.
        impl Read for $name {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let inner = &self.inner;
                crate::net::blocking::block("std::io::Read::read", |cx| inner.poll_read(cx, buf))
            }
        }
    };
}

pipe_type!(
    /// The writing end of a child's standard input ([`Child::stdin`](super::Child::stdin)).
    ///
    /// [`futures_io::AsyncWrite`] (tokio's too, with `tokio-io`), and
    /// blocking-style [`std::io::Write`] for coroutine Gs. Dropping it
    /// closes the pipe: the child reads end of file (`close` does nothing
    /// else, as a pipe has no half-close).
    ChildStdin,
    std::process::ChildStdin
);
pipe_type!(
    /// The reading end of a child's standard output ([`Child::stdout`](super::Child::stdout)).
    ///
    /// [`futures_io::AsyncRead`] (tokio's too, with `tokio-io`), and
    /// blocking-style [`std::io::Read`] for coroutine Gs.
    ChildStdout,
    std::process::ChildStdout
);
pipe_type!(
    /// The reading end of a child's standard error ([`Child::stderr`](super::Child::stderr)).
    ///
    /// [`futures_io::AsyncRead`] (tokio's too, with `tokio-io`), and
    /// blocking-style [`std::io::Read`] for coroutine Gs.
    ChildStderr,
    std::process::ChildStderr
);
read_pipe!(ChildStdout);
read_pipe!(ChildStderr);

impl futures_io::AsyncWrite for ChildStdin {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.inner.poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.inner.poll_write_vectored(cx, bufs)
    }

    fn poll_flush(self: std::pin::Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: std::pin::Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(feature = "tokio-io")]
impl tokio::io::AsyncWrite for ChildStdin {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.inner.poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.inner.poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: std::pin::Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// Blocking-style, as the sockets' (see `gmp::net`).
impl Write for ChildStdin {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let inner = &self.inner;
        crate::net::blocking::block("std::io::Write::write", |cx| inner.poll_write(cx, buf))
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Reads `pipe` to its end into `buf` as far as it can without waiting:
/// `Ready` at end of file (or on an error), `Pending` when it must wait.
pub(crate) fn poll_read_to_end<P: futures_io::AsyncRead + Unpin>(
    pipe: &mut P,
    buf: &mut Vec<u8>,
    cx: &mut Context<'_>,
) -> Poll<io::Result<()>> {
    let mut chunk = [0u8; 8192];
    loop {
        match std::pin::Pin::new(&mut *pipe).poll_read(cx, &mut chunk) {
            Poll::Ready(Ok(0)) => return Poll::Ready(Ok(())),
            Poll::Ready(Ok(n)) => buf.extend_from_slice(&chunk[..n]),
            Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending => return Poll::Pending,
        }
    }
}
