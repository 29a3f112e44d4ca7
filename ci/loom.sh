#!/usr/bin/env bash
# The loom models: every interleaving of the modelled threads up to a bound on
# preemptions. CI runs bound 2 (minutes); bound 3 explores far more and takes
# much longer: `LOOM_MAX_PREEMPTIONS=3 ci/loom.sh`.
#   gmp-core   tests/loom_runq.rs      local ring and global queue
#   gmp-exec   src/loom_tests.rs       task state machine, M park/unpark, retake,
#                                      a bound G mailed to a parking M
#   gmp-netpoll tests/loom_timers.rs   timer heap; plus its --lib loom_ models
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-1}"
export CARGO_TERM_COLOR=never
export LOOM_MAX_PREEMPTIONS="${LOOM_MAX_PREEMPTIONS:-2}"
export RUSTFLAGS="--cfg loom"
export CARGO_TARGET_DIR=target/loom
t0=$SECONDS
echo "loom, preemption bound $LOOM_MAX_PREEMPTIONS"
cargo test -p gmp-core --release --test loom_runq
cargo test -p gmp-exec --release --lib loom_
cargo test -p gmp-netpoll --release --test loom_timers
cargo test -p gmp-netpoll --release --lib loom_
echo "loom tier (bound $LOOM_MAX_PREEMPTIONS): $((SECONDS - t0))s"
