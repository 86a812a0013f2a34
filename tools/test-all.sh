#!/usr/bin/env bash
# One command on a fresh Debian 12 machine, as root: install what is missing,
# build normally and with AddressSanitizer + UBSan, and run every test: the
# unit tests in both builds, the pytest driver (suites, CLI, injection,
# Win32 under Wine, HTML report in Chromium) in the normal build.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/deps.sh
tools/build.sh build
tools/build.sh build-asan -DPF_SANITIZE=ON -DPF_WIN32=OFF
echo "== unit tests, AddressSanitizer + UBSan build"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 ctest -L unit --output-on-failure)
echo "== all tests, normal build (report screenshots go to build/artifacts/)"
(cd build && PF_ARTIFACTS="$PWD/artifacts" ctest --output-on-failure)
