//! TCP: [`TcpListener`], [`TcpStream`], and a stream's split halves.

mod listener;
mod stream;

pub use listener::TcpListener;
pub use stream::TcpStream;

super::split::split_halves!(TcpStream);
