//! Sockets on Windows, through Winsock: a socket created nonblocking and not
//! inheritable, a `connect` that returns `WSAEWOULDBLOCK` while it goes on,
//! `send`, `WSASend` and `recv` on a borrowed `SOCKET`.
//!
//! Windows has no `SIGPIPE`, so writes need no flag, and no way to ask
//! whether a socket is nonblocking (`is_nonblocking` says yes). Readiness
//! comes from `polling`'s IOCP/AFD backend, which is oneshot: the reactor
//! re-arms a socket for each wait (see `gmp_netpoll`'s reactor essay).

use std::io::{self, IoSlice};
use std::mem::{self, MaybeUninit};
use std::net::SocketAddr;
use std::os::windows::io::{AsRawSocket, BorrowedSocket, FromRawSocket, OwnedSocket, RawSocket};
use std::ptr;
use std::sync::Once;

use windows_sys::Win32::Networking::WinSock as ws;

/// The socket type of a TCP stream.
pub(crate) const SOCK_STREAM: i32 = ws::SOCK_STREAM;

/// The last Winsock error as an `io::Error`.
fn last_error() -> io::Error {
    // SAFETY: `WSAGetLastError` has no preconditions.
    io::Error::from_raw_os_error(unsafe { ws::WSAGetLastError() })
}

fn cvt(ret: i32) -> io::Result<i32> {
    if ret == ws::SOCKET_ERROR {
        Err(last_error())
    } else {
        Ok(ret)
    }
}

/// Starts Winsock for this process, once. std does the same before its own
/// first socket call, but a `connect` here may be the process's first; the
/// matching `WSACleanup` is never called (as in std), since sockets may live
/// until the process exits.
fn startup() {
    static START: Once = Once::new();
    START.call_once(|| {
        // SAFETY: all-zero bytes are a valid `WSADATA` (integers, arrays and a
        // null pointer), which the call fills in.
        let mut data: ws::WSADATA = unsafe { mem::zeroed() };
        // SAFETY: `data` is a valid out-pointer for the call. An error shows
        // up again, with its code, at the `WSASocketW` that follows.
        unsafe { ws::WSAStartup(0x202, &mut data) };
    });
}

/// A new socket of `family` and `ty`, nonblocking and not inherited by child
/// processes (`WSA_FLAG_OVERLAPPED`, which `polling`'s AFD backend needs, is
/// what `socket()` would have given too).
pub(crate) fn socket(family: i32, ty: i32) -> io::Result<OwnedSocket> {
    startup();
    // SAFETY: no protocol info is passed (null); the flags are valid.
    let raw = unsafe {
        ws::WSASocketW(
            family,
            ty,
            0,
            ptr::null(),
            0,
            ws::WSA_FLAG_OVERLAPPED | ws::WSA_FLAG_NO_HANDLE_INHERIT,
        )
    };
    if raw == ws::INVALID_SOCKET {
        return Err(last_error());
    }
    // SAFETY: `raw` was just created and is owned by nothing else.
    let socket = unsafe { OwnedSocket::from_raw_socket(raw as RawSocket) };
    let mut nonblocking: u32 = 1;
    // SAFETY: `FIONBIO` reads one `u32` through the pointer, which is valid.
    cvt(unsafe { ws::ioctlsocket(raw, ws::FIONBIO, &mut nonblocking) })?;
    Ok(socket)
}

/// Nothing to do: Windows has no `SIGPIPE`.
pub(crate) fn no_sigpipe(_socket: BorrowedSocket<'_>) -> io::Result<()> {
    Ok(())
}

/// A socket address in the C layout, big enough for IPv4 and IPv6.
pub(crate) struct SockAddr {
    storage: ws::SOCKADDR_STORAGE,
    len: i32,
}

impl SockAddr {
    /// An IPv4 or IPv6 address.
    pub(crate) fn inet(addr: &SocketAddr) -> SockAddr {
        let mut storage = ws::SOCKADDR_STORAGE::default();
        let len = match addr {
            SocketAddr::V4(a) => {
                let sin = ws::SOCKADDR_IN {
                    sin_family: ws::AF_INET,
                    sin_port: a.port().to_be(),
                    sin_addr: ws::IN_ADDR {
                        S_un: ws::IN_ADDR_0 {
                            S_addr: u32::from_ne_bytes(a.ip().octets()),
                        },
                    },
                    sin_zero: [0; 8],
                };
                // SAFETY: `SOCKADDR_STORAGE` is larger than, and aligned for,
                // every socket address type (that is its purpose).
                unsafe { ptr::write((&mut storage as *mut ws::SOCKADDR_STORAGE).cast(), sin) };
                mem::size_of::<ws::SOCKADDR_IN>()
            }
            SocketAddr::V6(a) => {
                let sin6 = ws::SOCKADDR_IN6 {
                    sin6_family: ws::AF_INET6,
                    sin6_port: a.port().to_be(),
                    sin6_flowinfo: a.flowinfo(),
                    sin6_addr: ws::IN6_ADDR {
                        u: ws::IN6_ADDR_0 {
                            Byte: a.ip().octets(),
                        },
                    },
                    Anonymous: ws::SOCKADDR_IN6_0 {
                        sin6_scope_id: a.scope_id(),
                    },
                };
                // SAFETY: as for `SOCKADDR_IN`.
                unsafe { ptr::write((&mut storage as *mut ws::SOCKADDR_STORAGE).cast(), sin6) };
                mem::size_of::<ws::SOCKADDR_IN6>()
            }
        };
        SockAddr {
            storage,
            len: len as i32,
        }
    }

    fn family(&self) -> i32 {
        i32::from(self.storage.ss_family)
    }
}

/// Starts connecting a new nonblocking socket of `ty` to `addr`. Returns the
/// socket and whether the connection is still in progress (then the socket
/// turns writable when it is done, and `SO_ERROR` tells how it went).
pub(crate) fn connect(addr: &SockAddr, ty: i32) -> io::Result<(OwnedSocket, bool)> {
    let socket = socket(addr.family(), ty)?;
    // SAFETY: `addr.storage` holds a valid address of `addr.len` bytes and
    // outlives the call; the socket is open.
    let ret = unsafe {
        ws::connect(
            socket.as_raw_socket() as ws::SOCKET,
            (&addr.storage as *const ws::SOCKADDR_STORAGE).cast(),
            addr.len,
        )
    };
    if ret == 0 {
        return Ok((socket, false));
    }
    let err = last_error();
    match err.raw_os_error() {
        Some(ws::WSAEWOULDBLOCK) | Some(ws::WSAEINPROGRESS) => Ok((socket, true)),
        _ => Err(err),
    }
}

/// `send` (no `SIGPIPE` to avoid on Windows). A buffer longer than `i32::MAX`
/// is written in part, as a short write.
pub(crate) fn send(socket: BorrowedSocket<'_>, buf: &[u8]) -> io::Result<usize> {
    let len = buf.len().min(i32::MAX as usize) as i32;
    // SAFETY: `buf` is valid for `len` bytes for the whole call.
    let n = cvt(unsafe { ws::send(socket.as_raw_socket() as ws::SOCKET, buf.as_ptr(), len, 0) })?;
    Ok(n as usize)
}

/// Most buffers one `WSASend` takes (more are written by the next call, as
/// for a short write).
const MAX_BUFS: usize = 1024;

/// Vectored [`send`]: `WSASend`.
pub(crate) fn send_vectored(socket: BorrowedSocket<'_>, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
    let bufs = &bufs[..bufs.len().min(MAX_BUFS)];
    let mut sent: u32 = 0;
    // SAFETY: `IoSlice` is ABI-compatible with `WSABUF` on Windows (std
    // guarantees it), and `WSASend` only reads the buffers, which outlive the
    // call; no overlapped structure or completion routine: a plain
    // nonblocking send that reports its count through `sent`.
    cvt(unsafe {
        ws::WSASend(
            socket.as_raw_socket() as ws::SOCKET,
            bufs.as_ptr().cast::<ws::WSABUF>(),
            bufs.len() as u32,
            &mut sent,
            0,
            ptr::null_mut(),
            None,
        )
    })?;
    Ok(sent as usize)
}

/// `recv` into a buffer that may be uninitialised (tokio's `ReadBuf`).
/// Returns how many bytes were written (and so are initialised).
pub(crate) fn recv_uninit(
    socket: BorrowedSocket<'_>,
    buf: &mut [MaybeUninit<u8>],
) -> io::Result<usize> {
    let len = buf.len().min(i32::MAX as usize) as i32;
    // SAFETY: `buf` is valid for writes of `len` bytes; the kernel only
    // writes to it, so its being uninitialised does not matter.
    let n = cvt(unsafe {
        ws::recv(
            socket.as_raw_socket() as ws::SOCKET,
            buf.as_mut_ptr().cast(),
            len,
            0,
        )
    })?;
    Ok(n as usize)
}

/// Windows cannot tell whether a socket is nonblocking; the debug assertion
/// that asks is satisfied. Every socket `net` registers was put in
/// nonblocking mode by `socket` above or by `set_nonblocking`.
pub(crate) fn is_nonblocking(_socket: BorrowedSocket<'_>) -> bool {
    true
}
