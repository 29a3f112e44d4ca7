#!/usr/bin/env bash
# Stages the scaling benchmarks for a machine with more cores and no
# toolchain (the device machine): release builds of the sched, stackful, echo
# and hyper benchmarks, stripped, plus the Go programs built with `go build`,
# and run.sh, in one folder (default target/device-bench) to carry there:
#
#   benches/device/build.sh            # here
#   bash target/device-bench/run.sh    # there; figures land in $OUT if set
#
# Without `go`, the Go columns are skipped (said so here and there).
set -euo pipefail
cd "$(dirname "$0")/../.."
dest=${1:-target/device-bench}
rm -rf "$dest"
mkdir -p "$dest/bin" "$dest/go"

cargo bench -p gmp-benches --bench sched --bench stackful --bench echo --bench hyper \
    --no-run --message-format=json-render-diagnostics >"$dest/cargo.json"
python3 - "$dest" <<'PY'
import json, shutil, subprocess, sys
dest = sys.argv[1]
seen = set()
for line in open(f"{dest}/cargo.json"):
    msg = json.loads(line)
    if msg.get("reason") != "compiler-artifact" or not msg.get("executable"):
        continue
    name = msg["target"]["name"]
    if "bench" not in msg["target"]["kind"] or name in seen:
        continue
    seen.add(name)
    out = f"{dest}/bin/{name}"
    subprocess.run(["strip", "-o", out, msg["executable"]], check=True)
missing = {"sched", "stackful", "echo", "hyper"} - seen
if missing:
    sys.exit(f"not built: {sorted(missing)}")
PY
rm "$dest/cargo.json"

if command -v go >/dev/null; then
    for prog in sched echo; do
        (cd "benches/go/$prog" && CGO_ENABLED=0 go build -o "$OLDPWD/$dest/go/$prog" .)
    done
else
    echo "SKIPPED Go: no go on this machine (apt-get install golang-go); run.sh will skip its columns"
fi
cp benches/device/run.sh "$dest/run.sh"
du -sh "$dest"
