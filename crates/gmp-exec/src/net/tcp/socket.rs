//! [`TcpSocket`]: a TCP socket configured before it connects or listens.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::time::Duration;

use crate::net::sys;
use crate::net::{TcpListener, TcpStream};

/// A TCP socket that is neither connected nor listening yet, to set options
/// that must come first — address reuse, buffer sizes, a local address to
/// bind — then [`connect`](Self::connect) it or [`listen`](Self::listen) on
/// it (tokio's `TcpSocket`, Go's `net.ListenConfig`/`net.Dialer` `Control`
/// hook).
///
/// The socket is created nonblocking and close-on-exec.
///
/// ```
/// use gmp_exec::net::TcpSocket;
///
/// # gmp_exec::block_on(async {
/// let socket = TcpSocket::new_v4()?;
/// socket.set_reuseaddr(true)?;
/// socket.bind("127.0.0.1:0".parse().unwrap())?;
/// let listener = socket.listen(128)?;
///
/// let client = TcpSocket::new_v4()?;
/// client.set_nodelay(true)?;
/// let stream = client.connect(listener.local_addr()?).await?;
/// assert!(stream.nodelay()?);
/// # std::io::Result::Ok(())
/// # }).unwrap();
/// ```
pub struct TcpSocket {
    // A std stream as the owner of the descriptor: its getters work on any
    // TCP socket (`getsockname`, `TCP_NODELAY`, `SO_ERROR`).
    sock: std::net::TcpStream,
}

impl TcpSocket {
    /// A new IPv4 TCP socket.
    ///
    /// ```
    /// let socket = gmp_exec::net::TcpSocket::new_v4()?;
    /// socket.bind("127.0.0.1:0".parse().unwrap())?;
    /// assert!(socket.local_addr()?.is_ipv4());
    /// # std::io::Result::Ok(())
    /// ```
    pub fn new_v4() -> io::Result<TcpSocket> {
        TcpSocket::new(libc::AF_INET)
    }

    /// A new IPv6 TCP socket.
    ///
    /// ```
    /// if let Ok(socket) = gmp_exec::net::TcpSocket::new_v6() {
    ///     // Hosts without IPv6 refuse the bind, not the socket.
    ///     if socket.bind("[::1]:0".parse().unwrap()).is_ok() {
    ///         assert!(socket.local_addr()?.is_ipv6());
    ///     }
    /// }
    /// # std::io::Result::Ok(())
    /// ```
    pub fn new_v6() -> io::Result<TcpSocket> {
        TcpSocket::new(libc::AF_INET6)
    }

    fn new(domain: libc::c_int) -> io::Result<TcpSocket> {
        let fd = sys::socket(domain, libc::SOCK_STREAM)?;
        Ok(TcpSocket {
            sock: std::net::TcpStream::from(fd),
        })
    }

    fn fd(&self) -> BorrowedFd<'_> {
        self.sock.as_fd()
    }

    /// `SO_REUSEADDR`: bind a port whose previous connections linger in
    /// `TIME_WAIT` (what a restarted server needs).
    ///
    /// ```
    /// let socket = gmp_exec::net::TcpSocket::new_v4()?;
    /// socket.set_reuseaddr(true)?;
    /// assert!(socket.reuseaddr()?);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn set_reuseaddr(&self, reuse: bool) -> io::Result<()> {
        sys::set_int_opt(self.fd(), libc::SOL_SOCKET, libc::SO_REUSEADDR, reuse as _)
    }

    /// Whether `SO_REUSEADDR` is set.
    pub fn reuseaddr(&self) -> io::Result<bool> {
        Ok(sys::int_opt(self.fd(), libc::SOL_SOCKET, libc::SO_REUSEADDR)? != 0)
    }

    /// `SO_REUSEPORT`: several sockets listen on one port and the kernel
    /// spreads the connections among them (on Linux; the BSDs' semantics
    /// differ). Not on Solaris and illumos.
    ///
    /// ```
    /// use gmp_exec::net::TcpSocket;
    /// let a = TcpSocket::new_v4()?;
    /// a.set_reuseport(true)?;
    /// a.bind("127.0.0.1:0".parse().unwrap())?;
    /// let b = TcpSocket::new_v4()?;
    /// b.set_reuseport(true)?;
    /// b.bind(a.local_addr()?)?; // the same port
    /// assert!(b.reuseport()?);
    /// # std::io::Result::Ok(())
    /// ```
    #[cfg(not(any(target_os = "solaris", target_os = "illumos")))]
    pub fn set_reuseport(&self, reuse: bool) -> io::Result<()> {
        sys::set_int_opt(self.fd(), libc::SOL_SOCKET, libc::SO_REUSEPORT, reuse as _)
    }

    /// Whether `SO_REUSEPORT` is set.
    #[cfg(not(any(target_os = "solaris", target_os = "illumos")))]
    pub fn reuseport(&self) -> io::Result<bool> {
        Ok(sys::int_opt(self.fd(), libc::SOL_SOCKET, libc::SO_REUSEPORT)? != 0)
    }

    /// `SO_SNDBUF`: the send buffer's size (the kernel may round it; Linux
    /// doubles it for its bookkeeping).
    ///
    /// ```
    /// let socket = gmp_exec::net::TcpSocket::new_v4()?;
    /// socket.set_send_buffer_size(64 * 1024)?;
    /// assert!(socket.send_buffer_size()? >= 64 * 1024);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn set_send_buffer_size(&self, size: u32) -> io::Result<()> {
        sys::set_int_opt(self.fd(), libc::SOL_SOCKET, libc::SO_SNDBUF, clamp(size))
    }

    /// The send buffer's size.
    pub fn send_buffer_size(&self) -> io::Result<u32> {
        Ok(sys::int_opt(self.fd(), libc::SOL_SOCKET, libc::SO_SNDBUF)? as u32)
    }

    /// `SO_RCVBUF`: the receive buffer's size (see
    /// [`set_send_buffer_size`](Self::set_send_buffer_size)).
    ///
    /// ```
    /// let socket = gmp_exec::net::TcpSocket::new_v4()?;
    /// socket.set_recv_buffer_size(32 * 1024)?;
    /// assert!(socket.recv_buffer_size()? >= 32 * 1024);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn set_recv_buffer_size(&self, size: u32) -> io::Result<()> {
        sys::set_int_opt(self.fd(), libc::SOL_SOCKET, libc::SO_RCVBUF, clamp(size))
    }

    /// The receive buffer's size.
    pub fn recv_buffer_size(&self) -> io::Result<u32> {
        Ok(sys::int_opt(self.fd(), libc::SOL_SOCKET, libc::SO_RCVBUF)? as u32)
    }

    /// `TCP_NODELAY`: send small writes at once (no Nagle delay). Carried
    /// over to the stream [`connect`](Self::connect) returns.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.sock.set_nodelay(nodelay)
    }

    /// Whether `TCP_NODELAY` is set.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.sock.nodelay()
    }

    /// `SO_LINGER`: how long `close` may wait to send what is queued
    /// (`Some(ZERO)` resets the connection on close; `None`, the default,
    /// closes in the background).
    ///
    /// ```
    /// use std::time::Duration;
    /// let socket = gmp_exec::net::TcpSocket::new_v4()?;
    /// socket.set_linger(Some(Duration::from_secs(1)))?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn set_linger(&self, linger: Option<Duration>) -> io::Result<()> {
        let value = libc::linger {
            l_onoff: linger.is_some() as libc::c_int,
            l_linger: linger.map_or(0, |d| d.as_secs().min(libc::c_int::MAX as u64) as _),
        };
        // SAFETY: `value` outlives the call and its size is passed with it.
        let ret = unsafe {
            libc::setsockopt(
                self.sock.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_LINGER,
                (&value as *const libc::linger).cast(),
                std::mem::size_of::<libc::linger>() as libc::socklen_t,
            )
        };
        if ret == -1 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Binds the socket to a local address (port 0: the OS picks one).
    ///
    /// ```
    /// let socket = gmp_exec::net::TcpSocket::new_v4()?;
    /// socket.bind("127.0.0.1:0".parse().unwrap())?;
    /// assert_ne!(socket.local_addr()?.port(), 0);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn bind(&self, addr: SocketAddr) -> io::Result<()> {
        sys::bind(self.fd(), &sys::SockAddr::inet(&addr))
    }

    /// The local address (after [`bind`](Self::bind)).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.sock.local_addr()
    }

    /// The pending socket error (`SO_ERROR`), clearing it.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.sock.take_error()
    }

    /// Connects to `addr`, parking the task until the connection is made or
    /// fails, and returns the stream, registered with the current runtime.
    ///
    /// ```
    /// # gmp_exec::block_on(async {
    /// use gmp_exec::net::{TcpListener, TcpSocket};
    /// let listener = TcpListener::bind("127.0.0.1:0").await?;
    /// let socket = TcpSocket::new_v4()?;
    /// socket.bind("127.0.0.1:0".parse().unwrap())?; // choose the source address
    /// let local = socket.local_addr()?;
    /// let stream = socket.connect(listener.local_addr()?).await?;
    /// assert_eq!(stream.local_addr()?, local);
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub async fn connect(self, addr: SocketAddr) -> io::Result<TcpStream> {
        // A socket from `from_std_stream` or `from_raw_fd` may be blocking.
        self.sock.set_nonblocking(true)?;
        let fd = OwnedFd::from(self.sock);
        let in_progress = sys::connect_fd(fd.as_fd(), &sys::SockAddr::inet(&addr))?;
        TcpStream::finish_connect(fd, in_progress).await
    }

    /// Listens with a queue of `backlog` pending connections, and returns the
    /// listener, registered with the current runtime.
    ///
    /// ```
    /// # gmp_exec::block_on(async {
    /// let socket = gmp_exec::net::TcpSocket::new_v4()?;
    /// socket.bind("127.0.0.1:0".parse().unwrap())?;
    /// let listener = socket.listen(1024)?;
    /// let _client = std::net::TcpStream::connect(listener.local_addr()?)?;
    /// listener.accept().await?;
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn listen(self, backlog: u32) -> io::Result<TcpListener> {
        sys::listen(self.fd(), backlog)?;
        TcpListener::from_std(std::net::TcpListener::from(OwnedFd::from(self.sock)))
    }

    /// Wraps a std stream's socket (for options set before a `connect`
    /// made elsewhere).
    ///
    /// ```
    /// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let std_stream = std::net::TcpStream::connect(listener.local_addr()?)?;
    /// let socket = gmp_exec::net::TcpSocket::from_std_stream(std_stream);
    /// socket.set_send_buffer_size(8192)?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn from_std_stream(stream: std::net::TcpStream) -> TcpSocket {
        TcpSocket { sock: stream }
    }
}

fn clamp(size: u32) -> libc::c_int {
    size.min(libc::c_int::MAX as u32) as libc::c_int
}

impl AsFd for TcpSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.sock.as_fd()
    }
}

impl AsRawFd for TcpSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }
}

impl IntoRawFd for TcpSocket {
    fn into_raw_fd(self) -> RawFd {
        self.sock.into_raw_fd()
    }
}

impl FromRawFd for TcpSocket {
    /// # Safety
    ///
    /// `fd` is an open TCP socket that the caller owns and hands over.
    unsafe fn from_raw_fd(fd: RawFd) -> TcpSocket {
        TcpSocket {
            // SAFETY: the caller's contract, passed on.
            sock: unsafe { std::net::TcpStream::from_raw_fd(fd) },
        }
    }
}

impl fmt::Debug for TcpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpSocket")
            .field("fd", &self.sock.as_raw_fd())
            .field("local_addr", &self.sock.local_addr().ok())
            .finish()
    }
}
