//! Sockets on gmp's netpoller: [`TcpListener`], [`TcpStream`], [`TcpSocket`],
//! [`UdpSocket`],
//! and on Unix [`UnixListener`], [`UnixStream`], [`UnixDatagram`].
//!
//! # How a socket waits
//!
//! In Go, `conn.Read` is a loop in `internal/poll`: make the system call on
//! the nonblocking descriptor; on `EAGAIN`, park the goroutine on the
//! descriptor's `pollDesc` until the netpoller reports it ready; try again.
//! The M is never blocked — it runs other goroutines, and the goroutine comes
//! back through `findrunnable`'s `netpoll` as part of a batch.
//!
//! gmp's sockets are the same loop as a future. Every socket type is a thin
//! shell over one helper, `Evented` (`evented.rs`, Go's `poll.FD`): the std
//! socket in nonblocking mode, its [`Registration`](gmp_netpoll::Registration)
//! with the runtime's reactor (Go's `pollDesc`), and the runtime itself.
//! `Evented::poll_io(direction, cx, op)` checks the registration's readiness
//! for the direction; if it is ready, runs `op` (the nonblocking call); on
//! `WouldBlock` it clears the readiness — unless an event arrived meanwhile —
//! and checks again, so that the task parks with its waker recorded exactly
//! when the OS has nothing. When the scheduler polls the reactor, the event
//! moves that waker into the batch of Gs it injects (see `sched/netpoll.rs`).
//! A success that used the socket up clears the readiness as well, as tokio
//! does, so the next call waits instead of making a system call that is sure
//! to find `WouldBlock`: a stream write shorter than its buffer (the send
//! queue is full), and a TCP read shorter than its buffer (the receive queue
//! is empty) unless the poller reported the peer's close or urgent data with
//! it (epoll's `EPOLLRDHUP`, `EPOLLPRI`), which the next read must see.
//!
//! A new registration is not ready: the OS reports the socket's state as its
//! first event. A socket is registered once, for both directions (edge
//! triggered), and one task may wait per direction: a reader and a writer
//! can share a stream, which is what the [split halves](TcpStream::into_split)
//! rely on, but two readers of one stream would take each other's place.
//!
//! # Which runtime
//!
//! A socket belongs to the runtime that is current when it is created
//! (`bind`, `connect`, `from_std`): this M's, the one entered by `block_on` or
//! `enter`, or the default runtime; an accepted stream belongs to its
//! listener's. Its events are delivered by that runtime's Ms. A task waiting
//! on it from anywhere else — a `block_on` thread, another executor, another
//! runtime's M — is not a G of that runtime, and its Ms may all be parked on
//! their notes with no reason to poll: so every wait that returns `Pending` off
//! the runtime's own Ms calls `Shared::ensure_poller`, which wakes an M unless
//! one is already blocked in the poller (it then becomes the poller). On the
//! runtime's own Ms nothing is needed: an M polls when it runs out of work,
//! and sysmon polls if no M has for 10 ms (every P busy).
//!
//! # Cooperative budget
//!
//! Socket operations are leaf futures (see `coop.rs`): a read that completes
//! spends one unit of its G's budget, so a task reading from a socket that
//! always has data still lets the other Gs of its P run. Readiness is checked
//! before the budget, and an attempt that finds `WouldBlock` gets its unit
//! back: only progress costs.
//!
//! # Three styles
//!
//! * **async**: [`futures_io::AsyncRead`]/[`AsyncWrite`](futures_io::AsyncWrite)
//!   on the stream types, their references and split halves, and inherent
//!   `async fn`s (`accept`, `connect`, `send_to`, `readable`...); with the
//!   `tokio-io` feature, `tokio::io::{AsyncRead, AsyncWrite}` too.
//! * **nonblocking**: `try_read`/`try_write` and friends attempt the call once
//!   and return `WouldBlock`; after a `WouldBlock` the next
//!   `readable().await` really waits.
//! * **blocking-style**, as in Go: the streams implement [`std::io::Read`]
//!   and [`std::io::Write`]. In a coroutine G (`gmp::go!`) a call that would
//!   block parks the G on the netpoller (through [`coro::wait`](crate::coro::wait))
//!   while the M runs other Gs; on a plain thread it blocks the thread; on an
//!   M running an async task it panics, since it would block every G queued
//!   behind it. Other operations are reached from a coroutine with
//!   `coro::wait(listener.accept())`.
//!
//! # Connecting and resolving
//!
//! `TcpStream::connect` creates the socket nonblocking with `libc`, starts
//! `connect` (`EINPROGRESS`), parks until the socket turns writable, and reads
//! `SO_ERROR` — Go's `netFD.connect`. Addresses are [`ToSocketAddrs`]: numeric
//! forms convert on the spot, host names are looked up with the system
//! resolver on the runtime's blocking pool (Go's cgo resolver also runs on a
//! thread of its own); each address is tried in turn and the last error is
//! returned. [`lookup_host`] does the lookup alone. [`TcpSocket`] sets options
//! (address reuse, buffer sizes, a source address) before it connects or
//! listens.
//!
//! # Errors
//!
//! Failures are the OS's `io::Error`s: a taken port is `AddrInUse`, a closed
//! one `ConnectionRefused`, a reset peer `ConnectionReset`, reading after the
//! peer closed is `Ok(0)`. Writes pass `MSG_NOSIGNAL` (`SO_NOSIGPIPE` on
//! Apple's systems), so writing to a closed peer is `BrokenPipe` or
//! `ConnectionReset`, never a `SIGPIPE` that kills the process — std's
//! `TcpStream::write` does the same, but its vectored writes and
//! `UnixStream`'s writes do not, which is why writes here are our own `send`
//! and `sendmsg`. A socket whose runtime has shut down fails its waits with
//! an error instead of hanging.
//!
//! Dropping a socket deregisters it from the poller, then closes it.
//!
//! # Go
//!
//! | Go | here |
//! | --- | --- |
//! | `internal/poll.FD` (`Sysfd` + `pollDesc`) | `Evented` |
//! | `fd.Read`'s `EAGAIN` → `pd.waitRead` loop | `Evented::poll_io` |
//! | `pollDesc.prepareRead` / `poll_runtime_pollReset` | `Registration::clear` after `WouldBlock`, `Registration::clear_drained` after a short read or write |
//! | `netFD.connect` (`EINPROGRESS`, `waitWrite`, `SO_ERROR`) | `TcpStream::connect` |
//! | `net.Listen`, `(*TCPListener).Accept` | [`TcpListener::bind`], [`TcpListener::accept`] |
//! | `net.Dial("tcp")`, `net.TCPConn` | [`TcpStream::connect`], [`TcpStream`] |
//! | `net.ListenPacket("udp")`, `net.UDPConn` | [`UdpSocket`] |
//! | `net.UnixListener`, `net.UnixConn` | [`UnixListener`], [`UnixStream`], [`UnixDatagram`] |
//! | a goroutine blocked in `conn.Read` | a coroutine G in [`std::io::Read::read`] |
//!
//! # Example
//!
//! An echo server written the way a tokio user would write it:
//!
//! ```
//! use futures::io::{AsyncReadExt, AsyncWriteExt};
//! use gmp_exec::net::{TcpListener, TcpStream};
//!
//! gmp_exec::block_on(async {
//!     let listener = TcpListener::bind("127.0.0.1:0").await?;
//!     let addr = listener.local_addr()?;
//!     gmp_exec::spawn(async move {
//!         loop {
//!             let Ok((mut conn, _)) = listener.accept().await else { break };
//!             gmp_exec::spawn(async move {
//!                 let mut buf = [0; 1024];
//!                 while let Ok(n @ 1..) = conn.read(&mut buf).await {
//!                     if conn.write_all(&buf[..n]).await.is_err() {
//!                         break;
//!                     }
//!                 }
//!             });
//!         }
//!     });
//!
//!     let mut client = TcpStream::connect(addr).await?;
//!     client.write_all(b"hello, gmp").await?;
//!     let mut buf = [0; 10];
//!     client.read_exact(&mut buf).await?;
//!     assert_eq!(&buf, b"hello, gmp");
//!     std::io::Result::Ok(())
//! })
//! .unwrap();
//! ```

mod addr;
pub(crate) mod blocking;
pub(crate) mod evented;
mod split;
pub(crate) mod stream;
pub(crate) mod sys;
pub mod tcp;
mod udp;
#[cfg(unix)]
pub mod unix;

pub use addr::{lookup_host, ToSocketAddrs};
#[cfg(unix)]
pub use tcp::TcpSocket;
pub use tcp::{TcpListener, TcpStream};
pub use udp::UdpSocket;
#[cfg(unix)]
pub use unix::{UnixDatagram, UnixListener, UnixStream};

// They pair Unix streams too.
#[cfg(all(test, unix))]
mod tests;
