#!/bin/sh
# explore_replay.sh - do explore's reproducers fail every time?
#   bench/explore_replay.sh [BUILD_DIR] [--runs N] [--seed S] [--budget B] [--jobs J] [PATH...]
# Explores PATH (default: scenarios/explore), then runs every reproducer it
# wrote (repro/*.yaml) N times (default 50) with `pipefault run`, each run a
# process of its own with a seed of its own, and prints per reproducer how
# many runs failed exactly the expectations its finding failed (verdict
# `fail`, the same set of failed expectation ids). The issue's bar is N of
# N. Exit 0 when every reproducer met it, 1 when one did not, 3 when explore
# or a run could not be made. Needs root (as explore and run do).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build=$root/build
case ${1:-} in -*|"") ;; *) build=$1; shift ;; esac
runs=50
seed=1
budget=30
jobs=1
while [ $# -gt 0 ]; do
    case $1 in
    --runs) runs=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --budget) budget=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    *) break ;;
    esac
done
pf=$build/harness/pipefault
[ -x "$pf" ] || { echo "explore_replay.sh: no $pf (build first: tools/build.sh)" >&2; exit 3; }
[ $# -gt 0 ] || set -- "$root"/scenarios/explore
work=$(mktemp -d /tmp/pf-bench-replay.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM
py=/usr/bin/python3

rc=0
"$pf" explore --seed "$seed" --budget "$budget" --jobs "$jobs" --out "$work/x" "$@" \
    >/dev/null 2>"$work/explore.log" || rc=$?
if [ "$rc" -ne 0 ] && [ "$rc" -ne 1 ]; then
    echo "explore_replay.sh: explore exited $rc:" >&2
    tail -5 "$work/explore.log" >&2
    exit 3
fi
# One line per confirmed finding: reproducer path, then its failed ids.
$py - "$work/x/explore.json" >"$work/findings" <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1]))
for s in doc["scenarios"]:
    for f in s.get("findings", []):
        if f.get("status") == "confirmed" and f.get("reproducer"):
            print(f["reproducer"], ",".join(sorted(f["failed_expectations"])))
EOF
printf '%-44s %s\n' reproducer "runs failing the same expectations"
worst=0
while read -r repro want; do
    same=0 i=0
    while [ "$i" -lt "$runs" ]; do
        i=$((i + 1))
        out=$work/r-$i
        "$pf" run --seed "$((seed * 100000 + i))" --out "$out" "$work/x/$repro" \
            </dev/null >/dev/null 2>&1 || true
        got=$($py - "$out/results.json" <<'EOF'
import json, sys
try:
    s = json.load(open(sys.argv[1]))["scenarios"][0]
except Exception:
    print("none"); sys.exit()
if s["verdict"] != "fail":
    print(s["verdict"])
else:
    print(",".join(sorted(e["id"] for e in s["expectations"] if e["status"] == "failed")))
EOF
)
        [ "$got" = "$want" ] && same=$((same + 1))
        [ "$got" = "$want" ] || echo "  $(basename "$repro") run $i: $got (want $want)" >&2
        rm -rf "$out"
    done
    [ "$same" -eq "$runs" ] || worst=1
    printf '%-44s %d/%d (%s)\n' "$(basename "$repro")" "$same" "$runs" "$want"
done <"$work/findings"
exit "$worst"
