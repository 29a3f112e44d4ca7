//! `tracing` spans that carry the id of the G they were made in
//! (`task_id = %gmp::task::id()`), recorded by a small hand-written
//! subscriber: each span names its own task, and is entered only while that
//! task runs, on whichever P it has moved to.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Mutex, OnceLock};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Instrument, Metadata, Subscriber};

/// What the subscriber saw of one span.
#[derive(Clone, Debug)]
struct SpanRecord {
    name: &'static str,
    /// The span's `task_id` field, as written.
    task_id: Option<String>,
    /// The span's `n` field.
    n: Option<u64>,
}

#[derive(Default)]
struct Recorder {
    next_id: AtomicU64,
    spans: Mutex<HashMap<u64, SpanRecord>>,
    /// Each `enter`: the span and the G polling at that moment.
    entries: Mutex<Vec<(u64, Option<gmp::task::Id>)>>,
}

#[derive(Default)]
struct Fields {
    task_id: Option<String>,
    n: Option<u64>,
}

impl Visit for Fields {
    fn record_u64(&mut self, field: &Field, value: u64) {
        if field.name() == "n" {
            self.n = Some(value);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "task_id" {
            self.task_id = Some(format!("{value:?}"));
        }
    }
}

impl Subscriber for &'static Recorder {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, attrs: &Attributes<'_>) -> Id {
        let id = self.next_id.fetch_add(1, Relaxed) + 1;
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        let record = SpanRecord {
            name: attrs.metadata().name(),
            task_id: fields.task_id,
            n: fields.n,
        };
        self.spans.lock().unwrap().insert(id, record);
        Id::from_u64(id)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, _: &Event<'_>) {}

    fn enter(&self, span: &Id) {
        let running = gmp::task::try_id();
        self.entries
            .lock()
            .unwrap()
            .push((span.into_u64(), running));
    }

    fn exit(&self, _: &Id) {}
}

/// The process-wide recorder: the Ms are threads of their own, so only a
/// global default subscriber sees their spans.
fn recorder() -> &'static Recorder {
    static RECORDER: OnceLock<&'static Recorder> = OnceLock::new();
    RECORDER.get_or_init(|| {
        let recorder: &'static Recorder = Box::leak(Box::default());
        tracing::subscriber::set_global_default(recorder).expect("no other subscriber");
        recorder
    })
}

fn spans_named(name: &str) -> Vec<(u64, SpanRecord)> {
    let spans = recorder().spans.lock().unwrap();
    spans
        .iter()
        .filter(|(_, s)| s.name == name)
        .map(|(&id, s)| (id, s.clone()))
        .collect()
}

#[gmp::test(procs = 4)]
async fn each_span_carries_the_id_of_the_task_that_made_it() {
    recorder();
    let tasks: Vec<_> = (0..64u64)
        .map(|n| {
            gmp::spawn(async move {
                let span = tracing::info_span!("made_in_task", task_id = %gmp::task::id(), n);
                let _entered = span.enter();
                gmp::task::id()
            })
        })
        .collect();
    let mut expected = HashMap::new();
    for (n, t) in tasks.into_iter().enumerate() {
        let id = t.id();
        assert_eq!(t.await.unwrap(), id);
        expected.insert(n as u64, id.to_string());
    }
    let spans = spans_named("made_in_task");
    assert_eq!(spans.len(), 64);
    for (_, span) in spans {
        let n = span.n.expect("every span has n");
        assert_eq!(span.task_id.as_ref(), Some(&expected[&n]), "span {n}");
    }
}

#[gmp::test(procs = 4)]
async fn an_instrumented_future_is_entered_only_on_its_own_task() {
    recorder();
    let tasks: Vec<_> = (0..32u64)
        .map(|n| {
            gmp::spawn(async move {
                let span = tracing::info_span!("instrumented", task_id = %gmp::task::id(), n);
                // Each yield is a poll on which the span is entered again,
                // perhaps on another P after a steal.
                async {
                    for _ in 0..20 {
                        gmp::yield_now().await;
                    }
                }
                .instrument(span)
                .await;
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let spans: HashMap<u64, SpanRecord> = spans_named("instrumented").into_iter().collect();
    assert_eq!(spans.len(), 32);
    let entries = recorder().entries.lock().unwrap().clone();
    let mut checked = 0;
    for (span, running) in entries {
        let Some(record) = spans.get(&span) else {
            continue;
        };
        let running = running.expect("entered outside any task");
        assert_eq!(record.task_id.as_deref(), Some(&*running.to_string()));
        checked += 1;
    }
    assert!(checked >= 32 * 21, "only {checked} entries recorded");
}
