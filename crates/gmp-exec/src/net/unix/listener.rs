//! [`UnixListener`].

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::path::Path;
use std::task::{ready, Context, Poll};

use gmp_netpoll::Direction;

use super::{SocketAddr, UnixStream};
use crate::net::evented::Evented;

/// A Unix-domain socket listening for connections (tokio's `UnixListener`).
///
/// ```
/// use futures::io::{AsyncReadExt, AsyncWriteExt};
/// use gmp_exec::net::{UnixListener, UnixStream};
///
/// let dir = std::env::temp_dir().join(format!("gmp-doc-unix-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let path = dir.join("sock");
/// # let _ = std::fs::remove_file(&path);
/// gmp_exec::block_on(async {
///     let listener = UnixListener::bind(&path)?;
///     let mut client = UnixStream::connect(&path).await?;
///     let (mut server, _) = listener.accept().await?;
///     client.write_all(b"over a path").await?;
///     let mut buf = [0; 11];
///     server.read_exact(&mut buf).await?;
///     assert_eq!(&buf, b"over a path");
///     std::io::Result::Ok(())
/// })
/// .unwrap();
/// std::fs::remove_dir_all(&dir).unwrap();
/// ```
pub struct UnixListener {
    io: Evented<std::os::unix::net::UnixListener>,
}

impl UnixListener {
    /// Binds a listener to the socket file `path` (which must not exist yet),
    /// registered with the current runtime. Binding does not block, so this
    /// is not `async` (as in tokio).
    ///
    /// ```
    /// # gmp_exec::block_on(async {
    /// let path = std::env::temp_dir().join(format!("gmp-doc-listener-bind-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let listener = gmp_exec::net::UnixListener::bind(&path)?;
    /// assert!(path.exists());
    /// // The file is taken now: a second bind fails.
    /// assert!(gmp_exec::net::UnixListener::bind(&path).is_err());
    /// # drop(listener);
    /// std::fs::remove_file(&path)?;
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn bind<P: AsRef<Path>>(path: P) -> io::Result<UnixListener> {
        UnixListener::from_std(std::os::unix::net::UnixListener::bind(path)?)
    }

    /// Waits for a connection: the stream and the peer's address (usually
    /// unnamed).
    ///
    /// ```
    /// use gmp_exec::net::{UnixListener, UnixStream};
    /// # gmp_exec::block_on(async {
    /// let path = std::env::temp_dir().join(format!("gmp-doc-listener-accept-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let listener = UnixListener::bind(&path)?;
    /// let client = UnixStream::connect(&path).await?;
    /// let (server, peer) = listener.accept().await?;
    /// assert!(peer.is_unnamed());
    /// assert_eq!(client.peer_addr()?.as_pathname(), server.local_addr()?.as_pathname());
    /// std::fs::remove_file(&path)?;
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub async fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// Accepts a connection if one is waiting; otherwise records the task's
    /// waker and returns `Pending`.
    ///
    /// ```
    /// use gmp_exec::net::{UnixListener, UnixStream};
    /// # gmp_exec::block_on(async {
    /// let path = std::env::temp_dir().join(format!("gmp-doc-listener-poll-accept-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let listener = UnixListener::bind(&path)?;
    /// let _client = UnixStream::connect(&path).await?;
    /// let (server, _) = std::future::poll_fn(|cx| listener.poll_accept(cx)).await?;
    /// assert_eq!(server.local_addr()?.as_pathname(), Some(path.as_path()));
    /// std::fs::remove_file(&path)?;
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(UnixStream, SocketAddr)>> {
        let (stream, peer) = ready!(self.io.poll_io(Direction::Read, cx, |l| l.accept()))?;
        stream.set_nonblocking(true)?;
        let stream = UnixStream::with_shared(self.io.shared(), stream)?;
        Poll::Ready(Ok((stream, peer)))
    }

    /// Registers a std listener with the current runtime (this M's, the
    /// entered one, or the default), putting it in nonblocking mode.
    ///
    /// ```
    /// # gmp_exec::block_on(async {
    /// let path = std::env::temp_dir().join(format!("gmp-doc-listener-from-std-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let std_listener = std::os::unix::net::UnixListener::bind(&path)?;
    /// let listener = gmp_exec::net::UnixListener::from_std(std_listener)?;
    /// let _client = std::os::unix::net::UnixStream::connect(&path)?;
    /// let (_server, _) = listener.accept().await?;
    /// std::fs::remove_file(&path)?;
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn from_std(listener: std::os::unix::net::UnixListener) -> io::Result<UnixListener> {
        listener.set_nonblocking(true)?;
        Ok(UnixListener {
            io: Evented::new(listener)?,
        })
    }

    /// Deregisters the listener and gives the std one back, still in
    /// nonblocking mode. Returns `io::Result` as tokio's does; it does not
    /// fail.
    ///
    /// ```
    /// # gmp_exec::block_on(async {
    /// let path = std::env::temp_dir().join(format!("gmp-doc-listener-into-std-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let listener = gmp_exec::net::UnixListener::bind(&path)?;
    /// let std_listener = listener.into_std()?;
    /// assert_eq!(std_listener.local_addr()?.as_pathname(), Some(path.as_path()));
    /// std::fs::remove_file(&path)?;
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixListener> {
        Ok(self.io.into_inner())
    }

    /// The address the listener is bound to.
    ///
    /// ```
    /// # gmp_exec::block_on(async {
    /// let path = std::env::temp_dir().join(format!("gmp-doc-listener-local-addr-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let listener = gmp_exec::net::UnixListener::bind(&path)?;
    /// assert_eq!(listener.local_addr()?.as_pathname(), Some(path.as_path()));
    /// std::fs::remove_file(&path)?;
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// Takes the socket's pending error (`SO_ERROR`), if any.
    ///
    /// ```
    /// # gmp_exec::block_on(async {
    /// let path = std::env::temp_dir().join(format!("gmp-doc-listener-take-error-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let listener = gmp_exec::net::UnixListener::bind(&path)?;
    /// assert!(listener.take_error()?.is_none());
    /// std::fs::remove_file(&path)?;
    /// # std::io::Result::Ok(())
    /// # }).unwrap();
    /// ```
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get_ref().take_error()
    }
}

impl TryFrom<std::os::unix::net::UnixListener> for UnixListener {
    type Error = io::Error;

    /// [`UnixListener::from_std`].
    fn try_from(listener: std::os::unix::net::UnixListener) -> io::Result<UnixListener> {
        UnixListener::from_std(listener)
    }
}

impl AsFd for UnixListener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.as_fd()
    }
}

impl AsRawFd for UnixListener {
    fn as_raw_fd(&self) -> RawFd {
        self.io.as_fd().as_raw_fd()
    }
}

impl fmt::Debug for UnixListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.io.fmt(f)
    }
}
