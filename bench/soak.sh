#!/usr/bin/env bash
# soak.sh - kill-and-clean soak: N runs of the posix suite, each killed with
# SIGKILL at a random moment, then one `pipefault clean`; prints how many
# leftovers of those runs remain (accounts and groups in /etc/passwd, group,
# shadow and gshadow; work dirs; run markers; processes) and how long it took.
# Runs are recognised by their id (printed at start) and by their harness
# pid (in the marker and the accounts' GECOS tag), so one killed before it
# printed its id is counted too. 0 is the only good answer.
#   bench/soak.sh [N] [PIPEFAULT]      (default 200, build/harness/pipefault)
set -uo pipefail
cd "$(dirname "$0")/.."
n=${1:-200}
pf=${2:-build/harness/pipefault}
out=$(mktemp -d /tmp/pf-soak-XXXXXX)
ids=()
pids=()
t0=$(date +%s)
for ((i = 0; i < n; i++)); do
    "$pf" run --out "$out/r$i" --seed "$i" scenarios/posix >"$out/log$i" 2>&1 &
    pid=$!
    pids+=("$pid")
    # A random moment in the first 3 s (the suite takes longer than that).
    sleep "$((RANDOM % 3)).$(printf %03d $((RANDOM % 1000)))"
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    id=$(sed -n 's/^pipefault: run \([0-9a-f]\{6\}\),.*/\1/p' "$out/log$i")
    [ -n "$id" ] && ids+=("$id")
done
t1=$(date +%s)
"$pf" clean >"$out/clean.log" 2>&1
t2=$(date +%s)
left=0
for id in "${ids[@]}"; do
    c=0
    for f in /etc/passwd /etc/group /etc/shadow /etc/gshadow; do
        c=$((c + $(grep -c "^pf${id}_" "$f")))
    done
    c=$((c + $(ls -d /tmp/pipefault-"$id"-* 2>/dev/null | wc -l)))
    [ -e "/var/lib/pipefault/runs/$id" ] && c=$((c + 1))
    [ "$c" -gt 0 ] && echo "run $id: $c leftovers" >&2
    left=$((left + c))
done
# Markers and tagged accounts of our harness pids (also runs with no id).
for pid in "${pids[@]}"; do
    for m in /var/lib/pipefault/runs/??????; do
        [ "$(head -n1 "$m" 2>/dev/null)" = "$pid" ] && {
            echo "marker $m of pid $pid" >&2
            left=$((left + 1))
        }
    done
    c=$(grep -c ":pipefault run [0-9a-f]\{6\} pid $pid:" /etc/passwd)
    [ "$c" -gt 0 ] && echo "pid $pid: $c tagged accounts" >&2
    left=$((left + c))
done
# Processes: servers and clients of these runs work in /tmp/pipefault-<id>-*.
for id in "${ids[@]}"; do
    p=$(ls -l /proc/[0-9]*/cwd 2>/dev/null | grep -c "/tmp/pipefault-$id-")
    left=$((left + p))
done
echo "soak: $n runs killed, ${#ids[@]} had started; leftovers after clean: $left;" \
     "runs $((t1 - t0)) s, clean $((t2 - t1)) s"
rm -rf "$out"
[ "$left" -eq 0 ]
