//! [`ToSocketAddrs`]: std's address forms, resolved without blocking an M.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::panic::Location;

use crate::context;
use crate::runtime::spawn_blocking_on;

/// What [`bind`](super::TcpListener::bind) and
/// [`connect`](super::TcpStream::connect) accept: the same forms as
/// [`std::net::ToSocketAddrs`] — a [`SocketAddr`], `(IpAddr, u16)`,
/// `"127.0.0.1:8080"`, `("localhost", 8080)`, `"example.com:80"`, a slice of
/// addresses.
///
/// Addresses and numeric strings are converted on the spot. A host name is
/// looked up with the system resolver (`getaddrinfo`, which blocks) on the
/// runtime's blocking pool, so no M waits for DNS — Go does the same when it
/// uses the cgo resolver, on a thread of its own.
///
/// The trait is sealed: its method is an implementation detail.
///
/// ```
/// # gmp_exec::block_on(async {
/// use gmp_exec::net::TcpListener;
/// let a = TcpListener::bind("127.0.0.1:0").await?;
/// let b = TcpListener::bind(("localhost", 0)).await?;
/// let c = TcpListener::bind(std::net::SocketAddr::from(([127, 0, 0, 1], 0))).await?;
/// # let _ = (a, b, c);
/// # std::io::Result::Ok(())
/// # }).unwrap();
/// ```
pub trait ToSocketAddrs: sealed::Sealed {}

mod sealed {
    use super::*;

    /// The private half of [`ToSocketAddrs`](super::ToSocketAddrs).
    pub trait Sealed {
        /// The addresses, or the lookup that finds them.
        #[doc(hidden)]
        fn to_addrs(&self) -> Addrs;
    }

    /// Addresses known at once, or a name to look up.
    #[doc(hidden)]
    #[derive(Debug)]
    pub enum Addrs {
        /// One address, known without a lookup (no allocation).
        One(SocketAddr),
        /// Known without a lookup.
        Known(Vec<SocketAddr>),
        /// `"host:port"`, to look up.
        HostPort(String),
        /// `(host, port)`, to look up.
        Host(String, u16),
    }
}

use sealed::{Addrs, Sealed};

impl Addrs {
    fn one(addr: SocketAddr) -> Addrs {
        Addrs::One(addr)
    }
}

/// The addresses `addr` stands for, looking host names up on the current
/// runtime's blocking pool. `InvalidInput` if there are none; otherwise the
/// iterator yields at least one.
pub(crate) async fn resolve<A: ToSocketAddrs>(addr: A) -> io::Result<Resolved> {
    let addrs = match addr.to_addrs() {
        Addrs::One(addr) => return Ok(Resolved::One(Some(addr))),
        Addrs::Known(addrs) => addrs,
        lookup => {
            let location = Location::caller();
            let handle = context::with_current_shared(|shared| {
                spawn_blocking_on(shared, move || lookup.look_up(), location)
            });
            handle.await??
        }
    };
    if addrs.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the address did not resolve to any socket address",
        ));
    }
    Ok(Resolved::Many(addrs.into_iter()))
}

/// The socket addresses `host` stands for (tokio's `net::lookup_host`): a
/// numeric form converts on the spot; a host name is looked up with the
/// system resolver (`getaddrinfo`) on the current runtime's blocking pool,
/// so no M waits for DNS. A name that resolves to nothing is an error.
///
/// ```
/// # gmp_exec::block_on(async {
/// let addrs: Vec<_> = gmp_exec::net::lookup_host("localhost:8080").await?.collect();
/// assert!(addrs.iter().all(|a| a.ip().is_loopback() && a.port() == 8080));
/// let one: Vec<_> = gmp_exec::net::lookup_host(("127.0.0.1", 1)).await?.collect();
/// assert_eq!(one, ["127.0.0.1:1".parse().unwrap()]);
/// assert!(gmp_exec::net::lookup_host("no port here").await.is_err());
/// # std::io::Result::Ok(())
/// # }).unwrap();
/// ```
pub async fn lookup_host<T: ToSocketAddrs>(
    host: T,
) -> io::Result<impl Iterator<Item = SocketAddr> + Send + 'static> {
    resolve(host).await
}

/// The addresses from [`resolve`].
pub(crate) enum Resolved {
    One(Option<SocketAddr>),
    Many(std::vec::IntoIter<SocketAddr>),
}

impl Iterator for Resolved {
    type Item = SocketAddr;

    fn next(&mut self) -> Option<SocketAddr> {
        match self {
            Resolved::One(addr) => addr.take(),
            Resolved::Many(addrs) => addrs.next(),
        }
    }
}

/// The first address `addr` stands for (see [`resolve`]).
pub(crate) async fn first_addr<A: ToSocketAddrs>(addr: A) -> io::Result<SocketAddr> {
    Ok(resolve(addr)
        .await?
        .next()
        .expect("resolve yields at least one address"))
}

/// Runs `op` on each address in turn: the first success, or the last error.
pub(crate) async fn each_addr<A, T, F, Fut>(addr: A, mut op: F) -> io::Result<T>
where
    A: ToSocketAddrs,
    F: FnMut(SocketAddr) -> Fut,
    Fut: std::future::Future<Output = io::Result<T>>,
{
    let mut last = None;
    for a in resolve(addr).await? {
        match op(a).await {
            Ok(t) => return Ok(t),
            Err(e) => last = Some(e),
        }
    }
    Err(last.expect("resolve returns at least one address"))
}

impl Addrs {
    /// The blocking lookup (on the blocking pool).
    fn look_up(self) -> io::Result<Vec<SocketAddr>> {
        use std::net::ToSocketAddrs as _;
        match self {
            Addrs::One(addr) => Ok(vec![addr]),
            Addrs::Known(addrs) => Ok(addrs),
            Addrs::HostPort(s) => Ok(s.as_str().to_socket_addrs()?.collect()),
            Addrs::Host(host, port) => Ok((host.as_str(), port).to_socket_addrs()?.collect()),
        }
    }
}

macro_rules! known {
    ($($ty:ty => |$a:ident| $conv:expr;)*) => {$(
        impl ToSocketAddrs for $ty {}
        impl Sealed for $ty {
            fn to_addrs(&self) -> Addrs {
                let $a = self;
                Addrs::one($conv)
            }
        }
    )*};
}

known! {
    SocketAddr => |a| *a;
    SocketAddrV4 => |a| SocketAddr::V4(*a);
    SocketAddrV6 => |a| SocketAddr::V6(*a);
    (IpAddr, u16) => |a| SocketAddr::new(a.0, a.1);
    (Ipv4Addr, u16) => |a| SocketAddr::new(IpAddr::V4(a.0), a.1);
    (Ipv6Addr, u16) => |a| SocketAddr::new(IpAddr::V6(a.0), a.1);
    ([u8; 4], u16) => |a| SocketAddr::from(*a);
}

impl ToSocketAddrs for [SocketAddr] {}
impl Sealed for [SocketAddr] {
    fn to_addrs(&self) -> Addrs {
        Addrs::Known(self.to_vec())
    }
}

impl ToSocketAddrs for str {}
impl Sealed for str {
    fn to_addrs(&self) -> Addrs {
        match self.parse::<SocketAddr>() {
            Ok(addr) => Addrs::one(addr),
            Err(_) => Addrs::HostPort(self.to_owned()),
        }
    }
}

impl ToSocketAddrs for String {}
impl Sealed for String {
    fn to_addrs(&self) -> Addrs {
        self.as_str().to_addrs()
    }
}

impl ToSocketAddrs for (&str, u16) {}
impl Sealed for (&str, u16) {
    fn to_addrs(&self) -> Addrs {
        match self.0.parse::<IpAddr>() {
            Ok(ip) => Addrs::one(SocketAddr::new(ip, self.1)),
            Err(_) => Addrs::Host(self.0.to_owned(), self.1),
        }
    }
}

impl ToSocketAddrs for (String, u16) {}
impl Sealed for (String, u16) {
    fn to_addrs(&self) -> Addrs {
        (self.0.as_str(), self.1).to_addrs()
    }
}

impl<T: ToSocketAddrs + ?Sized> ToSocketAddrs for &T {}
impl<T: Sealed + ?Sized> Sealed for &T {
    fn to_addrs(&self) -> Addrs {
        (**self).to_addrs()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_forms_need_no_lookup() {
        let want: SocketAddr = "127.0.0.1:80".parse().unwrap();
        for addrs in [
            "127.0.0.1:80".to_addrs(),
            ("127.0.0.1", 80).to_addrs(),
            (Ipv4Addr::LOCALHOST, 80).to_addrs(),
            ([127, 0, 0, 1], 80).to_addrs(),
            want.to_addrs(),
            Sealed::to_addrs(&&want),
        ] {
            match addrs {
                Addrs::One(a) => assert_eq!(a, want),
                other => panic!("looked up a numeric address: {other:?}"),
            }
        }
        match [want, want][..].to_addrs() {
            Addrs::Known(v) => assert_eq!(v, vec![want, want]),
            other => panic!("looked up a slice of addresses: {other:?}"),
        }
        match "[::1]:443".to_addrs() {
            Addrs::One(a) => assert_eq!(a, "[::1]:443".parse::<SocketAddr>().unwrap()),
            other => panic!("looked up a numeric address: {other:?}"),
        }
    }

    #[test]
    fn host_names_are_looked_up() {
        assert!(matches!("localhost:80".to_addrs(), Addrs::HostPort(_)));
        assert!(matches!(("localhost", 80).to_addrs(), Addrs::Host(_, 80)));
    }
}
