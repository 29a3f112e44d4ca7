//! What a valid trace turns into: tracks, slices, instants, counters, flows.

use gmp_trace::model::{FlowId, Mark, Phase, PollEnd, OUTSIDE_TID};
use gmp_trace::{load, parse_str, Trace};

fn fixture(name: &str) -> Trace {
    load(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

#[test]
fn the_documented_example_parses_into_tracks_named_by_thread_name() {
    let trace = fixture("example.json");
    assert_eq!(trace.process_name.as_deref(), Some("gmp (procs=2)"));
    assert_eq!(trace.events, 10);
    let names: Vec<(i64, &str)> = trace
        .tracks
        .iter()
        .map(|t| (t.tid, t.name.as_str()))
        .collect();
    // tid 1 has no thread_name: it gets a generic one.
    assert_eq!(
        names,
        [
            (0, "P0"),
            (1, "tid 1"),
            (OUTSIDE_TID, "outside (foreign threads)")
        ]
    );
}

#[test]
fn a_poll_keeps_its_g_m_end_and_spawn_site_in_nanoseconds() {
    let trace = fixture("example.json");
    let p0 = trace.track(1, 0).expect("P0");
    assert_eq!(p0.slices.len(), 1);
    let s = &p0.slices[0];
    assert_eq!((s.start, s.dur, s.end_ns()), (12_500, 3_250, 15_750));
    assert_eq!(s.g, Some(17));
    assert_eq!(s.m, Some(2));
    assert_eq!(s.end, Some(PollEnd::Pending));
    assert_eq!(trace.str(s.spawn), "src/main.rs:10:5");
    assert_eq!(trace.str(s.name), "G17");
    assert_eq!(trace.str(s.cat), "poll");
    assert!(s.extra.is_none());
    assert_eq!(s.event, 3);
}

#[test]
fn known_instants_carry_their_arguments() {
    let trace = fixture("example.json");
    let steal = &trace.track(1, 1).expect("tid 1").instants[0];
    assert_eq!(steal.mark, Mark::Steal { from: 0, moved: 4 });
    assert_eq!(steal.ts, 30_000);
    assert_eq!(trace.str(steal.args), r#"{"from":0,"moved":4}"#);
    let created = &trace.track(1, 0).expect("P0").instants[0];
    assert_eq!(created.mark, Mark::GCreated { g: 18, parent: 17 });
}

#[test]
fn unknown_instants_are_kept_as_other() {
    let trace =
        parse_str(r#"[{"ph":"i","name":"gc pause","pid":1,"tid":0,"ts":5,"args":{"why":"test"}}]"#)
            .expect("valid");
    let inst = &trace.tracks[0].instants[0];
    assert_eq!(inst.mark, Mark::Other);
    assert_eq!(trace.str(inst.name), "gc pause");
    assert_eq!(trace.str(inst.args), r#"{"why":"test"}"#);
}

#[test]
fn every_known_instant_name_maps_to_its_mark() {
    let trace = parse_str(
        r#"[
        {"ph":"i","name":"handoff","pid":1,"tid":0,"ts":1},
        {"ph":"i","name":"park","pid":1,"tid":0,"ts":2},
        {"ph":"i","name":"unpark","pid":1,"tid":0,"ts":3},
        {"ph":"i","name":"netpoll","pid":1,"tid":0,"ts":4,"args":{"woken":3}},
        {"ph":"i","name":"retake","pid":1,"tid":0,"ts":5,"args":{"g":9}},
        {"ph":"i","name":"preempt mark","pid":1,"tid":0,"ts":6,"args":{"g":8}}
    ]"#,
    )
    .expect("valid");
    let marks: Vec<Mark> = trace.tracks[0].instants.iter().map(|i| i.mark).collect();
    assert_eq!(
        marks,
        [
            Mark::Handoff,
            Mark::Park,
            Mark::Unpark,
            Mark::Netpoll { woken: 3 },
            Mark::Retake { g: 9 },
            Mark::PreemptMark { g: 8 },
        ]
    );
}

#[test]
fn flows_pair_by_id_from_the_s_event_to_the_f_event() {
    let trace = fixture("example.json");
    assert_eq!(trace.flows.len(), 1);
    let flow = &trace.flows[0];
    assert_eq!(flow.id, FlowId::Num(42));
    assert_eq!(trace.tracks[flow.from_track].tid, 1);
    assert_eq!(flow.from_ts, 15_000);
    assert_eq!(trace.tracks[flow.to_track].tid, 0);
    assert_eq!(flow.to_ts, 20_000);
    assert_eq!(
        (trace.unmatched_flow_starts, trace.unmatched_flow_ends),
        (0, 0)
    );
}

#[test]
fn a_reused_flow_id_pairs_in_time_order_and_strays_are_counted() {
    let trace = parse_str(
        r#"[
        {"ph":"f","id":"x","pid":1,"tid":0,"ts":1},
        {"ph":"s","id":"x","pid":1,"tid":0,"ts":2},
        {"ph":"f","id":"x","pid":1,"tid":1,"ts":3},
        {"ph":"s","id":"x","pid":1,"tid":1,"ts":4},
        {"ph":"f","id":"x","pid":1,"tid":0,"ts":5},
        {"ph":"s","id":"x","pid":1,"tid":0,"ts":6}
    ]"#,
    )
    .expect("valid");
    let pairs: Vec<(i64, i64)> = trace.flows.iter().map(|f| (f.from_ts, f.to_ts)).collect();
    assert_eq!(pairs, [(2_000, 3_000), (4_000, 5_000)]);
    assert_eq!(trace.unmatched_flow_ends, 1);
    assert_eq!(trace.unmatched_flow_starts, 1);
}

#[test]
fn counters_become_one_series_per_argument_key() {
    let trace = fixture("known.json");
    let labels: Vec<(&str, Option<i64>)> = trace
        .counters
        .iter()
        .map(|c| (c.label.as_str(), c.tid))
        .collect();
    // `runqueue` has two keys (P0, P1), so its label names the key;
    // `global queue` has one and keeps its plain name.
    assert_eq!(
        labels,
        [
            ("runqueue P0", Some(0)),
            ("runqueue P1", Some(1)),
            ("global queue", None)
        ]
    );
    assert_eq!(trace.counters[0].samples, [(100_000, 5.0)]);
}

#[test]
fn slices_are_sorted_by_start_whatever_the_file_order() {
    let trace = fixture("known.json");
    let p1 = trace.track(1, 1).expect("P1");
    let starts: Vec<i64> = p1.slices.iter().map(|s| s.start).collect();
    assert_eq!(starts, [100_000, 106_000, 130_000]);
}

#[test]
fn slices_that_touch_do_not_overlap() {
    let trace = parse_str(
        r#"[
        {"ph":"X","name":"a","pid":1,"tid":0,"ts":1,"dur":1},
        {"ph":"X","name":"b","pid":1,"tid":0,"ts":2,"dur":0},
        {"ph":"X","name":"c","pid":1,"tid":0,"ts":2,"dur":1}
    ]"#,
    )
    .expect("touching slices are fine");
    assert_eq!(trace.slice_count(), 3);
}

#[test]
fn the_bare_array_form_is_accepted() {
    let trace =
        parse_str(r#"[{"ph":"X","name":"a","pid":1,"tid":3,"ts":1,"dur":2}]"#).expect("array form");
    assert_eq!(trace.tracks[0].tid, 3);
    assert_eq!((trace.start, trace.end), (1_000, 3_000));
}

#[test]
fn other_top_level_keys_are_ignored() {
    let trace = parse_str(
        r#"{"displayTimeUnit":"ns","otherData":{"v":1},"traceEvents":[],"stackFrames":{}}"#,
    )
    .expect("valid");
    assert_eq!(trace.events, 0);
    assert!(trace.tracks.is_empty());
}

#[test]
fn slices_that_are_not_polls_need_no_g() {
    let trace = parse_str(
        r#"[{"ph":"X","name":"block_on","cat":"user","pid":1,"tid":0,"ts":1,"dur":2,"args":{"note":"x"}}]"#,
    )
    .expect("valid");
    let s = &trace.tracks[0].slices[0];
    assert_eq!((s.g, s.end), (None, None));
    assert_eq!(trace.str(s.extra), r#"{"note":"x"}"#);
}

#[test]
fn unsupported_phases_are_counted_not_rejected() {
    let trace = fixture("known.json");
    assert_eq!(trace.kinds.get(&(Phase::Ignored, "B".to_owned())), Some(&1));
}

#[test]
fn thread_sort_index_orders_tracks() {
    let trace = parse_str(
        r#"[
        {"ph":"M","name":"thread_name","pid":1,"tid":0,"args":{"name":"P0"}},
        {"ph":"M","name":"thread_name","pid":1,"tid":1,"args":{"name":"P1"}},
        {"ph":"M","name":"thread_sort_index","pid":1,"tid":0,"args":{"sort_index":5}}
    ]"#,
    )
    .expect("valid");
    let names: Vec<&str> = trace.tracks.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["P1", "P0"]);
}

#[test]
fn escaped_strings_are_unescaped() {
    let trace = parse_str(
        r#"[{"ph":"X","name":"G\u0031","cat":"poll","pid":1,"tid":0,"ts":0,"dur":1,"args":{"g":1,"end":"ready","spawn":"src\/a \"b\".rs:1:1"}}]"#,
    )
    .expect("valid");
    let s = &trace.tracks[0].slices[0];
    assert_eq!(trace.str(s.name), "G1");
    assert_eq!(trace.str(s.spawn), r#"src/a "b".rs:1:1"#);
}

#[test]
fn each_runtime_is_a_process_and_labels_its_tracks() {
    let trace = fixture("two_runtimes.json");
    assert!(trace.multi_process());
    assert_eq!(trace.processes.len(), 2);
    assert_eq!(trace.title(), "gmp runtime 0, gmp runtime 1");
    let labels: Vec<String> = trace.tracks.iter().map(|t| trace.track_label(t)).collect();
    assert_eq!(
        labels,
        [
            "gmp runtime 0 · P0",
            "gmp runtime 0 · P1",
            "gmp runtime 1 · P0",
            "gmp runtime 1 · M3 (no P)"
        ]
    );
    // An M's own track is not a P.
    assert_eq!(trace.tracks[3].p(), None);
}

#[test]
fn the_recorders_extra_poll_ends_are_known() {
    let trace = fixture("two_runtimes.json");
    let ends: Vec<Option<PollEnd>> = trace
        .tracks
        .iter()
        .flat_map(|t| &t.slices)
        .map(|s| s.end)
        .collect();
    assert_eq!(
        ends,
        [
            Some(PollEnd::Retaken),
            Some(PollEnd::Skipped),
            Some(PollEnd::Running)
        ]
    );
}

#[test]
fn a_single_runtime_labels_tracks_by_their_own_names() {
    let trace = fixture("known.json");
    assert!(!trace.multi_process());
    assert_eq!(trace.track_label(&trace.tracks[0]), "P0");
    assert_eq!(trace.title(), "gmp (procs=3)");
}
