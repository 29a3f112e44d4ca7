#!/usr/bin/env bash
# The other platforms, type-checked from Linux: `cargo check` and `cargo
# clippy -D warnings` of the library crates (lib, tests, examples) for
# macOS (x86_64 and arm64), FreeBSD and Windows (MSVC). No linker and no SDK
# is needed: checking stops before code generation. What this proves is that
# every cfg'd path compiles and lints clean there; what runs there is in the
# README's platform table. Also the Linux build without the default `coro`
# feature, which no other tier compiles.
#   CROSS_TARGETS   which targets (default: the four above)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-1}"
export CARGO_TERM_COLOR=never
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target/cross}"
t0=$SECONDS
targets="${CROSS_TARGETS:-x86_64-apple-darwin aarch64-apple-darwin x86_64-unknown-freebsd x86_64-pc-windows-msvc}"
crates="-p gmp-core -p gmp-netpoll -p gmp-coro -p gmp-exec -p gmp -p gmp-macros -p gmp-trace"
installed=$(rustup target list --installed 2>/dev/null || true)
for t in $targets; do
    t1=$SECONDS
    if ! grep -qx "$t" <<<"$installed"; then
        if ! rustup target add "$t" >/dev/null 2>&1; then
            echo "SKIPPED: $t: rustup could not add its standard library (no network?)"
            continue
        fi
    fi
    echo "-- $t: cargo check (lib, tests, examples)"
    # shellcheck disable=SC2086 # $crates is several words on purpose
    cargo check --quiet --target "$t" $crates --lib --tests --examples
    echo "-- $t: cargo clippy -D warnings"
    # shellcheck disable=SC2086
    cargo clippy --quiet --target "$t" $crates --lib --tests --examples -- -D warnings
    # The hyper example only: `graceful` waits for Unix signals.
    echo "-- $t: cargo clippy -D warnings with the hyper and tokio-io features (gmp, gmp-exec)"
    cargo clippy --quiet --target "$t" -p gmp -p gmp-exec --features gmp/hyper,gmp/tokio-io \
        --lib --example hyper_server -- -D warnings
    echo "-- $t: cargo clippy -D warnings with hyper-server, tokio-compat and tracing (gmp, gmp-exec)"
    cargo clippy --quiet --target "$t" -p gmp -p gmp-exec \
        --features gmp/hyper-server,gmp/tokio-compat,gmp/tracing --lib --example axum -- -D warnings
    echo "$t: $((SECONDS - t1))s"
done
echo "-- Linux without the coro feature: cargo clippy -D warnings"
cargo clippy --quiet -p gmp-exec -p gmp --no-default-features --lib --tests --examples -- -D warnings
echo "cross tier: $((SECONDS - t0))s in all"
