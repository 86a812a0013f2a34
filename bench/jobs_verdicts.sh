#!/usr/bin/env bash
# Serial against --jobs N: the same suites, the same seed, run both ways R
# times; prints per round whether every scenario got the same verdict, and
# the total "same in K/R rounds" with the wall times side by side.
# Usage: bench/jobs_verdicts.sh [BUILD_DIR] [--rounds R] [--jobs N] [PATH...]
# Needs root (Linux scenarios create accounts). Nothing is asserted.
set -euo pipefail
cd "$(dirname "$0")/.."
build=build
if [[ $# -gt 0 && $1 != --* ]]; then build=$1; shift; fi
rounds=5 jobs=2 paths=()
while [[ $# -gt 0 ]]; do
    case $1 in
    --rounds) rounds=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    *) paths+=("$1"); shift ;;
    esac
done
[[ ${#paths[@]} -gt 0 ]] || paths=(scenarios/posix scenarios/seed)
pf=$build/harness/pipefault
work=$(mktemp -d /tmp/pf-jobs-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
verdicts() {
    /usr/bin/python3 -c 'import json,sys
r=json.load(open(sys.argv[1]))
print("\n".join(sorted(s["name"]+" "+s["verdict"] for s in r["scenarios"])))' "$1/results.json"
}
same=0
for ((i = 1; i <= rounds; i++)); do
    seed=$RANDOM
    t0=$(date +%s.%N)
    "$pf" run --seed "$seed" --out "$work/s$i" "${paths[@]}" 2>/dev/null || true
    t1=$(date +%s.%N)
    "$pf" run --seed "$seed" --jobs "$jobs" --out "$work/j$i" "${paths[@]}" 2>/dev/null || true
    t2=$(date +%s.%N)
    if diff <(verdicts "$work/s$i") <(verdicts "$work/j$i") >"$work/diff"; then
        same=$((same + 1)); what=same
    else
        what="DIFFERENT: $(grep '^[<>]' "$work/diff" | tr '\n' ' ')"
    fi
    printf 'round %d seed %d: serial %6.1fs  --jobs %d %6.1fs  %s\n' "$i" "$seed" \
        "$(awk "BEGIN{print $t1 - $t0}")" "$jobs" "$(awk "BEGIN{print $t2 - $t1}")" "$what"
done
echo "verdicts the same in $same/$rounds rounds"
