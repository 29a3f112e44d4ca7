//! Record an execution trace and look at it: every P's timeline, each poll a
//! slice, arrows from a wake to the poll it caused.
//!
//! `cargo run --release --example trace` writes `target/gmp-trace.json`; open it
//! in <https://ui.perfetto.dev> or `chrome://tracing`, or make a self-contained
//! page with `cargo run --release -p gmp-trace -- target/gmp-trace.json -o
//! target/gmp-trace.html --summary`.

use futures::{SinkExt, StreamExt};

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
