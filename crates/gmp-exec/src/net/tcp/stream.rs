//! [`TcpStream`].

use std::fmt;
use std::future::poll_fn;
use std::io::{self, IoSlice, IoSliceMut};
use std::net::{Shutdown, SocketAddr};
use std::task::{Context, Poll};

use gmp_netpoll::Direction;

use super::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, WriteHalf};
use crate::net::addr::{each_addr, ToSocketAddrs};
use crate::net::evented::Evented;
use crate::net::stream::{async_read, async_write, blocking_io};
use crate::net::sys::{self, AsSource};

/// A TCP connection (Go's `net.TCPConn`, tokio's `TcpStream`).
///
/// * async: [`futures_io::AsyncRead`] and [`futures_io::AsyncWrite`] (use
///   `futures::io::AsyncReadExt` / `AsyncWriteExt` for `read`, `read_exact`,
///   `write_all`), on `TcpStream` and on `&TcpStream`; with the `tokio-io`
///   feature, tokio's traits too. Closing shuts the write side down.
/// * blocking-style, in a coroutine G: [`std::io::Read`] and
///   [`std::io::Write`] park the G on the netpoller, as Go's `conn.Read` parks
///   its goroutine (on a plain thread they block it; on an M running an
///   async task they panic: use `.await` there).
/// * nonblocking: [`try_read`](Self::try_read) / [`try_write`](Self::try_write)
///   after [`readable`](Self::readable) / [`writable`](Self::writable).
///
/// With both `std::io::Write` and `futures::io::AsyncWriteExt` in scope,
/// `stream.write_all(..)` is ambiguous (both apply): import only the one the
/// code uses, or call through the trait (`AsyncWriteExt::write_all(&mut
/// stream, ..)`).
///
/// One task at a time may wait to read and one to write: a second reader
/// would take the first one's place. [`split`](Self::split) and
/// [`into_split`](Self::into_split) give a reader and a writer their own half.
///
/// Writes can never raise `SIGPIPE`: a write to a closed peer fails with
/// `BrokenPipe` or `ConnectionReset`.
///
/// ```
/// use futures::io::{AsyncReadExt, AsyncWriteExt};
/// use gmp_exec::net::{TcpListener, TcpStream};
///
/// gmp_exec::block_on(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await?;
///     let mut client = TcpStream::connect(listener.local_addr()?).await?;
///     let (mut server, _) = listener.accept().await?;
///     client.write_all(b"ping").await?;
///     let mut buf = [0; 4];
///     server.read_exact(&mut buf).await?;
///     assert_eq!(&buf, b"ping");
///     client.close().await?; // shuts down the write side
///     assert_eq!(server.read(&mut buf).await?, 0, "end of file");
///     std::io::Result::Ok(())
/// })
/// .unwrap();
/// ```
///
/// Blocking-style, from coroutine Gs (each parks while it waits):
///
/// ```
/// use std::io::{Read, Write};
/// use gmp_exec::coro;
/// use gmp_exec::net::{TcpListener, TcpStream};
///
/// let listener = gmp_exec::block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
/// let addr = listener.local_addr().unwrap();
/// let server = coro::spawn(move || {
///     let (mut conn, _) = coro::wait(listener.accept()).unwrap();
///     let mut buf = [0; 5];
///     conn.read_exact(&mut buf).unwrap();
///     conn.write_all(&buf).unwrap();
/// });
/// let client = coro::spawn(move || {
///     let mut conn = coro::wait(TcpStream::connect(addr)).unwrap();
///     conn.write_all(b"hello").unwrap();
///     let mut buf = [0; 5];
///     conn.read_exact(&mut buf).unwrap();
///     buf
/// });
/// server.join().unwrap();
/// assert_eq!(&client.join().unwrap(), b"hello");
/// ```
pub struct TcpStream {
    pub(crate) io: Evented<std::net::TcpStream>,
}

impl TcpStream {
    /// Connects to `addr`, trying each address it resolves to in turn; the
    /// last error if none accepts (`ConnectionRefused` for a closed port).
    ///
    /// The socket is created nonblocking and the task parks until the
    /// connection is made or fails (Go's `netFD.connect`: `EINPROGRESS`, wait
    /// for writability, read `SO_ERROR`).
    ///
    /// ```
    /// # gmp_exec::block_on(async {
    /// use gmp_exec::net::{TcpListener, TcpStream};
    /// // A port nobody listens on: bind one, note it, close it.
    /// let addr = TcpListener::bind("127.0.0.1:0").await?.local_addr()?;
    /// let err = TcpStream::connect(addr).await.unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub async fn connect<A: ToSocketAddrs>(addr: A) -> io::Result<TcpStream> {
        each_addr(addr, TcpStream::connect_addr).await
    }

    async fn connect_addr(addr: SocketAddr) -> io::Result<TcpStream> {
        let (fd, in_progress) = sys::connect(&sys::SockAddr::inet(&addr), sys::SOCK_STREAM)?;
        TcpStream::finish_connect(fd, in_progress).await
    }

    /// Registers `fd`, a nonblocking TCP socket whose `connect` has started,
    /// and waits for the connection to be made or to fail.
    pub(crate) async fn finish_connect(
        fd: impl Into<std::net::TcpStream>,
        in_progress: bool,
    ) -> io::Result<TcpStream> {
        let stream = TcpStream {
            io: Evented::new(fd.into())?,
        };
        if in_progress {
            poll_fn(|cx| stream.io.poll_ready(Direction::Write, cx)).await?;
        }
        if let Some(e) = stream.io.get_ref().take_error()? {
            return Err(e);
        }
        Ok(stream)
    }

    /// Registers a connected std stream with the current runtime (this M's,
    /// the entered one, or the default), putting it in nonblocking mode.
    ///
    /// ```
    /// use futures::io::AsyncReadExt;
    /// # gmp_exec::block_on(async {
    /// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let std_stream = std::net::TcpStream::connect(listener.local_addr()?)?;
    /// let mut stream = gmp_exec::net::TcpStream::from_std(std_stream)?;
    /// let (mut peer, _) = listener.accept()?;
    /// std::io::Write::write_all(&mut peer, b"std")?;
    /// let mut buf = [0; 3];
    /// stream.read_exact(&mut buf).await?;
    /// assert_eq!(&buf, b"std");
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn from_std(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        stream.set_nonblocking(true)?;
        sys::no_sigpipe(stream.as_source())?;
        Ok(TcpStream {
            io: Evented::new(stream)?,
        })
    }

    /// Deregisters the stream and gives the std one back, still in
    /// nonblocking mode. Returns `io::Result` as tokio's does; it does not
    /// fail.
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// # gmp_exec::block_on(async {
    /// use gmp_exec::net::{TcpListener, TcpStream};
    /// let listener = TcpListener::bind("127.0.0.1:0").await?;
    /// let client = TcpStream::connect(listener.local_addr()?).await?;
    /// let (server, _) = listener.accept().await?;
    /// let mut client = client.into_std()?;
    /// client.set_nonblocking(false)?;
    /// client.write_all(b"hi")?;
    /// let mut server = server.into_std()?;
    /// server.set_nonblocking(false)?;
    /// let mut buf = [0; 2];
    /// server.read_exact(&mut buf)?;
    /// assert_eq!(&buf, b"hi");
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn into_std(self) -> io::Result<std::net::TcpStream> {
        Ok(self.io.into_inner())
    }

    /// The local address.
    ///
    /// ```
    /// # gmp_exec::block_on(async {
    /// # let listener = gmp_exec::net::TcpListener::bind("127.0.0.1:0").await?;
    /// # let mut peer = std::net::TcpStream::connect(listener.local_addr()?)?;
    /// # let (stream, _) = listener.accept().await?;
    /// assert_eq!(stream.local_addr()?, listener.local_addr()?);
    /// assert_eq!(stream.peer_addr()?, peer.local_addr()?);
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
    /// # let listener = gmp_exec::net::TcpListener::bind("127.0.0.1:0").await?;
    /// # let mut peer = std::net::TcpStream::connect(listener.local_addr()?)?;
    /// # let (stream, _) = listener.accept().await?;
    /// assert_eq!(stream.peer_addr()?, peer.local_addr()?);
    /// # let _ = &mut peer;
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
    /// # let listener = gmp_exec::net::TcpListener::bind("127.0.0.1:0").await?;
    /// # let mut peer = std::net::TcpStream::connect(listener.local_addr()?)?;
    /// # let (stream, _) = listener.accept().await?;
    /// # let _ = &mut peer;
    /// assert!(stream.take_error()?.is_none());
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get_ref().take_error()
    }

    /// Sets `TCP_NODELAY` (turns Nagle's algorithm off when true).
    ///
    /// ```
    /// # gmp_exec::block_on(async {
    /// # let listener = gmp_exec::net::TcpListener::bind("127.0.0.1:0").await?;
    /// # let mut peer = std::net::TcpStream::connect(listener.local_addr()?)?;
    /// # let (stream, _) = listener.accept().await?;
    /// # let _ = &mut peer;
    /// stream.set_nodelay(true)?;
    /// assert!(stream.nodelay()?);
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.io.get_ref().set_nodelay(nodelay)
    }

    /// `TCP_NODELAY`.
    ///
    /// ```
    /// # gmp_exec::block_on(async {
    /// # let listener = gmp_exec::net::TcpListener::bind("127.0.0.1:0").await?;
    /// # let mut peer = std::net::TcpStream::connect(listener.local_addr()?)?;
    /// # let (stream, _) = listener.accept().await?;
    /// # let _ = &mut peer;
    /// stream.set_nodelay(false)?;
    /// assert!(!stream.nodelay()?);
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn nodelay(&self) -> io::Result<bool> {
        self.io.get_ref().nodelay()
    }

    /// Sets `IP_TTL`.
    ///
    /// ```
    /// # gmp_exec::block_on(async {
    /// # let listener = gmp_exec::net::TcpListener::bind("127.0.0.1:0").await?;
    /// # let mut peer = std::net::TcpStream::connect(listener.local_addr()?)?;
    /// # let (stream, _) = listener.accept().await?;
    /// # let _ = &mut peer;
    /// stream.set_ttl(16)?;
    /// assert_eq!(stream.ttl()?, 16);
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.get_ref().set_ttl(ttl)
    }

    /// `IP_TTL`.
    ///
    /// ```
    /// # gmp_exec::block_on(async {
    /// # let listener = gmp_exec::net::TcpListener::bind("127.0.0.1:0").await?;
    /// # let mut peer = std::net::TcpStream::connect(listener.local_addr()?)?;
    /// # let (stream, _) = listener.accept().await?;
    /// # let _ = &mut peer;
    /// assert!(stream.ttl()? > 0);
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.get_ref().ttl()
    }

    /// Shuts down the read side, the write side or both, at once (like std's;
    /// nothing to wait for).
    ///
    /// ```
    /// use std::io::Read;
    /// # gmp_exec::block_on(async {
    /// # let listener = gmp_exec::net::TcpListener::bind("127.0.0.1:0").await?;
    /// # let mut peer = std::net::TcpStream::connect(listener.local_addr()?)?;
    /// # let (stream, _) = listener.accept().await?;
    /// stream.shutdown(std::net::Shutdown::Write)?;
    /// // The peer reads end of file at once.
    /// let mut buf = [0; 8];
    /// assert_eq!(peer.read(&mut buf)?, 0);
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.shutdown(how)
    }

    /// Waits until the stream is readable: data, end of file or an error is
    /// there. It may be a false positive: [`try_read`](Self::try_read) then
    /// returns `WouldBlock`, and the next `readable` waits.
    ///
    /// ```
    /// # gmp_exec::block_on(async {
    /// # let listener = gmp_exec::net::TcpListener::bind("127.0.0.1:0").await?;
    /// # let mut peer = std::net::TcpStream::connect(listener.local_addr()?)?;
    /// # let (stream, _) = listener.accept().await?;
    /// # std::io::Write::write_all(&mut peer, b"data")?;
    /// # drop(peer);
    /// let mut got = Vec::new();
    /// let mut buf = [0; 1024];
    /// loop {
    ///     stream.readable().await?;
    ///     match stream.try_read(&mut buf) {
    ///         Ok(0) => break,
    ///         Ok(n) => got.extend_from_slice(&buf[..n]),
    ///         Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
    ///         Err(e) => return Err(e),
    ///     }
    /// }
    /// assert_eq!(got, b"data");
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub async fn readable(&self) -> io::Result<()> {
        poll_fn(|cx| self.poll_read_ready(cx)).await
    }

    /// Waits until the stream is writable (see [`readable`](Self::readable)).
    ///
    /// ```
    /// # gmp_exec::block_on(async {
    /// # let listener = gmp_exec::net::TcpListener::bind("127.0.0.1:0").await?;
    /// # let mut peer = std::net::TcpStream::connect(listener.local_addr()?)?;
    /// # let (stream, _) = listener.accept().await?;
    /// stream.writable().await?;
    /// let n = stream.try_write(b"ready")?;
    /// assert_eq!(n, 5);
    /// # let mut buf = [0; 5];
    /// # std::io::Read::read_exact(&mut peer, &mut buf)?;
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
    /// # let listener = gmp_exec::net::TcpListener::bind("127.0.0.1:0").await?;
    /// # let mut peer = std::net::TcpStream::connect(listener.local_addr()?)?;
    /// # let (stream, _) = listener.accept().await?;
    /// std::io::Write::write_all(&mut peer, b"x")?;
    /// let mut buf = [0; 4];
    /// let n = loop {
    ///     poll_fn(|cx| stream.poll_read_ready(cx)).await?;
    ///     match stream.try_read(&mut buf) {
    ///         Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
    ///         r => break r?,
    ///     }
    /// };
    /// assert_eq!(&buf[..n], b"x");
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
    /// # let listener = gmp_exec::net::TcpListener::bind("127.0.0.1:0").await?;
    /// # let mut peer = std::net::TcpStream::connect(listener.local_addr()?)?;
    /// # let (stream, _) = listener.accept().await?;
    /// poll_fn(|cx| stream.poll_write_ready(cx)).await?;
    /// assert_eq!(stream.try_write(b"go")?, 2);
    /// # let mut buf = [0; 2];
    /// # std::io::Read::read_exact(&mut peer, &mut buf)?;
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.poll_ready(Direction::Write, cx).map_ok(drop)
    }

    /// Reads what is there without waiting: `WouldBlock` if nothing is, and
    /// then the next [`readable`](Self::readable) waits for new data.
    ///
    /// ```
    /// use std::io::ErrorKind::WouldBlock;
    /// # gmp_exec::block_on(async {
    /// # let listener = gmp_exec::net::TcpListener::bind("127.0.0.1:0").await?;
    /// # let mut peer = std::net::TcpStream::connect(listener.local_addr()?)?;
    /// # let (stream, _) = listener.accept().await?;
    /// let mut buf = [0; 8];
    /// assert_eq!(stream.try_read(&mut buf).unwrap_err().kind(), WouldBlock);
    /// std::io::Write::write_all(&mut peer, b"now")?;
    /// let n = loop {
    ///     stream.readable().await?;
    ///     match stream.try_read(&mut buf) {
    ///         Err(e) if e.kind() == WouldBlock => continue,
    ///         r => break r?,
    ///     }
    /// };
    /// assert_eq!(&buf[..n], b"now");
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
    /// # let listener = gmp_exec::net::TcpListener::bind("127.0.0.1:0").await?;
    /// # let mut peer = std::net::TcpStream::connect(listener.local_addr()?)?;
    /// # let (stream, _) = listener.accept().await?;
    /// std::io::Write::write_all(&mut peer, b"ab")?;
    /// let (mut first, mut second) = ([0; 1], [0; 1]);
    /// let n = loop {
    ///     stream.readable().await?;
    ///     let mut bufs = [IoSliceMut::new(&mut first), IoSliceMut::new(&mut second)];
    ///     match stream.try_read_vectored(&mut bufs) {
    ///         Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
    ///         r => break r?,
    ///     }
    /// };
    /// assert_eq!(first, *b"a");
    /// if n == 2 {
    ///     assert_eq!(second, *b"b"); // the second buffer got the rest
    /// }
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn try_read_vectored(&self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        self.io.try_read_vectored(bufs)
    }

    /// Writes what fits without waiting: `WouldBlock` if nothing does.
    ///
    /// ```
    /// use std::io::Read;
    /// # gmp_exec::block_on(async {
    /// # let listener = gmp_exec::net::TcpListener::bind("127.0.0.1:0").await?;
    /// # let mut peer = std::net::TcpStream::connect(listener.local_addr()?)?;
    /// # let (stream, _) = listener.accept().await?;
    /// stream.writable().await?;
    /// assert_eq!(stream.try_write(b"hello")?, 5);
    /// let mut buf = [0; 5];
    /// peer.read_exact(&mut buf)?;
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
    /// use std::io::{IoSlice, Read};
    /// # gmp_exec::block_on(async {
    /// # let listener = gmp_exec::net::TcpListener::bind("127.0.0.1:0").await?;
    /// # let mut peer = std::net::TcpStream::connect(listener.local_addr()?)?;
    /// # let (stream, _) = listener.accept().await?;
    /// stream.writable().await?;
    /// let n = stream.try_write_vectored(&[IoSlice::new(b"ab"), IoSlice::new(b"cd")])?;
    /// assert_eq!(n, 4);
    /// let mut buf = [0; 4];
    /// peer.read_exact(&mut buf)?;
    /// assert_eq!(&buf, b"abcd");
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.io.try_write_vectored(bufs)
    }

    /// Reads without taking the data out of the socket (`MSG_PEEK`): the next
    /// read returns it again. Waits until there is something.
    ///
    /// ```
    /// use futures::io::AsyncReadExt;
    /// # gmp_exec::block_on(async {
    /// # let listener = gmp_exec::net::TcpListener::bind("127.0.0.1:0").await?;
    /// # let mut peer = std::net::TcpStream::connect(listener.local_addr()?)?;
    /// # let (mut stream, _) = listener.accept().await?;
    /// std::io::Write::write_all(&mut peer, b"abc")?;
    /// let mut buf = [0; 3];
    /// let n = stream.peek(&mut buf).await?;
    /// assert_eq!(&buf[..n], &b"abc"[..n]);
    /// stream.read_exact(&mut buf).await?;
    /// assert_eq!(&buf, b"abc");
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| self.poll_peek(cx, buf)).await
    }

    /// [`peek`](Self::peek) as a poll function.
    ///
    /// ```
    /// use std::future::poll_fn;
    /// # gmp_exec::block_on(async {
    /// # let listener = gmp_exec::net::TcpListener::bind("127.0.0.1:0").await?;
    /// # let mut peer = std::net::TcpStream::connect(listener.local_addr()?)?;
    /// # let (stream, _) = listener.accept().await?;
    /// std::io::Write::write_all(&mut peer, b"peek")?;
    /// let mut buf = [0; 4];
    /// let n = poll_fn(|cx| stream.poll_peek(cx, &mut buf)).await?;
    /// assert_eq!(&buf[..n], &b"peek"[..n]);
    /// // The bytes are still there for the next read.
    /// let m = poll_fn(|cx| stream.poll_peek(cx, &mut buf)).await?;
    /// assert!(m >= n);
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn poll_peek(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.io.poll_io(Direction::Read, cx, |s| s.peek(buf))
    }

    /// Borrowed halves, for a reader and a writer in one task (or in scoped
    /// ones): `(ReadHalf, WriteHalf)`. They need no lock: the registration
    /// keeps a waker per direction.
    ///
    /// With `futures::io::AsyncReadExt` in scope, `stream.split()` finds that
    /// trait's by-value `split` first (Rust's method resolution tries `self`
    /// before `&mut self`), which wraps the stream in a lock; write
    /// `TcpStream::split(&mut stream)` to get these halves.
    ///
    /// ```
    /// use futures::io::{AsyncReadExt, AsyncWriteExt};
    /// use gmp_exec::net::TcpStream;
    /// # gmp_exec::block_on(async {
    /// # let listener = gmp_exec::net::TcpListener::bind("127.0.0.1:0").await?;
    /// # let mut client = TcpStream::connect(listener.local_addr()?).await?;
    /// # let (mut server, _) = listener.accept().await?;
    /// let (mut reader, mut writer) = TcpStream::split(&mut server);
    /// let copy = futures::io::copy(&mut reader, &mut writer); // echo until EOF
    /// let talk = async {
    ///     client.write_all(b"echo").await?;
    ///     client.close().await?; // the copy ends at this end of file
    ///     let mut back = [0; 4];
    ///     client.read_exact(&mut back).await?;
    ///     std::io::Result::Ok(back)
    /// };
    /// let (copied, back) = futures::join!(copy, talk);
    /// assert_eq!(copied?, 4);
    /// assert_eq!(&back?, b"echo");
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn split(&mut self) -> (ReadHalf<'_>, WriteHalf<'_>) {
        super::split(self)
    }

    /// Owned halves, for a reader task and a writer task: `(OwnedReadHalf,
    /// OwnedWriteHalf)`. Dropping the write half shuts the write side down;
    /// [`reunite`](OwnedReadHalf::reunite) gives the stream back.
    ///
    /// ```
    /// use futures::io::{AsyncReadExt, AsyncWriteExt};
    /// # gmp_exec::block_on(async {
    /// # let listener = gmp_exec::net::TcpListener::bind("127.0.0.1:0").await?;
    /// # let client = gmp_exec::net::TcpStream::connect(listener.local_addr()?).await?;
    /// # let (mut server, _) = listener.accept().await?;
    /// let (mut reader, mut writer) = client.into_split();
    /// let writing = gmp_exec::spawn(async move {
    ///     writer.write_all(b"from a task").await?;
    ///     std::io::Result::Ok(writer)
    /// });
    /// let mut buf = [0; 11];
    /// server.read_exact(&mut buf).await?;
    /// let writer = writing.await??;
    /// let client = reader.reunite(writer).expect("same stream");
    /// # let _ = client;
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        super::into_split(self)
    }
}

async_read!([] TcpStream, |s| s.io);
async_read!(['a] &'a TcpStream, |s| s.io);
async_write!([] TcpStream, |s| s.io);
async_write!(['a] &'a TcpStream, |s| s.io);
blocking_io!([] TcpStream, |s| &s.io);
blocking_io!(['a] &'a TcpStream, |s| &s.io);

impl TryFrom<std::net::TcpStream> for TcpStream {
    type Error = io::Error;

    /// [`TcpStream::from_std`].
    fn try_from(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        TcpStream::from_std(stream)
    }
}

sys::impl_as_source!(TcpStream);

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.io.fmt(f)
    }
}
