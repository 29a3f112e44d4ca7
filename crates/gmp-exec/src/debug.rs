//! `GMP_DEBUG` (Go's `GODEBUG`) and the schedtrace line.
//!
//! `GMP_DEBUG=schedtrace=1000` makes sysmon print one line a second in Go's
//! shape, then gmp's own fields:
//!
//! ```text
//! SCHED 1004ms: gomaxprocs=2 idleprocs=0 threads=5 spinningthreads=0 idlethreads=2 runqueue=3 [4 0] steals=12 handoffs=0 retakes=0 netpoll=0
//! ```
//!
//! and `scheddetail=1` adds a line per P and per M. An unknown or malformed key
//! is reported once on stderr, not ignored.

use std::fmt::Write as _;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::sched::m::NO_P;
use crate::sched::Shared;

/// The environment variable (Go's `GODEBUG`).
///
/// ```
/// use std::ffi::OsStr;
/// use std::process::Command;
///
/// // Run a gmp program with a schedtrace line every second.
/// let mut cmd = Command::new("my-server");
/// cmd.env(gmp_exec::DEBUG_ENV, "schedtrace=1000,scheddetail=1");
/// let (key, value) = cmd.get_envs().next().unwrap();
/// assert_eq!(key, "GMP_DEBUG");
/// assert_eq!(value, Some(OsStr::new("schedtrace=1000,scheddetail=1")));
/// ```
pub const DEBUG_ENV: &str = "GMP_DEBUG";

/// What `GMP_DEBUG` asks for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct DebugOpts {
    pub(crate) schedtrace: Option<Duration>,
    pub(crate) scheddetail: bool,
}

/// Parses `GMP_DEBUG`'s value: comma-separated `key=value` pairs. Returns the
/// options and one message per unknown or malformed item.
pub(crate) fn parse(value: &str) -> (DebugOpts, Vec<String>) {
    let mut opts = DebugOpts::default();
    let mut problems = Vec::new();
    for item in value.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let Some((key, val)) = item.split_once('=') else {
            problems.push(format!("{DEBUG_ENV}: {item:?} is not key=value"));
            continue;
        };
        match key.trim() {
            "schedtrace" => match val.trim().parse::<u64>() {
                Ok(0) => opts.schedtrace = None,
                Ok(ms) => opts.schedtrace = Some(Duration::from_millis(ms)),
                Err(_) => problems.push(format!(
                    "{DEBUG_ENV}: schedtrace={val:?} is not a number of milliseconds"
                )),
            },
            "scheddetail" => match val.trim() {
                "0" => opts.scheddetail = false,
                "1" => opts.scheddetail = true,
                _ => problems.push(format!("{DEBUG_ENV}: scheddetail={val:?} is not 0 or 1")),
            },
            other => problems.push(format!(
                "{DEBUG_ENV}: unknown key {other:?} (known: schedtrace, scheddetail)"
            )),
        }
    }
    (opts, problems)
}

/// `GMP_DEBUG` as set in the environment, read once; problems are reported on
/// stderr the first time.
pub(crate) fn from_env() -> DebugOpts {
    static OPTS: OnceLock<DebugOpts> = OnceLock::new();
    *OPTS.get_or_init(|| {
        let Ok(value) = std::env::var(DEBUG_ENV) else {
            return DebugOpts::default();
        };
        let (opts, problems) = parse(&value);
        for p in problems {
            eprintln!("gmp: {p}");
        }
        opts
    })
}

impl Shared {
    /// Go's `schedtrace`: one line (plus detail lines if asked).
    pub(crate) fn schedtrace_line(&self, started: Instant, detail: bool) -> String {
        let m = self.metrics();
        let mut line = String::new();
        let (threads, idle_threads, ms) = self.ms_snapshot();
        let _ = write!(
            line,
            "SCHED {}ms: gomaxprocs={} idleprocs={} threads={} spinningthreads={} idlethreads={} runqueue={} [",
            started.elapsed().as_millis(),
            m.procs,
            m.idle_procs,
            threads + usize::from(self.config.sysmon),
            m.spinning_threads,
            idle_threads,
            m.global_queue_depth,
        );
        for (i, p) in m.ps.iter().enumerate() {
            if i > 0 {
                line.push(' ');
            }
            let _ = write!(line, "{}", p.queue_depth);
        }
        let steals: u64 = m.ps.iter().map(|p| p.steals).sum();
        let _ = write!(
            line,
            "] steals={steals} handoffs={} retakes={} netpoll={}",
            m.handoffs,
            m.retakes + m.syscall_retakes,
            m.netpoll_wakeups
        );
        if detail {
            for (i, p) in m.ps.iter().enumerate() {
                let owner = ms.iter().find(|mm| mm.p.load(Relaxed) == i);
                let _ = write!(
                    line,
                    "\n  P{i}: status={} m={} schedtick={} runqsize={} runnext_hits={} spawned={} steals={} stolen_out={} overflows={}",
                    if owner.is_some() { "running" } else { "idle" },
                    owner.map_or(-1, |mm| mm.id as i64),
                    p.polls,
                    p.queue_depth,
                    p.runnext_hits,
                    p.spawned,
                    p.steals,
                    p.stolen_out,
                    p.overflows,
                );
            }
            for mm in &ms {
                let p = mm.p.load(Relaxed);
                let g = mm.cur_g.load(Relaxed);
                let _ = write!(
                    line,
                    "\n  M{}: p={} curg={} syscall={} preempt={}",
                    mm.id,
                    if p == NO_P { -1 } else { p as i64 },
                    if g == 0 { -1 } else { g as i64 },
                    mm.in_syscall.load(Relaxed),
                    mm.preempt.load(Relaxed),
                );
            }
        }
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_go_style_keys_and_reports_the_rest() {
        let (o, p) = parse("schedtrace=1000,scheddetail=1");
        assert_eq!(o.schedtrace, Some(Duration::from_secs(1)));
        assert!(o.scheddetail);
        assert!(p.is_empty());
        let (o, p) = parse("schedtrace=abc, gctrace=1 ,junk");
        assert_eq!(o, DebugOpts::default());
        assert_eq!(p.len(), 3, "{p:?}");
        assert!(p[0].contains("schedtrace=\"abc\""));
        assert!(p[1].contains("unknown key \"gctrace\""));
        assert!(p[2].contains("not key=value"));
    }
}
