//! Misuse fails loudly, with a message that names it; bad settings are errors.
#![cfg(not(loom))]

use std::sync::{Arc, Mutex};
#[cfg(target_os = "linux")] // only the /proc thread count waits
use std::time::Duration;

use gmp_exec::Runtime;

mod common;

fn panic_message(err: gmp_exec::JoinError) -> String {
    let payload = err.into_panic();
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

#[test]
fn block_on_inside_a_task_panics_with_a_message() {
    let rt = Runtime::builder().procs(1).build().unwrap();
    let handle = rt.handle().clone();
    let err = rt
        .block_on(rt.spawn(async move { handle.block_on(async {}) }))
        .unwrap_err();
    let msg = panic_message(err);
    assert!(
        msg.contains("block_on was called from inside a gmp runtime's worker"),
        "{msg}"
    );
}

#[test]
fn nested_block_on_panics_with_a_message() {
    let rt = Runtime::builder().procs(1).build().unwrap();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.block_on(async { rt.block_on(async {}) })
    }));
    let payload = result.unwrap_err();
    let msg = payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap();
    assert!(msg.contains("inside another block_on"), "{msg}");
    // The thread is usable again afterwards.
    assert_eq!(rt.block_on(async { 3 }), 3);
}

#[test]
fn dropping_a_runtime_inside_its_own_task_panics_with_a_message() {
    let rt = Runtime::builder().procs(1).build().unwrap();
    let handle = rt.handle().clone();
    let slot = Arc::new(Mutex::new(Some(rt)));
    let s = slot.clone();
    let h = handle.spawn(async move {
        let rt = s.lock().unwrap().take();
        drop(rt);
    });
    let err = futures::executor::block_on(h).unwrap_err();
    let msg = panic_message(err);
    assert!(
        msg.contains("dropped (or shut down) from inside one of its own tasks"),
        "{msg}"
    );
}

#[test]
fn zero_procs_is_an_error() {
    let err = Runtime::builder().procs(0).build().unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(
        err.to_string().contains("procs must be at least 1"),
        "{err}"
    );
    let err = Runtime::builder().max_threads(0).build().unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
}

#[test]
fn dropping_a_runtime_inside_its_own_spawn_blocking_closure_panics_with_a_message() {
    let rt = Runtime::builder().procs(1).build().unwrap();
    let handle = rt.handle().clone();
    let slot = Arc::new(Mutex::new(Some(rt)));
    let s = slot.clone();
    let h = handle.spawn_blocking(move || {
        let rt = s.lock().unwrap().take();
        drop(rt);
    });
    // On a hang the pool thread stays stuck; the test still ends.
    let res = common::within(
        "dropping a Runtime inside its own spawn_blocking closure (the pool's shutdown waits \
         for the very thread that runs the closure)",
        move || futures::executor::block_on(h),
    );
    let msg = panic_message(res.unwrap_err());
    assert!(
        msg.contains("dropped (or shut down) from inside one of its own spawn_blocking closures"),
        "{msg}"
    );
}

#[test]
fn procs_and_max_threads_beyond_what_gmp_can_encode_are_errors() {
    assert_eq!(gmp_exec::MAX_PROCS, 1024);
    for procs in [gmp_exec::MAX_PROCS + 1, 65_536, 100_000, usize::MAX] {
        let err = Runtime::builder().procs(procs).build().unwrap_err();
        assert_eq!(
            err.kind(),
            std::io::ErrorKind::InvalidInput,
            "procs {procs}"
        );
        assert!(
            err.to_string().contains("procs must be at most 1024"),
            "{err}"
        );
    }
    for n in [gmp_exec::MAX_THREADS + 1, usize::MAX] {
        let err = Runtime::builder().max_threads(n).build().unwrap_err();
        assert_eq!(
            err.kind(),
            std::io::ErrorKind::InvalidInput,
            "max_threads {n}"
        );
        assert!(
            err.to_string().contains("max_threads must be at most"),
            "{err}"
        );
    }
    // The caps themselves are fine (one M: `max_threads` bounds those started).
    let rt = Runtime::builder()
        .procs(gmp_exec::MAX_PROCS)
        .max_threads(1)
        .build()
        .unwrap();
    assert_eq!(rt.procs(), gmp_exec::MAX_PROCS);
    assert_eq!(rt.block_on(rt.spawn(async { 7 })).unwrap(), 7);
    let rt = Runtime::builder()
        .procs(1)
        .max_threads(gmp_exec::MAX_THREADS)
        .build()
        .unwrap();
    assert_eq!(rt.block_on(rt.spawn(async { 8 })).unwrap(), 8);
}

/// Names of this process's threads that start with `prefix`.
#[cfg(target_os = "linux")]
fn threads_named(prefix: &str) -> Vec<String> {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .map(|n| n.trim().to_string())
        .filter(|n| n.starts_with(prefix))
        .collect()
}

#[test]
fn a_build_that_cannot_start_any_m_fails_with_the_os_error() {
    // No thread can have a petabyte of stack.
    let err = Runtime::builder()
        .procs(2)
        .thread_name("nostack")
        .thread_stack_size(1 << 50)
        .build()
        .expect_err("a runtime with no M to run its Gs was built");
    assert!(
        err.to_string().contains("could not start an M thread"),
        "{err}"
    );
    let os = std::error::Error::source(&err)
        .and_then(|e| e.downcast_ref::<std::io::Error>())
        .unwrap_or_else(|| panic!("no OS error under {err:?}"));
    assert!(os.raw_os_error().is_some(), "{os:?}");
    assert_eq!(err.kind(), os.kind());
    // What was started (sysmon) is gone: joined before `build` returned. A
    // joined thread can stay listed for a moment after its join (the kernel
    // drops the entry a little later), so look again for up to 10 s.
    #[cfg(target_os = "linux")]
    {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !threads_named("nostack").is_empty() && std::time::Instant::now() < deadline {
            std::thread::yield_now();
        }
        assert_eq!(threads_named("nostack"), Vec::<String>::new());
    }
}
