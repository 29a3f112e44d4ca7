//! TCP: [`TcpListener`], [`TcpStream`], [`TcpSocket`], and a stream's split
//! halves.

mod listener;
// Its option calls are written on libc: Unix only for now (Windows would
// need their Winsock twins in `net/sys/windows.rs`).
#[cfg(unix)]
mod socket;
mod stream;

pub use listener::TcpListener;
#[cfg(unix)]
pub use socket::TcpSocket;
pub use stream::TcpStream;

super::split::split_halves!(TcpStream);
