#!/usr/bin/env bash
# ThreadSanitizer over the stress tests: a data race that the interleavings
# of these runs reach (a plain read racing a write, or atomics too weak to
# order them) is reported with both stacks.
#   - gmp-core tests/stress_runq.rs: rings, stealing, the global queue;
#   - gmp-exec tests/stress.rs: spawn, foreign wakes, steal, abort, shutdown;
#   - gmp-exec tests/no_double_poll.rs: wakes racing polls.
# TSan must see std's atomics and locks, so std is rebuilt instrumented
# (-Zbuild-std, which needs the rust-src component) with the nightly toolchain;
# ci/tools.sh installs both where they are missing, and the tier skips only
# if that fails.
# What TSan does not model: corosensei's stack switches (no fiber API calls),
# so coroutine tests are left out; and fences: a race TSan reports between
# accesses ordered only by a fence (or by membarrier) needs a look before it is
# believed.
#   TSAN_TESTS    which tests (default: the three above)
#   GMP_STRESS_SECS bounds each stress test (default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-1}"
export CARGO_TERM_COLOR=never
t0=$SECONDS
host=$(rustc -vV | sed -n 's/^host: //p')
if ! ci/tools.sh rust-src; then
    echo "SKIPPED: TSan needs the nightly toolchain with rust-src (-Zbuild-std), and it could not be installed (see above)"
    exit 0
fi
export RUSTFLAGS="-Zsanitizer=thread -Cdebug-assertions=on"
export RUSTDOCFLAGS="-Zsanitizer=thread"
export CARGO_TARGET_DIR=target/tsan
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:${TSAN_OPTIONS:-}"
tests="${TSAN_TESTS:-gmp-core:stress_runq gmp-exec:stress gmp-exec:no_double_poll}"
for t in $tests; do
    echo "-- TSan: ${t%%:*} --test ${t#*:}"
    cargo +nightly test -Zbuild-std --target "$host" -p "${t%%:*}" --test "${t#*:}"
done
echo "tsan tier: $((SECONDS - t0))s"
