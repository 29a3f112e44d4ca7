//! Seeing the scheduler: schedtrace lines in Go's shape, metrics that add up,
//! task dumps, and an execution trace that is valid Chrome trace-event JSON.
#![cfg(not(loom))]

use std::collections::HashMap;
use std::process::Command;
use std::time::Duration;

use gmp_exec::{Runtime, TaskState};

mod common;
use common::{output_within, recv, wait_for};

fn child(test: &str, env: &[(&str, &str)]) -> (String, String) {
    let out = output_within(
        test,
        Command::new(std::env::current_exe().unwrap())
            .args(["--exact", test, "--nocapture"])
            .env("GMP_TEST_OBS_CHILD", "1")
            .envs(env.iter().copied()),
    );
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "child failed:\n{stderr}");
    (stdout, stderr)
}

fn is_child() -> bool {
    std::env::var_os("GMP_TEST_OBS_CHILD").is_some()
}

/// A workload that spawns from tasks and wakes across them.
async fn workload() {
    let hs: Vec<_> = (0..2000u64)
        .map(|i| {
            gmp_exec::spawn(async move {
                for _ in 0..3 {
                    gmp_exec::yield_now().await;
                }
                i
            })
        })
        .collect();
    for h in hs {
        h.await.unwrap();
    }
}

/// Parses `key=value` fields of a schedtrace line into a map.
fn fields(line: &str) -> HashMap<String, String> {
    line.split_whitespace()
        .filter_map(|f| f.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn schedtrace_prints_go_shaped_lines() {
    if is_child() {
        let rt = Runtime::builder().procs(2).build().unwrap();
        for _ in 0..40 {
            rt.block_on(workload());
        }
        // Let sysmon print a few lines while idle too.
        let deadline = std::time::Instant::now() + Duration::from_millis(120);
        while std::time::Instant::now() < deadline {
            std::thread::park_timeout(Duration::from_millis(10));
        }
        return;
    }
    let (_, stderr) = child(
        "schedtrace_prints_go_shaped_lines",
        &[("GMP_DEBUG", "schedtrace=20,scheddetail=1")],
    );
    let lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with("SCHED ")).collect();
    assert!(lines.len() >= 2, "too few schedtrace lines:\n{stderr}");
    for line in &lines {
        // "SCHED 1004ms: gomaxprocs=2 idleprocs=0 threads=5 ... runqueue=3 [4 0] steals=..."
        let (head, rest) = line.split_once(": ").unwrap();
        let ms = head
            .strip_prefix("SCHED ")
            .unwrap()
            .strip_suffix("ms")
            .unwrap();
        ms.parse::<u64>().unwrap();
        let f = fields(rest);
        assert_eq!(f["gomaxprocs"], "2", "{line}");
        for key in [
            "idleprocs",
            "threads",
            "spinningthreads",
            "idlethreads",
            "runqueue",
            "steals",
            "handoffs",
            "retakes",
            "netpoll",
        ] {
            f[key]
                .parse::<u64>()
                .unwrap_or_else(|_| panic!("{key} in {line}"));
        }
        let open = rest.find('[').unwrap();
        let close = rest.find(']').unwrap();
        let depths: Vec<u64> = rest[open + 1..close]
            .split_whitespace()
            .map(|d| d.parse().unwrap())
            .collect();
        assert_eq!(depths.len(), 2, "one depth per P: {line}");
    }
    assert!(
        stderr.lines().any(|l| l.starts_with("  P0: status=")),
        "{stderr}"
    );
    assert!(
        stderr.lines().any(|l| l.starts_with("  M0: p=")),
        "{stderr}"
    );
}

#[test]
fn an_unknown_gmp_debug_key_is_reported_once() {
    if is_child() {
        for _ in 0..3 {
            let rt = Runtime::builder().procs(1).build().unwrap();
            rt.block_on(async {});
        }
        return;
    }
    let (_, stderr) = child(
        "an_unknown_gmp_debug_key_is_reported_once",
        &[("GMP_DEBUG", "schedtrace=0,bogus=1")],
    );
    let reports = stderr.matches("unknown key \"bogus\"").count();
    assert_eq!(reports, 1, "{stderr}");
}

/// The counters after shutdown, when they close exactly. A running runtime's
/// snapshot can catch an M between putting a G on its queue and counting it
/// (the OS may deschedule it right there, while a thief takes the G and runs
/// it to completion): the ledger is off by one until that M goes on. Shutdown
/// joins every M, so nothing is half-counted any more.
fn settled_metrics(rt: Runtime) -> gmp_exec::Metrics {
    let handle = rt.handle().clone();
    drop(rt);
    handle.metrics()
}

/// Nothing is queued, so what thieves moved equals what victims lost.
fn assert_ledger_closes(m: &gmp_exec::Metrics) {
    assert!(m.ps.iter().all(|p| p.queue_depth == 0));
    let moved_in: u64 = m.ps.iter().map(|p| p.stolen_in).sum();
    let lost: u64 = m.ps.iter().map(|p| p.stolen_out).sum();
    assert_eq!(moved_in, lost, "{m}");
}

#[test]
fn metrics_add_up() {
    let rt = Runtime::builder().procs(2).build().unwrap();
    for _ in 0..20 {
        rt.block_on(async { gmp_exec::spawn(workload()).await.unwrap() });
    }
    let m = settled_metrics(rt);
    // Every G spawned either finished or is alive.
    assert_eq!(m.spawned, m.completed + m.live, "{m}");
    assert_eq!(m.spawned, 20 * 2001);
    assert_eq!(m.live, 0);
    assert_ledger_closes(&m);
    // Every G that ran was counted on some P.
    let polls: u64 = m.ps.iter().map(|p| p.polls).sum();
    assert!(polls >= m.completed, "{m}");
    assert!(m.running_time > Duration::ZERO);
}

/// Gs woken by timers in batches reach a P's queue through the timer path
/// (Go's `injectglist`), not through a spawn or a wake: the counters must
/// still balance.
#[test]
fn metrics_add_up_with_timer_wakes() {
    let rt = Runtime::builder().procs(2).build().unwrap();
    for _ in 0..5 {
        rt.block_on(async {
            let hs: Vec<_> = (0..2000u64)
                .map(|i| {
                    gmp_exec::spawn(async move {
                        // Many timers due at once: each P's timer check wakes
                        // a batch.
                        gmp_exec::time::sleep(Duration::from_millis(2)).await;
                        gmp_exec::yield_now().await;
                        i
                    })
                })
                .collect();
            for h in hs {
                h.await.unwrap();
            }
        });
    }
    let m = settled_metrics(rt);
    assert_eq!(m.spawned, m.completed + m.live, "{m}");
    assert_ledger_closes(&m);
    let pushed: u64 = m.ps.iter().map(|p| p.pushed).sum();
    // Every spawn was pushed to a P's queue, and so was every G its timer
    // or its yield requeued on a P.
    assert!(pushed >= m.spawned, "{m}");
}

/// Bursts of coroutines: unstarted ones are stolen, also by Ms busy with
/// their bound Gs (`steal_beside_bound`); started ones run from their M's
/// mailbox, outside the P's queue. The counters must still balance.
#[cfg(all(feature = "coro", any(unix, windows)))]
#[test]
fn metrics_add_up_with_coroutine_bursts() {
    let rt = Runtime::builder().procs(2).build().unwrap();
    for _ in 0..5 {
        let _in = rt.enter();
        let burst = gmp_exec::coro::spawn(|| {
            let hs: Vec<_> = (0..200)
                .map(|_| {
                    gmp_exec::coro::spawn(|| {
                        for _ in 0..200 {
                            gmp_exec::coro::yield_now();
                        }
                    })
                })
                .collect();
            for h in hs {
                h.join().unwrap();
            }
        });
        burst.join().unwrap();
    }
    let m = settled_metrics(rt);
    assert_eq!(m.spawned, m.completed + m.live, "{m}");
    assert_eq!(m.spawned, 5 * 201, "{m}");
    assert_ledger_closes(&m);
}

#[test]
fn a_dump_shows_a_g_parked_on_a_channel_with_its_spawn_site() {
    let rt = Runtime::builder().procs(2).build().unwrap();
    let (_tx, rx) = futures::channel::oneshot::channel::<()>();
    let (started_tx, started_rx) = std::sync::mpsc::channel();
    let builder_line = line!() + 3;
    // Inside the runtime's context, so the name goes to its table.
    let _enter = rt.handle().enter();
    let parked = gmp_exec::task::Builder::new()
        .name("waits-on-a-channel")
        .spawn(async move {
            started_tx.send(()).unwrap();
            let _ = rx.await;
        })
        .unwrap();
    recv(&started_rx, "the G parked on a channel started");
    // The G may still be finishing the poll that parked it: wait until it is.
    let dump = wait_for("the dump shows the G waiting", || {
        let d = rt.handle().dump();
        let t = d
            .tasks
            .iter()
            .find(|t| t.id == parked.id())
            .expect("the G is live");
        (t.state == TaskState::Waiting).then_some(d)
    });
    let t = dump.tasks.iter().find(|t| t.id == parked.id()).unwrap();
    assert_eq!(t.name.as_deref(), Some("waits-on-a-channel"));
    assert!(t.spawned_at.file().ends_with("observability.rs"));
    // `#[track_caller]` points at the `.spawn(` call, two lines below `Builder`.
    assert_eq!(t.spawned_at.line(), builder_line + 2);
    let text = dump.to_string();
    assert!(text.contains("\"waits-on-a-channel\" [waiting]"), "{text}");
}

#[test]
fn a_dump_says_what_gmp_leaf_futures_wait_on() {
    let rt = Runtime::builder().procs(2).build().unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let sleeper = rt.spawn(async {
        gmp_exec::time::sleep(std::time::Duration::from_secs(3600)).await;
    });
    let ready = ready_tx.clone();
    let reader = rt.spawn(async move {
        let mut s = gmp_exec::net::TcpStream::connect(addr).await.unwrap();
        ready.send(()).unwrap();
        let mut buf = [0u8; 1];
        let _ = futures::AsyncReadExt::read(&mut s, &mut buf).await;
    });
    let sleeper_id = sleeper.id();
    let joiner = rt.spawn(async move {
        let _ = sleeper.await;
    });
    recv(&ready_rx, "the reader G connected");
    let (_peer, _) = listener.accept().unwrap();
    // Each G may still be finishing the poll that parked it.
    let dump = wait_for(
        "the dump shows the sleeper, the reader and the joiner waiting on something",
        || {
            let d = rt.handle().dump();
            let waiting = |id| {
                d.tasks
                    .iter()
                    .any(|t| t.id == id && t.state == TaskState::Waiting && t.waiting_on.is_some())
            };
            (waiting(sleeper_id) && waiting(reader.id()) && waiting(joiner.id())).then_some(d)
        },
    );
    let on = |id| {
        dump.tasks
            .iter()
            .find(|t| t.id == id)
            .and_then(|t| t.waiting_on.clone())
            .unwrap()
    };
    assert!(on(sleeper_id).starts_with("a timer"), "{dump}");
    assert!(
        on(reader.id()).starts_with("read readiness of fd "),
        "{dump}"
    );
    assert_eq!(
        on(joiner.id()),
        format!("G {} (join)", sleeper_id.as_u64()),
        "{dump}"
    );
    assert!(dump.to_string().contains("waiting on a timer"), "{dump}");
}

#[test]
fn a_dump_shows_a_running_g_and_its_m() {
    let rt = Runtime::builder().procs(1).build().unwrap();
    let (started_tx, started_rx) = std::sync::mpsc::channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let h = rt.spawn(async move {
        started_tx.send(()).unwrap();
        release_rx.recv().unwrap();
    });
    recv(&started_rx, "the G that blocks its M started");
    let dump = rt.handle().dump();
    let t = dump.tasks.iter().find(|t| t.id == h.id()).unwrap();
    assert_eq!(t.state, TaskState::Running, "{dump}");
    assert!(t.running_on.is_some());
    release_tx.send(()).unwrap();
    rt.block_on(h).unwrap();
    assert!(rt.handle().dump().tasks.is_empty());
}

#[test]
fn the_trace_is_valid_chrome_json_and_nests_per_track() {
    let dir = std::env::temp_dir().join(format!("gmp-trace-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("trace.json");
    let rt = Runtime::builder().procs(2).build().unwrap();
    gmp_exec::trace::start(&path).unwrap();
    assert!(
        gmp_exec::trace::start(&path).is_err(),
        "one trace at a time"
    );
    for _ in 0..5 {
        rt.block_on(async { gmp_exec::spawn(workload()).await.unwrap() });
    }
    let stats = gmp_exec::trace::stop().unwrap();
    assert!(stats.events > 1000, "{stats:?}");
    let text = std::fs::read_to_string(&path).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    let events = json["traceEvents"].as_array().unwrap();
    let mut slices: HashMap<(u64, u64), Vec<(f64, f64)>> = HashMap::new();
    let mut flows: HashMap<u64, (usize, usize)> = HashMap::new();
    let mut kinds: HashMap<String, usize> = HashMap::new();
    for e in events {
        let ph = e["ph"].as_str().unwrap();
        *kinds
            .entry(format!("{ph}:{}", e["name"].as_str().unwrap_or("")))
            .or_default() += 1;
        match ph {
            "X" => {
                let key = (e["pid"].as_u64().unwrap(), e["tid"].as_u64().unwrap());
                let ts = e["ts"].as_f64().unwrap();
                let dur = e["dur"].as_f64().unwrap();
                assert!(dur >= 0.0);
                assert!(e["args"]["g"].as_u64().is_some());
                assert!(e["args"]["spawn"].as_str().unwrap().contains(".rs:"));
                slices.entry(key).or_default().push((ts, ts + dur));
            }
            "s" => flows.entry(e["id"].as_u64().unwrap()).or_default().0 += 1,
            "f" => flows.entry(e["id"].as_u64().unwrap()).or_default().1 += 1,
            "M" | "i" | "C" => {}
            other => panic!("unexpected phase {other}"),
        }
    }
    // Slices on one track never overlap (a P runs one G at a time).
    for (track, mut s) in slices {
        s.sort_by(|a, b| a.0.total_cmp(&b.0));
        for w in s.windows(2) {
            assert!(w[0].1 <= w[1].0 + 0.001, "overlap on {track:?}: {w:?}");
        }
    }
    // Every flow that finished started, once.
    assert!(
        flows.values().any(|&(s, f)| s == 1 && f == 1),
        "no wake flows: {kinds:?}"
    );
    assert!(flows.values().all(|&(s, f)| s == 1 && f <= 1));
    assert!(kinds.contains_key("i:G created"), "{kinds:?}");
    assert!(
        kinds.keys().any(|k| k.starts_with("M:thread_name")),
        "{kinds:?}"
    );
    std::fs::remove_dir_all(&dir).ok();
}
