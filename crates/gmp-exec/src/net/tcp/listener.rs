//! [`TcpListener`].

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::task::{ready, Context, Poll};

use gmp_netpoll::Direction;

use crate::net::addr::{each_addr, ToSocketAddrs};
use crate::net::evented::Evented;
use crate::net::sys::{self, AsSource};
use crate::net::TcpStream;

/// A TCP socket listening for connections (Go's `net.TCPListener`, tokio's
/// `TcpListener`).
///
/// Accepting parks the task on the netpoller until a connection arrives. The
/// accepted streams belong to the listener's runtime.
///
/// ```
/// use futures::io::{AsyncReadExt, AsyncWriteExt};
/// use gmp_exec::net::{TcpListener, TcpStream};
///
/// gmp_exec::block_on(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await?;
///     let addr = listener.local_addr()?;
///     let server = gmp_exec::spawn(async move {
///         let (mut conn, _peer) = listener.accept().await?;
///         let mut buf = [0; 5];
///         conn.read_exact(&mut buf).await?;
///         conn.write_all(&buf).await?;
///         std::io::Result::Ok(())
///     });
///     let mut client = TcpStream::connect(addr).await?;
///     client.write_all(b"hello").await?;
///     let mut echo = [0; 5];
///     client.read_exact(&mut echo).await?;
///     assert_eq!(&echo, b"hello");
///     server.await??;
///     std::io::Result::Ok(())
/// })
/// .unwrap();
/// ```
pub struct TcpListener {
    io: Evented<std::net::TcpListener>,
}

impl TcpListener {
    /// Binds a listener to `addr` (with `SO_REUSEADDR`, as std does), trying
    /// each address it resolves to in turn; the last error if none binds.
    ///
    /// A taken port is `AddrInUse`:
    ///
    /// ```
    /// # gmp_exec::block_on(async {
    /// use gmp_exec::net::TcpListener;
    /// let first = TcpListener::bind("127.0.0.1:0").await?;
    /// let err = TcpListener::bind(first.local_addr()?).await.unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse);
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub async fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<TcpListener> {
        each_addr(addr, |a| async move {
            TcpListener::from_std(std::net::TcpListener::bind(a)?)
        })
        .await
    }

    /// Waits for a connection: the stream and the peer's address.
    ///
    /// ```
    /// # gmp_exec::block_on(async {
    /// let listener = gmp_exec::net::TcpListener::bind("127.0.0.1:0").await?;
    /// let client = std::net::TcpStream::connect(listener.local_addr()?)?;
    /// let (stream, peer) = listener.accept().await?;
    /// assert_eq!(peer, client.local_addr()?);
    /// assert_eq!(stream.peer_addr()?, peer);
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// Accepts a connection if one is waiting; otherwise records the task's
    /// waker (one task at a time) and returns `Pending`.
    ///
    /// ```
    /// # gmp_exec::block_on(async {
    /// let listener = gmp_exec::net::TcpListener::bind("127.0.0.1:0").await?;
    /// let client = std::net::TcpStream::connect(listener.local_addr()?)?;
    /// let (_stream, peer) = std::future::poll_fn(|cx| listener.poll_accept(cx)).await?;
    /// assert_eq!(peer, client.local_addr()?);
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        let (stream, peer) = ready!(self.io.poll_io(Direction::Read, cx, |l| l.accept()))?;
        stream.set_nonblocking(true)?;
        sys::no_sigpipe(stream.as_source())?;
        let io = Evented::with_shared(self.io.shared(), stream)?;
        Poll::Ready(Ok((TcpStream { io }, peer)))
    }

    /// Registers a std listener with the current runtime (this M's, the
    /// entered one, or the default), putting it in nonblocking mode.
    ///
    /// ```
    /// # gmp_exec::block_on(async {
    /// let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let listener = gmp_exec::net::TcpListener::from_std(std_listener)?;
    /// let client = std::net::TcpStream::connect(listener.local_addr()?)?;
    /// let (_stream, peer) = listener.accept().await?;
    /// assert_eq!(peer, client.local_addr()?);
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn from_std(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        listener.set_nonblocking(true)?;
        Ok(TcpListener {
            io: Evented::new(listener)?,
        })
    }

    /// Deregisters the listener and gives the std one back, still in
    /// nonblocking mode (`set_nonblocking(false)` to use it blocking). Returns
    /// `io::Result` as tokio's does; it does not fail.
    ///
    /// ```
    /// # gmp_exec::block_on(async {
    /// let listener = gmp_exec::net::TcpListener::bind("127.0.0.1:0").await?;
    /// let addr = listener.local_addr()?;
    /// let std_listener = listener.into_std()?;
    /// assert_eq!(std_listener.local_addr()?, addr);
    /// let again = gmp_exec::net::TcpListener::from_std(std_listener)?;
    /// assert_eq!(again.local_addr()?, addr);
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn into_std(self) -> io::Result<std::net::TcpListener> {
        Ok(self.io.into_inner())
    }

    /// The address the listener is bound to (with the port the OS chose for
    /// port 0).
    ///
    /// ```
    /// # gmp_exec::block_on(async {
    /// let listener = gmp_exec::net::TcpListener::bind("127.0.0.1:0").await?;
    /// let addr = listener.local_addr()?;
    /// assert!(addr.ip().is_loopback());
    /// assert_ne!(addr.port(), 0, "the OS picked a port");
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// Sets `IP_TTL` for the accepted sockets.
    ///
    /// ```
    /// # gmp_exec::block_on(async {
    /// let listener = gmp_exec::net::TcpListener::bind("127.0.0.1:0").await?;
    /// listener.set_ttl(42)?;
    /// assert_eq!(listener.ttl()?, 42);
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
    /// let listener = gmp_exec::net::TcpListener::bind("127.0.0.1:0").await?;
    /// assert!(listener.ttl()? > 0);
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.get_ref().ttl()
    }
}

impl TryFrom<std::net::TcpListener> for TcpListener {
    type Error = io::Error;

    /// [`TcpListener::from_std`].
    fn try_from(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        TcpListener::from_std(listener)
    }
}

sys::impl_as_source!(TcpListener);

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.io.fmt(f)
    }
}
