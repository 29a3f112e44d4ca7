#!/usr/bin/env bash
# The portable backend, run where CI runs: gmp-netpoll's and gmp-exec's
# whole test suites built with `--cfg gmp_polling`, so the reactor sits on the
# `polling` crate (its epoll backend here) instead of gmp's own epoll code.
# That is the backend macOS, the BSDs and Windows get (kqueue, event ports,
# IOCP/AFD under the same interface), with its own differences (no
# EPOLLRDHUP, so a short read does not clear readability). Then the socket,
# timer and channel tests once more with GMP_NETPOLL_ONESHOT=1: sources
# registered oneshot and re-armed per wait, the path Windows (IOCP/AFD) and
# illumos (event ports) take, where polling has no edge-triggered mode.
# Separate target directory: the cfg changes every crate above gmp-netpoll.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-1}"
export CARGO_TERM_COLOR=never
export CARGO_TARGET_DIR=target/polling
export RUSTFLAGS="--cfg gmp_polling"
t0=$SECONDS
echo "-- cargo test -p gmp-netpoll -p gmp-exec under --cfg gmp_polling (target/polling)"
cargo test -p gmp-netpoll -p gmp-exec
echo "-- the same build, sources oneshot (GMP_NETPOLL_ONESHOT=1): net, time, chan, stress"
GMP_NETPOLL_ONESHOT=1 cargo test -p gmp-exec --test net --test time --test chan --test stress
echo "polling tier: $((SECONDS - t0))s"
