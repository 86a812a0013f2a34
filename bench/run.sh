#!/bin/sh
# run.sh - builds and runs pfbench (see README.md).
#   bench/run.sh [BUILD_DIR] [pfbench options...]
# BUILD_DIR (default: build/ at the top of the tree) must be, or becomes, a
# configured build of the project; pfcore is built there if needed and the
# benchmark programs land in BUILD_DIR/bench/.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build=${1:-$root/build}
[ $# -gt 0 ] && shift
case $build in /*) ;; *) build=$(pwd)/$build ;; esac

if [ ! -f "$build/CMakeCache.txt" ]; then
    cmake -S "$root" -B "$build" >/dev/null
fi
cmake --build "$build" --target pfcore >/dev/null

out=$build/bench
mkdir -p "$out"
cflags="-std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror"
cc $cflags -o "$out/ok_server" "$here/ok_server.c"
# shellcheck disable=SC2046
cc $cflags -I"$root/harness/src" -o "$out/pfbench" "$here/pfbench.c" \
    "$build/harness/libpfcore.a" \
    $(pkg-config --libs yaml-0.1 json-c libseccomp libacl) -lm
exec "$out/pfbench" "$@"
