//! gmp runs correctly without `membarrier(2)` (old kernels, seccomp sandboxes),
//! only slower: sysmon still takes the P of an M blocked in `syscall` or in a
//! long poll, so the Gs queued behind it run. Each case runs in a child
//! process: the barrier's availability is decided once per process, and the
//! old code aborted the whole process here.
#![cfg(not(loom))]

use std::process::Command;
use std::sync::mpsc;
use std::time::Duration;

use gmp_exec::Runtime;

mod common;

const CHILD: &str = "GMP_TEST_NO_MEMBARRIER_CHILD";

/// On one P, a G blocks its M (inside `syscall` if `in_syscall`, else in a
/// plain long poll); the G spawned after it can run only if sysmon hands the P
/// to another M.
fn a_g_runs_behind_a_blocked_m(in_syscall: bool) {
    let rt = Runtime::builder().procs(1).build().unwrap();
    let (started_tx, started_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let (ran_tx, ran_rx) = mpsc::channel();
    let blocker = rt.spawn(async move {
        started_tx.send(()).unwrap();
        let wait = move || release_rx.recv_timeout(Duration::from_secs(20));
        if in_syscall {
            gmp_exec::syscall(wait)
        } else {
            wait()
        }
    });
    common::recv(&started_rx, "the blocking G started");
    let release = release_tx.clone();
    rt.spawn(async move {
        ran_tx.send(()).unwrap();
        // The test may have released the blocker first.
        let _ = release.send(());
    });
    let ran = ran_rx.recv_timeout(Duration::from_secs(10));
    let _ = release_tx.send(());
    ran.expect("the G queued behind a blocked M never ran: sysmon did not take the P");
    rt.block_on(blocker).unwrap().unwrap();
    // sysmon counts a retake after the handoff that let the queued G run, so
    // the count may lag that G by a moment.
    if in_syscall {
        common::wait_until("sysmon counted a syscall retake", || {
            rt.metrics().syscall_retakes >= 1
        });
    } else {
        common::wait_until("sysmon counted a long-poll retake", || {
            rt.metrics().retakes >= 1
        });
    }
}

/// Re-runs test `name` in a child process with `env` set, and checks it passed.
fn in_child(name: &str, env: &[(&str, &str)]) {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", name, "--nocapture"])
        .env(CHILD, "1")
        .env_remove("GMP_NO_MEMBARRIER");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = common::output_within(name, &mut cmd);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "child {name} failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    assert!(
        stdout.contains("1 passed"),
        "the child ran no test:\n{stdout}"
    );
}

fn is_child() -> bool {
    std::env::var_os(CHILD).is_some()
}

#[test]
fn syscall_hands_its_p_off_with_the_barrier_forced_off() {
    if is_child() {
        return a_g_runs_behind_a_blocked_m(true);
    }
    in_child(
        "syscall_hands_its_p_off_with_the_barrier_forced_off",
        &[("GMP_NO_MEMBARRIER", "1")],
    );
}

#[test]
fn a_long_poll_loses_its_p_with_the_barrier_forced_off() {
    if is_child() {
        return a_g_runs_behind_a_blocked_m(false);
    }
    in_child(
        "a_long_poll_loses_its_p_with_the_barrier_forced_off",
        &[("GMP_NO_MEMBARRIER", "1")],
    );
}

/// A seccomp filter that makes `membarrier` fail with `ENOSYS`, as container
/// sandboxes and old kernels do, for this thread and the threads it starts.
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
fn deny_membarrier() {
    // From `linux/audit.h` (libc does not have it).
    const AUDIT_ARCH_X86_64: u32 = 0xC000_003E;
    // Offsets in `struct seccomp_data`: `nr` then `arch`.
    const NR: u32 = 0;
    const ARCH: u32 = 4;
    let stmt = |code: u32, k: u32| libc::sock_filter {
        code: code as u16,
        jt: 0,
        jf: 0,
        k,
    };
    let jeq = |k: u32, jt: u8, jf: u8| libc::sock_filter {
        code: (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16,
        jt,
        jf,
        k,
    };
    let load = libc::BPF_LD | libc::BPF_W | libc::BPF_ABS;
    let ret = libc::BPF_RET | libc::BPF_K;
    let mut filter = [
        stmt(load, ARCH),
        jeq(AUDIT_ARCH_X86_64, 1, 0),
        stmt(ret, libc::SECCOMP_RET_ALLOW),
        stmt(load, NR),
        jeq(libc::SYS_membarrier as u32, 0, 1),
        stmt(ret, libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32),
        stmt(ret, libc::SECCOMP_RET_ALLOW),
    ];
    let prog = libc::sock_fprog {
        len: filter.len() as u16,
        filter: filter.as_mut_ptr(),
    };
    // SAFETY: PR_SET_NO_NEW_PRIVS takes integers only; PR_SET_SECCOMP reads
    // `prog` (and the filter it points to, both alive for the call), which the
    // kernel copies.
    unsafe {
        assert_eq!(libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
        let set = libc::prctl(
            libc::PR_SET_SECCOMP,
            libc::SECCOMP_MODE_FILTER,
            &prog as *const libc::sock_fprog,
        );
        assert_eq!(set, 0, "{}", std::io::Error::last_os_error());
    }
    // SAFETY: membarrier(QUERY, 0, 0) takes no pointers.
    let query = unsafe { libc::syscall(libc::SYS_membarrier, 0, 0, 0) };
    assert_eq!(query, -1);
    assert_eq!(
        std::io::Error::last_os_error().raw_os_error(),
        Some(libc::ENOSYS)
    );
}

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
#[test]
fn syscall_hands_its_p_off_when_seccomp_makes_membarrier_fail() {
    if is_child() {
        deny_membarrier();
        return a_g_runs_behind_a_blocked_m(true);
    }
    in_child(
        "syscall_hands_its_p_off_when_seccomp_makes_membarrier_fail",
        &[],
    );
}
