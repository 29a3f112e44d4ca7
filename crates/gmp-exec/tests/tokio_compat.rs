//! The tokio compatibility mode (`Builder::tokio_compat`, the `tokio-compat`
//! feature): tokio's spawn, timers, sockets and `Handle::current` work from
//! every place a gmp runtime runs code — an async G, a coroutine G, a
//! blocking-pool closure, a `block_on` — and tokio's work runs on tokio's
//! thread while the Gs stay on the Ms.
//! `cargo test -p gmp-exec --features tokio-compat --test tokio_compat`.
#![cfg(all(unix, not(loom), feature = "tokio-compat"))]

mod common;

use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::within;

fn compat(procs: usize) -> gmp_exec::Runtime {
    gmp_exec::Runtime::builder()
        .procs(procs)
        .thread_name("compat")
        .tokio_compat(true)
        .build()
        .unwrap()
}

fn thread_name() -> String {
    std::thread::current().name().unwrap_or("").to_string()
}

#[test]
fn tokio_spawn_runs_on_tokios_thread_and_gs_stay_on_ms() {
    within("tokio::spawn from a G", || {
        let rt = compat(2);
        let (g, t) = rt.block_on(async {
            gmp_exec::spawn(async {
                let t = tokio::spawn(async { thread_name() }).await.unwrap();
                (thread_name(), t)
            })
            .await
            .unwrap()
        });
        assert!(g.starts_with("compat-m"), "the G ran on {g}");
        assert_eq!(t, "compat-tokio", "tokio's task ran on {t}");
    });
}

#[test]
fn gmp_calls_inside_a_tokio_task_reach_this_runtime() {
    within("gmp::spawn and gmp::time inside tokio::spawn", || {
        let rt = compat(2);
        let name = rt.block_on(async {
            tokio::spawn(async {
                gmp_exec::time::sleep(Duration::from_millis(1)).await;
                gmp_exec::spawn(async { thread_name() }).await.unwrap()
            })
            .await
            .unwrap()
        });
        assert!(name.starts_with("compat-m"), "the G ran on {name}");
        // 1: the G above. Nothing went to the default runtime.
        assert_eq!(rt.metrics().spawned, 1);
    });
}

#[test]
fn ms_started_by_set_procs_enter_tokio_too() {
    within("tokio on the Ms a GOMAXPROCS change starts", || {
        let rt = gmp_exec::Runtime::builder()
            .procs(1)
            .max_procs(4)
            .thread_name("compat")
            .tokio_compat(true)
            .build()
            .unwrap();
        rt.set_procs(4).unwrap();
        let seen = rt.block_on(async {
            let gs: Vec<_> = (0..64)
                .map(|_| {
                    gmp_exec::spawn(async {
                        // Long enough that the other Ps' Ms take some of them.
                        std::thread::sleep(Duration::from_millis(1));
                        tokio::time::sleep(Duration::from_millis(1)).await;
                        thread_name()
                    })
                })
                .collect();
            let mut names = std::collections::BTreeSet::new();
            for g in gs {
                names.insert(g.await.unwrap());
            }
            names
        });
        assert!(seen.iter().all(|n| n.starts_with("compat-m")), "{seen:?}");
        // 64 ms of blocking work on 4 Ps: more than the first M ran some.
        assert!(seen.len() >= 2, "one M ran every G: {seen:?}");
    });
}

#[test]
fn tokio_sleep_wakes_an_async_g_a_coroutine_and_block_on() {
    within("tokio::time::sleep everywhere", || {
        let rt = compat(2);
        let d = Duration::from_millis(20);
        let start = Instant::now();
        rt.block_on(async move {
            // In block_on's own future.
            tokio::time::sleep(d).await;
            // In an async G.
            let a = gmp_exec::spawn(async move {
                tokio::time::sleep(d).await;
                thread_name()
            });
            // In a coroutine G, through `wait`.
            let c = gmp_exec::coro::spawn(move || {
                gmp_exec::coro::wait(tokio::time::sleep(d));
                thread_name()
            });
            assert!(a.await.unwrap().starts_with("compat-m"));
            assert!(c.await.unwrap().starts_with("compat-m"));
        });
        assert!(start.elapsed() >= 2 * d);
    });
}

#[test]
fn tokio_handle_is_current_in_the_blocking_pool() {
    within("tokio::runtime::Handle::current in spawn_blocking", || {
        let rt = compat(1);
        let name = rt
            .block_on(rt.spawn_blocking(|| {
                let handle = tokio::runtime::Handle::current();
                // A blocking thread may block on tokio work.
                handle.block_on(async {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                    tokio::spawn(async { thread_name() }).await.unwrap()
                })
            }))
            .unwrap();
        assert_eq!(name, "compat-tokio");
    });
}

#[test]
fn tokio_sockets_work_inside_gs() {
    within("a tokio::net round trip between two Gs", || {
        let rt = compat(2);
        rt.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = gmp_exec::spawn(async move {
                let (stream, _) = listener.accept().await.unwrap();
                let mut got = Vec::new();
                let mut buf = [0u8; 64];
                loop {
                    stream.readable().await.unwrap();
                    match stream.try_read(&mut buf) {
                        Ok(0) => break,
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                        Err(e) => panic!("{e}"),
                    }
                }
                got
            });
            let client = gmp_exec::spawn(async move {
                let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
                let mut left: &[u8] = b"hello from a G";
                while !left.is_empty() {
                    stream.writable().await.unwrap();
                    match stream.try_write(left) {
                        Ok(n) => left = &left[n..],
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                        Err(e) => panic!("{e}"),
                    }
                }
            });
            client.await.unwrap();
            assert_eq!(server.await.unwrap(), b"hello from a G");
        });
    });
}

/// Sets its flag when dropped.
struct SetOnDrop(Arc<AtomicBool>);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.store(true, SeqCst);
    }
}

#[test]
fn dropping_the_runtime_shuts_tokio_down_too() {
    within("the tokio runtime's shutdown", || {
        let dropped = Arc::new(AtomicBool::new(false));
        let rt = compat(1);
        let guard = SetOnDrop(dropped.clone());
        rt.block_on(async move {
            drop(tokio::spawn(async move {
                let _guard = guard;
                std::future::pending::<()>().await
            }));
        });
        assert!(!dropped.load(SeqCst));
        drop(rt);
        assert!(
            dropped.load(SeqCst),
            "tokio's task was dropped with the runtime"
        );
    });
}

#[test]
fn shutdown_timeout_shuts_tokio_down_too() {
    within("the tokio runtime's shutdown_timeout", || {
        let dropped = Arc::new(AtomicBool::new(false));
        let rt = compat(1);
        let guard = SetOnDrop(dropped.clone());
        let handle = rt.handle().clone();
        rt.block_on(async move {
            drop(tokio::spawn(async move {
                let _guard = guard;
                std::future::pending::<()>().await
            }));
        });
        assert!(rt.shutdown_timeout(Duration::from_secs(10)));
        assert!(
            dropped.load(SeqCst),
            "tokio's task was dropped with the runtime"
        );
        // A handle that outlived the runtime still enters tokio's handle in
        // its block_on: a tokio spawn there is cancelled, not a panic.
        let late = handle.block_on(async { tokio::spawn(async { 1 }).await });
        assert!(late.unwrap_err().is_cancelled());
    });
}

#[test]
fn without_the_mode_there_is_no_tokio_context() {
    within("a runtime without the mode", || {
        let rt = gmp_exec::Runtime::builder().procs(1).build().unwrap();
        let has = rt.block_on(async {
            gmp_exec::spawn(async { tokio::runtime::Handle::try_current().is_ok() })
                .await
                .unwrap()
        });
        assert!(!has, "tokio_compat(false) enters no tokio handle");
    });
}
