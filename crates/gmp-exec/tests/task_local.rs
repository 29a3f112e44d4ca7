//! `task_local!`: values that follow a G across polls and Ms, and stay with a
//! coroutine G while it is parked.
#![cfg(not(loom))]

use std::future::Future;

use futures::channel::oneshot;
use gmp_exec::Runtime;

mod common;
use common::within;

gmp_exec::task_local! {
    static ID: u64;
    static NAME: String;
}

#[test]
fn a_value_follows_its_g_across_polls_and_ms() {
    let rt = Runtime::builder().procs(2).build().unwrap();
    within("task-locals across Ms", move || {
        rt.block_on(async {
            let mut handles = Vec::new();
            for i in 0..64u64 {
                handles.push(gmp_exec::spawn(ID.scope(i, async move {
                    let mut threads = std::collections::HashSet::new();
                    for _ in 0..50 {
                        threads.insert(std::thread::current().id());
                        assert_eq!(ID.get(), i);
                        gmp_exec::yield_now().await;
                    }
                    threads.len()
                })));
            }
            for h in handles {
                h.await.unwrap();
            }
        })
    });
}

#[test]
fn scopes_nest_and_unset_outside() {
    assert!(ID.try_with(|_| ()).is_err());
    let got = ID.sync_scope(1, || {
        let outer = ID.get();
        let inner = ID.sync_scope(2, || NAME.sync_scope("n".into(), || (ID.get(), NAME.get())));
        (outer, inner, ID.get(), NAME.try_with(|_| ()).is_err())
    });
    assert_eq!(got, (1, (2, "n".to_string()), 1, true));
    assert!(ID.try_with(|_| ()).is_err());
}

#[test]
#[should_panic(expected = "task-local `ID` read outside its scope")]
fn with_outside_a_scope_panics_naming_the_key() {
    ID.with(|_| ());
}

#[test]
fn other_gs_do_not_see_a_scope_while_its_g_is_parked() {
    let rt = Runtime::builder().procs(1).build().unwrap();
    within("a parked scope is hidden", move || {
        rt.block_on(async {
            let (tx, rx) = oneshot::channel::<()>();
            let scoped = gmp_exec::spawn(ID.scope(7, async move {
                rx.await.unwrap();
                ID.get()
            }));
            // Same P: runs while `scoped` is parked.
            let other = gmp_exec::spawn(async move {
                let seen = ID.try_with(|v| *v).ok();
                tx.send(()).unwrap();
                seen
            });
            assert_eq!(other.await.unwrap(), None);
            assert_eq!(scoped.await.unwrap(), 7);
        })
    });
}

#[cfg(all(feature = "coro", any(unix, windows)))]
#[test]
fn sync_scope_in_a_coroutine_survives_wait_and_is_hidden_meanwhile() {
    let rt = Runtime::builder().procs(1).build().unwrap();
    let _guard = rt.enter();
    let (tx, rx) = oneshot::channel::<Option<u64>>();
    let coro = gmp_exec::coro::spawn(move || {
        ID.sync_scope(41, || {
            // Parks this G; the async G below runs on the same (only) P,
            // and M, meanwhile.
            let seen_by_other = gmp_exec::coro::wait(rx).unwrap();
            gmp_exec::coro::yield_now();
            (ID.get(), seen_by_other)
        })
    });
    let other = gmp_exec::spawn(async move {
        tx.send(ID.try_with(|v| *v).ok()).unwrap();
    });
    let (mine, theirs) = within("coroutine scope", move || coro.join().unwrap());
    other.join().unwrap();
    assert_eq!(mine, 41);
    assert_eq!(theirs, None, "another G saw a parked coroutine's value");
}

#[cfg(all(feature = "coro", any(unix, windows)))]
#[test]
fn a_scope_around_coro_wait_and_nested_coroutines() {
    let rt = Runtime::builder().procs(1).build().unwrap();
    let _guard = rt.enter();
    let a = gmp_exec::coro::spawn(|| {
        // The async form, awaited from a coroutine.
        let got = gmp_exec::coro::wait(ID.scope(1, async {
            gmp_exec::yield_now().await;
            ID.get()
        }));
        (got, ID.try_with(|_| ()).is_err())
    });
    let b = gmp_exec::coro::spawn(|| {
        ID.sync_scope(2, || {
            for _ in 0..20 {
                gmp_exec::coro::yield_now();
                assert_eq!(ID.get(), 2);
            }
            ID.get()
        })
    });
    let c = gmp_exec::coro::spawn(|| {
        ID.sync_scope(3, || {
            for _ in 0..20 {
                gmp_exec::coro::yield_now();
                assert_eq!(ID.get(), 3);
            }
            ID.get()
        })
    });
    within("three coroutines", move || {
        assert_eq!(a.join().unwrap(), (1, true));
        assert_eq!(b.join().unwrap(), 2);
        assert_eq!(c.join().unwrap(), 3);
    });
}

#[cfg(all(feature = "coro", any(unix, windows)))]
#[test]
fn an_aborted_coroutine_inside_a_scope_leaves_the_m_clean() {
    let rt = Runtime::builder().procs(1).build().unwrap();
    let _guard = rt.enter();
    let (_tx, rx) = oneshot::channel::<()>();
    let parked = gmp_exec::coro::spawn(move || {
        ID.sync_scope(9, || {
            let _ = gmp_exec::coro::wait(rx);
        })
    });
    let probe = gmp_exec::spawn(async { gmp_exec::yield_now().await });
    within("probe", move || probe.join().unwrap());
    parked.abort();
    within("abort", move || {
        assert!(parked.join().unwrap_err().is_cancelled())
    });
    // The M that unwound the coroutine runs this with no scope left over.
    let after = gmp_exec::spawn(async { ID.try_with(|_| ()).is_err() });
    assert!(within("after", move || after.join().unwrap()));
}

#[test]
fn the_inner_future_is_dropped_inside_the_scope() {
    struct ReadsOnDrop(std::sync::mpsc::Sender<Option<u64>>);
    impl Drop for ReadsOnDrop {
        fn drop(&mut self) {
            let _ = self.0.send(ID.try_with(|v| *v).ok());
        }
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let fut = ID.scope(5, async move {
        let _d = ReadsOnDrop(tx);
        std::future::pending::<()>().await
    });
    let mut fut = Box::pin(fut);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    assert!(fut.as_mut().poll(&mut cx).is_pending());
    drop(fut);
    assert_eq!(rx.recv().unwrap(), Some(5));
}
