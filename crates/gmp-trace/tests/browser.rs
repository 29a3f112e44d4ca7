//! The page in a real browser: `tests/browser.sh` opens it in headless
//! Chromium, checks that it loaded without a JavaScript error, drew every
//! track and passed its own interaction self-test, and saves a screenshot
//! under the target directory. Skipped, saying so, where Chromium (or bash)
//! is not installed.

use std::path::Path;
use std::process::Command;

use gmp_trace::parse_str;
use gmp_trace::synth::Synth;

#[test]
fn the_page_draws_every_track_in_headless_chromium_without_errors() {
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-test");
    std::fs::create_dir_all(&out).expect("output dir");
    let json = Synth::new(4, 4_000).seed(3).to_json();
    let tracks = parse_str(&json).expect("valid trace").tracks.len();
    let trace = out.join("trace.json");
    std::fs::write(&trace, json).expect("write trace");

    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/browser.sh");
    let run = Command::new("bash")
        .arg(script)
        .arg("--bin")
        .arg(env!("CARGO_BIN_EXE_gmp-trace"))
        .arg("--trace")
        .arg(&trace)
        .arg("--out")
        .arg(&out)
        .arg("--expect-tracks")
        .arg(tracks.to_string())
        .output();
    let result = match run {
        Ok(result) => result,
        Err(err) => {
            println!("SKIPPED: cannot run bash: {err}");
            return;
        }
    };
    let stdout = String::from_utf8_lossy(&result.stdout);
    let stderr = String::from_utf8_lossy(&result.stderr);
    if result.status.code() == Some(77) {
        let reason = stdout
            .lines()
            .find_map(|l| l.strip_prefix("SKIPPED: "))
            .unwrap_or("browser.sh skipped");
        println!("SKIPPED: {reason}");
        return;
    }
    assert!(
        result.status.success(),
        "browser.sh failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    println!("{stdout}");

    let report = std::fs::read_to_string(out.join("browser-result.txt")).expect("result file");
    let value = |key: &str| {
        report
            .lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
            .unwrap_or_else(|| panic!("{key} missing from the report:\n{report}"))
            .to_owned()
    };
    assert_eq!(value("tracks"), tracks.to_string());
    assert_eq!(value("tracks_drawn"), tracks.to_string());
    assert!(value("slices_drawn").parse::<u64>().expect("a count") > 0);
    let png = std::fs::read(out.join("gmp-trace.png")).expect("screenshot");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
}
