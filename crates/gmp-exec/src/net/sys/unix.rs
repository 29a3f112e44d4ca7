//! Sockets on Unix: a socket created nonblocking, a `connect` that may return
//! `EINPROGRESS`, writes that can never raise `SIGPIPE`, Unix-domain
//! addresses. Plain libc calls on descriptors the caller owns or borrows.

use std::io::{self, IoSlice};
use std::mem;
use std::mem::MaybeUninit;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::ptr;

/// The socket type of a TCP stream.
pub(crate) const SOCK_STREAM: libc::c_int = libc::SOCK_STREAM;

/// `send` flags for stream writes: `MSG_NOSIGNAL` turns the `SIGPIPE` a write
/// to a closed peer would raise into an `EPIPE` error. std's
/// `TcpStream::write` passes it too, but its `write_vectored` (`writev`) and
/// `UnixStream::write` (`write`) do not, so every stream write goes through
/// here. Where the flag does not exist (Apple's systems), `SO_NOSIGPIPE` is set
/// on each stream socket instead (`no_sigpipe`).
#[cfg(any(
    target_os = "linux",
    target_os = "android",
    target_os = "freebsd",
    target_os = "netbsd",
    target_os = "openbsd",
    target_os = "dragonfly",
))]
const SEND_FLAGS: libc::c_int = libc::MSG_NOSIGNAL;
#[cfg(not(any(
    target_os = "linux",
    target_os = "android",
    target_os = "freebsd",
    target_os = "netbsd",
    target_os = "openbsd",
    target_os = "dragonfly",
)))]
const SEND_FLAGS: libc::c_int = 0;

/// Most buffers one `sendmsg` takes (Linux's `IOV_MAX`; more are written by
/// the next call, as for a short write).
const MAX_IOV: usize = 1024;

fn cvt(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

fn cvt_size(ret: libc::ssize_t) -> io::Result<usize> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret as usize)
    }
}

/// A new socket, nonblocking and close-on-exec, with `SIGPIPE` suppressed
/// where the platform needs a socket option for it.
pub(crate) fn socket(domain: libc::c_int, ty: libc::c_int) -> io::Result<OwnedFd> {
    #[cfg(any(
        target_os = "linux",
        target_os = "android",
        target_os = "freebsd",
        target_os = "netbsd",
        target_os = "openbsd",
        target_os = "dragonfly",
        target_os = "illumos",
        target_os = "solaris",
    ))]
    {
        // SAFETY: `socket` takes no pointers; a non-negative result is a new
        // descriptor that nobody else owns.
        let fd =
            cvt(unsafe { libc::socket(domain, ty | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC, 0) })?;
        // SAFETY: `fd` was just opened and is owned by nothing else.
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    }
    #[cfg(not(any(
        target_os = "linux",
        target_os = "android",
        target_os = "freebsd",
        target_os = "netbsd",
        target_os = "openbsd",
        target_os = "dragonfly",
        target_os = "illumos",
        target_os = "solaris",
    )))]
    {
        // SAFETY: as above.
        let fd = cvt(unsafe { libc::socket(domain, ty, 0) })?;
        // SAFETY: as above; owning it at once closes it on the error paths.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: plain `fcntl`s on the descriptor we own.
        unsafe {
            cvt(libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC))?;
            let flags = cvt(libc::fcntl(fd.as_raw_fd(), libc::F_GETFL))?;
            cvt(libc::fcntl(
                fd.as_raw_fd(),
                libc::F_SETFL,
                flags | libc::O_NONBLOCK,
            ))?;
        }
        if ty == libc::SOCK_STREAM {
            no_sigpipe(std::os::fd::AsFd::as_fd(&fd))?;
        }
        Ok(fd)
    }
}

/// Apple's systems have no `MSG_NOSIGNAL`: a per-socket option does its job.
/// Elsewhere nothing is needed (the flag is passed on every write).
#[cfg(target_vendor = "apple")]
pub(crate) fn no_sigpipe(fd: BorrowedFd<'_>) -> io::Result<()> {
    let on: libc::c_int = 1;
    // SAFETY: `on` outlives the call and its size is passed with it.
    cvt(unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_NOSIGPIPE,
            (&on as *const libc::c_int).cast(),
            mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    })?;
    Ok(())
}

/// See the Apple version: nothing to do where `MSG_NOSIGNAL` exists.
#[cfg(not(target_vendor = "apple"))]
pub(crate) fn no_sigpipe(_fd: BorrowedFd<'_>) -> io::Result<()> {
    Ok(())
}

/// A socket address in the C layout, big enough for every family we use.
pub(crate) struct SockAddr {
    storage: libc::sockaddr_storage,
    len: libc::socklen_t,
}

impl SockAddr {
    /// An IPv4 or IPv6 address.
    pub(crate) fn inet(addr: &SocketAddr) -> SockAddr {
        // SAFETY: all-zero bytes are a valid `sockaddr_storage` (plain integers
        // and arrays).
        let mut storage: libc::sockaddr_storage = unsafe { mem::zeroed() };
        let len = match addr {
            SocketAddr::V4(a) => {
                // SAFETY: all-zero bytes are a valid `sockaddr_in`; the fields
                // that matter are set below (the BSDs' `sin_len` may stay 0).
                let mut sin: libc::sockaddr_in = unsafe { mem::zeroed() };
                sin.sin_family = libc::AF_INET as libc::sa_family_t;
                sin.sin_port = a.port().to_be();
                sin.sin_addr = libc::in_addr {
                    s_addr: u32::from_ne_bytes(a.ip().octets()),
                };
                // SAFETY: `sockaddr_storage` is larger than, and aligned for,
                // every socket address type (that is its purpose).
                unsafe { ptr::write((&mut storage as *mut libc::sockaddr_storage).cast(), sin) };
                mem::size_of::<libc::sockaddr_in>()
            }
            SocketAddr::V6(a) => {
                // SAFETY: as for `sockaddr_in`.
                let mut sin6: libc::sockaddr_in6 = unsafe { mem::zeroed() };
                sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
                sin6.sin6_port = a.port().to_be();
                sin6.sin6_flowinfo = a.flowinfo();
                sin6.sin6_addr = libc::in6_addr {
                    s6_addr: a.ip().octets(),
                };
                sin6.sin6_scope_id = a.scope_id();
                // SAFETY: as for `sockaddr_in`.
                unsafe { ptr::write((&mut storage as *mut libc::sockaddr_storage).cast(), sin6) };
                mem::size_of::<libc::sockaddr_in6>()
            }
        };
        SockAddr {
            storage,
            len: len as libc::socklen_t,
        }
    }

    /// A Unix-domain socket address for a path; `InvalidInput` if the path is
    /// empty, holds a NUL byte, or does not fit `sun_path`.
    pub(crate) fn unix(path: &Path) -> io::Result<SockAddr> {
        let bytes = path.as_os_str().as_bytes();
        // SAFETY: all-zero bytes are a valid `sockaddr_un`.
        let mut sun: libc::sockaddr_un = unsafe { mem::zeroed() };
        if bytes.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a Unix socket path must not be empty",
            ));
        }
        if bytes.contains(&0) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a Unix socket path must not contain NUL bytes",
            ));
        }
        if bytes.len() >= sun.sun_path.len() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "Unix socket path {} is {} bytes long; the limit is {}",
                    path.display(),
                    bytes.len(),
                    sun.sun_path.len() - 1
                ),
            ));
        }
        sun.sun_family = libc::AF_UNIX as libc::sa_family_t;
        for (dst, &src) in sun.sun_path.iter_mut().zip(bytes) {
            *dst = src as libc::c_char;
        }
        let path_offset = mem::offset_of!(libc::sockaddr_un, sun_path);
        let len = path_offset + bytes.len() + 1;
        // SAFETY: all-zero bytes are a valid `sockaddr_storage`.
        let mut storage: libc::sockaddr_storage = unsafe { mem::zeroed() };
        // SAFETY: as in `inet`: the storage is large and aligned enough.
        unsafe { ptr::write((&mut storage as *mut libc::sockaddr_storage).cast(), sun) };
        Ok(SockAddr {
            storage,
            len: len as libc::socklen_t,
        })
    }

    fn family(&self) -> libc::c_int {
        libc::c_int::from(self.storage.ss_family)
    }
}

/// Starts connecting a new nonblocking socket of `ty` to `addr`. Returns the
/// socket and whether the connection is still in progress (then the socket
/// turns writable when it is done, and `SO_ERROR` tells how it went).
pub(crate) fn connect(addr: &SockAddr, ty: libc::c_int) -> io::Result<(OwnedFd, bool)> {
    let fd = socket(addr.family(), ty)?;
    let in_progress = connect_fd(fd.as_fd(), addr)?;
    Ok((fd, in_progress))
}

/// Starts connecting the nonblocking socket `fd` to `addr`; true if the
/// connection is still in progress (see [`connect`]).
pub(crate) fn connect_fd(fd: BorrowedFd<'_>, addr: &SockAddr) -> io::Result<bool> {
    // SAFETY: `addr.storage` holds a valid address of `addr.len` bytes and
    // outlives the call; `fd` is open.
    let ret = unsafe {
        libc::connect(
            fd.as_raw_fd(),
            (&addr.storage as *const libc::sockaddr_storage).cast(),
            addr.len,
        )
    };
    if ret == 0 {
        return Ok(false);
    }
    let err = io::Error::last_os_error();
    match err.raw_os_error() {
        // EINTR: POSIX says the connection then goes on asynchronously, as
        // with EINPROGRESS.
        Some(libc::EINPROGRESS) | Some(libc::EINTR) => Ok(true),
        Some(libc::EAGAIN) if addr.family() == libc::AF_UNIX => Err(io::Error::new(
            io::ErrorKind::WouldBlock,
            "the Unix socket's listener has a full backlog (EAGAIN); try connecting again later",
        )),
        _ => Err(err),
    }
}

/// `send` with `MSG_NOSIGNAL`: a write to a closed peer fails with
/// `BrokenPipe` (or `ConnectionReset`) instead of killing the process.
pub(crate) fn send(fd: BorrowedFd<'_>, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for `buf.len()` bytes for the whole call.
    cvt_size(unsafe { libc::send(fd.as_raw_fd(), buf.as_ptr().cast(), buf.len(), SEND_FLAGS) })
}

/// Vectored [`send`]: `sendmsg` with `MSG_NOSIGNAL` (std's `write_vectored`
/// uses `writev`, which can raise `SIGPIPE`).
pub(crate) fn send_vectored(fd: BorrowedFd<'_>, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
    let bufs = &bufs[..bufs.len().min(MAX_IOV)];
    // SAFETY: all-zero bytes are a valid `msghdr` (no name, no control data).
    let mut msg: libc::msghdr = unsafe { mem::zeroed() };
    // `IoSlice` is ABI-compatible with `iovec` on Unix (std guarantees it);
    // `sendmsg` only reads through the pointer.
    msg.msg_iov = bufs.as_ptr() as *mut libc::iovec;
    msg.msg_iovlen = bufs.len() as _;
    // SAFETY: `msg` points at `bufs`, which outlive the call.
    cvt_size(unsafe { libc::sendmsg(fd.as_raw_fd(), &msg, SEND_FLAGS) })
}

/// `recv` into a buffer that may be uninitialised (tokio's `ReadBuf`).
/// Returns how many bytes were written (and so are initialised).
pub(crate) fn recv_uninit(fd: BorrowedFd<'_>, buf: &mut [MaybeUninit<u8>]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for writes of `buf.len()` bytes; the kernel only
    // writes to it, so its being uninitialised does not matter.
    cvt_size(unsafe { libc::recv(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) })
}

/// Whether `fd` is in nonblocking mode (for debug assertions).
pub(crate) fn is_nonblocking(fd: BorrowedFd<'_>) -> bool {
    // SAFETY: `F_GETFL` on an open descriptor takes no pointers.
    let flags = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) };
    flags != -1 && flags & libc::O_NONBLOCK != 0
}

/// `bind(2)`.
pub(crate) fn bind(fd: BorrowedFd<'_>, addr: &SockAddr) -> io::Result<()> {
    // SAFETY: as in `connect_fd`: a valid address of `addr.len` bytes.
    cvt(unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&addr.storage as *const libc::sockaddr_storage).cast(),
            addr.len,
        )
    })?;
    Ok(())
}

/// `listen(2)`.
pub(crate) fn listen(fd: BorrowedFd<'_>, backlog: u32) -> io::Result<()> {
    let backlog = backlog.min(libc::c_int::MAX as u32) as libc::c_int;
    // SAFETY: `listen` takes no pointers.
    cvt(unsafe { libc::listen(fd.as_raw_fd(), backlog) })?;
    Ok(())
}

/// `setsockopt` of an `int` option.
pub(crate) fn set_int_opt(
    fd: BorrowedFd<'_>,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
) -> io::Result<()> {
    // SAFETY: `value` outlives the call and its size is passed with it.
    cvt(unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&value as *const libc::c_int).cast(),
            mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    })?;
    Ok(())
}

/// `getsockopt` of an `int` option.
pub(crate) fn int_opt(
    fd: BorrowedFd<'_>,
    level: libc::c_int,
    name: libc::c_int,
) -> io::Result<libc::c_int> {
    let mut value: libc::c_int = 0;
    let mut len = mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `value` and `len` outlive the call; `len` holds `value`'s size,
    // and the kernel writes at most that many bytes.
    cvt(unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&mut value as *mut libc::c_int).cast(),
            &mut len,
        )
    })?;
    Ok(value)
}
