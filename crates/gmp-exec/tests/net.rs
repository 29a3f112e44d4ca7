//! Sockets on the netpoller: echo under load, the OS's errors, readiness
//! noticed while every P is busy, split halves, sockets waited on from outside
//! the runtime, UDP and Unix sockets, and blocking-style I/O in coroutine Gs.
// TCP and UDP everywhere; Unix-domain sockets, SIGPIPE and the raw socket
// options (libc) on Unix only.
#![cfg(all(any(unix, windows), not(loom)))]

use std::io::{self, IoSlice};
#[cfg(unix)]
use std::net::Shutdown;
use std::net::SocketAddr;
#[cfg(unix)]
use std::os::fd::AsRawFd;
#[cfg(unix)]
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{mpsc, Arc};

use futures::io::{AsyncReadExt, AsyncWriteExt};
use gmp_exec::net::{TcpListener, TcpStream, UdpSocket};
#[cfg(unix)]
use gmp_exec::net::{UnixDatagram, UnixListener, UnixStream};
use gmp_exec::time::timeout;
use gmp_exec::Runtime;

mod common;
// `within`: for waits that a timer could not interrupt (a timer would itself
// wake an M and hide a missing poller) or that could wedge the runtime so
// that dropping it would hang.
#[cfg(unix)]
use common::output_within;
use common::{within, PATIENCE};

fn runtime(procs: usize) -> Runtime {
    Runtime::builder().procs(procs).build().unwrap()
}

/// An echo server in the style of a tokio program: an accept loop that spawns
/// a task per connection. Returns its address.
async fn echo_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    gmp_exec::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            gmp_exec::spawn(async move {
                let mut buf = [0u8; 4096];
                loop {
                    match conn.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            if conn.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                        }
                    }
                }
            });
        }
    });
    addr
}

/// The 64-byte message number `i` of connection `c`: every byte depends on
/// both, so a byte from another connection or round trip cannot pass.
fn message(c: usize, i: usize) -> [u8; 64] {
    let mut m = [0u8; 64];
    for (k, b) in m.iter_mut().enumerate() {
        *b = (c.wrapping_mul(131) ^ i.wrapping_mul(7) ^ k.wrapping_mul(29)) as u8;
    }
    m[..8].copy_from_slice(&(i as u64).to_le_bytes());
    m[8..16].copy_from_slice(&(c as u64).to_le_bytes());
    m
}

#[test]
fn echo_64_connections_of_1000_round_trips_every_byte_verified() {
    const CONNS: usize = 64;
    const ROUND_TRIPS: usize = 1000;
    for procs in [1, 2] {
        let rt = runtime(procs);
        let verified = rt.block_on(async {
            let addr = echo_server().await;
            let clients: Vec<_> = (0..CONNS)
                .map(|c| {
                    gmp_exec::spawn(async move {
                        let mut conn = TcpStream::connect(addr).await?;
                        conn.set_nodelay(true)?;
                        let mut back = [0u8; 64];
                        for i in 0..ROUND_TRIPS {
                            let msg = message(c, i);
                            conn.write_all(&msg).await?;
                            conn.read_exact(&mut back).await?;
                            assert_eq!(back, msg, "connection {c}, round trip {i}");
                        }
                        io::Result::Ok(ROUND_TRIPS)
                    })
                })
                .collect();
            let mut verified = 0;
            for client in clients {
                verified += timeout(PATIENCE, client)
                    .await
                    .expect("the echo clients hung")
                    .unwrap()
                    .unwrap();
            }
            verified
        });
        assert_eq!(verified, CONNS * ROUND_TRIPS, "procs({procs})");
    }
}

#[test]
fn binding_a_taken_port_is_addr_in_use() {
    runtime(1).block_on(async {
        let first = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let err = TcpListener::bind(first.local_addr().unwrap())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
        let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let err = UdpSocket::bind(udp.local_addr().unwrap())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
    });
}

#[test]
fn connecting_to_a_closed_port_is_connection_refused() {
    runtime(1).block_on(async {
        // Bind a port, remember it, close it: nobody listens there now.
        let addr = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap()
            .local_addr()
            .unwrap();
        let err = TcpStream::connect(addr).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
    });
}

#[test]
fn connecting_to_a_host_name_tries_each_address() {
    // "localhost" may resolve to ::1 before 127.0.0.1; the listener is only on
    // 127.0.0.1, so a refused first address must fall through to the next.
    runtime(2).block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let client = TcpStream::connect(("localhost", port)).await.unwrap();
        let (server, peer) = listener.accept().await.unwrap();
        assert_eq!(client.local_addr().unwrap(), peer);
        assert_eq!(server.peer_addr().unwrap(), peer);
        let err = TcpStream::connect("no-such-host.invalid:80")
            .await
            .unwrap_err();
        assert_ne!(err.kind(), io::ErrorKind::WouldBlock, "{err}");
    });
}

/// Makes closing `stream` send a reset instead of a FIN.
#[cfg(unix)]
fn set_linger_zero(stream: &std::net::TcpStream) {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: `linger` outlives the call and its size is passed with it.
    let ret = unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(
        ret,
        0,
        "setsockopt(SO_LINGER): {}",
        io::Error::last_os_error()
    );
}

#[cfg(unix)]
#[test]
fn a_peer_that_resets_mid_stream_is_connection_reset() {
    runtime(2).block_on(async {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (mut peer, _) = listener.accept().unwrap();
        client.write_all(b"first half").await.unwrap();
        let mut buf = [0u8; 10];
        io::Read::read_exact(&mut peer, &mut buf).unwrap();
        set_linger_zero(&peer);
        drop(peer);
        let err = client.read(&mut buf).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionReset);
    });
}

#[test]
fn reading_after_the_peer_closed_is_end_of_file() {
    // The FIN comes with the last data: a read shorter than its buffer must
    // not make the next read wait for an event that was already reported.
    within("EOF after the last data", || {
        runtime(1).block_on(async {
            let (mut client, server) = tcp_pair().await;
            (&server).write_all(b"last words").await.unwrap();
            drop(server);
            let mut got = Vec::new();
            client.read_to_end(&mut got).await.unwrap();
            assert_eq!(got, b"last words");
            let mut buf = [0u8; 8];
            assert_eq!(client.read(&mut buf).await.unwrap(), 0, "EOF again");

            #[cfg(unix)]
            {
                let (mut a, mut b) = UnixStream::pair().unwrap();
                b.write_all(b"bye").await.unwrap();
                drop(b);
                let mut big = [0u8; 1024];
                assert_eq!(a.read(&mut big).await.unwrap(), 3);
                assert_eq!(a.read(&mut big).await.unwrap(), 0, "Unix EOF");
            }
        });
    });
}

/// Blocks until the peer's close (its FIN) has reached `socket`: `poll(2)`
/// for `POLLRDHUP`.
#[cfg(target_os = "linux")]
fn wait_for_peer_close(socket: &std::net::TcpStream) {
    let mut pfd = libc::pollfd {
        fd: socket.as_raw_fd(),
        events: libc::POLLRDHUP,
        revents: 0,
    };
    let ms = PATIENCE.as_millis() as libc::c_int;
    // SAFETY: `pfd` is one valid `pollfd`, for the duration of the call.
    let n = unsafe { libc::poll(&mut pfd, 1, ms) };
    assert_eq!(n, 1, "the peer's close never arrived");
}

#[cfg(target_os = "linux")]
#[test]
fn a_close_that_arrives_with_the_last_data_is_end_of_file_after_a_short_read() {
    // The data and the FIN are both queued before the socket is registered,
    // so the poller reports them in one event (readable and read-closed): the
    // read that takes the data is short, and must not clear the readiness,
    // or the next read would wait for an event the OS will never send again.
    within("EOF that came with the last data", || {
        runtime(1).block_on(async {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let ours = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
            let (mut peer, _) = listener.accept().unwrap();
            io::Write::write_all(&mut peer, b"last words").unwrap();
            drop(peer);
            wait_for_peer_close(&ours);

            let mut client = TcpStream::from_std(ours).unwrap();
            let mut buf = [0u8; 64];
            assert_eq!(client.read(&mut buf).await.unwrap(), 10, "a short read");
            assert_eq!(&buf[..10], b"last words");
            assert_eq!(client.read(&mut buf).await.unwrap(), 0, "EOF");
            assert_eq!(client.read(&mut buf).await.unwrap(), 0, "EOF again");
        });
    });
}

/// Writes to `w` until it fails (the peer is gone); returns the error.
async fn write_until_error<W: futures::io::AsyncWrite + Unpin>(
    w: &mut W,
    vectored: bool,
) -> io::Error {
    let chunk = [7u8; 1024];
    loop {
        let result = if vectored {
            w.write_vectored(&[IoSlice::new(&chunk), IoSlice::new(&chunk)])
                .await
        } else {
            w.write(&chunk).await
        };
        if let Err(e) = result {
            return e;
        }
    }
}

fn assert_peer_gone(err: &io::Error) {
    assert!(
        matches!(
            err.kind(),
            io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
        ),
        "writing to a closed peer: {err:?}"
    );
}

/// Writes, plain and vectored, to closed TCP and Unix peers.
fn write_to_closed_peers() {
    runtime(1).block_on(async {
        for vectored in [false, true] {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let mut client = TcpStream::connect(listener.local_addr().unwrap())
                .await
                .unwrap();
            drop(listener.accept().await.unwrap());
            let err = timeout(PATIENCE, write_until_error(&mut client, vectored))
                .await
                .expect("writes to a closed peer never failed");
            assert_peer_gone(&err);

            #[cfg(unix)]
            {
                let (mut a, b) = UnixStream::pair().unwrap();
                drop(b);
                let err = write_until_error(&mut a, vectored).await;
                assert_peer_gone(&err);
            }
        }
    });
}

#[test]
fn writing_after_the_peer_closed_is_broken_pipe_or_reset() {
    write_to_closed_peers();
}

#[cfg(unix)]
#[test]
fn writes_to_a_closed_peer_never_raise_sigpipe() {
    // Rust programs ignore SIGPIPE, but a library can be loaded by a program
    // that does not: restore the default action (death) in a child process
    // and make the same writes there.
    const CHILD: &str = "GMP_NET_SIGPIPE_CHILD";
    if std::env::var_os(CHILD).is_some() {
        // SAFETY: setting a signal's disposition to its default is always
        // allowed; only this child process is affected.
        unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
        write_to_closed_peers();
        println!("survived the writes");
        return;
    }
    let out = output_within(
        "the child that writes to closed peers",
        std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "writes_to_a_closed_peer_never_raise_sigpipe",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD, "1"),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("survived the writes"),
        "the child died: {:?}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn readiness_is_noticed_while_every_p_runs_a_cpu_bound_task() {
    let rt = runtime(2);
    let (go_write, write_now) = mpsc::channel::<()>();
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let writer = std::thread::spawn(move || {
            let mut peer = std::net::TcpStream::connect(addr).unwrap();
            write_now.recv().unwrap();
            io::Write::write_all(&mut peer, b"wake up").unwrap();
            // Hold the connection until the reader is done.
            let mut rest = Vec::new();
            let _ = io::Read::read_to_end(&mut peer, &mut rest);
        });
        let (mut conn, _) = listener.accept().await.unwrap();

        let done = Arc::new(AtomicBool::new(false));
        let reader = {
            let done = done.clone();
            gmp_exec::spawn(async move {
                let mut buf = [0u8; 7];
                conn.read_exact(&mut buf).await.unwrap();
                done.store(true, SeqCst);
                buf
            })
        };
        // Two tasks that never let their P go idle: they only yield.
        let (started_tx, started_rx) = async_channel::unbounded::<()>();
        let spinners: Vec<_> = (0..2)
            .map(|_| {
                let done = done.clone();
                let started = started_tx.clone();
                gmp_exec::spawn(async move {
                    started.send(()).await.unwrap();
                    let mut work = 0u64;
                    while !done.load(SeqCst) {
                        for i in 0..1_000u64 {
                            work = work.wrapping_mul(31).wrapping_add(i);
                        }
                        std::hint::black_box(work);
                        gmp_exec::yield_now().await;
                    }
                })
            })
            .collect();
        for _ in 0..2 {
            started_rx.recv().await.unwrap();
        }
        go_write.send(()).unwrap();
        let got = timeout(PATIENCE, reader)
            .await
            .expect("the read was never noticed while every P was busy")
            .unwrap();
        assert_eq!(&got, b"wake up");
        for s in spinners {
            s.await.unwrap();
        }
        writer
    })
    .join()
    .unwrap();
}

#[test]
fn split_halves_read_and_write_concurrently_in_two_tasks() {
    const MESSAGES: usize = 2000;
    for procs in [1, 2] {
        runtime(procs).block_on(async {
            let addr = echo_server().await;
            let stream = TcpStream::connect(addr).await.unwrap();
            let (mut reader, mut writer) = stream.into_split();
            let writing = gmp_exec::spawn(async move {
                for i in 0..MESSAGES {
                    writer.write_all(&message(0, i)).await.unwrap();
                }
                writer
            });
            let reading = gmp_exec::spawn(async move {
                let mut back = [0u8; 64];
                for i in 0..MESSAGES {
                    reader.read_exact(&mut back).await.unwrap();
                    assert_eq!(back, message(0, i), "message {i}");
                }
                reader
            });
            let reader = timeout(PATIENCE, reading).await.unwrap().unwrap();
            let writer = writing.await.unwrap();
            // Halves of different streams do not reunite; their own do.
            let other = TcpStream::connect(addr).await.unwrap();
            let (other_reader, other_writer) = other.into_split();
            let err = reader.reunite(other_writer).unwrap_err();
            let (reader, other_writer) = (err.0, err.1);
            let mut stream = reader.reunite(writer).unwrap();
            drop((other_reader, other_writer));

            // Borrowed halves, polled together in one task.
            // Spelled out: futures' `AsyncReadExt::split(self)` would win
            // method resolution for `stream.split()`.
            let (mut r, mut w) = TcpStream::split(&mut stream);
            let send = async {
                for i in 0..100 {
                    w.write_all(&message(1, i)).await.unwrap();
                }
            };
            let receive = async {
                let mut back = [0u8; 64];
                for i in 0..100 {
                    r.read_exact(&mut back).await.unwrap();
                    assert_eq!(back, message(1, i));
                }
            };
            futures::join!(send, receive);
        });
    }
}

#[test]
fn dropping_the_owned_write_half_shuts_the_write_side_down() {
    runtime(1).block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (mut server, _) = listener.accept().await.unwrap();
        let (mut reader, writer) = client.into_split();
        drop(writer);
        let mut buf = [0u8; 4];
        assert_eq!(server.read(&mut buf).await.unwrap(), 0, "the peer sees EOF");
        server.write_all(b"back").await.unwrap();
        reader.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"back", "the read side stays open");
    });
}

/// A connected TCP pair on the current runtime, from whatever executor polls.
async fn tcp_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (server, _) = listener.accept().await.unwrap();
    (client, server)
}

async fn ping(a: &mut TcpStream, b: &mut TcpStream) {
    a.write_all(b"ping").await.unwrap();
    let mut buf = [0u8; 4];
    b.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"ping");
}

#[test]
fn a_socket_waited_on_from_block_on_wakes_on_a_fresh_runtime() {
    // The runtime's Ms are all parked, none of them in a poll for this
    // socket (it is made after they parked): the first wait from outside
    // must get one of them to watch it.
    within("block_on on a fresh runtime", || {
        let rt = runtime(1);
        rt.block_on(async {
            let (mut a, mut b) = tcp_pair().await;
            ping(&mut a, &mut b).await;
            ping(&mut b, &mut a).await;
        });
    });
}

#[test]
fn a_socket_polled_by_another_executor_uses_the_default_runtime() {
    within("futures::executor::block_on", || {
        futures::executor::block_on(async {
            let (mut a, mut b) = tcp_pair().await;
            ping(&mut a, &mut b).await;
            ping(&mut b, &mut a).await;
        });
    });
}

#[test]
fn a_socket_of_a_shut_down_runtime_fails_its_waits_instead_of_hanging() {
    let rt = runtime(1);
    let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
    drop(rt);
    let err = futures::executor::block_on(listener.accept()).unwrap_err();
    assert!(err.to_string().contains("shut down"), "{err}");
}

#[test]
fn udp_datagrams_round_trip() {
    runtime(2).block_on(async {
        let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let b_addr = b.local_addr().unwrap();
        let echo = gmp_exec::spawn(async move {
            let mut buf = [0u8; 128];
            for _ in 0..100 {
                let (n, from) = b.recv_from(&mut buf).await.unwrap();
                b.send_to(&buf[..n], from).await.unwrap();
            }
            b
        });
        let mut buf = [0u8; 128];
        for i in 0..100 {
            let msg = message(2, i);
            a.send_to(&msg, b_addr).await.unwrap();
            let (n, from) = a.recv_from(&mut buf).await.unwrap();
            assert_eq!((&buf[..n], from), (&msg[..], b_addr));
        }
        let b = echo.await.unwrap();

        // Connected sockets, peek, and the nonblocking calls.
        a.connect(b_addr).await.unwrap();
        b.connect(a.local_addr().unwrap()).await.unwrap();
        assert_eq!(a.peer_addr().unwrap(), b_addr);
        assert_eq!(
            b.try_recv(&mut buf).unwrap_err().kind(),
            io::ErrorKind::WouldBlock
        );
        a.send(b"datagram").await.unwrap();
        let (n, from) = b.peek_from(&mut buf).await.unwrap();
        assert_eq!(
            (&buf[..n], from),
            (&b"datagram"[..], a.local_addr().unwrap())
        );
        b.readable().await.unwrap();
        assert_eq!(b.try_recv(&mut buf).unwrap(), 8);
        assert_eq!(&buf[..8], b"datagram");
        a.writable().await.unwrap();
        assert_eq!(a.try_send(b"again").unwrap(), 5);
        assert_eq!(b.recv(&mut buf).await.unwrap(), 5);
    });
}

/// A fresh directory for socket files, removed on drop.
#[cfg(unix)]
struct TempDir(std::path::PathBuf);

#[cfg(unix)]
impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("gmp-net-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

#[cfg(unix)]
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(unix)]
#[test]
fn unix_streams_round_trip() {
    let dir = TempDir::new("stream");
    let path = dir.0.join("echo.sock");
    runtime(2).block_on(async {
        let listener = UnixListener::bind(&path).unwrap();
        let server = gmp_exec::spawn(async move {
            let (conn, _) = listener.accept().await.unwrap();
            let (mut r, mut w) = conn.into_split();
            futures::io::copy(&mut r, &mut w).await.unwrap()
        });
        let mut client = UnixStream::connect(&path).await.unwrap();
        let mut back = [0u8; 64];
        for i in 0..500 {
            client.write_all(&message(3, i)).await.unwrap();
            client.read_exact(&mut back).await.unwrap();
            assert_eq!(back, message(3, i));
        }
        client.shutdown(Shutdown::Write).unwrap();
        assert_eq!(server.await.unwrap(), 500 * 64);
        assert_eq!(client.read(&mut back).await.unwrap(), 0);

        let err = UnixStream::connect(dir.0.join("nobody.sock"))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        let too_long = dir.0.join("x".repeat(200));
        let err = UnixStream::connect(&too_long).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    });
}

#[cfg(unix)]
#[test]
fn unix_datagrams_round_trip() {
    let dir = TempDir::new("dgram");
    runtime(1).block_on(async {
        let server = UnixDatagram::bind(dir.0.join("server")).unwrap();
        let client = UnixDatagram::bind(dir.0.join("client")).unwrap();
        client
            .send_to(b"to the server", dir.0.join("server"))
            .await
            .unwrap();
        let mut buf = [0u8; 32];
        let (n, from) = server.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"to the server");
        server
            .send_to(b"reply", from.as_pathname().unwrap())
            .await
            .unwrap();
        let n = client.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"reply");
    });
}

#[test]
fn into_std_and_from_std_round_trip() {
    runtime(2).block_on(async {
        let (client, server) = tcp_pair().await;
        let addr = client.local_addr().unwrap();
        let mut std_client = client.into_std().unwrap();
        std_client.set_nonblocking(false).unwrap();
        io::Write::write_all(&mut std_client, b"via std").unwrap();
        let mut client = TcpStream::try_from(std_client).unwrap();
        assert_eq!(client.local_addr().unwrap(), addr);
        let mut server = TcpStream::from_std(server.into_std().unwrap()).unwrap();
        let mut buf = [0u8; 7];
        server.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"via std");
        ping(&mut client, &mut server).await;

        let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = udp.local_addr().unwrap();
        let udp = UdpSocket::from_std(udp.into_std().unwrap()).unwrap();
        assert_eq!(udp.local_addr().unwrap(), addr);

        #[cfg(unix)]
        {
            let (a, b) = UnixStream::pair().unwrap();
            let (mut a, mut b) = (
                UnixStream::from_std(a.into_std().unwrap()).unwrap(),
                UnixStream::try_from(b.into_std().unwrap()).unwrap(),
            );
            a.write_all(b"u").await.unwrap();
            let mut one = [0u8; 1];
            b.read_exact(&mut one).await.unwrap();
            assert_eq!(&one, b"u");
        }
    });
}

#[test]
fn try_read_would_block_until_readable_reports_data() {
    runtime(1).block_on(async {
        let (client, server) = tcp_pair().await;
        let mut buf = [0u8; 16];
        assert_eq!(
            server.try_read(&mut buf).unwrap_err().kind(),
            io::ErrorKind::WouldBlock
        );
        client.writable().await.unwrap();
        assert_eq!(client.try_write(b"ready").unwrap(), 5);
        let mut got = Vec::new();
        while got.len() < 5 {
            server.readable().await.unwrap();
            match server.try_read(&mut buf) {
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(got, b"ready");
        assert_eq!(
            server.try_read(&mut buf).unwrap_err().kind(),
            io::ErrorKind::WouldBlock,
            "drained"
        );
        let n = client
            .try_write_vectored(&[IoSlice::new(b"ab"), IoSlice::new(b"cd")])
            .unwrap();
        assert_eq!(n, 4);
        let mut peeked = [0u8; 4];
        let n = server.peek(&mut peeked).await.unwrap();
        assert!(n >= 1 && peeked[..n] == b"abcd"[..n]);
    });
}

#[cfg(unix)]
#[test]
fn a_socket_that_always_has_data_still_lets_its_ps_other_tasks_run() {
    // One P: a reader whose socket never runs dry must still yield (the
    // budget), or the task that would stop it never runs.
    // sysmon's retake would hand the P to another M after 10 ms and hide a
    // reader that never yields: turn it off.
    within("a reader that never runs dry", || {
        let rt = Runtime::builder()
            .procs(1)
            .retake_after(None)
            .build()
            .unwrap();
        rt.block_on(reader_that_never_runs_dry());
    });
}

#[cfg(unix)]
async fn reader_that_never_runs_dry() {
    // A Unix socket pair: what the writer managed to write is in the
    // reader's queue at once (no TCP window holds part of it back).
    let (client, mut server) = UnixStream::pair().unwrap();
    // Fill the connection until the OS takes no more: the reader then has
    // `filled` bytes it can read without ever waiting.
    let chunk = [1u8; 16 * 1024];
    let mut filled = 0;
    loop {
        match client.try_write(&chunk) {
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock && filled > 0 => break,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => client.writable().await.unwrap(),
            Err(e) => panic!("{e}"),
        }
    }
    // Readiness known before the reader starts (a new registration waits
    // for the OS's first event), so its reads never wait.
    server.readable().await.unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(AtomicUsize::new(0));
    let reader = {
        let (stop, reads) = (stop.clone(), reads.clone());
        gmp_exec::spawn(async move {
            let mut byte = [0u8; 1];
            while !stop.load(SeqCst) {
                server.read_exact(&mut byte).await.unwrap();
                reads.fetch_add(1, SeqCst);
            }
        })
    };
    let stopper = {
        let (stop, reads) = (stop.clone(), reads.clone());
        gmp_exec::spawn(async move {
            stop.store(true, SeqCst);
            reads.load(SeqCst)
        })
    };
    let reads_before_stop = stopper.await.unwrap();
    reader.await.unwrap();
    assert!(
        reads_before_stop < filled,
        "the stopper ran only once the reader had drained all {filled} bytes"
    );
    drop(client);
}

/// `std::io::Read`/`Write` on gmp streams (kept apart: with futures'
/// extension traits in scope too, `read` and `write_all` would be ambiguous).
// Without the `coro` feature the first test, and what only it uses, is out.
#[cfg_attr(not(all(feature = "coro", any(unix, windows))), allow(unused_imports))]
mod blocking_style {
    use std::io::{IoSlice, Read, Write};

    #[cfg(all(feature = "coro", any(unix, windows)))]
    use gmp_exec::coro;
    use gmp_exec::net::TcpStream;

    use super::{echo_server, message, runtime, tcp_pair};

    #[cfg(all(feature = "coro", any(unix, windows)))]
    #[test]
    fn blocking_style_io_in_100_coroutines_against_an_async_echo_server() {
        const COROUTINES: usize = 100;
        const ROUND_TRIPS: usize = 50;
        let rt = runtime(2);
        let addr = rt.block_on(echo_server());
        let _enter = rt.enter();
        let handles: Vec<_> = (0..COROUTINES)
            .map(|c| {
                coro::spawn(move || {
                    let mut conn = coro::wait(TcpStream::connect(addr)).unwrap();
                    let mut back = [0u8; 64];
                    for i in 0..ROUND_TRIPS {
                        let msg = message(c, i);
                        // Blocking-style: each call parks this G, not the M.
                        conn.write_all(&msg).unwrap();
                        conn.read_exact(&mut back).unwrap();
                        assert_eq!(back, msg, "coroutine {c}, round trip {i}");
                    }
                    // And through a shared reference, vectored.
                    let halves = [IoSlice::new(b"tw"), IoSlice::new(b"o")];
                    let n = (&conn).write_vectored(&halves).unwrap();
                    let mut got = vec![0u8; n];
                    (&conn).read_exact(&mut got).unwrap();
                    assert_eq!(&b"two"[..n], &got[..]);
                    ROUND_TRIPS
                })
            })
            .collect();
        let total: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
        assert_eq!(total, COROUTINES * ROUND_TRIPS);
    }

    #[test]
    fn blocking_style_io_on_a_plain_thread_blocks_the_thread() {
        let rt = runtime(1);
        let (client, server) = rt.block_on(tcp_pair());
        let reader = std::thread::spawn(move || {
            let mut server = server;
            let mut buf = [0u8; 5];
            server.read_exact(&mut buf).unwrap();
            buf
        });
        let mut client = client;
        client.write_all(b"plain").unwrap();
        assert_eq!(&reader.join().unwrap(), b"plain");
    }

    #[test]
    fn blocking_style_io_in_an_async_task_panics_naming_the_misuse() {
        let rt = runtime(1);
        let err = rt
            .block_on(async {
                let (mut client, _server) = tcp_pair().await;
                gmp_exec::spawn(async move {
                    let mut buf = [0u8; 1];
                    let _ = Read::read(&mut client, &mut buf);
                })
                .await
            })
            .unwrap_err();
        let panic = err.into_panic();
        let msg = panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .unwrap_or_default();
        assert!(
            msg.contains("use .await") && msg.contains("coroutine (gmp::go!)"),
            "{msg}"
        );
    }
}
