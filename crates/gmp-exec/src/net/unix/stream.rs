//! [`UnixStream`].

use std::fmt;
use std::future::poll_fn;
use std::io::{self, IoSlice, IoSliceMut};
use std::net::Shutdown;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::path::Path;
use std::task::{Context, Poll};

use gmp_netpoll::Direction;

use super::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, SocketAddr, WriteHalf};
use crate::net::evented::Evented;
use crate::net::stream::{async_read, async_write, blocking_io};
use crate::net::sys;
use crate::sched::Shared;
use crate::sync::Arc;

/// A connected Unix-domain stream socket (tokio's `UnixStream`).
///
/// The same surface as [`TcpStream`](crate::net::TcpStream): async
/// `futures_io` traits (and tokio's with `tokio-io`) on `UnixStream` and
/// `&UnixStream`, blocking-style `std::io::Read`/`Write` for coroutine Gs,
/// `readable`/`try_read`, split halves. Writes never raise `SIGPIPE`.
///
/// ```
/// use futures::io::{AsyncReadExt, AsyncWriteExt};
/// gmp_exec::block_on(async {
///     let (mut a, mut b) = gmp_exec::net::UnixStream::pair()?;
///     a.write_all(b"across").await?;
///     let mut buf = [0; 6];
///     b.read_exact(&mut buf).await?;
///     assert_eq!(&buf, b"across");
///     std::io::Result::Ok(())
/// })
/// .unwrap();
/// ```
pub struct UnixStream {
    pub(crate) io: Evented<std::os::unix::net::UnixStream>,
}

impl UnixStream {
    /// Connects to the socket at `path`; the task parks until the connection
    /// is made or fails. A listener whose backlog is full answers
    /// `WouldBlock` at once (Linux does not queue the attempt).
    pub async fn connect<P: AsRef<Path>>(path: P) -> io::Result<UnixStream> {
        let addr = sys::SockAddr::unix(path.as_ref())?;
        let (fd, in_progress) = sys::connect(&addr, libc::SOCK_STREAM)?;
        let stream = UnixStream {
            io: Evented::new(std::os::unix::net::UnixStream::from(fd))?,
        };
        if in_progress {
            poll_fn(|cx| stream.io.poll_ready(Direction::Write, cx)).await?;
        }
        if let Some(e) = stream.io.get_ref().take_error()? {
            return Err(e);
        }
        Ok(stream)
    }

    /// A connected pair of streams (`socketpair`).
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = std::os::unix::net::UnixStream::pair()?;
        Ok((UnixStream::from_std(a)?, UnixStream::from_std(b)?))
    }

    pub(crate) fn with_shared(
        shared: &Arc<Shared>,
        stream: std::os::unix::net::UnixStream,
    ) -> io::Result<UnixStream> {
        sys::no_sigpipe(stream.as_fd())?;
        Ok(UnixStream {
            io: Evented::with_shared(shared, stream)?,
        })
    }

    /// Registers a connected std stream with the current runtime (this M's,
    /// the entered one, or the default), putting it in nonblocking mode.
    pub fn from_std(stream: std::os::unix::net::UnixStream) -> io::Result<UnixStream> {
        stream.set_nonblocking(true)?;
        crate::context::with_current_shared(|shared| UnixStream::with_shared(shared, stream))
    }

    /// Deregisters the stream and gives the std one back, still in
    /// nonblocking mode. Returns `io::Result` as tokio's does; it does not
    /// fail.
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixStream> {
        Ok(self.io.into_inner())
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// Takes the socket's pending error (`SO_ERROR`), if any.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get_ref().take_error()
    }

    /// Shuts down the read side, the write side or both, at once.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.shutdown(how)
    }

    /// Waits until the stream is readable (see
    /// [`TcpStream::readable`](crate::net::TcpStream::readable)).
    pub async fn readable(&self) -> io::Result<()> {
        poll_fn(|cx| self.poll_read_ready(cx)).await
    }

    /// Waits until the stream is writable.
    pub async fn writable(&self) -> io::Result<()> {
        poll_fn(|cx| self.poll_write_ready(cx)).await
    }

    /// `Ready` when the stream is readable, else `Pending` with the task's
    /// waker recorded for reading.
    pub fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.poll_ready(Direction::Read, cx).map_ok(drop)
    }

    /// `Ready` when the stream is writable, else `Pending` with the task's
    /// waker recorded for writing.
    pub fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.poll_ready(Direction::Write, cx).map_ok(drop)
    }

    /// Reads what is there without waiting (`WouldBlock` if nothing is).
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.try_read(buf)
    }

    /// Vectored [`try_read`](Self::try_read).
    pub fn try_read_vectored(&self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        self.io.try_read_vectored(bufs)
    }

    /// Writes what fits without waiting (`WouldBlock` if nothing does).
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.try_write(buf)
    }

    /// Vectored [`try_write`](Self::try_write).
    pub fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.io.try_write_vectored(bufs)
    }

    /// Borrowed halves: `(ReadHalf, WriteHalf)`. With
    /// `futures::io::AsyncReadExt` in scope, write `UnixStream::split(&mut
    /// stream)`: `stream.split()` would find that trait's by-value `split`.
    pub fn split(&mut self) -> (ReadHalf<'_>, WriteHalf<'_>) {
        super::split(self)
    }

    /// Owned halves for a reader task and a writer task; dropping the write
    /// half shuts the write side down, [`reunite`](OwnedReadHalf::reunite)
    /// gives the stream back.
    ///
    /// ```
    /// use futures::io::{AsyncReadExt, AsyncWriteExt};
    /// gmp_exec::block_on(async {
    ///     let (a, mut b) = gmp_exec::net::UnixStream::pair()?;
    ///     let (mut reader, writer) = a.into_split();
    ///     drop(writer); // shuts a's write side down
    ///     let mut buf = [0; 1];
    ///     assert_eq!(b.read(&mut buf).await?, 0);
    ///     b.write_all(b"x").await?;
    ///     assert_eq!(reader.read(&mut buf).await?, 1);
    ///     std::io::Result::Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        super::into_split(self)
    }
}

async_read!([] UnixStream, |s| s.io);
async_read!(['a] &'a UnixStream, |s| s.io);
async_write!([] UnixStream, |s| s.io);
async_write!(['a] &'a UnixStream, |s| s.io);
blocking_io!([] UnixStream, |s| &s.io);
blocking_io!(['a] &'a UnixStream, |s| &s.io);

impl TryFrom<std::os::unix::net::UnixStream> for UnixStream {
    type Error = io::Error;

    /// [`UnixStream::from_std`].
    fn try_from(stream: std::os::unix::net::UnixStream) -> io::Result<UnixStream> {
        UnixStream::from_std(stream)
    }
}

impl AsFd for UnixStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.as_fd()
    }
}

impl AsRawFd for UnixStream {
    fn as_raw_fd(&self) -> RawFd {
        self.io.as_fd().as_raw_fd()
    }
}

impl fmt::Debug for UnixStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.io.fmt(f)
    }
}
