//! A tour of gmp: spawn many Gs, wake them across Ps, run blocking code beside
//! them, and watch a panic stay contained.
//!
//! `cargo run --release --example tour`

use std::time::Instant;

use futures::{SinkExt, StreamExt};

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

        // 4. A panic reaches its JoinHandle; the runtime goes on.
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
