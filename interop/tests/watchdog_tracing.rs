//! With gmp's `tracing` feature (forwarded to gmp-exec), sysmon's watchdog
//! reports a G that holds its M too long as a `tracing` event — `WARN`,
//! target `gmp::watchdog` — instead of a line on stderr.
//!
//! A process of its own: the subscriber is the global default.

use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

/// Every event: its level, target and message.
static EVENTS: Mutex<Vec<(Level, String, String)>> = Mutex::new(Vec::new());

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
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

#[test]
fn watchdog_reports_go_to_tracing() {
    tracing::subscriber::set_global_default(Events).expect("no other subscriber");
    let rt = gmp::Runtime::builder()
        .procs(1)
        .watchdog(Some(Duration::from_millis(20)))
        .build()
        .unwrap();
    // A G that blocks its M for 200 ms with no marker.
    rt.block_on(rt.spawn(async { std::thread::sleep(Duration::from_millis(200)) }))
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let report = loop {
        let found = EVENTS
            .lock()
            .unwrap()
            .iter()
            .find(|(_, target, _)| target == "gmp::watchdog")
            .cloned();
        if let Some(found) = found {
            break found;
        }
        assert!(
            Instant::now() < deadline,
            "no watchdog event within 60 s; events: {:?}",
            EVENTS.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(5));
    };
    assert_eq!(report.0, Level::WARN);
    assert!(report.2.contains("watchdog: G"), "{}", report.2);
    assert!(rt.metrics().watchdog_reports >= 1);
}
