#!/usr/bin/env bash
# The scaling runs of issue 16, on a machine with 16 cores and no toolchain:
# run from the folder benches/device/build.sh staged. Each benchmark prints
# its markdown table; everything also goes to $OUT/device-bench.txt when the
# device tool sets $OUT. Knobs: PROCS (default 1,2,4,8,16) for the scheduler
# shapes, NET_PROCS (default 1,2,4,8) for echo and hyper, whose servers run
# on the first half of the CPUs and the load generator on the second half
# (`--pin`), so neither steals the other's cores.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
procs=${PROCS:-1,2,4,8,16}
net_procs=${NET_PROCS:-1,2,4,8}
out=${OUT:-$here}/device-bench.txt
if [ -x "$here/go/sched" ]; then
    export GMP_BENCH_GO_DIR="$here/go"
else
    echo "SKIPPED Go: no prebuilt Go programs in $here/go" | tee -a "$out"
fi
cpus=$(nproc)
half=$((cpus / 2))
server_cpus=$(seq -s, 0 $((half - 1)))
load_cpus=$(seq -s, "$half" $((cpus - 1)))

step() {
    local limit=$1
    shift
    echo "== $* (limit ${limit}s)" | tee -a "$out"
    local start=$SECONDS
    timeout "$limit" "$@" 2>&1 | tee -a "$out"
    echo "== rc ${PIPESTATUS[0]} in $((SECONDS - start))s" | tee -a "$out"
}

{
    echo "machine: $(nproc) CPUs, $(uname -sr)"
    grep -m1 'model name' /proc/cpuinfo || true
} | tee -a "$out"
step 150 "$here/bin/sched" --procs "$procs" --reps 5 --no-memory
step 150 "$here/bin/stackful" --procs "$procs" --reps 3 --no-memory \
    --shapes spawn_join,yield_many,chained_spawn,ping_pong,wake_million
if [ "$cpus" -ge 2 ]; then
    step 100 "$here/bin/echo" --procs "$net_procs" --rounds 5 --pin "$server_cpus:$load_cpus"
    step 100 "$here/bin/hyper" --procs "$net_procs" --rounds 5 --pin "$server_cpus:$load_cpus"
else
    echo "SKIPPED echo and hyper: one CPU, nothing to pin apart" | tee -a "$out"
fi
