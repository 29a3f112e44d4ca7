//! The summary's numbers on a trace whose answers are worked out by hand
//! (`tests/fixtures/known.json`).

use gmp_trace::model::{Phase, PollEnd};
use gmp_trace::summary::{format_duration, format_instant, StealCell};
use gmp_trace::{load, Summary, Trace};

fn known() -> Trace {
    load(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/known.json"
    ))
    .expect("fixture")
}

#[test]
fn busiest_gs_rank_by_total_poll_time() {
    let summary = Summary::new(&known(), 10);
    let rows: Vec<(u64, u64, i64, i64)> = summary
        .busiest
        .iter()
        .map(|g| (g.g, g.polls, g.total_ns, g.max_ns))
        .collect();
    // G1: 10 + 30 µs; G4: 20; G3: 5 + 1; G2: 5; G5: 2.
    assert_eq!(
        rows,
        [
            (1, 2, 40_000, 30_000),
            (4, 1, 20_000, 20_000),
            (3, 2, 6_000, 5_000),
            (2, 1, 5_000, 5_000),
            (5, 1, 2_000, 2_000),
        ]
    );
    assert_eq!(summary.busiest[0].spawn.as_deref(), Some("src/main.rs:1:1"));
}

#[test]
fn top_limits_the_tables() {
    let summary = Summary::new(&known(), 2);
    assert_eq!(summary.busiest.len(), 2);
    assert_eq!(summary.longest.len(), 2);
    assert_eq!(summary.busiest[1].g, 4);
}

#[test]
fn longest_polls_rank_by_duration_then_start() {
    let summary = Summary::new(&known(), 5);
    type Row<'a> = (Option<u64>, &'a str, i64, i64, Option<PollEnd>);
    let rows: Vec<Row<'_>> = summary
        .longest
        .iter()
        .map(|p| (p.g, p.track.as_str(), p.start_ns, p.dur_ns, p.end))
        .collect();
    // Starts are relative to the first event (100 µs). G3 and G2 both ran
    // 5 µs; G3 started first.
    assert_eq!(
        rows,
        [
            (Some(1), "P0", 20_000, 30_000, Some(PollEnd::Yield)),
            (Some(4), "P1", 6_000, 20_000, Some(PollEnd::Ready)),
            (Some(1), "P0", 0, 10_000, Some(PollEnd::Pending)),
            (Some(3), "P1", 0, 5_000, Some(PollEnd::Pending)),
            (Some(2), "P0", 10_000, 5_000, Some(PollEnd::Ready)),
        ]
    );
    assert_eq!(summary.longest[1].spawn.as_deref(), Some("src/d.rs:4:4"));
}

#[test]
fn the_steal_matrix_counts_steals_and_gs_moved_per_thief_and_victim() {
    let summary = Summary::new(&known(), 10);
    assert_eq!(summary.steals.keys().copied().collect::<Vec<_>>(), [1]);
    let m = &summary.steals[&1];
    assert_eq!(m.ps, [0, 1, 2]);
    let cell = |steals, moved| StealCell { steals, moved };
    assert_eq!(m.get(1, 0), cell(2, 6));
    assert_eq!(m.get(0, 1), cell(1, 1));
    assert_eq!(m.get(2, 0), cell(1, 3));
    assert_eq!(m.get(0, 2), cell(0, 0));
    assert_eq!(m.get(1, 1), cell(0, 0));
    assert_eq!(m.total(), cell(4, 10));
}

#[test]
fn tracks_report_polls_and_busy_time() {
    let summary = Summary::new(&known(), 10);
    let rows: Vec<(&str, u64, i64)> = summary
        .tracks
        .iter()
        .map(|t| (t.name.as_str(), t.polls, t.busy_ns))
        .collect();
    assert_eq!(
        rows,
        [
            ("P0", 3, 45_000),
            ("P1", 3, 26_000),
            ("P2", 1, 2_000),
            ("outside (foreign threads)", 0, 0)
        ]
    );
    assert_eq!(summary.span_ns, 50_000);
    assert_eq!(summary.events, 25);
}

#[test]
fn events_are_counted_per_kind_and_polls_per_end() {
    let summary = Summary::new(&known(), 10);
    let count = |phase: Phase, name: &str| {
        summary
            .kinds
            .iter()
            .find(|(p, n, _)| *p == phase && n == name)
            .map_or(0, |k| k.2)
    };
    assert_eq!(count(Phase::Slice, "poll"), 7);
    assert_eq!(count(Phase::Instant, "steal"), 4);
    assert_eq!(count(Phase::Instant, "park"), 1);
    assert_eq!(count(Phase::FlowStart, "wake"), 2);
    assert_eq!(count(Phase::FlowEnd, "wake"), 1);
    assert_eq!(count(Phase::Counter, "runqueue"), 2);
    assert_eq!(count(Phase::Counter, "global queue"), 1);
    assert_eq!(count(Phase::Metadata, "thread_name"), 4);
    assert_eq!(count(Phase::Ignored, "B"), 1);
    assert_eq!(
        summary.ends,
        [
            (PollEnd::Pending, 2),
            (PollEnd::Ready, 4),
            (PollEnd::Yield, 1)
        ]
    );
    assert_eq!(
        (
            summary.flows,
            summary.unmatched_flow_starts,
            summary.unmatched_flow_ends
        ),
        (1, 1, 0)
    );
}

#[test]
fn the_printed_summary_shows_each_table() {
    let text = Summary::new(&known(), 10).to_string();
    for needle in [
        "gmp (procs=3): 25 events over 50.00 µs, 4 tracks",
        "Busiest Gs (by total poll time)",
        "Longest polls",
        "Steal matrix (row: thief, column: victim; steals/Gs moved)",
        "total: 4 steals, 10 Gs moved",
        "polls ended: pending 2, ready 4, yield 1",
        "wakes: 1 paired, 1 starts unanswered, 0 ends unstarted",
    ] {
        assert!(text.contains(needle), "summary lacks {needle:?}:\n{text}");
    }
    // The busiest G's row, and P1's row of the steal matrix.
    let row = |first: &str| {
        text.lines()
            .find(|l| l.split_whitespace().next() == Some(first))
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
            .unwrap_or_else(|| panic!("no row starting {first:?}:\n{text}"))
    };
    assert_eq!(
        row("G1"),
        [
            "G1",
            "2",
            "40.00",
            "µs",
            "20.00",
            "µs",
            "30.00",
            "µs",
            "src/main.rs:1:1"
        ]
    );
    let steal_rows: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("Steal matrix"))
        .collect();
    let p1 = steal_rows
        .iter()
        .find(|l| l.trim_start().starts_with("P1"))
        .expect("P1 row");
    assert_eq!(
        p1.split_whitespace().collect::<Vec<_>>(),
        ["P1", "2/6", "·", "-"]
    );
}

#[test]
fn an_empty_trace_summarises_without_tables() {
    let trace = gmp_trace::parse_str(r#"{"traceEvents":[]}"#).expect("valid");
    let text = Summary::new(&trace, 10).to_string();
    assert!(text.contains("(no polls name a G)"));
    assert!(text.contains("(no Ps)"));
}

#[test]
fn durations_print_in_the_unit_that_fits() {
    assert_eq!(format_duration(850), "850 ns");
    assert_eq!(format_duration(3_250), "3.25 µs");
    assert_eq!(format_duration(12_500_000), "12.50 ms");
    assert_eq!(format_duration(1_200_000_000), "1.20 s");
}

#[test]
fn instants_print_to_the_nanosecond() {
    assert_eq!(format_instant(12_500), "12.500 µs");
    assert_eq!(format_instant(5_638_690), "5.638690 ms");
    assert_eq!(format_instant(1_000_000_001), "1.000000001 s");
}

#[test]
fn each_runtime_gets_its_own_steal_matrix() {
    let trace = load(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/two_runtimes.json"
    ))
    .expect("fixture");
    let summary = Summary::new(&trace, 10);
    assert_eq!(summary.steals.keys().copied().collect::<Vec<_>>(), [1, 2]);
    assert_eq!(summary.steals[&1].ps, [0, 1]);
    assert_eq!(
        summary.steals[&1].get(1, 0),
        StealCell {
            steals: 1,
            moved: 5
        }
    );
    // Runtime 1 has one P track, but its P0 stole from a P1.
    assert_eq!(summary.steals[&2].ps, [0, 1]);
    assert_eq!(summary.steals[&2].get(0, 1).moved, 2);
    assert_eq!(summary.steals[&2].get(1, 0).steals, 0);
    let text = summary.to_string();
    assert!(text.contains("steals/Gs moved): gmp runtime 0\n"), "{text}");
    assert!(text.contains("steals/Gs moved): gmp runtime 1\n"), "{text}");
    assert!(text.contains("gmp runtime 1 · M3 (no P)"), "{text}");
    assert_eq!(summary.longest[0].track, "gmp runtime 1 · M3 (no P)");
}
