//! `process`: children are spawned, waited for through the netpoller (pidfd
//! on Linux, the SIGCHLD reaper elsewhere and under `GMP_NO_PIDFD=1`), their
//! pipes are gmp streams, no exit is missed and no zombie is left. The tests
//! named `exits_*` also run in a child process with the SIGCHLD reaper.
#![cfg(all(unix, not(loom)))]

use std::io;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command as StdCommand, Stdio};

use futures::io::{AsyncReadExt, AsyncWriteExt};
use gmp_exec::process::Command;
use gmp_exec::Runtime;

mod common;
use common::{wait_until, within};

fn rt() -> Runtime {
    Runtime::builder().procs(2).build().unwrap()
}

/// True while `pid` exists, as a zombie too (Linux's /proc; elsewhere
/// `kill(pid, 0)`, which also succeeds for a zombie).
fn exists(pid: u32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    unsafe { libc::kill(pid as libc::pid_t, 0) == 0 }
}

#[test]
fn a_program_that_cannot_be_spawned_is_the_os_error() {
    let rt = rt();
    rt.block_on(async {
        let err = Command::new("/no/such/program").spawn().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        let err = Command::new("/no/such/program").output().await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        // A file that is not executable.
        let path = std::env::temp_dir().join(format!("gmp-noexec-{}", std::process::id()));
        std::fs::write(&path, "#!/bin/sh\n").unwrap();
        let err = Command::new(&path).spawn().unwrap_err();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(err.kind(), io::ErrorKind::PermissionDenied, "{err}");
    });
}

#[test]
fn exits_status_and_output_report_what_the_child_did() {
    let rt = rt();
    within("status / output", move || {
        rt.block_on(async {
            let status = Command::new("sh").args(["-c", "exit 7"]).status().await?;
            assert_eq!(status.code(), Some(7));
            let out = Command::new("sh")
                .args(["-c", "echo out; echo err >&2"])
                .output()
                .await?;
            assert!(out.status.success());
            assert_eq!(
                (out.stdout, out.stderr),
                (b"out\n".to_vec(), b"err\n".to_vec())
            );
            io::Result::Ok(())
        })
        .unwrap()
    });
}

#[test]
fn exits_a_megabyte_goes_through_cat_both_ways_at_once() {
    let rt = rt();
    within("1 MiB through cat", move || {
        rt.block_on(async {
            let mut child = Command::new("cat")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()?;
            let mut stdin = child.stdin.take().unwrap();
            let mut stdout = child.stdout.take().unwrap();
            let data: Vec<u8> = (0..1 << 20).map(|i| (i % 251) as u8).collect();
            let expect = data.clone();
            // Larger than a pipe's buffer: the write parks until cat reads.
            let writer = gmp_exec::spawn(async move {
                stdin.write_all(&data).await?;
                io::Result::Ok(())
            });
            let mut got = Vec::new();
            stdout.read_to_end(&mut got).await?;
            writer.await??;
            assert!(got == expect, "cat returned other bytes");
            assert!(child.wait().await?.success());
            io::Result::Ok(())
        })
        .unwrap()
    });
}

#[test]
fn exits_kill_try_wait_and_id() {
    let rt = rt();
    within("kill", move || {
        rt.block_on(async {
            let mut child = Command::new("sleep").arg("100").spawn()?;
            let pid = child.id().unwrap();
            assert!(child.try_wait()?.is_none());
            child.kill().await?;
            let status = child.try_wait()?.unwrap();
            assert_eq!(status.signal(), Some(libc::SIGKILL));
            assert_eq!(child.id(), None);
            assert!(!exists(pid), "reaped");
            // Killing a reaped child does nothing.
            child.start_kill()?;
            io::Result::Ok(())
        })
        .unwrap()
    });
}

#[test]
fn exits_many_children_at_once_are_all_seen() {
    let rt = rt();
    within("64 children", move || {
        rt.block_on(async {
            let mut set = gmp_exec::task::JoinSet::new();
            for i in 0..64 {
                let mut cmd = Command::new("sh");
                cmd.args(["-c", &format!("exit {}", i % 8)]);
                let mut child = cmd.spawn().unwrap();
                set.spawn(async move { (i, child.wait().await.unwrap().code()) });
            }
            while let Some(r) = set.join_next().await {
                let (i, code) = r.unwrap();
                assert_eq!(code, Some(i % 8));
            }
        })
    });
}

#[test]
fn exits_a_dropped_child_is_reaped_in_the_background() {
    let rt = rt();
    let _guard = rt.enter();
    // Exits once its stdin closes, which the drop does.
    let child = Command::new("sh")
        .args(["-c", "read line"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id().unwrap();
    drop(child);
    wait_until("the dropped child was reaped (no zombie)", || !exists(pid));
    // kill_on_drop: a long sleeper is killed and reaped.
    let child = Command::new("sleep")
        .arg("100")
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let pid = child.id().unwrap();
    drop(child);
    wait_until("the killed child was reaped", || !exists(pid));
}

#[cfg(all(feature = "coro", any(unix, windows)))]
#[test]
fn exits_coroutine_gs_wait_and_read_blocking_style() {
    let rt = rt();
    let _guard = rt.enter();
    let h = gmp_exec::coro::spawn(|| {
        let mut child = Command::new("echo")
            .arg("from a coroutine")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = String::new();
        std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut out).unwrap();
        let status = gmp_exec::coro::wait(child.wait()).unwrap();
        (status.success(), out)
    });
    let (ok, out) = within("coroutine", move || h.join().unwrap());
    assert!(ok);
    assert_eq!(out, "from a coroutine\n");
}

#[test]
fn exits_a_pipeline_passes_one_childs_stdout_to_the_next() {
    let rt = rt();
    within("pipeline", move || {
        rt.block_on(async {
            let mut first = Command::new("echo")
                .arg("b\na")
                .stdout(Stdio::piped())
                .spawn()?;
            let stdout: Stdio = first.stdout.take().unwrap().try_into()?;
            let out = Command::new("sort").stdin(stdout).output().await?;
            assert_eq!(out.stdout, b"a\nb\n");
            assert!(first.wait().await?.success());
            io::Result::Ok(())
        })
        .unwrap()
    });
}

/// The `exits_*` tests again, in a child process where pidfds are off: the
/// SIGCHLD reaper (the path of the other Unixes) must pass them too.
#[test]
fn the_sigchld_reaper_passes_the_exit_tests() {
    if std::env::var_os("GMP_NO_PIDFD").is_some() {
        return; // already the child
    }
    let out = common::output_within(
        "the exits_* tests with GMP_NO_PIDFD=1",
        StdCommand::new(std::env::current_exe().unwrap())
            .args(["exits_", "--test-threads=2"])
            .env("GMP_NO_PIDFD", "1"),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("7 passed"),
        "the child ({}) failed:\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}
