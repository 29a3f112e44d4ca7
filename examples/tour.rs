//! A tour of gmp: spawn many Gs, wake them across Ps, run blocking code beside
//! them (and blocking code with no marker at all), serve a socket, run
//! stackful coroutine Gs, and watch a panic stay contained.
//!
//! `cargo run --release --example tour`

use std::time::Instant;

use futures::{SinkExt, StreamExt};

fn rt_procs() -> usize {
    gmp::Handle::current().procs()
}

fn main() {
    let rt = gmp::Runtime::new().expect("start the runtime");
    println!(
        "gmp runtime with {} Ps (GMP_MAXPROCS overrides)",
        rt.procs()
    );

    rt.block_on(async {
        // 1. Spawn a hundred thousand Gs from a G: each goes to this P's runnext,
        //    idle Ms steal half of the queue at a time.
        let start = Instant::now();
        let handles: Vec<_> = (0..100_000u64)
            .map(|i| gmp::spawn(async move { i }))
            .collect();
        let mut sum = 0;
        for h in handles {
            sum += h.await.unwrap();
        }
        println!(
            "100 000 Gs spawned and joined in {:.1?} (sum {sum})",
            start.elapsed()
        );

        // 2. Ping-pong between two Gs: each wake puts the other in runnext, so
        //    the pair runs back to back on one P with no thread wake-ups.
        let (ping_tx, mut ping_rx) = futures::channel::mpsc::channel::<u32>(1);
        let (mut pong_tx, mut pong_rx) = futures::channel::mpsc::channel::<u32>(1);
        let echo = gmp::spawn(async move {
            while let Some(v) = ping_rx.next().await {
                pong_tx.send(v).await.unwrap();
            }
        });
        let pinger = gmp::spawn(async move {
            let mut tx = ping_tx;
            let start = Instant::now();
            for i in 0..100_000 {
                tx.send(i).await.unwrap();
                assert_eq!(pong_rx.next().await, Some(i));
            }
            start.elapsed()
        });
        let took = pinger.await.unwrap();
        echo.await.unwrap();
        println!("100 000 ping-pong round trips between two Gs in {took:.1?}");

        // 3. Blocking code runs on the blocking pool, not on an M.
        let name = gmp::spawn_blocking(|| std::thread::current().name().unwrap_or("?").to_string())
            .await
            .unwrap();
        println!("spawn_blocking ran on thread {name:?}");

        // 4. A G that blocks its thread with no marker at all: sysmon sees its
        //    poll pass 10 ms and, with other Gs waiting, hands its P to
        //    another M, so a 5 ms ticker keeps ticking.
        let blockers: Vec<_> = (0..rt_procs())
            .map(|_| {
                gmp::spawn(async { std::thread::sleep(std::time::Duration::from_millis(200)) })
            })
            .collect();
        let mut ticker = gmp::time::interval(std::time::Duration::from_millis(5));
        ticker.tick().await;
        let mut worst = std::time::Duration::ZERO;
        let mut last = Instant::now();
        for _ in 0..30 {
            ticker.tick().await;
            worst = worst.max(last.elapsed());
            last = Instant::now();
        }
        for b in blockers {
            b.await.unwrap();
        }
        println!("a 5 ms ticker beside Gs blocking every P: longest gap {worst:.1?}");

        // 5. Sockets on the netpoller: an echo server and a client.
        use futures::{AsyncReadExt, AsyncWriteExt};
        let listener = gmp::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        gmp::spawn(async move {
            while let Ok((s, _)) = listener.accept().await {
                gmp::spawn(async move {
                    let (mut r, mut w) = s.into_split();
                    let _ = futures::io::copy(&mut r, &mut w).await;
                });
            }
        });
        let mut client = gmp::net::TcpStream::connect(addr).await.unwrap();
        client.write_all(b"hello, netpoller").await.unwrap();
        let mut echo = [0u8; 16];
        client.read_exact(&mut echo).await.unwrap();
        println!(
            "echoed over loopback: {:?}",
            std::str::from_utf8(&echo).unwrap()
        );

        // 6. Stackful Gs: blocking-style code, parked on the same Ps (the
        // `coro` feature, on Unix and Windows).
        #[cfg(all(feature = "coro", any(unix, windows)))]
        {
            let start = Instant::now();
            let coroutines: Vec<_> = (0..10_000u64)
                .map(|i| {
                    gmp::go!(move || {
                        gmp::coro::sleep(std::time::Duration::from_millis(1));
                        gmp::coro::yield_now();
                        i
                    })
                })
                .collect();
            let mut sum = 0;
            for c in coroutines {
                sum += c.await.unwrap();
            }
            println!(
                "10 000 coroutine Gs slept, yielded and finished in {:.1?} (sum {sum})",
                start.elapsed()
            );
        }

        // 7. A panic reaches its JoinHandle; the runtime goes on.
        let err = gmp::spawn(async { panic!("this G panics on purpose") })
            .await
            .unwrap_err();
        println!("a panicking G gave: {err}");
        println!(
            "and the runtime still runs: {}",
            gmp::spawn(async { "yes" }).await.unwrap()
        );
    });
}
