//! gmp::fs's execution path, measured: each file operation either runs on
//! the blocking pool (`spawn_blocking`, tokio's way: a hand-off to another
//! thread and a wake-up back) or inline on the M under the `syscall` marker
//! (Go's way: the M keeps its P unless the call outlasts a sysmon tick).
//!
//! `cargo bench -p gmp-benches --bench fs` runs both paths interleaved, three
//! rounds, and prints the median of each (the figures quoted in
//! `crates/gmp-exec/src/fs/mod.rs`). Everything reads from the page cache:
//! what differs is the cost around the system call, which is what the choice
//! is about.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Path_ {
    Pool,
    Syscall,
}

fn run<R: Send + 'static>(
    path: Path_,
    f: impl FnOnce() -> R + Send + 'static,
) -> Pin<Box<dyn Future<Output = R> + Send>> {
    match path {
        Path_::Pool => Box::pin(async move { gmp_exec::spawn_blocking(f).await.unwrap() }),
        // As `gmp_exec::fs` does it: a unit of cooperative budget, then the
        // call inline under the marker.
        Path_::Syscall => Box::pin(async move {
            gmp_exec::task::consume_budget().await;
            gmp_exec::syscall(f)
        }),
    }
}

struct Files {
    dir: PathBuf,
    small: Arc<Path>,
    large: Arc<Path>,
}

fn setup() -> Files {
    let dir = std::env::temp_dir().join(format!("gmp-fs-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let small: Arc<Path> = dir.join("small").into();
    let large: Arc<Path> = dir.join("large").into();
    std::fs::write(&small, vec![7u8; 4096]).unwrap();
    std::fs::write(&large, vec![9u8; 16 << 20]).unwrap();
    Files { dir, small, large }
}

/// One workload on one path: returns the time per operation.
async fn workload(name: &str, path: Path_, files: &Files) -> Duration {
    match name {
        "small read (4 KiB)" => {
            let n = 20_000;
            let start = Instant::now();
            for _ in 0..n {
                let p = files.small.clone();
                let data = run(path, move || std::fs::read(&p).unwrap()).await;
                assert_eq!(data.len(), 4096);
            }
            start.elapsed() / n
        }
        "large read (16 MiB)" => {
            let n = 40;
            let start = Instant::now();
            for _ in 0..n {
                let p = files.large.clone();
                let data = run(path, move || std::fs::read(&p).unwrap()).await;
                assert_eq!(data.len(), 16 << 20);
            }
            start.elapsed() / n
        }
        "many files (write+stat+read+remove)" => {
            let n = 2_000u32;
            let dir: Arc<Path> = files.dir.join(format!("many-{path:?}")).into();
            std::fs::create_dir_all(&dir).unwrap();
            let start = Instant::now();
            for i in 0..n {
                let f: Arc<Path> = dir.join(i.to_string()).into();
                let g = f.clone();
                run(path, move || std::fs::write(&g, b"0123456789").unwrap()).await;
                let g = f.clone();
                run(path, move || std::fs::metadata(&g).unwrap().len()).await;
                let g = f.clone();
                run(path, move || std::fs::read(&g).unwrap()).await;
                run(path, move || std::fs::remove_file(&f).unwrap()).await;
            }
            start.elapsed() / n
        }
        "8 Gs x small read" => {
            let per = 2_500;
            let start = Instant::now();
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    let p = files.small.clone();
                    gmp_exec::spawn(async move {
                        for _ in 0..per {
                            let q = p.clone();
                            run(path, move || std::fs::read(&q).unwrap()).await;
                        }
                    })
                })
                .collect();
            for h in handles {
                h.await.unwrap();
            }
            start.elapsed() / (8 * per)
        }
        _ => unreachable!(),
    }
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is taken.
    let files = Arc::new(setup());
    let rt = gmp_exec::Runtime::builder().procs(2).build().unwrap();
    let names = [
        "small read (4 KiB)",
        "large read (16 MiB)",
        "many files (write+stat+read+remove)",
        "8 Gs x small read",
    ];
    let mut results: Vec<(usize, Path_, Vec<Duration>)> = Vec::new();
    for round in 0..3 {
        for (i, name) in names.iter().enumerate() {
            // Interleaved: A then B within each round, B then A in the next.
            let order = if round % 2 == 0 {
                [Path_::Pool, Path_::Syscall]
            } else {
                [Path_::Syscall, Path_::Pool]
            };
            for path in order {
                let files = files.clone();
                let name = name.to_string();
                let per_op = rt
                    .block_on(rt.spawn(async move { workload(&name, path, &files).await }))
                    .unwrap();
                match results.iter_mut().find(|(j, p, _)| *j == i && *p == path) {
                    Some((_, _, v)) => v.push(per_op),
                    None => results.push((i, path, vec![per_op])),
                }
            }
        }
    }
    println!(
        "{:<38} {:>14} {:>14} {:>8}",
        "workload (median of 3)", "blocking pool", "syscall", "ratio"
    );
    for (i, name) in names.iter().enumerate() {
        let median = |path| {
            let (_, _, v) = results
                .iter()
                .find(|(j, p, _)| *j == i && *p == path)
                .unwrap();
            let mut v = v.clone();
            v.sort();
            v[v.len() / 2]
        };
        let (a, b) = (median(Path_::Pool), median(Path_::Syscall));
        println!(
            "{name:<38} {:>14?} {:>14?} {:>7.2}x",
            a,
            b,
            a.as_secs_f64() / b.as_secs_f64()
        );
    }
    let _ = std::fs::remove_dir_all(&files.dir);
}
