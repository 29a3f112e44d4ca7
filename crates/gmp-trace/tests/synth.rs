//! The synthetic traces the viewer is tried and sized on are valid traces in
//! the runtime's format.

use std::collections::BTreeSet;

use gmp_trace::model::{Mark, OUTSIDE_TID};
use gmp_trace::parse_str;
use gmp_trace::synth::Synth;

#[test]
fn synthetic_traces_validate_for_many_seeds_and_sizes() {
    for (procs, seed) in [(1, 1), (2, 2), (4, 3), (8, 4), (16, 5)] {
        let json = Synth::new(procs, 5_000).seed(seed).to_json();
        let trace = parse_str(&json).unwrap_or_else(|e| panic!("procs {procs} seed {seed}: {e}"));
        let ps: Vec<i64> = trace.tracks.iter().filter_map(|t| t.p()).collect();
        assert_eq!(ps, (0..procs as i64).collect::<Vec<_>>());
        assert!(trace.track(1, OUTSIDE_TID).is_some());
        assert!(trace.events >= 5_000);
        // Every wake that finished was started before.
        assert_eq!(trace.unmatched_flow_ends, 0, "procs {procs} seed {seed}");
        for flow in &trace.flows {
            assert!(flow.from_ts <= flow.to_ts);
        }
    }
}

#[test]
fn a_synthetic_trace_shows_every_instant_kind_the_viewer_knows() {
    let trace = parse_str(&Synth::new(4, 20_000).to_json()).expect("valid");
    let mut seen = BTreeSet::new();
    for inst in trace.tracks.iter().flat_map(|t| &t.instants) {
        seen.insert(match inst.mark {
            Mark::Steal { .. } => "steal",
            Mark::Handoff => "handoff",
            Mark::Park => "park",
            Mark::Unpark => "unpark",
            Mark::Netpoll { .. } => "netpoll",
            Mark::Retake { .. } => "retake",
            Mark::GCreated { .. } => "G created",
            Mark::PreemptMark { .. } => "preempt mark",
            Mark::Other => "other",
        });
    }
    let expected: BTreeSet<&str> = [
        "steal",
        "handoff",
        "park",
        "unpark",
        "netpoll",
        "retake",
        "G created",
        "preempt mark",
    ]
    .into();
    assert_eq!(seen, expected);
}

#[test]
fn queue_counters_never_go_negative() {
    let trace = parse_str(&Synth::new(4, 20_000).seed(11).to_json()).expect("valid");
    assert!(trace.counters.len() > 1);
    for counter in &trace.counters {
        for &(_, value) in &counter.samples {
            assert!(value >= 0.0, "{} went to {value}", counter.label);
        }
    }
}

#[test]
fn the_same_seed_gives_the_same_bytes() {
    let a = Synth::new(3, 3_000).seed(42).to_json();
    let b = Synth::new(3, 3_000).seed(42).to_json();
    let c = Synth::new(3, 3_000).seed(43).to_json();
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
#[should_panic(expected = "procs must be in 1..1000")]
fn zero_procs_is_refused() {
    let _ = Synth::new(0, 10);
}
