#!/usr/bin/env bash
# soak.sh - kill-and-clean soak: N runs of the posix suite, each killed with
# SIGKILL at a random moment, then one `pipefault clean`; prints how many
# leftovers of those runs remain (accounts, groups, work dirs, run markers,
# processes). 0 is the only good answer.
#   bench/soak.sh [N] [PIPEFAULT]      (default 200, build/harness/pipefault)
set -uo pipefail
cd "$(dirname "$0")/.."
n=${1:-200}
pf=${2:-build/harness/pipefault}
out=$(mktemp -d /tmp/pf-soak-XXXXXX)
ids=()
for ((i = 0; i < n; i++)); do
    "$pf" run --out "$out/r$i" --seed "$i" scenarios/posix >"$out/log$i" 2>&1 &
    pid=$!
    # A random moment in the first 3 s (the suite takes longer than that).
    sleep "$((RANDOM % 3)).$(printf %03d $((RANDOM % 1000)))"
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    id=$(sed -n 's/^pipefault: run \([0-9a-f]\{6\}\),.*/\1/p' "$out/log$i")
    [ -n "$id" ] && ids+=("$id")
done
"$pf" clean >"$out/clean.log" 2>&1
left=0
for id in "${ids[@]}"; do
    c=$(( $(grep -c "^pf${id}_" /etc/passwd) + $(grep -c "^pf${id}_" /etc/group) ))
    c=$((c + $(ls -d /tmp/pipefault-"$id"-* 2>/dev/null | wc -l)))
    [ -e "/var/lib/pipefault/runs/$id" ] && c=$((c + 1))
    [ "$c" -gt 0 ] && echo "run $id: $c leftovers" >&2
    left=$((left + c))
done
# Processes: servers and clients of these runs work in /tmp/pipefault-<id>-*.
for id in "${ids[@]}"; do
    p=$(ls -l /proc/[0-9]*/cwd 2>/dev/null | grep -c "/tmp/pipefault-$id-")
    left=$((left + p))
done
echo "soak: $n runs killed, ${#ids[@]} had started; leftovers after clean: $left"
rm -rf "$out"
[ "$left" -eq 0 ]
