//! With gmp's `tracing` feature (forwarded to gmp-exec), sysmon's watchdog
//! reports a G that holds its M too long as a `tracing` event — `WARN`,
//! target `gmp::watchdog` — instead of a line on stderr; with no subscriber
//! installed, on stderr still (the reports must not vanish).
//!
//! A process of its own: the subscriber is the global default. The case
//! without one runs in a child process of this test binary.

use std::fmt::Write as _;
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

/// Every event: its level, target and message.
static EVENTS: Mutex<Vec<(Level, String, String)>> = Mutex::new(Vec::new());
/// Signalled on every new event.
static NEW_EVENT: Condvar = Condvar::new();

struct Events;

struct Message(String);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        }
    }
}

impl Subscriber for Events {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut message = Message(String::new());
        event.record(&mut message);
        let meta = event.metadata();
        EVENTS
            .lock()
            .unwrap()
            .push((*meta.level(), meta.target().to_string(), message.0));
        NEW_EVENT.notify_all();
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

/// Runs a G that blocks its M for 200 ms with no marker, on a runtime whose
/// watchdog reports polls past 20 ms.
fn block_an_m_past_the_watchdog() -> gmp::Runtime {
    let rt = gmp::Runtime::builder()
        .procs(1)
        .watchdog(Some(Duration::from_millis(20)))
        .build()
        .unwrap();
    rt.block_on(rt.spawn(async { std::thread::sleep(Duration::from_millis(200)) }))
        .unwrap();
    rt
}

#[test]
fn watchdog_reports_go_to_tracing() {
    tracing::subscriber::set_global_default(Events).expect("no other subscriber");
    let rt = block_an_m_past_the_watchdog();
    let watchdog = |events: &mut Vec<(Level, String, String)>| {
        !events
            .iter()
            .any(|(_, target, _)| target == "gmp::watchdog")
    };
    let (events, waited) = NEW_EVENT
        .wait_timeout_while(EVENTS.lock().unwrap(), Duration::from_secs(60), watchdog)
        .unwrap();
    assert!(
        !waited.timed_out(),
        "no watchdog event within 60 s; events: {events:?}"
    );
    let report = events
        .iter()
        .find(|(_, target, _)| target == "gmp::watchdog")
        .cloned()
        .unwrap();
    assert_eq!(report.0, Level::WARN);
    assert!(report.2.contains("watchdog: G"), "{}", report.2);
    assert!(rt.metrics().watchdog_reports >= 1);
}

const CHILD: &str = "GMP_INTEROP_WATCHDOG_CHILD";

#[test]
fn watchdog_reports_reach_stderr_without_a_subscriber() {
    if std::env::var_os(CHILD).is_some() {
        // The child: no subscriber was ever installed in this process.
        let rt = block_an_m_past_the_watchdog();
        assert!(rt.metrics().watchdog_reports >= 1);
        return;
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "watchdog_reports_reach_stderr_without_a_subscriber",
            "--nocapture",
        ])
        .env(CHILD, "1")
        .output()
        .expect("run the child");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the child failed:\n{stderr}");
    assert!(
        stderr.contains("gmp: watchdog: G"),
        "no watchdog report on stderr:\n{stderr}"
    );
}
