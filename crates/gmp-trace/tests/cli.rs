//! The `gmp-trace` command: what it writes, what it prints, how it exits.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_gmp-trace");

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// A fresh directory for one test's files.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gmp-trace-cli-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run gmp-trace")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn writes_the_page_where_o_says() {
    let dir = scratch("o");
    let out = dir.join("view.html");
    let result = run(&[&fixture("example.json"), "-o", out.to_str().unwrap()]);
    assert!(result.status.success(), "{}", text(&result.stderr));
    let html = std::fs::read_to_string(&out).expect("page written");
    assert!(html.contains("gmp-data"));
    assert!(text(&result.stderr).contains("3 tracks, 1 slices, 10 events"));
    assert!(result.stdout.is_empty(), "no summary unless asked");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn without_o_the_page_goes_next_to_the_trace() {
    let dir = scratch("default");
    let trace = dir.join("run.json");
    std::fs::copy(fixture("example.json"), &trace).expect("copy");
    let result = run(&[trace.to_str().unwrap()]);
    assert!(result.status.success(), "{}", text(&result.stderr));
    assert!(dir.join("run.html").exists());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn summary_alone_prints_and_writes_no_page() {
    let dir = scratch("summary");
    let trace = dir.join("known.json");
    std::fs::copy(fixture("known.json"), &trace).expect("copy");
    let result = run(&[trace.to_str().unwrap(), "--summary", "--top", "3"]);
    assert!(result.status.success(), "{}", text(&result.stderr));
    let out = text(&result.stdout);
    assert!(out.contains("total: 4 steals, 10 Gs moved"), "{out}");
    assert!(!dir.join("known.html").exists());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn summary_and_o_do_both() {
    let dir = scratch("both");
    let out = dir.join("k.html");
    let result = run(&[&fixture("known.json"), "-o", out.to_str().unwrap(), "-s"]);
    assert!(result.status.success());
    assert!(out.exists());
    assert!(text(&result.stdout).contains("Busiest Gs"));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_bad_trace_exits_1_with_a_message_naming_the_file_and_event() {
    let dir = scratch("bad");
    let trace = dir.join("bad.json");
    std::fs::write(
        &trace,
        r#"{"traceEvents":[{"ph":"X","name":"G1","pid":1,"tid":0,"ts":1}]}"#,
    )
    .expect("write");
    let result = run(&[
        trace.to_str().unwrap(),
        "-o",
        dir.join("x.html").to_str().unwrap(),
    ]);
    assert_eq!(result.status.code(), Some(1));
    let err = text(&result.stderr);
    assert!(err.contains("bad.json"), "{err}");
    assert!(err.contains("traceEvents[0]"), "{err}");
    assert!(err.contains("missing field `dur`"), "{err}");
    assert!(!dir.join("x.html").exists(), "no page for a bad trace");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_missing_file_exits_1() {
    let result = run(&["/nonexistent/trace.json", "--summary"]);
    assert_eq!(result.status.code(), Some(1));
    assert!(text(&result.stderr).contains("/nonexistent/trace.json"));
}

#[test]
fn usage_errors_exit_2_with_the_usage() {
    for args in [
        &[][..],
        &["--frobnicate"][..],
        &["a.json", "b.json"][..],
        &["a.json", "-o"][..],
        &["a.json", "--top", "many"][..],
        &["a.json", "--top", "0"][..],
    ] {
        let result = run(args);
        assert_eq!(result.status.code(), Some(2), "{args:?}");
        assert!(
            text(&result.stderr).contains("usage: gmp-trace"),
            "{args:?}"
        );
    }
}

#[test]
fn help_prints_the_usage_and_succeeds() {
    let result = run(&["--help"]);
    assert!(result.status.success());
    assert!(text(&result.stdout).contains("--summary"));
}

#[test]
fn reads_stdin_when_the_input_is_a_dash() {
    let mut child = Command::new(BIN)
        .args(["-", "--summary"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let json = std::fs::read(fixture("known.json")).expect("fixture");
    std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), &json).expect("feed");
    let result = child.wait_with_output().expect("wait");
    assert!(result.status.success(), "{}", text(&result.stderr));
    assert!(text(&result.stdout).contains("gmp (procs=3)"));
}
