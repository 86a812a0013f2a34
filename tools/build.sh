#!/usr/bin/env bash
# Configures and builds pipefault: build/ normally, or another directory with
# extra CMake arguments (e.g. build-asan -DPF_SANITIZE=ON).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
shift || true
cmake -S . -B "$dir" -DPF_PYTHON=/usr/bin/python3 "$@" >/dev/null
cmake --build "$dir" -j"$(nproc)"
