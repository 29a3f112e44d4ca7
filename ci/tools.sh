#!/usr/bin/env bash
# Installs what the checking tiers need where it is missing, so that every
# tier runs on a fresh machine instead of skipping:
#   cargo-deny  `cargo install cargo-deny --locked`      (.ci/run's deny step)
#   cargo-fuzz  `cargo install cargo-fuzz --locked`      (ci/fuzz.sh)
#   miri        the nightly toolchain with miri          (ci/miri.sh)
#   rust-src    the nightly toolchain with rust-src      (ci/tsan.sh:
#               -Zbuild-std), both through `rustup toolchain install nightly
#               --profile minimal --component miri,rust-src`
# Each install is bounded by `timeout` so that a hanging download cannot eat
# CI's time limit: 900 s for a `cargo install` (it compiles: cargo-deny took
# 6 min on this 2-core machine shared with other builds), 600 s for rustup's
# download; CI_INSTALL_TIMEOUT (seconds) overrides both. One that timed out
# is not tried again. With CI_TOOLS_NO_INSTALL=1 (set by .ci/run once its
# tools step has tried) nothing is installed, only checked. Prints what it
# found or installed, with versions and times. Exits 1 if anything asked for
# could still not be had (a failed or timed-out download), after trying all
# of it: the tiers that need it then print SKIPPED with the reason.
# Usage: ci/tools.sh [cargo-deny] [cargo-fuzz] [miri] [rust-src]   (none: all)
# Measured on the 2-core development machine (crates.io index cached):
# cargo-fuzz 44 s, cargo-deny 359 s (load 5-7 from other builds), nightly
# with miri and rust-src 30 s (fresh) or 37 s (updating an older nightly).
set -uo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

# Runs the install command (after the name and a time limit in seconds)
# under that limit, or CI_INSTALL_TIMEOUT; says how it went, and leaves the
# end of its output in $install_output. Exit status 124: it timed out.
install_output=
try_install() {
    local what=$1 limit=${CI_INSTALL_TIMEOUT:-$2} t0=$SECONDS rc log
    shift 2
    install_output=
    if [ "${CI_TOOLS_NO_INSTALL:-0}" = 1 ]; then
        echo "not installing $what (CI_TOOLS_NO_INSTALL=1: tried already)"
        return 1
    fi
    echo "installing $what: $*"
    log=$(mktemp)
    timeout "$limit" "$@" >"$log" 2>&1
    rc=$?
    if [ "$rc" -eq 0 ]; then
        echo "  done in $((SECONDS - t0))s"
    elif [ "$rc" -eq 124 ]; then
        echo "  gave up after ${limit}s; the last lines:"
        tail -n 5 "$log" | sed 's/^/    /'
    else
        echo "  failed (exit $rc) after $((SECONDS - t0))s:"
        tail -n 5 "$log" | sed 's/^/    /'
    fi
    install_output=$(tail -n 20 "$log")
    rm -f "$log"
    return "$rc"
}

# `cargo install <crate> --locked` unless `cargo <sub> --version` works.
cargo_tool() {
    local crate=$1 sub=$2
    if ! cargo "$sub" --version >/dev/null 2>&1; then
        try_install "$crate" 900 cargo install "$crate" --locked --quiet
    fi
    if cargo "$sub" --version >/dev/null 2>&1; then
        echo "have $crate: $(cargo "$sub" --version)"
    else
        echo "NOT INSTALLED: $crate (no registry access?)"
        return 1
    fi
}

# Whether the nightly toolchain has component $1 (miri or rust-src).
# (`+nightly` never installs a missing toolchain by itself.)
nightly_has() {
    local sysroot
    case "$1" in
        miri) cargo +nightly miri --version >/dev/null 2>&1 ;;
        rust-src)
            sysroot=$(rustc +nightly --print sysroot 2>/dev/null) &&
                [ -d "$sysroot/lib/rustlib/src/rust/library" ]
            ;;
    esac
}

# The nightly toolchain with the components named (miri, rust-src).
nightly() {
    local c missing=()
    for c in "$@"; do
        nightly_has "$c" || missing+=("$c")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        if ! command -v rustup >/dev/null 2>&1; then
            echo "NOT INSTALLED: nightly with ${missing[*]} (no rustup to install it with)"
            return 1
        fi
        # Both at once, as CI wants them; if the newest nightly lacks one
        # (miri is missing from some for a few days), each on its own so the
        # other's tier still runs.
        if ! try_install "nightly with miri and rust-src" 600 \
            rustup toolchain install nightly --profile minimal --component miri,rust-src &&
            grep -q unavailable <<<"$install_output"; then
            for c in "${missing[@]}"; do
                nightly_has "$c" ||
                    try_install "nightly with $c" 600 \
                        rustup toolchain install nightly --profile minimal --component "$c"
            done
        fi
    fi
    local ok=0
    for c in "$@"; do
        if ! nightly_has "$c"; then
            echo "NOT INSTALLED: nightly with $c (no access to static.rust-lang.org?)"
            ok=1
        fi
    done
    [ "$ok" -eq 0 ] || return 1
    echo "have nightly: $(rustc +nightly --version)$(nightly_has miri && echo ", $(cargo +nightly miri --version)")$(nightly_has rust-src && echo ", rust-src")"
}

[ $# -gt 0 ] || set -- cargo-deny cargo-fuzz miri rust-src
status=0
components=()
for tool in "$@"; do
    case "$tool" in
        cargo-deny) cargo_tool cargo-deny deny || status=1 ;;
        cargo-fuzz) cargo_tool cargo-fuzz fuzz || status=1 ;;
        miri | rust-src) components+=("$tool") ;;
        *)
            echo "ci/tools.sh: unknown tool $tool (cargo-deny, cargo-fuzz, miri, rust-src)" >&2
            exit 2
            ;;
    esac
done
# One call for both components: one download, and one timeout at most.
if [ ${#components[@]} -gt 0 ]; then
    nightly "${components[@]}" || status=1
fi
exit "$status"
