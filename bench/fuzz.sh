#!/usr/bin/env bash
# Fuzzes the scenario loader with libFuzzer for N seconds (default 300):
# builds build-fuzz/ with clang and PF_FUZZ=ON, runs on a copy of
# harness/fuzz/corpus, and leaves any crashing input in build-fuzz/fuzz-run/.
# A crash found is fixed, and its input added to harness/fuzz/corpus/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-300}
CC=clang cmake -S . -B build-fuzz -DPF_FUZZ=ON -DPF_WIN32=OFF \
  -DPF_PYTHON=/usr/bin/python3 >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target fuzz_scenario
run=build-fuzz/fuzz-run
rm -rf "$run" && mkdir -p "$run" && cp -r harness/fuzz/corpus "$run/corpus"
cd "$run"
exec ../harness/fuzz/fuzz_scenario -max_total_time="$seconds" -timeout=10 \
  -rss_limit_mb=2048 -print_final_stats=1 corpus
