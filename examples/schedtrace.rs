//! Watch the scheduler the way Go users do with `GODEBUG=schedtrace=1000`:
//! sysmon prints a line per period with the Ps, threads, queues and steals.
//!
//! `cargo run --release --example schedtrace` (or set
//! `GMP_DEBUG=schedtrace=100,scheddetail=1` on any gmp program).

use std::time::{Duration, Instant};

fn main() {
    let rt = gmp::Runtime::builder()
        .procs(2)
        .schedtrace(Some(Duration::from_millis(100)))
        .scheddetail(true)
        .build()
        .expect("start the runtime");
    rt.block_on(async {
        // Bursts of short Gs, one long CPU-bound G, then a blocking call.
        let start = Instant::now();
        while start.elapsed() < Duration::from_millis(300) {
            let hs: Vec<_> = (0..10_000)
                .map(|i| gmp::spawn(async move { i * 2 }))
                .collect();
            for h in hs {
                h.await.unwrap();
            }
        }
        gmp::spawn(async {
            let end = Instant::now() + Duration::from_millis(150);
            let mut x = 0u64;
            while Instant::now() < end {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
            }
            x
        })
        .await
        .unwrap();
        gmp::spawn(async { std::thread::sleep(Duration::from_millis(150)) })
            .await
            .unwrap();
    });
    println!("\n{}", rt.metrics());
}
