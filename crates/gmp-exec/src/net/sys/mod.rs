//! The OS under `net`: the few socket calls std does not make the way a
//! netpoller needs them, one module per OS family (mio's shape), and the one
//! seam where a Unix descriptor and a Windows `SOCKET` differ.
//!
//! Both modules give the rest of `net` the same vocabulary:
//!
//! | item | Unix (`unix.rs`) | Windows (`windows.rs`) |
//! | --- | --- | --- |
//! | [`AsSource`] | `AsFd` | `AsSocket` |
//! | `socket`, `connect` | `socket(2)` with `SOCK_NONBLOCK` (or `fcntl`), `connect` → `EINPROGRESS` | `WSASocketW`, `FIONBIO`, `connect` → `WSAEWOULDBLOCK` |
//! | `send`, `send_vectored` | `send`/`sendmsg` with `MSG_NOSIGNAL` (`SO_NOSIGPIPE` on Apple's systems) | `send`/`WSASend` (Windows has no `SIGPIPE`) |
//! | `recv_uninit` | `recv` | `recv` |
//! | `no_sigpipe` | `SO_NOSIGPIPE` on Apple's systems, else nothing | nothing |
//! | `is_nonblocking` | `fcntl(F_GETFL)` | not queryable: assumed |
//! | `SockAddr::inet` | `sockaddr_in`/`sockaddr_in6` | `SOCKADDR_IN`/`SOCKADDR_IN6` |
//!
//! Unix-domain sockets (`SockAddr::unix`, `net::unix`) exist on Unix only.
//! This module and its two children make all of `net`'s system calls, plain
//! calls on sockets the caller owns or borrows (the rest of `net`'s `unsafe`
//! is the registration in `evented.rs` and the uninitialised read buffers in
//! `stream.rs`).

pub(crate) use gmp_netpoll::BorrowedSource;

#[cfg(unix)]
mod unix;
#[cfg(unix)]
pub(crate) use unix::*;

#[cfg(windows)]
mod windows;
#[cfg(windows)]
pub(crate) use windows::*;

/// A socket the netpoller can register: a file descriptor on Unix, a
/// `SOCKET` on Windows. Implemented for everything that is `AsFd` (Unix) or
/// `AsSocket` (Windows), so std's sockets and ours all are.
#[cfg(unix)]
pub(crate) trait AsSource: std::os::fd::AsFd {
    /// The borrowed descriptor.
    #[inline]
    fn as_source(&self) -> BorrowedSource<'_> {
        self.as_fd()
    }
}
#[cfg(unix)]
impl<T: std::os::fd::AsFd> AsSource for T {}

/// A socket the netpoller can register: a file descriptor on Unix, a
/// `SOCKET` on Windows. Implemented for everything that is `AsFd` (Unix) or
/// `AsSocket` (Windows), so std's sockets and ours all are.
#[cfg(windows)]
pub(crate) trait AsSource: std::os::windows::io::AsSocket {
    /// The borrowed socket.
    #[inline]
    fn as_source(&self) -> BorrowedSource<'_> {
        self.as_socket()
    }
}
#[cfg(windows)]
impl<T: std::os::windows::io::AsSocket> AsSource for T {}

/// The raw number of a source, for debug output and task dumps.
#[cfg(unix)]
pub(crate) fn raw_number(source: BorrowedSource<'_>) -> u64 {
    std::os::fd::AsRawFd::as_raw_fd(&source) as u64
}

/// The raw number of a source, for debug output and task dumps.
#[cfg(windows)]
pub(crate) fn raw_number(source: BorrowedSource<'_>) -> u64 {
    std::os::windows::io::AsRawSocket::as_raw_socket(&source)
}

/// Implements the platform's handle traits for a socket type whose `io`
/// field is an `Evented`: `AsFd` and `AsRawFd` on Unix, `AsSocket` and
/// `AsRawSocket` on Windows (std's and tokio's split).
macro_rules! impl_as_source {
    ($ty:ty) => {
        #[cfg(unix)]
        impl std::os::fd::AsFd for $ty {
            fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
                std::os::fd::AsFd::as_fd(self.io.get_ref())
            }
        }

        #[cfg(unix)]
        impl std::os::fd::AsRawFd for $ty {
            fn as_raw_fd(&self) -> std::os::fd::RawFd {
                std::os::fd::AsRawFd::as_raw_fd(self.io.get_ref())
            }
        }

        #[cfg(windows)]
        impl std::os::windows::io::AsSocket for $ty {
            fn as_socket(&self) -> std::os::windows::io::BorrowedSocket<'_> {
                std::os::windows::io::AsSocket::as_socket(self.io.get_ref())
            }
        }

        #[cfg(windows)]
        impl std::os::windows::io::AsRawSocket for $ty {
            fn as_raw_socket(&self) -> std::os::windows::io::RawSocket {
                std::os::windows::io::AsRawSocket::as_raw_socket(self.io.get_ref())
            }
        }
    };
}
pub(crate) use impl_as_source;
