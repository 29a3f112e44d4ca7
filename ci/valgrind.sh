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
# VALGRIND_STACK_REGISTER. memcheck takes a stack-pointer jump larger than
# --max-stackframe as a switch (it may print "client switching stacks?"), and
# marks the bytes below a stack pointer that moved up as inaccessible. One read
# trips on that: gmp-coro's release_if_deep probes a finished coroutine's deep
# pages; ci/valgrind.supp suppresses exactly that (it explains why it is sound).
# Registering the stacks would need valgrind's client-request instruction
# sequence in gmp-coro (no crate for it in the tree); not done.
#   VALGRIND_TESTS   comma-separated gmp-exec test binaries, each with optional
#                    libtest arguments (default: "spawn,coroutines --skip
#                    thousand": the two 10^4-10^5-coroutine tests take minutes
#                    under memcheck)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-1}"
export CARGO_TERM_COLOR=never
t0=$SECONDS
if ! command -v valgrind >/dev/null 2>&1; then
    # A fresh machine may have no package lists yet: fetch them and retry.
    if command -v apt-get >/dev/null 2>&1 \
        && { timeout 600 apt-get install -y -qq valgrind >/dev/null 2>&1 \
             || { timeout 300 apt-get update -qq >/dev/null 2>&1 \
                  && timeout 600 apt-get install -y -qq valgrind >/dev/null 2>&1; }; }; then
        echo "installed $(valgrind --version)"
    else
        echo "SKIPPED: valgrind is not installed and apt-get could not install it"
        exit 0
    fi
fi
IFS=',' read -r -a runs <<<"${VALGRIND_TESTS:-spawn,coroutines --skip thousand}"
for run in "${runs[@]}"; do
    read -r t args <<<"$run"
    exe=$(cargo test -p gmp-exec --test "$t" --no-run 2>&1 |
        sed -n 's/^ *Executable .*(\(.*\))$/\1/p' | tail -n 1)
    echo "-- valgrind $exe $args"
    # One test thread: memcheck serialises threads anyway, and a quiet run is
    # easier to read. Child processes (the overflow test's) are not traced.
    # shellcheck disable=SC2086 # $args is several words on purpose
    # --max-stackframe: memcheck takes a stack-pointer move smaller than this
    # for a frame growing or shrinking, and marks the memory between the two
    # as dead. gmp-coro's stacks are mapped in slabs that can sit within a
    # few hundred KiB of a thread's TLS block, so with the default (2 MB) a
    # switch into a coroutine made the M's thread-locals read as invalid
    # ("Invalid read ... CURRENT ... in a rw- anonymous segment", 479 of
    # them in a_panic_in_a_coroutine_reaches_its_join_handle). 64 KiB, the
    # default coroutine stack, treats every switch as one; no frame in these
    # tests is that large.
    valgrind --max-stackframe=65536 --error-exitcode=1 --leak-check=full \
        --errors-for-leak-kinds=definite,indirect \
        --show-leak-kinds=definite,indirect,possible \
        --suppressions=ci/valgrind.supp \
        --quiet "$exe" --test-threads=1 $args
done
echo "valgrind tier: $((SECONDS - t0))s"
