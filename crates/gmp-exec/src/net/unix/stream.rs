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
    ///
    /// ```
    /// use gmp_exec::net::{UnixListener, UnixStream};
    /// # gmp_exec::block_on(async {
    /// let path = std::env::temp_dir().join(format!("gmp-doc-stream-connect-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let listener = UnixListener::bind(&path)?;
    /// let client = UnixStream::connect(&path).await?;
    /// assert_eq!(client.peer_addr()?.as_pathname(), Some(path.as_path()));
    /// # drop(listener);
    /// std::fs::remove_file(&path)?;
    /// // Nobody listens there any more.
    /// assert!(UnixStream::connect(&path).await.is_err());
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
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
    ///
    /// ```
    /// use futures::io::{AsyncReadExt, AsyncWriteExt};
    /// # gmp_exec::block_on(async {
    /// let (mut a, mut b) = gmp_exec::net::UnixStream::pair()?;
    /// b.write_all(b"pong").await?;
    /// let mut buf = [0; 4];
    /// a.read_exact(&mut buf).await?;
    /// assert_eq!(&buf, b"pong");
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
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
    ///
    /// ```
    /// use futures::io::AsyncReadExt;
    /// use std::io::Write;
    /// # gmp_exec::block_on(async {
    /// let (a, mut b) = std::os::unix::net::UnixStream::pair()?;
    /// let mut a = gmp_exec::net::UnixStream::from_std(a)?;
    /// b.write_all(b"std")?;
    /// let mut buf = [0; 3];
    /// a.read_exact(&mut buf).await?;
    /// assert_eq!(&buf, b"std");
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn from_std(stream: std::os::unix::net::UnixStream) -> io::Result<UnixStream> {
        stream.set_nonblocking(true)?;
        crate::context::with_current_shared(|shared| UnixStream::with_shared(shared, stream))
    }

    /// Deregisters the stream and gives the std one back, still in
    /// nonblocking mode. Returns `io::Result` as tokio's does; it does not
    /// fail.
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// # gmp_exec::block_on(async {
    /// # let (a, b) = gmp_exec::net::UnixStream::pair()?;
    /// let mut a = a.into_std()?;
    /// a.set_nonblocking(false)?;
    /// a.write_all(b"plain")?;
    /// let mut b = b.into_std()?;
    /// b.set_nonblocking(false)?;
    /// let mut buf = [0; 5];
    /// b.read_exact(&mut buf)?;
    /// assert_eq!(&buf, b"plain");
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixStream> {
        Ok(self.io.into_inner())
    }

    /// The local address.
    ///
    /// ```
    /// # gmp_exec::block_on(async {
    /// # let (a, b) = gmp_exec::net::UnixStream::pair()?;
    /// # let _ = b;
    /// assert!(a.local_addr()?.is_unnamed());
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The peer's address.
    ///
    /// ```
    /// # gmp_exec::block_on(async {
    /// # let (a, b) = gmp_exec::net::UnixStream::pair()?;
    /// # let _ = b;
    /// assert!(a.peer_addr()?.as_pathname().is_none());
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// Takes the socket's pending error (`SO_ERROR`), if any.
    ///
    /// ```
    /// # gmp_exec::block_on(async {
    /// # let (a, b) = gmp_exec::net::UnixStream::pair()?;
    /// # let _ = b;
    /// assert!(a.take_error()?.is_none());
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get_ref().take_error()
    }

    /// Shuts down the read side, the write side or both, at once.
    ///
    /// ```
    /// use futures::io::AsyncReadExt;
    /// # gmp_exec::block_on(async {
    /// # let (a, mut b) = gmp_exec::net::UnixStream::pair()?;
    /// a.shutdown(std::net::Shutdown::Write)?;
    /// let mut buf = [0; 4];
    /// assert_eq!(b.read(&mut buf).await?, 0, "end of file");
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.shutdown(how)
    }

    /// Waits until the stream is readable (see
    /// [`TcpStream::readable`](crate::net::TcpStream::readable)).
    ///
    /// ```
    /// # gmp_exec::block_on(async {
    /// # let (a, b) = gmp_exec::net::UnixStream::pair()?;
    /// a.writable().await?;
    /// a.try_write(b"r")?;
    /// b.readable().await?;
    /// let mut buf = [0; 1];
    /// assert_eq!(b.try_read(&mut buf)?, 1);
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub async fn readable(&self) -> io::Result<()> {
        poll_fn(|cx| self.poll_read_ready(cx)).await
    }

    /// Waits until the stream is writable.
    ///
    /// ```
    /// # gmp_exec::block_on(async {
    /// # let (a, b) = gmp_exec::net::UnixStream::pair()?;
    /// a.writable().await?;
    /// assert_eq!(a.try_write(b"w")?, 1);
    /// # let mut buf = [0; 1];
    /// # b.readable().await?;
    /// # b.try_read(&mut buf)?;
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub async fn writable(&self) -> io::Result<()> {
        poll_fn(|cx| self.poll_write_ready(cx)).await
    }

    /// `Ready` when the stream is readable, else `Pending` with the task's
    /// waker recorded for reading.
    ///
    /// ```
    /// use std::future::poll_fn;
    /// # gmp_exec::block_on(async {
    /// # let (a, b) = gmp_exec::net::UnixStream::pair()?;
    /// a.try_write(b"ok")?;
    /// poll_fn(|cx| b.poll_read_ready(cx)).await?;
    /// let mut buf = [0; 2];
    /// assert_eq!(b.try_read(&mut buf)?, 2);
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.poll_ready(Direction::Read, cx).map_ok(drop)
    }

    /// `Ready` when the stream is writable, else `Pending` with the task's
    /// waker recorded for writing.
    ///
    /// ```
    /// use std::future::poll_fn;
    /// # gmp_exec::block_on(async {
    /// # let (a, b) = gmp_exec::net::UnixStream::pair()?;
    /// poll_fn(|cx| a.poll_write_ready(cx)).await?;
    /// assert_eq!(a.try_write(b"go")?, 2);
    /// # let mut buf = [0; 2];
    /// # assert_eq!(b.try_read(&mut buf)?, 2);
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.poll_ready(Direction::Write, cx).map_ok(drop)
    }

    /// Reads what is there without waiting (`WouldBlock` if nothing is).
    ///
    /// ```
    /// # gmp_exec::block_on(async {
    /// # let (a, b) = gmp_exec::net::UnixStream::pair()?;
    /// let mut buf = [0; 8];
    /// assert_eq!(b.try_read(&mut buf).unwrap_err().kind(), std::io::ErrorKind::WouldBlock);
    /// a.try_write(b"bytes")?;
    /// // On a socketpair the bytes are there as soon as the write returns.
    /// assert_eq!(b.try_read(&mut buf)?, 5);
    /// assert_eq!(&buf[..5], b"bytes");
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.try_read(buf)
    }

    /// Vectored [`try_read`](Self::try_read).
    ///
    /// ```
    /// use std::io::IoSliceMut;
    /// # gmp_exec::block_on(async {
    /// # let (a, b) = gmp_exec::net::UnixStream::pair()?;
    /// a.try_write(b"headbody")?;
    /// let (mut head, mut body) = ([0; 4], [0; 4]);
    /// let n = b.try_read_vectored(&mut [IoSliceMut::new(&mut head), IoSliceMut::new(&mut body)])?;
    /// assert_eq!(n, 8);
    /// assert_eq!((&head, &body), (b"head", b"body"));
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn try_read_vectored(&self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        self.io.try_read_vectored(bufs)
    }

    /// Writes what fits without waiting (`WouldBlock` if nothing does).
    ///
    /// ```
    /// # gmp_exec::block_on(async {
    /// # let (a, b) = gmp_exec::net::UnixStream::pair()?;
    /// assert_eq!(a.try_write(b"hello")?, 5);
    /// let mut buf = [0; 5];
    /// assert_eq!(b.try_read(&mut buf)?, 5);
    /// assert_eq!(&buf, b"hello");
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.try_write(buf)
    }

    /// Vectored [`try_write`](Self::try_write).
    ///
    /// ```
    /// use std::io::IoSlice;
    /// # gmp_exec::block_on(async {
    /// # let (a, b) = gmp_exec::net::UnixStream::pair()?;
    /// let n = a.try_write_vectored(&[IoSlice::new(b"ab"), IoSlice::new(b"cd")])?;
    /// assert_eq!(n, 4);
    /// let mut buf = [0; 4];
    /// assert_eq!(b.try_read(&mut buf)?, 4);
    /// assert_eq!(&buf, b"abcd");
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.io.try_write_vectored(bufs)
    }

    /// Borrowed halves: `(ReadHalf, WriteHalf)`. With
    /// `futures::io::AsyncReadExt` in scope, write `UnixStream::split(&mut
    /// stream)`: `stream.split()` would find that trait's by-value `split`.
    ///
    /// ```
    /// use futures::io::{AsyncReadExt, AsyncWriteExt};
    /// use gmp_exec::net::UnixStream;
    /// # gmp_exec::block_on(async {
    /// let (mut a, mut b) = UnixStream::pair()?;
    /// let (mut reader, mut writer) = UnixStream::split(&mut a);
    /// writer.write_all(b"self").await?;
    /// let mut buf = [0; 4];
    /// b.read_exact(&mut buf).await?;
    /// b.write_all(&buf).await?;
    /// reader.read_exact(&mut buf).await?;
    /// assert_eq!(&buf, b"self");
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
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
