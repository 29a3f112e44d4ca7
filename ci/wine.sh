#!/usr/bin/env bash
# Windows, run rather than only checked: gmp-core's, gmp-netpoll's,
# gmp-coro's and gmp-exec's tests built for x86_64-pc-windows-gnu (mingw-w64
# links them) and run under Wine, through cargo's runner setting. On demand,
# not in .ci/run: Wine and mingw are a large install. Three tests are
# skipped, for Wine's sake, not Windows': the 64-connection x 1000 round-trip
# echo (Wine's socket emulation is too slow to finish it in its 60 s; tokio
# cannot either), the 100 000 parked coroutines (Wine backs each committed or
# guarded range of a stack with its own Linux mapping, and 100 000 stacks
# pass Linux's vm.max_map_count of 65 530; Windows has no such limit), and
# fs's whole-file helpers (std::fs::copy returns Ok(0) under Wine 8, its
# CopyFileEx never reporting the bytes; a plain std program shows it).
# What ran, last time, is in the README's platform table.
#   WINE_INSTALL=0  do not apt-get install what is missing (then SKIPPED)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
t0=$SECONDS
wine=""
for w in wine64 /usr/lib/wine/wine64; do
    if command -v "$w" >/dev/null 2>&1; then wine=$(command -v "$w"); break; fi
done
if { [ -z "$wine" ] || ! command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1; } \
    && [ "${WINE_INSTALL:-1}" != 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "-- installing wine64 and gcc-mingw-w64-x86-64"
    timeout 300 apt-get update -qq >/dev/null 2>&1 || true
    DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y -qq --no-install-recommends \
        wine64 gcc-mingw-w64-x86-64 >/dev/null 2>&1 || true
    for w in wine64 /usr/lib/wine/wine64; do
        if command -v "$w" >/dev/null 2>&1; then wine=$(command -v "$w"); break; fi
    done
fi
if [ -z "$wine" ] || ! command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1; then
    echo "SKIPPED: Wine (wine64) or the mingw-w64 linker is missing and could not be installed"
    exit 0
fi
if ! rustup target list --installed | grep -qx x86_64-pc-windows-gnu \
    && ! rustup target add x86_64-pc-windows-gnu >/dev/null 2>&1; then
    echo "SKIPPED: rustup could not add x86_64-pc-windows-gnu"
    exit 0
fi
export CARGO_TARGET_DIR=target/wine
export WINEPREFIX="$PWD/target/wine/prefix" WINEDEBUG=-all
mkdir -p "$CARGO_TARGET_DIR"
echo "-- Wine prefix $WINEPREFIX ($("$wine" --version 2>/dev/null))"
"$wine" wineboot --init >/dev/null 2>&1 || true
x86_64-w64-mingw32-gcc -shared -O2 -o "$CARGO_TARGET_DIR/bcryptprimitives.dll" \
    ci/wine/bcryptprimitives.c -ladvapi32
cp "$CARGO_TARGET_DIR/bcryptprimitives.dll" "$WINEPREFIX/drive_c/windows/system32/"
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=x86_64-w64-mingw32-gcc
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER="$wine"
echo "-- cargo test --target x86_64-pc-windows-gnu -p gmp-core -p gmp-netpoll -p gmp-coro -p gmp-exec --tests"
cargo test --target x86_64-pc-windows-gnu -p gmp-core -p gmp-netpoll -p gmp-coro -p gmp-exec \
    --tests --no-fail-fast -- \
    --skip echo_64_connections_of_1000_round_trips_every_byte_verified \
    --skip a_hundred_thousand_parked_coroutines_all_wake \
    --skip whole_file_helpers_and_directories
echo "wine tier: $((SECONDS - t0))s"
