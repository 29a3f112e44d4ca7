//! `task::id()` names the G being polled: the same id its `JoinHandle`
//! reports, kept across suspensions and Ps, and absent outside a task.
#![cfg(not(loom))]

use std::collections::HashSet;

use futures::task::SpawnExt;
use gmp_exec::{task, Runtime};

#[test]
fn each_task_sees_the_id_its_join_handle_reports_across_yields_and_ps() {
    let rt = Runtime::builder().procs(4).build().unwrap();
    let handles: Vec<_> = (0..200)
        .map(|_| {
            rt.spawn(async {
                let before = task::id();
                for _ in 0..10 {
                    gmp_exec::yield_now().await;
                    assert_eq!(task::id(), before, "the id changed across a yield");
                }
                before
            })
        })
        .collect();
    let mut seen = HashSet::new();
    for h in handles {
        let expected = h.id();
        let got = rt.block_on(h).unwrap();
        assert_eq!(got, expected);
        assert!(seen.insert(got), "two tasks share the id {got}");
    }
}

#[cfg(all(feature = "coro", any(unix, windows)))]
#[test]
fn coroutine_gs_have_their_ids_too() {
    let rt = Runtime::builder().procs(2).build().unwrap();
    let _enter = rt.enter();
    let h = gmp_exec::coro::spawn(|| {
        let id = task::id();
        gmp_exec::coro::yield_now();
        assert_eq!(task::id(), id);
        id
    });
    let expected = h.id();
    assert_eq!(h.join().unwrap(), expected);
}

#[test]
fn there_is_no_task_id_outside_a_task() {
    let rt = Runtime::builder().procs(1).build().unwrap();
    assert_eq!(task::try_id(), None, "a test thread");
    assert_eq!(
        rt.block_on(async { task::try_id() }),
        None,
        "a block_on future"
    );
    let blocking = rt.block_on(rt.spawn_blocking(task::try_id)).unwrap();
    assert_eq!(blocking, None, "a spawn_blocking closure");
}

#[test]
#[should_panic(expected = "called outside a task")]
fn id_outside_a_task_panics_naming_the_misuse() {
    task::id();
}

#[test]
fn futures_spawner_runs_tasks_on_the_runtime_and_fails_after_shutdown() {
    let rt = Runtime::builder().procs(2).build().unwrap();
    let spawner = rt.handle().clone();
    let ids = rt.block_on(async {
        let mut handles = Vec::new();
        for i in 0..50u64 {
            handles.push(
                spawner
                    .spawn_with_handle(async move { (i, task::try_id()) })
                    .unwrap(),
            );
        }
        let mut out = Vec::new();
        for h in handles {
            out.push(h.await);
        }
        out
    });
    for (i, (got, id)) in ids.into_iter().enumerate() {
        assert_eq!(got, i as u64);
        assert!(id.is_some(), "spawned through Spawn, so it runs as a G");
    }
    assert!(futures::task::Spawn::status(&spawner).is_ok());
    rt.shutdown_timeout(std::time::Duration::from_secs(5));
    let err = SpawnExt::spawn(&spawner, async {}).unwrap_err();
    assert!(err.is_shutdown());
}
