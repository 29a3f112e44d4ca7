//! `futures::task::Spawn` for `gmp::Handle`: libraries written against the
//! executor-agnostic spawner interface spawn Gs on a gmp runtime.

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;

use futures::channel::mpsc;
use futures::future::RemoteHandle;
use futures::task::{Spawn, SpawnError, SpawnExt};
use futures::StreamExt;

/// Library code that knows nothing of gmp: fans work out over any spawner.
fn fan_out<S: Spawn>(spawner: &S, jobs: u64) -> Result<Vec<RemoteHandle<u64>>, SpawnError> {
    (0..jobs)
        .map(|i| spawner.spawn_with_handle(async move { i * i }))
        .collect()
}

#[gmp::test(procs = 4)]
async fn generic_code_spawns_gs_through_the_handle() {
    let handle = gmp::Handle::current();
    let results = fan_out(&handle, 100).unwrap();
    let mut sum = 0;
    for r in results {
        sum += r.await;
    }
    assert_eq!(sum, (0..100).map(|i| i * i).sum::<u64>());
}

#[gmp::test(procs = 4)]
async fn spawned_tasks_run_as_gs_of_that_runtime() {
    let handle = gmp::Handle::current();
    let (tx, rx) = mpsc::unbounded();
    for _ in 0..20 {
        let tx = tx.clone();
        // `SpawnExt::spawn`, not the inherent `Handle::spawn`.
        SpawnExt::spawn(&handle, async move {
            tx.unbounded_send(gmp::task::try_id()).unwrap()
        })
        .unwrap();
    }
    drop(tx);
    let ids: Vec<_> = rx.collect().await;
    assert_eq!(ids.len(), 20);
    assert!(ids.iter().all(Option::is_some), "each ran as a G: {ids:?}");
}

#[test]
fn a_handle_of_a_shut_down_runtime_refuses_to_spawn() {
    let rt = gmp::Runtime::builder().procs(2).build().unwrap();
    let handle = rt.handle().clone();
    let ran = Arc::new(AtomicUsize::new(0));
    let counter = ran.clone();
    let done = handle
        .spawn_with_handle(async move {
            counter.fetch_add(1, SeqCst);
        })
        .unwrap();
    rt.block_on(done);
    assert_eq!(ran.load(SeqCst), 1);
    assert!(handle.status().is_ok());
    rt.shutdown_timeout(std::time::Duration::from_secs(5));
    assert!(handle.status().unwrap_err().is_shutdown());
    let err = handle.spawn_with_handle(async {}).unwrap_err();
    assert!(err.is_shutdown());
}
