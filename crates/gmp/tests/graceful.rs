//! `examples/graceful.rs` does what it says: run as a child process and sent
//! SIGTERM (or SIGINT, Ctrl-C's) while a request is in flight, it stops accepting, answers the
//! request, and exits 0 — all within a bound.
#![cfg(all(unix, feature = "hyper"))]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Far above what a healthy run needs; a hang fails the test instead.
const PATIENCE: Duration = Duration::from_secs(60);

/// The example itself: this binary runs its `main` when started as the
/// child.
#[path = "../../../examples/graceful.rs"]
mod example;

/// A bounded wait for the child's exit, shared with gmp-exec's tests.
#[path = "../../gmp-exec/tests/common/child_exit.rs"]
mod child_exit;

const CHILD: &str = "GMP_GRACEFUL_EXAMPLE_CHILD";

fn main() {
    if std::env::var_os(CHILD).is_some() {
        // Arguments as the example takes them: the address.
        if let Err(e) = example::main() {
            eprintln!("graceful example: {e}");
            std::process::exit(1);
        }
        return;
    }
    for signal in ["TERM", "INT"] {
        a_signal_stops_accepting_finishes_the_request_in_flight_and_exits_0(signal);
        println!(
            "test sig{}_stops_accepting_finishes_the_request_in_flight_and_exits_0 ... ok",
            signal.to_lowercase()
        );
    }
}

/// Kills the child if the test fails before it exits.
struct Reap(Child);

impl Drop for Reap {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn next_line(lines: &mpsc::Receiver<String>, what: &str) -> String {
    lines
        .recv_timeout(PATIENCE)
        .unwrap_or_else(|_| panic!("the server never printed {what}"))
}

/// `signal`: `TERM` (a service manager) or `INT` (Ctrl-C).
fn a_signal_stops_accepting_finishes_the_request_in_flight_and_exits_0(signal: &str) {
    let child = Command::new(std::env::current_exe().unwrap())
        .arg("127.0.0.1:0")
        .env(CHILD, "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut child = Reap(child);
    let stdout = child.0.stdout.take().unwrap();
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let first = next_line(&lines, "its address");
    let addr = first
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("unexpected first line: {first}"))
        .to_string();

    // A request that takes a second, in flight when the signal comes.
    let slow_addr = addr.clone();
    let slow = std::thread::spawn(move || {
        let mut conn = TcpStream::connect(&slow_addr).unwrap();
        conn.set_read_timeout(Some(PATIENCE)).unwrap();
        conn.write_all(b"GET /slow HTTP/1.1\r\nhost: test\r\n\r\n")
            .unwrap();
        let mut response = String::new();
        conn.read_to_string(&mut response).unwrap();
        response
    });
    assert_eq!(
        next_line(&lines, "that /slow started"),
        "request /slow started"
    );

    let pid = child.0.id().to_string();
    let killed = Command::new("kill")
        .args([&format!("-{signal}"), &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let line = next_line(&lines, "that it is shutting down");
    assert!(
        line.starts_with("shutting down: stopped accepting, 1 connection"),
        "{line}"
    );
    // The listener is closed: a new connection is refused.
    let err = TcpStream::connect(&addr).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);

    let response = slow.join().unwrap();
    assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");
    assert!(response.ends_with("slow hello\n"), "{response}");
    assert_eq!(
        next_line(&lines, "that it is done"),
        "all connections finished; bye"
    );

    let status = child_exit::wait_within(&mut child.0, PATIENCE).expect("the server did not exit");
    assert!(status.success(), "the server exited with {status}");
}
