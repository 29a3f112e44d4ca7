//! [`UdpSocket`].

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::task::{Context, Poll};

use gmp_netpoll::Direction;

use super::addr::{each_addr, first_addr, ToSocketAddrs};
use super::evented::Evented;
use super::sys;

/// A UDP socket (Go's `net.UDPConn`, tokio's `UdpSocket`).
///
/// Every call takes `&self`: one task may wait to receive while another waits
/// to send (share the socket through an `Arc`). One task at a time per
/// direction.
///
/// ```
/// use gmp_exec::net::UdpSocket;
///
/// gmp_exec::block_on(async {
///     let a = UdpSocket::bind("127.0.0.1:0").await?;
///     let b = UdpSocket::bind("127.0.0.1:0").await?;
///     a.send_to(b"ping", b.local_addr()?).await?;
///     let mut buf = [0; 16];
///     let (n, from) = b.recv_from(&mut buf).await?;
///     assert_eq!(&buf[..n], b"ping");
///     assert_eq!(from, a.local_addr()?);
///     // Connected: send and recv talk to one peer.
///     b.connect(from).await?;
///     b.send(b"pong").await?;
///     let n = a.recv(&mut buf).await?;
///     assert_eq!(&buf[..n], b"pong");
///     std::io::Result::Ok(())
/// })
/// .unwrap();
/// ```
pub struct UdpSocket {
    io: Evented<std::net::UdpSocket>,
}

impl UdpSocket {
    /// Binds a socket to `addr`, trying each address it resolves to in turn;
    /// the last error if none binds.
    ///
    /// ```
    /// # gmp_exec::block_on(async {
    /// # use gmp_exec::net::UdpSocket;
    /// let socket = UdpSocket::bind("127.0.0.1:0").await?;
    /// assert!(socket.local_addr()?.ip().is_loopback());
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub async fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<UdpSocket> {
        each_addr(addr, |a| async move {
            UdpSocket::from_std(std::net::UdpSocket::bind(a)?)
        })
        .await
    }

    /// Sets the default peer: `send` goes there, and only its datagrams are
    /// received. Tries each address `addr` resolves to; the last error if
    /// none works.
    ///
    /// ```
    /// # gmp_exec::block_on(async {
    /// # use gmp_exec::net::UdpSocket;
    /// let a = UdpSocket::bind("127.0.0.1:0").await?;
    /// let b = UdpSocket::bind("127.0.0.1:0").await?;
    /// a.connect(b.local_addr()?).await?;
    /// assert_eq!(a.peer_addr()?, b.local_addr()?);
    /// a.send(b"hi").await?;
    /// let mut buf = [0; 2];
    /// assert_eq!(b.recv_from(&mut buf).await?, (2, a.local_addr()?));
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub async fn connect<A: ToSocketAddrs>(&self, addr: A) -> io::Result<()> {
        each_addr(addr, |a| async move { self.io.get_ref().connect(a) }).await
    }

    /// Registers a std socket with the current runtime (this M's, the entered
    /// one, or the default), putting it in nonblocking mode.
    ///
    /// ```
    /// # gmp_exec::block_on(async {
    /// # use gmp_exec::net::UdpSocket;
    /// let std_socket = std::net::UdpSocket::bind("127.0.0.1:0")?;
    /// let addr = std_socket.local_addr()?;
    /// let socket = UdpSocket::from_std(std_socket)?;
    /// assert_eq!(socket.local_addr()?, addr);
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn from_std(socket: std::net::UdpSocket) -> io::Result<UdpSocket> {
        socket.set_nonblocking(true)?;
        Ok(UdpSocket {
            io: Evented::new(socket)?,
        })
    }

    /// Deregisters the socket and gives the std one back, still in
    /// nonblocking mode. Returns `io::Result` as tokio's does; it does not
    /// fail.
    ///
    /// ```
    /// # gmp_exec::block_on(async {
    /// # use gmp_exec::net::UdpSocket;
    /// let socket = UdpSocket::bind("127.0.0.1:0").await?;
    /// let addr = socket.local_addr()?;
    /// let std_socket = socket.into_std()?;
    /// assert_eq!(std_socket.local_addr()?, addr);
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn into_std(self) -> io::Result<std::net::UdpSocket> {
        Ok(self.io.into_inner())
    }

    /// The local address.
    ///
    /// ```
    /// # gmp_exec::block_on(async {
    /// # use gmp_exec::net::UdpSocket;
    /// let socket = UdpSocket::bind("127.0.0.1:0").await?;
    /// assert_ne!(socket.local_addr()?.port(), 0);
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The connected peer's address (`NotConnected` if there is none).
    ///
    /// ```
    /// # gmp_exec::block_on(async {
    /// # use gmp_exec::net::UdpSocket;
    /// let a = UdpSocket::bind("127.0.0.1:0").await?;
    /// let err = a.peer_addr().unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::NotConnected);
    /// a.connect("127.0.0.1:9").await?;
    /// assert_eq!(a.peer_addr()?, "127.0.0.1:9".parse().unwrap());
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
    /// # use gmp_exec::net::UdpSocket;
    /// let socket = UdpSocket::bind("127.0.0.1:0").await?;
    /// assert!(socket.take_error()?.is_none());
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get_ref().take_error()
    }

    /// Sets `SO_BROADCAST`.
    ///
    /// ```
    /// # gmp_exec::block_on(async {
    /// # use gmp_exec::net::UdpSocket;
    /// let socket = UdpSocket::bind("127.0.0.1:0").await?;
    /// socket.set_broadcast(true)?;
    /// assert!(socket.broadcast()?);
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn set_broadcast(&self, on: bool) -> io::Result<()> {
        self.io.get_ref().set_broadcast(on)
    }

    /// `SO_BROADCAST`.
    ///
    /// ```
    /// # gmp_exec::block_on(async {
    /// # use gmp_exec::net::UdpSocket;
    /// let socket = UdpSocket::bind("127.0.0.1:0").await?;
    /// assert!(!socket.broadcast()?); // off by default
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn broadcast(&self) -> io::Result<bool> {
        self.io.get_ref().broadcast()
    }

    /// Sets `IP_TTL`.
    ///
    /// ```
    /// # gmp_exec::block_on(async {
    /// # use gmp_exec::net::UdpSocket;
    /// let socket = UdpSocket::bind("127.0.0.1:0").await?;
    /// socket.set_ttl(8)?;
    /// assert_eq!(socket.ttl()?, 8);
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
    /// # use gmp_exec::net::UdpSocket;
    /// let socket = UdpSocket::bind("127.0.0.1:0").await?;
    /// assert!(socket.ttl()? > 0);
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.get_ref().ttl()
    }

    /// Sends a datagram to the connected peer; returns the bytes sent.
    ///
    /// ```
    /// # gmp_exec::block_on(async {
    /// # use gmp_exec::net::UdpSocket;
    /// # let a = UdpSocket::bind("127.0.0.1:0").await?;
    /// # let b = UdpSocket::bind("127.0.0.1:0").await?;
    /// # a.connect(b.local_addr()?).await?;
    /// # b.connect(a.local_addr()?).await?;
    /// assert_eq!(a.send(b"ping").await?, 4);
    /// let mut buf = [0; 8];
    /// let n = b.recv(&mut buf).await?;
    /// assert_eq!(&buf[..n], b"ping");
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
    /// # use gmp_exec::net::UdpSocket;
    /// # let a = UdpSocket::bind("127.0.0.1:0").await?;
    /// # let b = UdpSocket::bind("127.0.0.1:0").await?;
    /// # a.connect(b.local_addr()?).await?;
    /// # b.connect(a.local_addr()?).await?;
    /// let sent = poll_fn(|cx| a.poll_send(cx, b"poll")).await?;
    /// assert_eq!(sent, 4);
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
    /// # use gmp_exec::net::UdpSocket;
    /// # let a = UdpSocket::bind("127.0.0.1:0").await?;
    /// # let b = UdpSocket::bind("127.0.0.1:0").await?;
    /// # a.connect(b.local_addr()?).await?;
    /// # b.connect(a.local_addr()?).await?;
    /// a.writable().await?;
    /// assert_eq!(a.try_send(b"now")?, 3);
    /// let mut buf = [0; 3];
    /// b.recv(&mut buf).await?;
    /// assert_eq!(&buf, b"now");
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn try_send(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.try_io(Direction::Write, |s| s.send(buf))
    }

    /// Receives a datagram from the connected peer; a datagram longer than
    /// `buf` is cut.
    ///
    /// ```
    /// # gmp_exec::block_on(async {
    /// # use gmp_exec::net::UdpSocket;
    /// # let a = UdpSocket::bind("127.0.0.1:0").await?;
    /// # let b = UdpSocket::bind("127.0.0.1:0").await?;
    /// # a.connect(b.local_addr()?).await?;
    /// # b.connect(a.local_addr()?).await?;
    /// a.send(b"datagram").await?;
    /// let mut small = [0; 4];
    /// // A datagram longer than the buffer is cut.
    /// assert_eq!(b.recv(&mut small).await?, 4);
    /// assert_eq!(&small, b"data");
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
    /// # use gmp_exec::net::UdpSocket;
    /// # let a = UdpSocket::bind("127.0.0.1:0").await?;
    /// # let b = UdpSocket::bind("127.0.0.1:0").await?;
    /// # a.connect(b.local_addr()?).await?;
    /// # b.connect(a.local_addr()?).await?;
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

    /// Receives a datagram from the connected peer without waiting.
    ///
    /// ```
    /// # gmp_exec::block_on(async {
    /// # use gmp_exec::net::UdpSocket;
    /// # let a = UdpSocket::bind("127.0.0.1:0").await?;
    /// # let b = UdpSocket::bind("127.0.0.1:0").await?;
    /// # a.connect(b.local_addr()?).await?;
    /// # b.connect(a.local_addr()?).await?;
    /// let mut buf = [0; 8];
    /// assert_eq!(b.try_recv(&mut buf).unwrap_err().kind(), std::io::ErrorKind::WouldBlock);
    /// a.send(b"later").await?;
    /// let n = loop {
    ///     b.readable().await?;
    ///     match b.try_recv(&mut buf) {
    ///         Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
    ///         r => break r?,
    ///     }
    /// };
    /// assert_eq!(&buf[..n], b"later");
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn try_recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.try_io(Direction::Read, |s| s.recv(buf))
    }

    /// Sends a datagram to `target` (the first address it resolves to).
    ///
    /// ```
    /// # gmp_exec::block_on(async {
    /// # use gmp_exec::net::UdpSocket;
    /// let a = UdpSocket::bind("127.0.0.1:0").await?;
    /// let b = UdpSocket::bind("127.0.0.1:0").await?;
    /// assert_eq!(a.send_to(b"to b", b.local_addr()?).await?, 4);
    /// let mut buf = [0; 4];
    /// assert_eq!(b.recv_from(&mut buf).await?, (4, a.local_addr()?));
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub async fn send_to<A: ToSocketAddrs>(&self, buf: &[u8], target: A) -> io::Result<usize> {
        let target = first_addr(target).await?;
        poll_fn(|cx| self.poll_send_to(cx, buf, target)).await
    }

    /// [`send_to`](Self::send_to) as a poll function.
    ///
    /// ```
    /// use std::future::poll_fn;
    /// # gmp_exec::block_on(async {
    /// # use gmp_exec::net::UdpSocket;
    /// let a = UdpSocket::bind("127.0.0.1:0").await?;
    /// let b = UdpSocket::bind("127.0.0.1:0").await?;
    /// let to = b.local_addr()?;
    /// assert_eq!(poll_fn(|cx| a.poll_send_to(cx, b"x", to)).await?, 1);
    /// let mut buf = [0; 1];
    /// assert_eq!(b.recv_from(&mut buf).await?.1, a.local_addr()?);
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn poll_send_to(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
        target: SocketAddr,
    ) -> Poll<io::Result<usize>> {
        self.io
            .poll_io(Direction::Write, cx, |s| s.send_to(buf, target))
    }

    /// Sends a datagram to `target` without waiting.
    ///
    /// ```
    /// # gmp_exec::block_on(async {
    /// # use gmp_exec::net::UdpSocket;
    /// let a = UdpSocket::bind("127.0.0.1:0").await?;
    /// let b = UdpSocket::bind("127.0.0.1:0").await?;
    /// a.writable().await?;
    /// assert_eq!(a.try_send_to(b"quick", b.local_addr()?)?, 5);
    /// let mut buf = [0; 5];
    /// assert_eq!(b.recv_from(&mut buf).await?.0, 5);
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn try_send_to(&self, buf: &[u8], target: SocketAddr) -> io::Result<usize> {
        self.io.try_io(Direction::Write, |s| s.send_to(buf, target))
    }

    /// Receives a datagram and its sender's address.
    ///
    /// ```
    /// # gmp_exec::block_on(async {
    /// # use gmp_exec::net::UdpSocket;
    /// let a = UdpSocket::bind("127.0.0.1:0").await?;
    /// let b = UdpSocket::bind("127.0.0.1:0").await?;
    /// a.send_to(b"who", b.local_addr()?).await?;
    /// let mut buf = [0; 8];
    /// let (n, from) = b.recv_from(&mut buf).await?;
    /// assert_eq!((&buf[..n], from), (&b"who"[..], a.local_addr()?));
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
    /// # use gmp_exec::net::UdpSocket;
    /// let a = UdpSocket::bind("127.0.0.1:0").await?;
    /// let b = UdpSocket::bind("127.0.0.1:0").await?;
    /// a.send_to(b"hi", b.local_addr()?).await?;
    /// let mut buf = [0; 2];
    /// let (n, from) = poll_fn(|cx| b.poll_recv_from(cx, &mut buf)).await?;
    /// assert_eq!((n, from), (2, a.local_addr()?));
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

    /// Receives a datagram and its sender's address without waiting.
    ///
    /// ```
    /// # gmp_exec::block_on(async {
    /// # use gmp_exec::net::UdpSocket;
    /// let a = UdpSocket::bind("127.0.0.1:0").await?;
    /// let b = UdpSocket::bind("127.0.0.1:0").await?;
    /// a.send_to(b"msg", b.local_addr()?).await?;
    /// let mut buf = [0; 8];
    /// let (n, from) = loop {
    ///     b.readable().await?;
    ///     match b.try_recv_from(&mut buf) {
    ///         Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
    ///         r => break r?,
    ///     }
    /// };
    /// assert_eq!((&buf[..n], from), (&b"msg"[..], a.local_addr()?));
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn try_recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.io.try_io(Direction::Read, |s| s.recv_from(buf))
    }

    /// Like [`recv_from`](Self::recv_from), but leaves the datagram in the
    /// socket: the next receive returns it again.
    ///
    /// ```
    /// # gmp_exec::block_on(async {
    /// use gmp_exec::net::UdpSocket;
    /// let a = UdpSocket::bind("127.0.0.1:0").await?;
    /// let b = UdpSocket::bind("127.0.0.1:0").await?;
    /// a.send_to(b"once", b.local_addr()?).await?;
    /// let mut buf = [0; 8];
    /// let (n, _) = b.peek_from(&mut buf).await?;
    /// assert_eq!(&buf[..n], b"once");
    /// let (n, _) = b.recv_from(&mut buf).await?;
    /// assert_eq!(&buf[..n], b"once");
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub async fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        poll_fn(|cx| self.poll_peek_from(cx, buf)).await
    }

    /// [`peek_from`](Self::peek_from) as a poll function.
    ///
    /// ```
    /// use std::future::poll_fn;
    /// # gmp_exec::block_on(async {
    /// # use gmp_exec::net::UdpSocket;
    /// let a = UdpSocket::bind("127.0.0.1:0").await?;
    /// let b = UdpSocket::bind("127.0.0.1:0").await?;
    /// a.send_to(b"stay", b.local_addr()?).await?;
    /// let mut buf = [0; 4];
    /// let (n, _) = poll_fn(|cx| b.poll_peek_from(cx, &mut buf)).await?;
    /// assert_eq!(&buf[..n], b"stay");
    /// assert_eq!(b.recv_from(&mut buf).await?.0, 4); // still there
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn poll_peek_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, SocketAddr)>> {
        self.io.poll_io(Direction::Read, cx, |s| s.peek_from(buf))
    }

    /// Waits until a datagram can be received (it may be a false positive:
    /// a `try_recv` then returns `WouldBlock`).
    ///
    /// ```
    /// # gmp_exec::block_on(async {
    /// # use gmp_exec::net::UdpSocket;
    /// # let a = UdpSocket::bind("127.0.0.1:0").await?;
    /// # let b = UdpSocket::bind("127.0.0.1:0").await?;
    /// # a.connect(b.local_addr()?).await?;
    /// # b.connect(a.local_addr()?).await?;
    /// a.send(b"r").await?;
    /// b.readable().await?;
    /// let mut buf = [0; 1];
    /// // Ready, but a receive may still find nothing: then wait again.
    /// while let Err(e) = b.try_recv(&mut buf) {
    ///     assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock);
    ///     b.readable().await?;
    /// }
    /// assert_eq!(&buf, b"r");
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
    /// # use gmp_exec::net::UdpSocket;
    /// # let a = UdpSocket::bind("127.0.0.1:0").await?;
    /// # let b = UdpSocket::bind("127.0.0.1:0").await?;
    /// # a.connect(b.local_addr()?).await?;
    /// # b.connect(a.local_addr()?).await?;
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
    /// # use gmp_exec::net::UdpSocket;
    /// # let a = UdpSocket::bind("127.0.0.1:0").await?;
    /// # let b = UdpSocket::bind("127.0.0.1:0").await?;
    /// # a.connect(b.local_addr()?).await?;
    /// # b.connect(a.local_addr()?).await?;
    /// a.send(b"ok").await?;
    /// poll_fn(|cx| b.poll_recv_ready(cx)).await?;
    /// let mut buf = [0; 2];
    /// assert_eq!(b.recv(&mut buf).await?, 2);
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
    /// # use gmp_exec::net::UdpSocket;
    /// # let a = UdpSocket::bind("127.0.0.1:0").await?;
    /// # let b = UdpSocket::bind("127.0.0.1:0").await?;
    /// # a.connect(b.local_addr()?).await?;
    /// # b.connect(a.local_addr()?).await?;
    /// poll_fn(|cx| a.poll_send_ready(cx)).await?;
    /// assert_eq!(a.send(b"go").await?, 2);
    /// # let mut buf = [0; 2];
    /// # b.recv(&mut buf).await?;
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn poll_send_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io.poll_ready(Direction::Write, cx).map_ok(drop)
    }
}

impl TryFrom<std::net::UdpSocket> for UdpSocket {
    type Error = io::Error;

    /// [`UdpSocket::from_std`].
    fn try_from(socket: std::net::UdpSocket) -> io::Result<UdpSocket> {
        UdpSocket::from_std(socket)
    }
}

sys::impl_as_source!(UdpSocket);

impl fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.io.fmt(f)
    }
}
