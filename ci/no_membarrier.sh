#!/usr/bin/env bash
# gmp without membarrier(2): gmp-exec's unit and integration tests with the
# heavy barrier forced off (GMP_NO_MEMBARRIER=1, read once per process; see
# crates/gmp-exec/src/sched/barrier.rs). Old kernels, seccomp sandboxes and
# every non-Linux system have no membarrier: there the Ms pay a real fence on
# each P-state access and sysmon a fence per retake, and everything must still
# work (only slower). No rebuild: the knob is an environment variable, so this
# reuses `cargo test`'s build. (tests/no_membarrier.rs also makes membarrier
# fail for real, with a seccomp filter, in a child process.)
# Usage: ci/no_membarrier.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-1}"
export CARGO_TERM_COLOR=never
t0=$SECONDS
echo "-- GMP_NO_MEMBARRIER=1 cargo test -p gmp-exec --lib --tests"
GMP_NO_MEMBARRIER=1 cargo test -p gmp-exec --lib --tests
echo "no-membarrier tier: $((SECONDS - t0))s"
