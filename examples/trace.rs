//! Record an execution trace and look at it: every P's timeline, each poll a
//! slice, arrows from a wake to the poll it caused — with channels, a fan-out
//! that idle Ms steal from, timers, sockets on the netpoller, a coroutine G,
//! and a G that blocks its thread past sysmon's 10 ms mark.
//!
//! `cargo run --release --example trace` writes `target/gmp-trace.json`; open it
//! in <https://ui.perfetto.dev> or `chrome://tracing`, or make a self-contained
//! page with `cargo run --release -p gmp-trace -- target/gmp-trace.json -o
//! target/gmp-trace.html --summary`.

use futures::{AsyncReadExt, AsyncWriteExt, SinkExt, StreamExt};

fn main() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/gmp-trace.json");
    let rt = gmp::Runtime::builder()
        .procs(2)
        .build()
        .expect("start the runtime");
    gmp::trace::start(&path).expect("create the trace file");
    rt.block_on(async {
        // A producer and a consumer waking each other, and a fan-out that idle
        // Ms steal from.
        let (mut tx, mut rx) = futures::channel::mpsc::channel::<u64>(16);
        let consumer = gmp::task::Builder::new()
            .name("consumer")
            .spawn(async move {
                let mut sum = 0;
                while let Some(v) = rx.next().await {
                    sum += v;
                }
                sum
            })
            .unwrap();
        let producer = gmp::task::Builder::new()
            .name("producer")
            .spawn(async move {
                for i in 0..2_000 {
                    tx.send(i).await.unwrap();
                }
            })
            .unwrap();
        let fan_out: Vec<_> = (0..5_000u64)
            .map(|i| {
                gmp::spawn(async move {
                    gmp::yield_now().await;
                    i
                })
            })
            .collect();
        // Timers and the network poller: Gs sleeping, and an echo over
        // loopback whose reads park on the netpoller.
        let sleepers: Vec<_> = (0..50u64)
            .map(|i| gmp::spawn(gmp::time::sleep(std::time::Duration::from_micros(200 * i))))
            .collect();
        let listener = gmp::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = gmp::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 64];
            loop {
                let n = s.read(&mut buf).await.unwrap();
                if n == 0 {
                    break;
                }
                s.write_all(&buf[..n]).await.unwrap();
            }
        });
        let mut client = gmp::net::TcpStream::connect(addr).await.unwrap();
        for _ in 0..100 {
            client.write_all(b"ping").await.unwrap();
            let mut echo = [0u8; 4];
            client.read_exact(&mut echo).await.unwrap();
        }
        drop(client);
        server.await.unwrap();
        // A coroutine G (stackful) that sleeps and yields between slices
        // (the `coro` feature, on Unix and Windows).
        #[cfg(all(feature = "coro", any(unix, windows)))]
        let coroutine = gmp::go!(|| {
            for _ in 0..20 {
                gmp::coro::sleep(std::time::Duration::from_micros(300));
                gmp::coro::yield_now();
            }
        });
        // A G that blocks its thread for 15 ms: sysmon marks it for preemption
        // (with no idle P, it would also hand the P to another M).
        let blocker = gmp::spawn(async {
            std::thread::sleep(std::time::Duration::from_millis(15));
        });
        for s in sleepers {
            s.await.unwrap();
        }
        #[cfg(all(feature = "coro", any(unix, windows)))]
        coroutine.await.unwrap();
        blocker.await.unwrap();
        producer.await.unwrap();
        let total: u64 = consumer.await.unwrap();
        let mut fanned = 0;
        for h in fan_out {
            fanned += h.await.unwrap();
        }
        println!("consumed {total}, fanned out {fanned}");
    });
    let stats = gmp::trace::stop().expect("write the trace");
    println!(
        "{} events ({} dropped) written to {}",
        stats.events,
        stats.dropped,
        stats.path.display()
    );
}
