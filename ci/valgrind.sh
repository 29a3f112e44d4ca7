#!/usr/bin/env bash
# Valgrind memcheck over representative test binaries: gmp-exec's spawn.rs
# (spawn from tasks, plain threads and block_on; wakes across Ps; yield) and
# coroutines.rs (stackful Gs: stacks mapped in slabs, switched by corosensei,
# unwound on drop). Memory errors and definite or indirect leaks fail the run.
# "Possibly lost" blocks are listed but do not fail it: they are std's
# per-thread data (thread handle, TLS vectors) of threads still alive when the
# test binary exits: the process-wide default runtime's Ms, which by design are
# never shut down (found in spawn.rs's run: every such record is under
# pthread_create or std::thread::current).
#
# Coroutine stacks: neither corosensei nor gmp-coro calls
# VALGRIND_STACK_REGISTER. memcheck notices the stack pointer jumping between
# our mmap'd stacks, prints "client switching stacks?" warnings and treats the
# jump as a switch (it does not mark memory undefined across a switch larger
# than --max-stackframe), so there are warnings but no errors; memcheck's
# leak check is unaffected. The warnings are left in the log, not suppressed.
#   VALGRIND_TESTS   which gmp-exec test binaries (default: spawn coroutines)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-1}"
export CARGO_TERM_COLOR=never
t0=$SECONDS
if ! command -v valgrind >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1 \
        && timeout 600 apt-get install -y -qq valgrind >/dev/null 2>&1; then
        echo "installed $(valgrind --version)"
    else
        echo "SKIPPED: valgrind is not installed and apt-get could not install it"
        exit 0
    fi
fi
for t in ${VALGRIND_TESTS:-spawn coroutines}; do
    exe=$(cargo test -p gmp-exec --test "$t" --no-run 2>&1 |
        sed -n 's/^ *Executable .*(\(.*\))$/\1/p' | tail -n 1)
    echo "-- valgrind $exe"
    # One test thread: memcheck serialises threads anyway, and a quiet run is
    # easier to read. Child processes (the overflow test's) are not traced.
    valgrind --error-exitcode=1 --leak-check=full \
        --errors-for-leak-kinds=definite,indirect \
        --show-leak-kinds=definite,indirect,possible \
        --quiet "$exe" --test-threads=1
done
echo "valgrind tier: $((SECONDS - t0))s"
