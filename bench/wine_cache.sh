#!/usr/bin/env bash
# The Wine prefix cache, side by side in one run: the seed suite with a cold
# cache (an empty cache directory: the prefix is built, then copied), the
# same with the warm cache, the npipe seed scenario alone warm, and both
# bundled suites together warm. Prints wall times and, per run, the
# platform start-up pipefault reported. Rounds interleave the modes so that
# load from elsewhere spreads over all of them. Nothing is asserted.
# Usage: bench/wine_cache.sh [BUILD_DIR] [--rounds R]
set -euo pipefail
cd "$(dirname "$0")/.."
build=build
if [[ $# -gt 0 && $1 != --* ]]; then build=$1; shift; fi
rounds=1
[[ ${1:-} == --rounds ]] && rounds=$2
pf=$build/harness/pipefault
work=$(mktemp -d /tmp/pf-cache-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
declare -A walls startups
measure() {   # name cachedir paths...
    local name=$1 cache=$2; shift 2
    local t0 t1 log=$work/$name.log
    t0=$(date +%s.%N)
    PIPEFAULT_CACHE_DIR=$cache "$pf" run --seed 1 --out "$work/out-$name-$RANDOM" "$@" \
        >/dev/null 2>"$log" || true
    t1=$(date +%s.%N)
    walls[$name]+="$(awk "BEGIN{printf \"%.2f\", $t1 - $t0}") "
    startups[$name]+="$(sed -n 's/.*started in \([0-9.]*\) s.*/\1/p' "$log" | head -1) "
}
for ((i = 1; i <= rounds; i++)); do
    cache=$work/cache-$i
    mkdir -m 0700 "$cache"
    measure seed-cold "$cache" scenarios/seed
    measure seed-warm "$cache" scenarios/seed
    measure npipe-warm "$cache" scenarios/seed/npipe-close-before-create.yaml
    measure both-warm "$cache" scenarios/posix scenarios/seed
    rm -rf "$cache"
done
printf '%-12s %-28s %s\n' mode "wall (s) per round" "Wine start-up reported (s)"
for m in seed-cold seed-warm npipe-warm both-warm; do
    printf '%-12s %-28s %s\n' "$m" "${walls[$m]}" "${startups[$m]}"
done
