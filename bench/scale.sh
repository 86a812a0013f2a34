#!/bin/sh
# scale.sh - wall time and attempts per second of the scale scenario
# (64 client processes, 4 accounts, ~10,000 attempts, interval 0,
# `until: accepting`). Usage: bench/scale.sh [path/to/pipefault]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
pf=${1:-$here/../build/harness/pipefault}
out=$(mktemp -d /tmp/pf-scale.XXXXXX)
trap 'rm -rf "$out"' EXIT
start=$(date +%s.%N)
rc=0
"$pf" run --out "$out/run" "$here/scale/chmod-before-listen-scale.yaml" || rc=$?
end=$(date +%s.%N)
python3 - "$out/run" "$start" "$end" "$rc" <<'PY'
import glob, json, sys
out, start, end, rc = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
attempts = counted = admitted = 0
for path in glob.glob(out + "/*/trace.jsonl"):
    for line in open(path):
        e = json.loads(line)
        if e["ev"] == "attempt":
            attempts += 1
            counted += bool(e.get("counted", True))
            admitted += e["outcome"] == "ok"
wall = end - start
print(f"exit {rc}  wall {wall:.2f} s  attempts {attempts} (counted {counted}, "
      f"admitted {admitted})  {attempts / wall:.0f} attempts/s")
PY
