//! Helpers shared by the integration tests: child processes and RSS.
#![allow(dead_code)] // each test file uses a different part

use std::process::{Command, Output};

/// The environment variable that tells a re-run test binary which child body
/// to run.
pub const CHILD_ENV: &str = "GMP_CORO_TEST_CHILD";

/// Whether this process is the child for `test` (then the caller runs the
/// child's body instead of the parent's).
pub fn is_child(test: &str) -> bool {
    std::env::var(CHILD_ENV).is_ok_and(|v| v == test)
}

/// Re-runs this test binary for just `test`, as a child with `env` set, and
/// returns its output.
pub fn run_child(test: &str, env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, test);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

/// The signal that killed the child, if one did.
#[cfg(unix)]
pub fn signal(out: &Output) -> Option<i32> {
    use std::os::unix::process::ExitStatusExt;
    out.status.signal()
}

/// Both streams, for assertion messages.
pub fn describe(out: &Output) -> String {
    format!(
        "status: {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// This process's resident set size in bytes (from `/proc/self/statm`).
pub fn rss_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: usize = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * gmp_coro::stack::page_size()
}
