#!/usr/bin/env bash
# Opens gmp-trace's HTML page in headless Chromium and checks that it works:
# the page loads without a JavaScript error, draws every track and some slices,
# and its self-test (zoom, pan, fit, hover tooltip, click selection; the page
# drives its own event handlers when the URL ends in #selftest) passes. Then
# saves a screenshot.
#
# usage: tests/browser.sh [--bin GMP_TRACE] [--trace TRACE.json] [--out DIR]
#                         [--expect-tracks N]
#
#   --bin     the gmp-trace binary (default: built with cargo)
#   --trace   the trace to show (default: a synthetic one from the synth example)
#   --out     where the page, the DOM dump, the logs, the screenshot
#             (gmp-trace.png) and browser-result.txt go (default:
#             target/browser-test)
#   --expect-tracks N   fail unless the page reports N tracks
#
# Chromium comes from $CHROMIUM, else the first of chromium, chromium-browser,
# google-chrome, google-chrome-stable on PATH. Exit status: 0 pass, 1 fail,
# 77 skipped (no Chromium; the reason is printed after "SKIPPED:").
set -euo pipefail

crate_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
workspace_dir="$(cd "$crate_dir/../.." && pwd)"
bin="" trace="" out="" expect_tracks=""
while [ $# -gt 0 ]; do
    case "$1" in
        --bin) bin="$2"; shift 2 ;;
        --trace) trace="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        --expect-tracks) expect_tracks="$2"; shift 2 ;;
        *) echo "browser.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done

browser="${CHROMIUM:-}"
if [ -z "$browser" ]; then
    for candidate in chromium chromium-browser google-chrome google-chrome-stable; do
        if command -v "$candidate" >/dev/null 2>&1; then
            browser="$(command -v "$candidate")"
            break
        fi
    done
fi
if [ -z "$browser" ] || ! command -v "$browser" >/dev/null 2>&1; then
    echo "SKIPPED: Chromium is not installed (apt-get install -y chromium, or set CHROMIUM)"
    exit 77
fi

target_dir="${CARGO_TARGET_DIR:-$workspace_dir/target}"
out="${out:-$target_dir/browser-test}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
if [ -z "$bin" ]; then
    (cd "$workspace_dir" && cargo build --quiet -p gmp-trace --bin gmp-trace)
    bin="$target_dir/debug/gmp-trace"
fi
if [ -z "$trace" ]; then
    trace="$out/trace.json"
    (cd "$workspace_dir" && cargo run --quiet -p gmp-trace --example synth -- 4000 4) >"$trace"
fi

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

html="$out/trace.html"
"$bin" "$trace" -o "$html" 2>"$out/gmp-trace.log" || fail "gmp-trace rejected $trace: $(cat "$out/gmp-trace.log")"

# A fresh profile each run; no network, no background services.
profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT
chrome() {
    timeout 120 "$browser" --headless --no-sandbox --disable-gpu \
        --disable-background-networking --disable-component-update --disable-sync \
        --no-first-run --no-default-browser-check --user-data-dir="$profile" \
        --enable-logging=stderr --v=0 --virtual-time-budget=10000 "$@"
}

chrome --window-size=1400,860 --dump-dom "file://$html#selftest" >"$out/dom.html" 2>"$out/chromium-dom.log" ||
    fail "Chromium exited with $? while loading the page (see $out/chromium-dom.log)"

# The page mirrors window.gmpTrace into data-gmp-* attributes of <html>.
root="$(grep -m1 -o '<html[^>]*>' "$out/dom.html" || true)"
[ -n "$root" ] || fail "no <html> element in the DOM dump ($out/dom.html)"
attr() {
    { printf '%s' "$root" | grep -o "data-gmp-$1=\"[^\"]*\"" || true; } | head -n1 |
        sed -e 's/^[^"]*"//' -e 's/"$//' -e 's/&quot;/"/g' -e 's/&amp;/\&/g'
}
ready="$(attr ready)"
tracks="$(attr tracks)"
tracks_drawn="$(attr tracks-drawn)"
slices="$(attr slices-drawn)"
errors="$(attr errors)"
error_list="$(attr error-list)"
draw_ms="$(attr draw-ms)"
selftest="$(attr selftest)"

[ "$ready" = "true" ] || fail "the page never finished drawing (data-gmp-ready=${ready:-absent}; errors: ${error_list:-none})"
[ "$errors" = "0" ] || fail "the page reported $errors JavaScript error(s): $error_list"
if grep -q -E 'Uncaught|SyntaxError' "$out/chromium-dom.log"; then
    fail "the console shows an error: $(grep -m1 -E 'Uncaught|SyntaxError' "$out/chromium-dom.log")"
fi
[ "${tracks:-0}" -gt 0 ] || fail "the page reports no tracks"
if [ -n "$expect_tracks" ] && [ "$tracks" != "$expect_tracks" ]; then
    fail "the page reports $tracks tracks, the trace has $expect_tracks"
fi
[ "$tracks_drawn" = "$tracks" ] || fail "only $tracks_drawn of $tracks tracks were drawn"
[ "${slices:-0}" -gt 0 ] || fail "no slices were drawn"
[ -n "$selftest" ] || fail "the self-test did not run"
case "$selftest" in
    *false*) fail "the self-test failed: $selftest" ;;
esac

shot="$out/gmp-trace.png"
rm -f "$shot"
chrome --window-size=1400,860 --hide-scrollbars --screenshot="$shot" "file://$html" \
    >"$out/chromium-shot.log" 2>&1 || fail "Chromium exited with $? taking the screenshot"
[ -s "$shot" ] || fail "no screenshot was written"
[ "$(head -c 4 "$shot" | tail -c 3)" = "PNG" ] || fail "$shot is not a PNG"
shot_bytes="$(wc -c <"$shot")"
# A blank 1400x860 page compresses to a few KB; a drawn timeline does not.
[ "$shot_bytes" -gt 20000 ] || fail "the screenshot is suspiciously small ($shot_bytes bytes): a blank page?"

cat >"$out/browser-result.txt" <<EOF
tracks=$tracks
tracks_drawn=$tracks_drawn
slices_drawn=$slices
draw_ms=$draw_ms
selftest=$selftest
screenshot=$shot
screenshot_bytes=$shot_bytes
EOF
echo "PASS: $tracks tracks, $slices slices drawn in $draw_ms ms, self-test $selftest"
echo "screenshot: $shot ($shot_bytes bytes)"
