//! `net::TcpSocket` (options before connect or listen) and
//! `net::lookup_host` (resolution on the blocking pool).
#![cfg(all(unix, not(loom)))]

use std::io;

use futures::io::{AsyncReadExt, AsyncWriteExt};
use gmp_exec::net::{lookup_host, TcpListener, TcpSocket};
use gmp_exec::Runtime;

mod common;
use common::within;

fn rt() -> Runtime {
    Runtime::builder().procs(2).build().unwrap()
}

#[test]
fn a_configured_socket_listens_and_another_connects_to_it() {
    let rt = rt();
    within("listen + connect", move || {
        rt.block_on(async {
            let server = TcpSocket::new_v4()?;
            server.set_reuseaddr(true)?;
            server.set_recv_buffer_size(128 * 1024)?;
            server.bind("127.0.0.1:0".parse().unwrap())?;
            let listener = server.listen(16)?;
            let addr = listener.local_addr()?;
            let accept = gmp_exec::spawn(async move {
                let (mut conn, _) = listener.accept().await?;
                let mut buf = [0; 4];
                conn.read_exact(&mut buf).await?;
                conn.write_all(&buf).await?;
                io::Result::Ok(())
            });
            let client = TcpSocket::new_v4()?;
            client.set_nodelay(true)?;
            client.set_send_buffer_size(64 * 1024)?;
            assert!(client.send_buffer_size()? >= 64 * 1024);
            let mut stream = client.connect(addr).await?;
            assert!(stream.nodelay()?, "nodelay carries over to the stream");
            stream.write_all(b"ping").await?;
            let mut buf = [0; 4];
            stream.read_exact(&mut buf).await?;
            assert_eq!(&buf, b"ping");
            accept.await??;
            io::Result::Ok(())
        })
        .unwrap()
    });
}

#[test]
fn reuseaddr_rebinds_a_port_with_connections_in_time_wait() {
    let rt = rt();
    within("reuseaddr", move || {
        rt.block_on(async {
            let socket = TcpSocket::new_v4()?;
            socket.set_reuseaddr(true)?;
            socket.bind("127.0.0.1:0".parse().unwrap())?;
            let listener = socket.listen(8)?;
            let addr = listener.local_addr()?;
            // A connection the server side closes first lingers in TIME_WAIT.
            let client = std::net::TcpStream::connect(addr)?;
            let (conn, _) = listener.accept().await?;
            drop(conn);
            drop(listener);
            drop(client);
            let again = TcpSocket::new_v4()?;
            again.set_reuseaddr(true)?;
            again.bind(addr)?;
            let _listener = again.listen(8)?;
            io::Result::Ok(())
        })
        .unwrap()
    });
}

#[cfg(target_os = "linux")]
#[test]
fn reuseport_lets_two_listeners_share_a_port() {
    let rt = rt();
    within("reuseport", move || {
        rt.block_on(async {
            let a = TcpSocket::new_v4()?;
            a.set_reuseport(true)?;
            a.bind("127.0.0.1:0".parse().unwrap())?;
            let addr = a.local_addr()?;
            let b = TcpSocket::new_v4()?;
            b.set_reuseport(true)?;
            b.bind(addr)?;
            let (la, lb) = (a.listen(8)?, b.listen(8)?);
            assert_eq!(la.local_addr()?, lb.local_addr()?);
            // Without the option, the port is taken.
            let c = TcpSocket::new_v4()?;
            assert_eq!(c.bind(addr).unwrap_err().kind(), io::ErrorKind::AddrInUse);
            io::Result::Ok(())
        })
        .unwrap()
    });
}

#[test]
fn connecting_to_a_closed_port_is_refused() {
    let rt = rt();
    within("refused", move || {
        rt.block_on(async {
            let addr = TcpListener::bind("127.0.0.1:0")
                .await
                .unwrap()
                .local_addr()
                .unwrap();
            let err = TcpSocket::new_v4()
                .unwrap()
                .connect(addr)
                .await
                .unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
        })
    });
}

#[cfg(all(feature = "coro", any(unix, windows)))]
#[test]
fn a_coroutine_connects_through_a_socket() {
    let rt = rt();
    let _guard = rt.enter();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let h = gmp_exec::coro::spawn(move || {
        let socket = TcpSocket::new_v4().unwrap();
        let stream = gmp_exec::coro::wait(socket.connect(addr)).unwrap();
        stream.peer_addr().unwrap()
    });
    let (_conn, peer) = listener.accept().unwrap();
    let seen = within("coroutine connect", move || h.join().unwrap());
    assert_eq!(seen, addr);
    let _ = peer;
}

#[test]
fn lookup_host_resolves_names_and_numbers_and_reports_failures() {
    let rt = rt();
    within("lookup_host", move || {
        rt.block_on(async {
            let local: Vec<_> = lookup_host("localhost:80").await.unwrap().collect();
            assert!(!local.is_empty());
            assert!(local.iter().all(|a| a.ip().is_loopback() && a.port() == 80));
            let numeric: Vec<_> = lookup_host("10.1.2.3:4").await.unwrap().collect();
            assert_eq!(numeric, ["10.1.2.3:4".parse().unwrap()]);
            assert!(lookup_host("missing-port").await.is_err());
        })
    });
}
