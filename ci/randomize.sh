#!/usr/bin/env bash
# Order assumptions, two ways:
#  1. gmp-core's and gmp-exec's test suites built with `--cfg gmp_randomize`:
#     a coin sends a spawned or woken G to its P's ring tail instead of
#     runnext (as Go's race detector randomizes runnext), so a test that leans
#     on "the last spawned runs first" fails about half the time.
#  2. the stress and behaviour tests pinned to one CPU (`taskset -c 0`): every
#     M shares one core, so preemption lands in the windows a 2+ core run rarely
#     opens, and tests that assume parallelism show it.
# Usage: ci/randomize.sh   (GMP_STRESS_SECS bounds each stress test, default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-1}"
export CARGO_TERM_COLOR=never
t0=$SECONDS

echo "-- cargo test -p gmp-core -p gmp-exec under --cfg gmp_randomize (target/randomize)"
RUSTFLAGS="--cfg gmp_randomize" CARGO_TARGET_DIR=target/randomize \
    cargo test -p gmp-core -p gmp-exec
echo "randomized suite: $((SECONDS - t0))s"

t1=$SECONDS
if ! command -v taskset >/dev/null 2>&1; then
    echo "SKIPPED: taskset is missing (util-linux): the one-core run needs it"
else
    # The ordinary build (the one `cargo test` made), run on CPU 0 alone.
    for t in "-p gmp-core --test stress_runq" \
        "-p gmp-exec --test stress" \
        "-p gmp-exec --test spawn" \
        "-p gmp-exec --test shutdown" \
        "-p gmp-exec --test faults" \
        "-p gmp-exec --test abort_and_detach" \
        "-p gmp-exec --test no_starvation" \
        "-p gmp-exec --test no_double_poll" \
        "-p gmp-exec --test coroutine_stress" \
        "-p gmp-exec --test chan"; do
        echo "-- taskset -c 0 cargo test $t"
        # shellcheck disable=SC2086 # $t is several words on purpose
        cargo test $t --no-run --quiet
        # shellcheck disable=SC2086
        taskset -c 0 cargo test $t
    done
    echo "one-core run: $((SECONDS - t1))s"
fi
echo "randomize tier: $((SECONDS - t0))s in all"
