//! TCP: [`TcpListener`], [`TcpStream`], [`TcpSocket`], and a stream's split
//! halves.

mod listener;
mod socket;
mod stream;

pub use listener::TcpListener;
pub use socket::TcpSocket;
pub use stream::TcpStream;

super::split::split_halves!(TcpStream);
