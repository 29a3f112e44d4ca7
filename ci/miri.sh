#!/usr/bin/env bash
# Miri: undefined behaviour, aliasing (Stacked Borrows), data races between
# its emulated threads, and leaks, in
#  - gmp-core: the local ring, the global queue and the free list (unit tests
#    and tests/runq.rs; tests/stress_runq.rs is too long for an interpreter);
#  - the task cell: gmp-exec built with --cfg fuzzing, whose harness
#    (src/fuzz_harness.rs) runs tasks on the test's own thread, and its fixed
#    scenarios (spawn, wake, abort, join, shutdown, spawn after shutdown), plus
#    the task module's own unit tests.
# Miri cannot run the scheduler proper (its Ms are threads parked in futex and
# woken with membarrier, coroutines switch stacks in assembly), so those are
# left to the sanitizers and valgrind.
# Needs the nightly toolchain with the miri component, which ci/tools.sh
# installs where it is missing; the tier skips only if that fails.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-1}"
export CARGO_TERM_COLOR=never
t0=$SECONDS
if ! ci/tools.sh miri; then
    echo "SKIPPED: no nightly toolchain with miri, and it could not be installed (see above)"
    exit 0
fi
cargo +nightly miri setup >/dev/null
export CARGO_TARGET_DIR=target/miri
echo "-- gmp-core"
cargo +nightly miri test -p gmp-core --lib --test runq
echo "-- gmp-exec's task cell (--cfg fuzzing)"
# Both aliasing models: the task code keeps the cell pointer it was handed
# (the waker's `data`, `Notified::cell_ptr`) rather than one made from
# `&Header`, whose tag would cover the header's bytes only (Stacked Borrows
# rejected that until it was fixed).
for model in "" "-Zmiri-tree-borrows"; do
    echo "   aliasing model: ${model:-stacked borrows}"
    RUSTFLAGS="--cfg fuzzing" MIRIFLAGS="$model ${MIRIFLAGS-}" \
    cargo +nightly miri test -p gmp-exec --lib -- __fuzz:: task::
done
echo "miri tier: $((SECONDS - t0))s"
