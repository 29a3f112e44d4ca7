//! A panicking task reaches its JoinHandle as an error and the runtime goes on;
//! the abort policy kills the process, as Go does.
#![cfg(not(loom))]

use std::process::Command;

use gmp_exec::{Runtime, UnhandledPanic};

mod common;
use common::output_within;

#[test]
fn panic_is_delivered_to_the_join_handle_and_the_runtime_goes_on() {
    let rt = Runtime::builder().procs(2).build().unwrap();
    rt.block_on(async {
        let n = std::hint::black_box(7);
        let err = gmp_exec::spawn(async move { panic!("boom {n}") })
            .await
            .unwrap_err();
        assert!(err.is_panic());
        assert!(!err.is_cancelled());
        assert!(err.to_string().contains("boom 7"), "{err}");
        let payload = err.into_panic();
        assert_eq!(
            payload.downcast_ref::<String>().map(String::as_str),
            Some("boom 7")
        );
        // Still working.
        assert_eq!(gmp_exec::spawn(async { 1 }).await.unwrap(), 1);
        let many: Vec<_> = (0..100)
            .map(|i| {
                gmp_exec::spawn(async move {
                    if i % 2 == 0 {
                        panic!("even")
                    }
                    i
                })
            })
            .collect();
        let mut ok = 0;
        for h in many {
            if h.await.is_ok() {
                ok += 1;
            }
        }
        assert_eq!(ok, 50);
    });
}

#[test]
fn a_panic_in_drop_after_completion_is_contained() {
    struct PanicOnDrop;
    impl Drop for PanicOnDrop {
        fn drop(&mut self) {
            panic!("drop panics");
        }
    }
    let rt = Runtime::builder().procs(1).build().unwrap();
    rt.block_on(async {
        // The output is dropped by the runtime (detached handle).
        drop(gmp_exec::spawn(async { PanicOnDrop }));
        // A cancelled future whose drop panics: the handle reports the panic.
        let (_tx, rx) = futures::channel::oneshot::channel::<()>();
        let (started_tx, started_rx) = futures::channel::oneshot::channel::<()>();
        let h = gmp_exec::spawn(async move {
            let _guard = PanicOnDrop;
            started_tx.send(()).unwrap();
            let _ = rx.await;
        });
        started_rx.await.unwrap();
        h.abort();
        let err = h.await.unwrap_err();
        assert!(err.is_panic(), "{err}");
        assert_eq!(gmp_exec::spawn(async { 5 }).await.unwrap(), 5);
    });
}

#[test]
fn abort_policy_kills_the_process() {
    if std::env::var_os("GMP_TEST_ABORT_CHILD").is_some() {
        let rt = Runtime::builder()
            .procs(1)
            .unhandled_panic(UnhandledPanic::Abort)
            .build()
            .unwrap();
        let _ = rt.block_on(rt.spawn(async { panic!("go-style") }));
        println!("survived");
        return;
    }
    let out = output_within(
        "the child with the abort panic policy",
        Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "abort_policy_kills_the_process", "--nocapture"])
            .env("GMP_TEST_ABORT_CHILD", "1"),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(!stdout.contains("survived"), "{stdout}");
    assert!(stderr.contains("panic policy is abort"), "{stderr}");
}
