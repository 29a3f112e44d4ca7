//! Each way a trace can be bad gets its own error kind and a message that
//! names the event and the field.

use std::io;

use gmp_trace::{load, parse_str, read, ErrorKind, TraceError};

fn rejected(text: &str) -> TraceError {
    match parse_str(text) {
        Ok(_) => panic!("accepted a bad trace: {text}"),
        Err(err) => err,
    }
}

fn events(list: &str) -> String {
    format!(r#"{{"traceEvents":[{list}]}}"#)
}

fn assert_rejected(text: &str, kind: ErrorKind, needles: &[&str]) {
    let err = rejected(text);
    assert_eq!(err.kind(), kind, "wrong kind for {text}: {err}");
    let message = err.to_string();
    for needle in needles {
        assert!(
            message.contains(needle),
            "message {message:?} lacks {needle:?}"
        );
    }
}

const POLL: &str = r#"{"ph":"X","name":"G1","cat":"poll","pid":1,"tid":0,"ts":1,"dur":2,"args":{"g":1,"end":"ready"}}"#;

#[test]
fn text_that_is_not_json_is_not_json() {
    assert_rejected(
        "this is not json",
        ErrorKind::NotJson,
        &["not JSON", "line 1"],
    );
    assert_rejected("", ErrorKind::NotJson, &["EOF"]);
}

#[test]
fn a_truncated_file_names_the_event_it_broke_in() {
    let text = events(POLL);
    let cut = &text[..text.len() - 20];
    assert_rejected(cut, ErrorKind::NotJson, &["traceEvents[0]"]);
}

#[test]
fn trailing_garbage_is_not_json() {
    assert_rejected(r#"{"traceEvents":[]} x"#, ErrorKind::NotJson, &["trailing"]);
}

#[test]
fn json_that_is_not_a_trace_is_not_a_trace() {
    assert_rejected("{}", ErrorKind::NotATrace, &["traceEvents"]);
    assert_rejected("42", ErrorKind::NotATrace, &["traceEvents"]);
    assert_rejected(
        r#"{"traceEvents":5}"#,
        ErrorKind::NotATrace,
        &["array of events"],
    );
}

#[test]
fn an_event_that_is_not_an_object_is_a_bad_value() {
    assert_rejected(
        &events(&format!("{POLL},7")),
        ErrorKind::BadValue,
        &["traceEvents[1]", "an event object"],
    );
}

#[test]
fn an_event_without_ph_is_missing_a_field() {
    assert_rejected(
        &events(r#"{"name":"x","pid":1,"ts":1}"#),
        ErrorKind::MissingField,
        &["traceEvents[0]", "`ph`"],
    );
}

#[test]
fn a_slice_without_dur_is_missing_a_field() {
    assert_rejected(
        &events(&format!(
            r#"{POLL},{{"ph":"X","name":"G2","pid":1,"tid":0,"ts":5}}"#
        )),
        ErrorKind::MissingField,
        &["traceEvents[1]", r#"(X "G2")"#, "`dur`"],
    );
}

#[test]
fn each_required_field_of_each_phase_is_checked() {
    let cases = [
        (r#"{"ph":"X","name":"a","pid":1,"ts":1,"dur":1}"#, "`tid`"),
        (r#"{"ph":"X","name":"a","tid":1,"ts":1,"dur":1}"#, "`pid`"),
        (r#"{"ph":"X","name":"a","pid":1,"tid":1,"dur":1}"#, "`ts`"),
        (r#"{"ph":"X","pid":1,"tid":1,"ts":1,"dur":1}"#, "`name`"),
        (r#"{"ph":"i","name":"a","pid":1,"ts":1}"#, "`tid`"),
        (r#"{"ph":"s","pid":1,"tid":1,"ts":1}"#, "`id`"),
        (r#"{"ph":"f","id":1,"pid":1,"ts":1}"#, "`tid`"),
        (r#"{"ph":"C","name":"q","pid":1,"ts":1}"#, "`args`"),
        (
            r#"{"ph":"C","name":"q","pid":1,"ts":1,"args":{}}"#,
            "`args.<series>`",
        ),
        (
            r#"{"ph":"M","name":"thread_name","pid":1,"tid":0,"args":{}}"#,
            "`args.name`",
        ),
        (r#"{"ph":"M","name":"process_name","pid":1}"#, "`args`"),
    ];
    for (event, field) in cases {
        assert_rejected(&events(event), ErrorKind::MissingField, &[field]);
    }
}

#[test]
fn a_poll_must_name_its_g_and_how_it_ended() {
    assert_rejected(
        &events(
            r#"{"ph":"X","name":"G1","cat":"poll","pid":1,"tid":0,"ts":1,"dur":2,"args":{"end":"ready"}}"#,
        ),
        ErrorKind::MissingField,
        &["`args.g`"],
    );
    assert_rejected(
        &events(
            r#"{"ph":"X","name":"G1","cat":"poll","pid":1,"tid":0,"ts":1,"dur":2,"args":{"g":1}}"#,
        ),
        ErrorKind::MissingField,
        &["`args.end`"],
    );
}

#[test]
fn known_instants_must_carry_their_arguments() {
    let cases = [
        (
            r#"{"ph":"i","name":"steal","pid":1,"tid":0,"ts":1,"args":{"moved":2}}"#,
            "`args.from`",
        ),
        (
            r#"{"ph":"i","name":"steal","pid":1,"tid":0,"ts":1,"args":{"from":2}}"#,
            "`args.moved`",
        ),
        (
            r#"{"ph":"i","name":"netpoll","pid":1,"tid":1000,"ts":1}"#,
            "`args.woken`",
        ),
        (
            r#"{"ph":"i","name":"retake","pid":1,"tid":1000,"ts":1,"args":{}}"#,
            "`args.g`",
        ),
        (
            r#"{"ph":"i","name":"G created","pid":1,"tid":0,"ts":1,"args":{"g":2}}"#,
            "`args.parent`",
        ),
        (
            r#"{"ph":"i","name":"preempt mark","pid":1,"tid":0,"ts":1,"args":{}}"#,
            "`args.g`",
        ),
    ];
    for (event, field) in cases {
        assert_rejected(&events(event), ErrorKind::MissingField, &[field]);
    }
}

#[test]
fn a_field_of_the_wrong_type_is_a_bad_value() {
    assert_rejected(
        &events(&format!(
            r#"{POLL},{POLL},{{"ph":"X","name":"a","pid":1,"tid":0,"ts":"soon","dur":1}}"#
        )),
        ErrorKind::BadValue,
        &["traceEvents[2]", "invalid type: string \"soon\""],
    );
    assert_rejected(
        &events(
            r#"{"ph":"i","name":"steal","pid":1,"tid":0,"ts":1,"args":{"from":"P0","moved":1}}"#,
        ),
        ErrorKind::BadValue,
        &["`args.from`", "must be an integer"],
    );
    assert_rejected(
        &events(
            r#"{"ph":"X","name":"G1","cat":"poll","pid":1,"tid":0,"ts":1,"dur":2,"args":{"g":-1,"end":"ready"}}"#,
        ),
        ErrorKind::BadValue,
        &["`args.g`", "non-negative integer"],
    );
    assert_rejected(
        &events(r#"{"ph":"s","id":[1],"pid":1,"tid":0,"ts":1}"#),
        ErrorKind::BadValue,
        &["`id`"],
    );
}

#[test]
fn a_negative_duration_is_a_bad_value() {
    assert_rejected(
        &events(r#"{"ph":"X","name":"a","pid":1,"tid":0,"ts":1,"dur":-0.5}"#),
        ErrorKind::BadValue,
        &["`dur`", "negative"],
    );
}

#[test]
fn an_absurd_timestamp_is_a_bad_value() {
    assert_rejected(
        &events(r#"{"ph":"i","name":"a","pid":1,"tid":0,"ts":1e300}"#),
        ErrorKind::BadValue,
        &["`ts`", "outside"],
    );
}

#[test]
fn an_unknown_poll_end_is_a_bad_value_that_lists_the_valid_ones() {
    assert_rejected(
        &events(
            r#"{"ph":"X","name":"G1","cat":"poll","pid":1,"tid":0,"ts":1,"dur":2,"args":{"g":1,"end":"exploded"}}"#,
        ),
        ErrorKind::BadValue,
        &[
            "\"exploded\"",
            "pending, ready, yield, cancelled, panicked, preempted, skipped, retaken, running",
        ],
    );
}

#[test]
fn a_counter_value_must_be_a_number() {
    assert_rejected(
        &events(r#"{"ph":"C","name":"runqueue","pid":1,"tid":0,"ts":1,"args":{"P0":"three"}}"#),
        ErrorKind::BadValue,
        &["`args.P0`", "must be a number"],
    );
}

#[test]
fn overlapping_slices_on_one_track_are_rejected_naming_both() {
    let text = events(
        r#"{"ph":"M","name":"thread_name","pid":1,"tid":0,"args":{"name":"P0"}},
        {"ph":"X","name":"G17","cat":"poll","pid":1,"tid":0,"ts":12.5,"dur":3.25,"args":{"g":17,"end":"pending"}},
        {"ph":"X","name":"G18","cat":"poll","pid":1,"tid":0,"ts":14,"dur":1,"args":{"g":18,"end":"ready"}}"#,
    );
    assert_rejected(
        &text,
        ErrorKind::Overlap,
        &[
            r#"track "P0""#,
            "traceEvents[2] (\"G18\" at 14 µs)",
            "traceEvents[1] (\"G17\" at 12.5 µs for 3.25 µs)",
        ],
    );
}

#[test]
fn a_zero_length_slice_inside_another_overlaps_it() {
    assert_rejected(
        &events(
            r#"{"ph":"X","name":"a","pid":1,"tid":0,"ts":1,"dur":2},
            {"ph":"X","name":"b","pid":1,"tid":0,"ts":2,"dur":0}"#,
        ),
        ErrorKind::Overlap,
        &["\"b\"", "\"a\""],
    );
}

#[test]
fn the_same_times_on_different_tracks_do_not_overlap() {
    parse_str(&events(
        r#"{"ph":"X","name":"a","pid":1,"tid":0,"ts":1,"dur":2},
        {"ph":"X","name":"b","pid":1,"tid":1,"ts":1,"dur":2},
        {"ph":"X","name":"c","pid":2,"tid":0,"ts":1,"dur":2}"#,
    ))
    .expect("separate tracks");
}

#[test]
fn load_wraps_the_error_in_an_invalid_data_io_error_with_the_path() {
    let dir = std::env::temp_dir().join(format!("gmp-trace-validation-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("bad.json");
    std::fs::write(
        &path,
        events(r#"{"ph":"X","name":"a","pid":1,"tid":0,"ts":1}"#),
    )
    .expect("write");
    let err = load(&path).expect_err("bad trace");
    assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    let inner = err
        .get_ref()
        .and_then(|e| e.downcast_ref::<TraceError>())
        .expect("a TraceError inside");
    assert_eq!(inner.kind(), ErrorKind::MissingField);
    assert!(err.to_string().starts_with(&path.display().to_string()));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_missing_file_is_the_operating_systems_error_with_the_path() {
    let err = load("/nonexistent/gmp/trace.json").expect_err("no such file");
    assert_eq!(err.kind(), io::ErrorKind::NotFound);
    assert!(err.to_string().contains("/nonexistent/gmp/trace.json"));
}

#[test]
fn bytes_that_are_not_utf8_are_not_json() {
    let err = read(&b"{\"traceEvents\":[\xff]}"[..]).expect_err("not UTF-8");
    let inner = err
        .get_ref()
        .and_then(|e| e.downcast_ref::<TraceError>())
        .expect("a TraceError inside");
    assert_eq!(inner.kind(), ErrorKind::NotJson);
    assert!(inner.to_string().contains("byte 16"));
}
