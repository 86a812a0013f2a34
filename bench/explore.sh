#!/bin/sh
# explore.sh - how fast `pipefault explore` finds each buggy fixture, side by
# side with a baseline of uniform random delays at every operation.
#   bench/explore.sh [BUILD_DIR] [--budget N] [--seed S] [--jobs J] [SCENARIO...]
# Default scenarios: the buggy ones of scenarios/explore/. For each:
#   explore  - `pipefault explore --budget N`: trials (after the baseline) and
#              seconds to the first confirmed finding (a trial that failed the
#              same way 5 times in a row), shrinking and replays not counted;
#   uniform  - up to N runs of the scenario with one rule per operation the
#              platform intercepts, `delay: [0ms, 625ms]` on every occurrence,
#              a new seed each run: runs and seconds to the first `fail`
#              (one failing run, not confirmed: the baseline gets the benefit
#              of the doubt).
# Prints one line per scenario and the ratios uniform / explore. Nothing is
# asserted; the numbers move with the machine's load. Needs root.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build=$root/build
case ${1:-} in -*|"") ;; *) build=$1; shift ;; esac
budget=30
seed=1
jobs=1
while [ $# -gt 0 ]; do
    case $1 in
    --jobs) jobs=$2; shift 2 ;;
    --budget) budget=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    *) break ;;
    esac
done
pf=$build/harness/pipefault
[ -x "$pf" ] || { echo "explore.sh: no $pf (build first: tools/build.sh)" >&2; exit 3; }
if [ $# -eq 0 ]; then
    set -- "$root"/scenarios/explore/chmod-after-listen.yaml \
           "$root"/scenarios/explore/chmod-after-listen-umask000.yaml \
           "$root"/scenarios/explore/go-chmod-after-listen.yaml \
           "$root"/scenarios/explore/fifo-chmod.yaml \
           "$root"/scenarios/explore/recreate-on-error.yaml \
           "$root"/scenarios/explore/npipe.yaml \
           "$root"/scenarios/explore/npipe-go.yaml
fi
work=$(mktemp -d /tmp/pf-bench-explore.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM
py=/usr/bin/python3

jcol=
[ "$jobs" -gt 1 ] && jcol="explore --jobs $jobs"
printf '%-30s %-22s %-22s %-22s %s\n' scenario "explore trials/s" "$jcol" "uniform runs/s" \
    "ratio (uniform/explore)"
first_finding() {
    $py - "$1" <<'EOF'
import json, sys
try:
    s = json.load(open(sys.argv[1]))["scenarios"][0]
except Exception:
    print("- -"); sys.exit()
if "first_finding_trial" in s:
    print(s["first_finding_trial"], "%.1f" % s["first_finding_seconds"])
else:
    print("missed", "-")
EOF
}
for scn in "$@"; do
    name=$(basename "$scn" .yaml)
    # explore
    "$pf" explore --budget "$budget" --seed "$seed" --out "$work/x-$name" "$scn" \
        >/dev/null 2>"$work/x-$name.log" || true
    ex=$(first_finding "$work/x-$name/explore.json")
    jx=
    if [ "$jobs" -gt 1 ]; then
        "$pf" explore --budget "$budget" --seed "$seed" --jobs "$jobs" --out "$work/j-$name" \
            "$scn" >/dev/null 2>"$work/j-$name.log" || true
        jx=$(first_finding "$work/j-$name/explore.json")
        jx="${jx% *} / ${jx#* }s"
    fi
    # uniform random delays at every operation
    $py - "$scn" "$work/u-$name.yaml" <<'EOF'
import re, sys
src, dst = sys.argv[1], sys.argv[2]
text = open(src).read()
win = re.search(r"(?m)^platform:\s*win32", text) is not None
fifo = re.search(r"(?m)^\s*kind:\s*fifo", text) is not None
ops = ["create", "secure", "accept", "close"] if win else \
      ["create", "secure", "listen", "close", "unlink"] + ([] if fifo else ["accept"])
text = re.sub(r"(?m)^name:.*$", "name: uniform", text)
text = re.sub(r"(?ms)^faults:\n.*?(?=^\S|\Z)", "", text)
text += "\nfaults:\n" + "".join(
    "  - {at: %s, action: delay, delay: [0ms, 625ms]}\n" % op for op in ops)
open(dst, "w").write(text)
EOF
    start=$(date +%s.%N)
    n=0
    found=missed
    while [ "$n" -lt "$budget" ]; do
        n=$((n + 1))
        rc=0
        "$pf" run --seed "$((seed * 1000 + n))" --out "$work/u-$name-$n" "$work/u-$name.yaml" \
            >/dev/null 2>&1 || rc=$?
        # Only a `fail` verdict counts, as for explore (not error/inconclusive).
        if [ "$rc" -eq 1 ] && $py -c "import json,sys; sys.exit(json.load(open(sys.argv[1]))['scenarios'][0]['verdict'] != 'fail')" "$work/u-$name-$n/results.json" 2>/dev/null; then
            found=$n
            break
        fi
        rm -rf "$work/u-$name-$n"
    done
    secs=$($py -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$start" "$(date +%s.%N)")
    [ "$found" = missed ] && secs=-
    et=${ex% *} es=${ex#* }
    ratio=$($py - "$et" "$es" "$found" "$secs" "$budget" <<'EOF'
import sys
et, es, ut, us, budget = sys.argv[1:]
def val(x, b):
    return None if x in ("-", "missed") else float(x)
et, es, ut, us = val(et, 0), val(es, 0), val(ut, 0), val(us, 0)
if et is None and ut is None:
    print("both missed")
elif et is None:
    print("explore missed")
elif ut is None:
    print("uniform missed within %s runs" % budget)
else:
    # explore's trial 0 is the baseline run: count it as one run.
    print("trials %.1fx, seconds %.1fx" % (ut / (et + 1), us / max(es, 0.1)))
EOF
)
    printf '%-30s %-22s %-22s %-22s %s\n' "$name" "$et / ${es}s" "$jx" "$found / ${secs}s" "$ratio"
done
