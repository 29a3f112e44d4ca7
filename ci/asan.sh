#!/usr/bin/env bash
# AddressSanitizer + LeakSanitizer over gmp-core's and gmp-exec's tests (unit
# and integration; not doctests): use after free, overflows, double frees, and
# at each test binary's exit any allocation nothing points to any more.
#
# corosensei (under gmp-coro) switches stacks behind ASan's back unless its
# `sanitizer` feature is on: then every switch is announced with
# __sanitizer_start_switch_fiber / __sanitizer_finish_switch_fiber and a
# finished coroutine's stack is unpoisoned. gmp-coro forwards it as its own
# `sanitizer` feature, which this script turns on.
#
# The sanitizer is a nightly flag; RUSTC_BOOTSTRAP=1 lets the stable toolchain
# use it. `--target` keeps build scripts and proc macros uninstrumented. The
# prebuilt std is not instrumented (no -Zbuild-std needed for ASan), so a bug
# inside std's own code goes unseen; ours and our dependencies' do not.
#   ASAN_PACKAGES  which packages (default: -p gmp-core -p gmp-exec)
#   ASAN_FEATURES  (default gmp-coro/sanitizer; empty when no selected package
#                  depends on gmp-coro, e.g. ASAN_PACKAGES="-p gmp-core")
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-1}"
export CARGO_TERM_COLOR=never
t0=$SECONDS
host=$(rustc -vV | sed -n 's/^host: //p')
if [ "$host" != x86_64-unknown-linux-gnu ]; then
    echo "SKIPPED: ASan here is set up for x86_64-unknown-linux-gnu, not $host"
    exit 0
fi
export RUSTC_BOOTSTRAP=1
export RUSTFLAGS="-Zsanitizer=address -Cdebug-assertions=on"
export RUSTDOCFLAGS="-Zsanitizer=address"
export CARGO_TARGET_DIR=target/asan
# detect_leaks is LSan. handle_segv=0 leaves SIGSEGV to gmp-coro's guard-page
# handler (the stack-overflow tests expect its report, not ASan's).
# detect_stack_use_after_return stays off: fake stacks and stack switching
# do not mix.
export ASAN_OPTIONS="detect_leaks=1:handle_segv=0:detect_odr_violation=0:${ASAN_OPTIONS:-}"
# shellcheck disable=SC2086 # several words on purpose
features="${ASAN_FEATURES-gmp-coro/sanitizer}"
# shellcheck disable=SC2086 # several words on purpose
cargo test ${ASAN_PACKAGES:--p gmp-core -p gmp-exec} ${features:+--features "$features"} \
    --target "$host" --lib --tests --no-fail-fast
echo "asan tier: $((SECONDS - t0))s"
