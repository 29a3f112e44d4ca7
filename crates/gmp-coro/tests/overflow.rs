//! A coroutine that runs off its stack is reported by id and size and aborts;
//! every other fault behaves as it would without gmp-coro. Each case runs in a
//! child process (this test binary, re-run with an environment variable).

// Unix reports from a signal handler, Windows from a vectored exception
// handler; how a child died is said per platform below.
#![cfg(any(unix, windows))]

mod support;

use std::hint::black_box;

use gmp_coro::{suspend, Coroutine, Resumed, DEFAULT_STACK_SIZE};

#[cfg(unix)]
const SIGSEGV: i32 = 11;
#[cfg(unix)]
const SIGABRT: i32 = 6;

/// Whether the child died by abort: `SIGABRT` on Unix; on Windows Rust's
/// abort is `__fastfail`, exit status `STATUS_STACK_BUFFER_OVERRUN`.
fn aborted(out: &std::process::Output) -> bool {
    #[cfg(unix)]
    return support::signal(out) == Some(SIGABRT);
    #[cfg(windows)]
    return out.status.code().map(|c| c as u32) == Some(0xC000_0409);
}

/// Whether the child died of a plain invalid access: `SIGSEGV` on Unix, an
/// unhandled `STATUS_ACCESS_VIOLATION` on Windows.
fn died_of_a_bad_access(out: &std::process::Output) -> bool {
    #[cfg(unix)]
    return support::signal(out) == Some(SIGSEGV);
    #[cfg(windows)]
    return out.status.code().map(|c| c as u32) == Some(0xC000_0005);
}

/// Recurses until `limit` (never reached in practice), using half a KiB per frame.
#[inline(never)]
fn recurse(depth: u64, limit: u64) -> u64 {
    let mut buf = [0u8; 512];
    black_box(&mut buf);
    if depth == black_box(limit) {
        return buf[0] as u64;
    }
    recurse(depth + 1, limit) + black_box(buf[1] as u64)
}

/// In the child: overflows a coroutine of `size` bytes with id 42.
fn overflow_a_coroutine(size: usize) {
    let mut co = Coroutine::new(size, || {
        suspend();
        recurse(0, u64::MAX)
    })
    .unwrap();
    co.set_id(42);
    assert!(co.resume().is_suspended());
    println!("guard: {:?}", gmp_coro::stack::guard_kind());
    let _ = co.resume();
    println!("child survived");
}

/// Checks that the child reported an overflow of G 42's `size`-byte stack and
/// died by abort.
fn assert_reported(out: &std::process::Output, size: usize) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = format!("G 42 overflowed its {size}-byte stack");
    assert!(
        stderr.lines().any(|l| l == line),
        "no `{line}` line\n{}",
        support::describe(out)
    );
    assert!(aborted(out), "{}", support::describe(out));
    assert!(
        !stdout.contains("child survived"),
        "{}",
        support::describe(out)
    );
}

#[test]
fn a_coroutine_stack_overflow_is_reported_by_id_and_size_and_aborts() {
    const TEST: &str = "a_coroutine_stack_overflow_is_reported_by_id_and_size_and_aborts";
    if support::is_child(TEST) {
        return overflow_a_coroutine(DEFAULT_STACK_SIZE);
    }
    let out = support::run_child(TEST, &[]);
    assert_reported(&out, 65536);
    let stdout = String::from_utf8_lossy(&out.stdout);
    // This kernel (6.13+) installs guards without splitting mappings.
    #[cfg(target_os = "linux")]
    assert!(stdout.contains("guard: Some(GuardInstall)"), "{stdout}");
    #[cfg(windows)]
    assert!(
        stdout.contains("guard: Some(WindowsGuardPages)"),
        "{stdout}"
    );
    let _ = stdout;
}

// The fallback is Linux's (elsewhere on Unix mprotect is the only way).
#[cfg(target_os = "linux")]
#[test]
fn an_overflow_is_reported_with_the_mprotect_guard_fallback_too() {
    const TEST: &str = "an_overflow_is_reported_with_the_mprotect_guard_fallback_too";
    if support::is_child(TEST) {
        return overflow_a_coroutine(128 * 1024);
    }
    let out = support::run_child(TEST, &[(gmp_coro::stack::GUARD_ENV, "mprotect")]);
    assert_reported(&out, 131072);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("guard: Some(Mprotect)"), "{stdout}");
}

// A pthread: Unix only.
#[cfg(unix)]
#[test]
fn an_overflow_on_a_thread_not_started_by_std_is_reported() {
    // std gives its threads an alternate signal stack; a thread from plain
    // pthread_create has none until its first resume installs ours.
    const TEST: &str = "an_overflow_on_a_thread_not_started_by_std_is_reported";
    if support::is_child(TEST) {
        extern "C" fn thread_main(_: *mut libc::c_void) -> *mut libc::c_void {
            overflow_a_coroutine(DEFAULT_STACK_SIZE);
            std::ptr::null_mut()
        }
        let mut thread: libc::pthread_t = 0;
        // SAFETY: a default-attribute thread running a function that takes no
        // argument; joined below.
        unsafe {
            assert_eq!(
                libc::pthread_create(
                    &mut thread,
                    std::ptr::null(),
                    thread_main,
                    std::ptr::null_mut()
                ),
                0
            );
            libc::pthread_join(thread, std::ptr::null_mut());
        }
        return;
    }
    let out = support::run_child(TEST, &[]);
    assert_reported(&out, 65536);
}

/// In the child: makes sure the handler is installed, then writes through a
/// null pointer, inside a coroutine or not.
fn segfault(inside: bool) {
    #[inline(never)]
    fn write_null() {
        let p = black_box(std::ptr::null_mut::<u64>().wrapping_add(2));
        // SAFETY: none; this is the segfault under test.
        unsafe { p.write_volatile(1) };
    }
    let mut co = Coroutine::new(DEFAULT_STACK_SIZE, move || {
        if inside {
            write_null();
        }
    })
    .unwrap();
    assert!(matches!(co.resume(), Resumed::Finished(())));
    write_null();
    println!("child survived");
}

fn assert_plain_segfault(out: &std::process::Output) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(died_of_a_bad_access(out), "{}", support::describe(out));
    assert!(!stderr.contains("overflowed"), "{}", support::describe(out));
}

#[test]
fn a_segfault_outside_coroutines_still_dies_by_sigsegv() {
    const TEST: &str = "a_segfault_outside_coroutines_still_dies_by_sigsegv";
    if support::is_child(TEST) {
        return segfault(false);
    }
    assert_plain_segfault(&support::run_child(TEST, &[]));
}

#[test]
fn a_segfault_inside_a_coroutine_that_is_not_an_overflow_dies_by_sigsegv() {
    const TEST: &str = "a_segfault_inside_a_coroutine_that_is_not_an_overflow_dies_by_sigsegv";
    if support::is_child(TEST) {
        return segfault(true);
    }
    assert_plain_segfault(&support::run_child(TEST, &[]));
}

#[test]
fn a_thread_stack_overflow_outside_coroutines_keeps_rusts_own_report() {
    const TEST: &str = "a_thread_stack_overflow_outside_coroutines_keeps_rusts_own_report";
    if support::is_child(TEST) {
        // Install our handler first, so the fault has to be passed on to the
        // one std installed before it.
        let mut co = Coroutine::new(DEFAULT_STACK_SIZE, || 1).unwrap();
        assert!(matches!(co.resume(), Resumed::Finished(1)));
        let t = std::thread::Builder::new()
            .name("deep".into())
            .stack_size(256 * 1024)
            .spawn(|| recurse(0, u64::MAX))
            .unwrap();
        let _ = t.join();
        println!("child survived");
        return;
    }
    let out = support::run_child(TEST, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("thread 'deep'") && stderr.contains("overflowed its stack"),
        "{}",
        support::describe(&out)
    );
    assert!(!stderr.contains("G "), "{}", support::describe(&out));
    // Rust's report then aborts on Unix. On Windows the overflow goes on
    // unhandled: the process ends with STATUS_STACK_OVERFLOW, or, under Wine,
    // the thread alone ends and the join fails; either way the child fails.
    #[cfg(unix)]
    assert!(aborted(&out), "{}", support::describe(&out));
    #[cfg(windows)]
    assert!(!out.status.success(), "{}", support::describe(&out));
}
