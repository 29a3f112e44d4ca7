#!/usr/bin/env bash
# Fuzz smoke: each cargo-fuzz target for a bounded time, starting from the
# committed seed corpus (fuzz/corpus/<target>, replayed first: a seed that fails
# fails the run) and any saved crash inputs (fuzz/artifacts/<target>, local only:
# git ignores them; they are replayed one by one before fuzzing so a fixed bug
# stays fixed). New inputs go to target/fuzz-corpus/<target>, never to the
# committed seeds.
#   FUZZ_SECS      seconds per target (default 60)
#   FUZZ_TARGETS   which targets (default: runq timers tasks)
# cargo-fuzz needs nightly features; RUSTC_BOOTSTRAP=1 lets the stable
# toolchain build it. cargo-fuzz itself is installed by ci/tools.sh where it
# is missing; the tier skips only if that fails. To grow the seeds after a
# long run:
#   RUSTC_BOOTSTRAP=1 cargo fuzz cmin <target> fuzz/corpus/<target>
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-1}"
export CARGO_TERM_COLOR=never
export RUSTC_BOOTSTRAP=1
secs="${FUZZ_SECS:-60}"
targets="${FUZZ_TARGETS:-runq timers tasks}"
t0=$SECONDS

if ! ci/tools.sh cargo-fuzz; then
    echo "SKIPPED: cargo-fuzz is not installed and could not be (see above)"
    exit 0
fi

for t in $targets; do
    cargo fuzz build "$t"
done
echo "build: $((SECONDS - t0))s"

for t in $targets; do
    t1=$SECONDS
    if compgen -G "fuzz/artifacts/$t/*" >/dev/null; then
        echo "-- $t: replaying saved inputs in fuzz/artifacts/$t"
        cargo fuzz run "$t" fuzz/artifacts/"$t"/* -- -runs=1
    fi
    mkdir -p "target/fuzz-corpus/$t" "fuzz/corpus/$t"
    echo "-- $t: ${secs}s from $(find "fuzz/corpus/$t" -type f | wc -l) seeds"
    log="target/fuzz-corpus/$t.log"
    if ! cargo fuzz run "$t" "target/fuzz-corpus/$t" "fuzz/corpus/$t" -- \
        -max_total_time="$secs" -print_final_stats=1 >"$log" 2>&1; then
        tail -n 60 "$log"
        echo "FAILED: fuzz target $t (full log: $log; the input is under fuzz/artifacts/$t)"
        exit 1
    fi
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
    echo "$t: ${execs:-?} executions, ${cov:-cov ?} edges, $((SECONDS - t1))s"
done
echo "fuzz tier: $((SECONDS - t0))s in all"
