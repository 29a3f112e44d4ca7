//! `signal`: deliveries reach async and coroutine Gs through the netpoller;
//! every listener hears each one; none is lost between registration and the
//! first wait; signals that cannot be handled are errors. Each test uses a
//! signal of its own (they share the process); SIGINT and SIGTERM, whose
//! handlers would change how the test harness ends, are tested in a child
//! process.
#![cfg(all(unix, not(loom)))]

use std::io;
use std::process::Command;

use gmp_exec::signal::{ctrl_c, signal, SignalKind};
use gmp_exec::Runtime;

mod common;
use common::within;

fn raise(signum: libc::c_int) {
    // SAFETY: `raise` takes no pointers; every test raises a signal it
    // installed a handler for first.
    assert_eq!(unsafe { libc::raise(signum) }, 0);
}

#[test]
fn a_signal_raised_before_the_first_wait_is_not_lost() {
    let rt = Runtime::builder().procs(2).build().unwrap();
    within("SIGUSR1 before recv", move || {
        rt.block_on(async {
            let mut sig = signal(SignalKind::user_defined1()).unwrap();
            raise(libc::SIGUSR1);
            assert_eq!(sig.recv().await, Some(()));
            // And again, after the first wait.
            let waiter = gmp_exec::spawn(async move {
                sig.recv().await;
                sig
            });
            gmp_exec::yield_now().await;
            raise(libc::SIGUSR1);
            waiter.await.unwrap();
        })
    });
}

#[test]
fn every_listener_hears_each_delivery_also_across_runtimes() {
    let a = Runtime::builder().procs(1).build().unwrap();
    let b = Runtime::builder().procs(2).build().unwrap();
    let mut on_a: Vec<_> = (0..3)
        .map(|_| {
            let _g = a.enter();
            signal(SignalKind::user_defined2()).unwrap()
        })
        .collect();
    let on_b = {
        let _g = b.enter();
        signal(SignalKind::user_defined2()).unwrap()
    };
    let heard_b = b.spawn(async move {
        let mut s = on_b;
        s.recv().await
    });
    let heard_a: Vec<_> = on_a
        .drain(..)
        .map(|mut s| a.spawn(async move { s.recv().await }))
        .collect();
    raise(libc::SIGUSR2);
    within("4 listeners on 2 runtimes", move || {
        for h in heard_a {
            assert_eq!(a.block_on(h).unwrap(), Some(()));
        }
        assert_eq!(b.block_on(heard_b).unwrap(), Some(()));
    });
}

#[cfg(all(feature = "coro", any(unix, windows)))]
#[test]
fn a_coroutine_g_waits_for_a_signal() {
    let rt = Runtime::builder().procs(1).build().unwrap();
    let _guard = rt.enter();
    let mut sig = signal(SignalKind::window_change()).unwrap();
    let (heard_tx, heard_rx) = std::sync::mpsc::channel();
    let h = gmp_exec::coro::spawn(move || {
        for i in 0..3 {
            gmp_exec::coro::wait(sig.recv()).unwrap();
            heard_tx.send(i).unwrap();
        }
    });
    // Each delivery is raised once the coroutine has returned from the last
    // `recv` (so none merges with the one before).
    for i in 0..3 {
        raise(libc::SIGWINCH);
        assert_eq!(common::recv(&heard_rx, "the coroutine heard SIGWINCH"), i);
    }
    within("the coroutine ends", move || h.join().unwrap());
}

#[test]
fn a_delivery_before_the_listener_was_made_is_not_reported_to_it() {
    let rt = Runtime::builder().procs(1).build().unwrap();
    let _guard = rt.enter();
    // Installs the handler, then goes: nobody listens when SIGHUP comes.
    drop(signal(SignalKind::hangup()).unwrap());
    raise(libc::SIGHUP);
    let mut late = signal(SignalKind::hangup()).unwrap();
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    assert!(
        late.poll_recv(&mut cx).is_pending(),
        "heard a signal from before it listened"
    );
    // The next one it hears.
    raise(libc::SIGHUP);
    within("SIGHUP after the listener", move || {
        rt.block_on(async move { late.recv().await })
    })
    .unwrap();
}

#[test]
fn signals_that_cannot_be_handled_are_errors() {
    for signum in [
        libc::SIGKILL,
        libc::SIGSTOP,
        libc::SIGSEGV,
        libc::SIGILL,
        libc::SIGFPE,
        0,
        -1,
        1000,
    ] {
        let err = signal(SignalKind::from_raw(signum)).unwrap_err();
        assert_eq!(
            err.kind(),
            io::ErrorKind::InvalidInput,
            "signal {signum}: {err}"
        );
    }
}

/// The child's part: SIGTERM and SIGINT (through `ctrl_c`) sent to itself.
#[test]
fn terminate_and_ctrl_c_are_heard_in_a_child_process() {
    if std::env::var("GMP_TEST_CHILD").is_ok_and(|v| v == "signal") {
        let rt = Runtime::builder().procs(2).build().unwrap();
        rt.block_on(async {
            let mut term = signal(SignalKind::terminate()).unwrap();
            // SAFETY: `kill` to our own pid, for a signal with a handler.
            unsafe { libc::kill(libc::getpid(), libc::SIGTERM) };
            term.recv().await.unwrap();
            let mut ctrl_c = std::pin::pin!(ctrl_c());
            // The first poll installs the handler; then the signal comes.
            assert!(futures::poll!(ctrl_c.as_mut()).is_pending());
            raise(libc::SIGINT);
            ctrl_c.await.unwrap();
        });
        println!("child heard both");
        return;
    }
    let out = common::output_within(
        "signal child",
        Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "terminate_and_ctrl_c_are_heard_in_a_child_process",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("GMP_TEST_CHILD", "signal"),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("child heard both"),
        "the child ({}) failed:\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}
