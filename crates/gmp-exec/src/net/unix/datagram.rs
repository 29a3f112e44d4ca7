//! [`UnixDatagram`].

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::net::Shutdown;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::path::Path;
use std::task::{Context, Poll};

use gmp_netpoll::Direction;

use super::SocketAddr;
use crate::net::evented::Evented;

/// A Unix-domain datagram socket (tokio's `UnixDatagram`).
///
/// ```
/// gmp_exec::block_on(async {
///     let (a, b) = gmp_exec::net::UnixDatagram::pair()?;
///     a.send(b"one datagram").await?;
///     let mut buf = [0; 32];
///     let n = b.recv(&mut buf).await?;
///     assert_eq!(&buf[..n], b"one datagram");
///     std::io::Result::Ok(())
/// })
/// .unwrap();
/// ```
pub struct UnixDatagram {
    io: Evented<std::os::unix::net::UnixDatagram>,
}

impl UnixDatagram {
    /// A socket bound to the file `path` (which must not exist yet).
    ///
    /// ```
    /// use gmp_exec::net::UnixDatagram;
    /// # gmp_exec::block_on(async {
    /// let path = std::env::temp_dir().join(format!("gmp-doc-dgram-bind-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let server = UnixDatagram::bind(&path)?;
    /// let client = UnixDatagram::unbound()?;
    /// client.send_to(b"hello", &path).await?;
    /// let mut buf = [0; 8];
    /// let (n, _) = server.recv_from(&mut buf).await?;
    /// assert_eq!(&buf[..n], b"hello");
    /// std::fs::remove_file(&path)?;
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn bind<P: AsRef<Path>>(path: P) -> io::Result<UnixDatagram> {
        UnixDatagram::from_std(std::os::unix::net::UnixDatagram::bind(path)?)
    }

    /// A socket bound to no address (it can send, and receive replies only
    /// once connected).
    ///
    /// ```
    /// use gmp_exec::net::UnixDatagram;
    /// # gmp_exec::block_on(async {
    /// let path = std::env::temp_dir().join(format!("gmp-doc-dgram-unbound-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let server = UnixDatagram::bind(&path)?;
    /// let client = UnixDatagram::unbound()?;
    /// assert!(client.local_addr()?.is_unnamed());
    /// client.connect(&path)?;
    /// client.send(b"hi").await?;
    /// let mut buf = [0; 2];
    /// assert_eq!(server.recv(&mut buf).await?, 2);
    /// std::fs::remove_file(&path)?;
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn unbound() -> io::Result<UnixDatagram> {
        UnixDatagram::from_std(std::os::unix::net::UnixDatagram::unbound()?)
    }

    /// A connected pair (`socketpair`).
    ///
    /// ```
    /// # gmp_exec::block_on(async {
    /// let (a, b) = gmp_exec::net::UnixDatagram::pair()?;
    /// b.send(b"back").await?;
    /// let mut buf = [0; 4];
    /// assert_eq!(a.recv(&mut buf).await?, 4);
    /// assert_eq!(&buf, b"back");
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn pair() -> io::Result<(UnixDatagram, UnixDatagram)> {
        let (a, b) = std::os::unix::net::UnixDatagram::pair()?;
        Ok((UnixDatagram::from_std(a)?, UnixDatagram::from_std(b)?))
    }

    /// Sets the default peer (does not block for datagram sockets).
    ///
    /// ```
    /// use gmp_exec::net::UnixDatagram;
    /// # gmp_exec::block_on(async {
    /// let path = std::env::temp_dir().join(format!("gmp-doc-dgram-connect-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let server = UnixDatagram::bind(&path)?;
    /// let client = UnixDatagram::unbound()?;
    /// client.connect(&path)?;
    /// assert_eq!(client.peer_addr()?.as_pathname(), Some(path.as_path()));
    /// client.send(b"x").await?;
    /// let mut buf = [0; 1];
    /// assert_eq!(server.recv(&mut buf).await?, 1);
    /// std::fs::remove_file(&path)?;
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn connect<P: AsRef<Path>>(&self, path: P) -> io::Result<()> {
        self.io.get_ref().connect(path)
    }

    /// Registers a std socket with the current runtime (this M's, the entered
    /// one, or the default), putting it in nonblocking mode.
    ///
    /// ```
    /// # gmp_exec::block_on(async {
    /// let (a, b) = std::os::unix::net::UnixDatagram::pair()?;
    /// let a = gmp_exec::net::UnixDatagram::from_std(a)?;
    /// b.send(b"from std")?;
    /// let mut buf = [0; 8];
    /// assert_eq!(a.recv(&mut buf).await?, 8);
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn from_std(socket: std::os::unix::net::UnixDatagram) -> io::Result<UnixDatagram> {
        socket.set_nonblocking(true)?;
        Ok(UnixDatagram {
            io: Evented::new(socket)?,
        })
    }

    /// Deregisters the socket and gives the std one back, still in
    /// nonblocking mode. Returns `io::Result` as tokio's does; it does not
    /// fail.
    ///
    /// ```
    /// # gmp_exec::block_on(async {
    /// # let (a, b) = gmp_exec::net::UnixDatagram::pair()?;
    /// let b = b.into_std()?;
    /// a.send(b"to std").await?;
    /// let mut buf = [0; 6];
    /// assert_eq!(b.recv(&mut buf)?, 6); // nonblocking, but the datagram is there
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixDatagram> {
        Ok(self.io.into_inner())
    }

    /// The local address.
    ///
    /// ```
    /// # gmp_exec::block_on(async {
    /// let path = std::env::temp_dir().join(format!("gmp-doc-dgram-local-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let socket = gmp_exec::net::UnixDatagram::bind(&path)?;
    /// assert_eq!(socket.local_addr()?.as_pathname(), Some(path.as_path()));
    /// std::fs::remove_file(&path)?;
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The connected peer's address.
    ///
    /// ```
    /// # gmp_exec::block_on(async {
    /// # let (a, b) = gmp_exec::net::UnixDatagram::pair()?;
    /// # let _ = b;
    /// // A socketpair's ends have no names.
    /// assert!(a.peer_addr()?.is_unnamed());
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
    /// # let (a, b) = gmp_exec::net::UnixDatagram::pair()?;
    /// # let _ = b;
    /// assert!(a.take_error()?.is_none());
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get_ref().take_error()
    }

    /// Shuts down reading, writing or both.
    ///
    /// ```
    /// # gmp_exec::block_on(async {
    /// # let (a, b) = gmp_exec::net::UnixDatagram::pair()?;
    /// # let _ = b;
    /// a.shutdown(std::net::Shutdown::Write)?;
    /// assert!(a.send(b"late").await.is_err());
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.get_ref().shutdown(how)
    }

    /// Sends a datagram to the connected peer.
    ///
    /// ```
    /// # gmp_exec::block_on(async {
    /// # let (a, b) = gmp_exec::net::UnixDatagram::pair()?;
    /// assert_eq!(a.send(b"abc").await?, 3);
    /// let mut buf = [0; 3];
    /// assert_eq!(b.recv(&mut buf).await?, 3);
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        poll_fn(|cx| self.poll_send(cx, buf)).await
    }

    /// [`send`](Self::send) as a poll function.
    ///
    /// ```
    /// use std::future::poll_fn;
    /// # gmp_exec::block_on(async {
    /// # let (a, b) = gmp_exec::net::UnixDatagram::pair()?;
    /// assert_eq!(poll_fn(|cx| a.poll_send(cx, b"poll")).await?, 4);
    /// let mut buf = [0; 4];
    /// assert_eq!(b.recv(&mut buf).await?, 4);
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn poll_send(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.io.poll_io(Direction::Write, cx, |s| s.send(buf))
    }

    /// Sends a datagram to the connected peer without waiting.
    ///
    /// ```
    /// # gmp_exec::block_on(async {
    /// # let (a, b) = gmp_exec::net::UnixDatagram::pair()?;
    /// a.writable().await?;
    /// assert_eq!(a.try_send(b"now")?, 3);
    /// let mut buf = [0; 3];
    /// assert_eq!(b.recv(&mut buf).await?, 3);
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn try_send(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.try_io(Direction::Write, |s| s.send(buf))
    }

    /// Receives a datagram from the connected peer.
    ///
    /// ```
    /// # gmp_exec::block_on(async {
    /// # let (a, b) = gmp_exec::net::UnixDatagram::pair()?;
    /// a.send(b"first").await?;
    /// a.send(b"second").await?;
    /// let mut buf = [0; 8];
    /// // Datagrams keep their boundaries.
    /// assert_eq!(b.recv(&mut buf).await?, 5);
    /// assert_eq!(b.recv(&mut buf).await?, 6);
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| self.poll_recv(cx, buf)).await
    }

    /// [`recv`](Self::recv) as a poll function.
    ///
    /// ```
    /// use std::future::poll_fn;
    /// # gmp_exec::block_on(async {
    /// # let (a, b) = gmp_exec::net::UnixDatagram::pair()?;
    /// a.send(b"hey").await?;
    /// let mut buf = [0; 8];
    /// let n = poll_fn(|cx| b.poll_recv(cx, &mut buf)).await?;
    /// assert_eq!(&buf[..n], b"hey");
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn poll_recv(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.io.poll_io(Direction::Read, cx, |s| s.recv(buf))
    }

    /// Receives a datagram without waiting.
    ///
    /// ```
    /// # gmp_exec::block_on(async {
    /// # let (a, b) = gmp_exec::net::UnixDatagram::pair()?;
    /// let mut buf = [0; 8];
    /// assert_eq!(b.try_recv(&mut buf).unwrap_err().kind(), std::io::ErrorKind::WouldBlock);
    /// a.send(b"ready").await?;
    /// // A socketpair's datagram is queued on the peer by the time send returns.
    /// assert_eq!(b.try_recv(&mut buf)?, 5);
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn try_recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.try_io(Direction::Read, |s| s.recv(buf))
    }

    /// Sends a datagram to the socket at `path`.
    ///
    /// ```
    /// use gmp_exec::net::UnixDatagram;
    /// # gmp_exec::block_on(async {
    /// let path = std::env::temp_dir().join(format!("gmp-doc-dgram-send-to-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let server = UnixDatagram::bind(&path)?;
    /// let client = UnixDatagram::unbound()?;
    /// assert_eq!(client.send_to(b"to path", &path).await?, 7);
    /// let mut buf = [0; 7];
    /// assert_eq!(server.recv(&mut buf).await?, 7);
    /// std::fs::remove_file(&path)?;
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub async fn send_to<P: AsRef<Path>>(&self, buf: &[u8], path: P) -> io::Result<usize> {
        let path = path.as_ref();
        poll_fn(|cx| self.poll_send_to(cx, buf, path)).await
    }

    /// [`send_to`](Self::send_to) as a poll function.
    ///
    /// ```
    /// use gmp_exec::net::UnixDatagram;
    /// use std::future::poll_fn;
    /// # gmp_exec::block_on(async {
    /// let path = std::env::temp_dir().join(format!("gmp-doc-dgram-poll-send-to-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let server = UnixDatagram::bind(&path)?;
    /// let client = UnixDatagram::unbound()?;
    /// assert_eq!(poll_fn(|cx| client.poll_send_to(cx, b"p", &path)).await?, 1);
    /// let mut buf = [0; 1];
    /// assert_eq!(server.recv(&mut buf).await?, 1);
    /// std::fs::remove_file(&path)?;
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn poll_send_to(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
        path: &Path,
    ) -> Poll<io::Result<usize>> {
        self.io
            .poll_io(Direction::Write, cx, |s| s.send_to(buf, path))
    }

    /// Receives a datagram and its sender's address.
    ///
    /// ```
    /// use gmp_exec::net::UnixDatagram;
    /// # gmp_exec::block_on(async {
    /// let path = std::env::temp_dir().join(format!("gmp-doc-dgram-recv-from-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let server = UnixDatagram::bind(&path)?;
    /// let client = UnixDatagram::unbound()?;
    /// client.send_to(b"anon", &path).await?;
    /// let mut buf = [0; 4];
    /// let (n, from) = server.recv_from(&mut buf).await?;
    /// assert_eq!(n, 4);
    /// assert!(from.is_unnamed()); // the client has no name to reply to
    /// std::fs::remove_file(&path)?;
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        poll_fn(|cx| self.poll_recv_from(cx, buf)).await
    }

    /// [`recv_from`](Self::recv_from) as a poll function.
    ///
    /// ```
    /// use std::future::poll_fn;
    /// # gmp_exec::block_on(async {
    /// # let (a, b) = gmp_exec::net::UnixDatagram::pair()?;
    /// a.send(b"pf").await?;
    /// let mut buf = [0; 2];
    /// let (n, _from) = poll_fn(|cx| b.poll_recv_from(cx, &mut buf)).await?;
    /// assert_eq!(&buf[..n], b"pf");
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn poll_recv_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, SocketAddr)>> {
        self.io.poll_io(Direction::Read, cx, |s| s.recv_from(buf))
    }

    /// Waits until a datagram can be received.
    ///
    /// ```
    /// # gmp_exec::block_on(async {
    /// # let (a, b) = gmp_exec::net::UnixDatagram::pair()?;
    /// a.send(b"r").await?;
    /// b.readable().await?;
    /// let mut buf = [0; 1];
    /// assert_eq!(b.try_recv(&mut buf)?, 1);
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub async fn readable(&self) -> io::Result<()> {
        poll_fn(|cx| self.poll_recv_ready(cx)).await
    }

    /// Waits until a datagram can be sent.
    ///
    /// ```
    /// # gmp_exec::block_on(async {
    /// # let (a, b) = gmp_exec::net::UnixDatagram::pair()?;
    /// a.writable().await?;
    /// assert_eq!(a.try_send(b"w")?, 1);
    /// # let mut buf = [0; 1];
    /// # b.recv(&mut buf).await?;
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub async fn writable(&self) -> io::Result<()> {
        poll_fn(|cx| self.poll_send_ready(cx)).await
    }

    /// `Ready` when a datagram can be received.
    ///
    /// ```
    /// use std::future::poll_fn;
    /// # gmp_exec::block_on(async {
    /// # let (a, b) = gmp_exec::net::UnixDatagram::pair()?;
    /// a.send(b"ok").await?;
    /// poll_fn(|cx| b.poll_recv_ready(cx)).await?;
    /// let mut buf = [0; 2];
    /// assert_eq!(b.try_recv(&mut buf)?, 2);
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn poll_recv_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.poll_ready(Direction::Read, cx).map_ok(drop)
    }

    /// `Ready` when a datagram can be sent.
    ///
    /// ```
    /// use std::future::poll_fn;
    /// # gmp_exec::block_on(async {
    /// # let (a, b) = gmp_exec::net::UnixDatagram::pair()?;
    /// poll_fn(|cx| a.poll_send_ready(cx)).await?;
    /// assert_eq!(a.try_send(b"go")?, 2);
    /// # let mut buf = [0; 2];
    /// # b.recv(&mut buf).await?;
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn poll_send_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.poll_ready(Direction::Write, cx).map_ok(drop)
    }
}

impl TryFrom<std::os::unix::net::UnixDatagram> for UnixDatagram {
    type Error = io::Error;

    /// [`UnixDatagram::from_std`].
    fn try_from(socket: std::os::unix::net::UnixDatagram) -> io::Result<UnixDatagram> {
        UnixDatagram::from_std(socket)
    }
}

impl AsFd for UnixDatagram {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.as_fd()
    }
}

impl AsRawFd for UnixDatagram {
    fn as_raw_fd(&self) -> RawFd {
        self.io.as_fd().as_raw_fd()
    }
}

impl fmt::Debug for UnixDatagram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.io.fmt(f)
    }
}
