#!/usr/bin/env bash
# One command on a fresh Debian 12 machine, as root: install what is missing,
# build normally and with AddressSanitizer + UBSan, and run every test: the
# unit tests and the Linux driver tests in both builds; the whole pytest
# driver (suites, CLI, injection, Win32 under Wine, HTML report in Chromium)
# in the normal build.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/deps.sh
# Static analysis first: it takes a minute and fails fast.
echo "== static analysis: cppcheck over the harness and the Win32 programs (any finding fails)"
# The few accepted findings are in tools/cppcheck.supp, each with its reason.
cppcheck --quiet --error-exitcode=1 --std=c11 --enable=warning,style,performance,portability \
  --suppressions-list=tools/cppcheck.supp -I harness/src -I harness/win32 \
  harness/src harness/win32
echo "== static analysis: scan-build over the harness (any finding fails)"
rm -rf build-scan
scan-build -o build-scan/report cmake -S . -B build-scan -DPF_WIN32=OFF \
  -DPF_PYTHON=/usr/bin/python3 >/dev/null
scan-build -o build-scan/report --status-bugs make -s -C build-scan -j"$(nproc)" pipefault
tools/build.sh build
tools/build.sh build-asan -DPF_SANITIZE=ON -DPF_WIN32=OFF
# A sanitizer finding exits 86, which no test mistakes for a verdict.
export ASAN_OPTIONS=detect_leaks=1:exitcode=86 UBSAN_OPTIONS=print_stacktrace=1
echo "== unit tests, AddressSanitizer + UBSan build"
(cd build-asan && ctest -L unit --output-on-failure)
echo "== the scenario loader under libFuzzer, 60 s (clang, PF_FUZZ=ON)"
CC=clang cmake -S . -B build-fuzz -DPF_FUZZ=ON -DPF_WIN32=OFF -DPF_PYTHON=/usr/bin/python3 >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target fuzz_scenario
(cd build-fuzz && ctest -L fuzz --output-on-failure)
echo "== Linux driver tests on the AddressSanitizer + UBSan harness"
(cd build-asan && /usr/bin/python3 -m pytest -q -p no:cacheprovider ../drivers/test_posix.py \
   ../drivers/test_cli.py ../drivers/test_injection.py --pipefault harness/pipefault)
echo "== all tests, normal build (report screenshots go to build/artifacts/)"
unset ASAN_OPTIONS UBSAN_OPTIONS
# Every package is installed above, so a test skipped for a missing tool is a
# failure here, not a quiet green (drivers/conftest.py reads PF_REQUIRE_ALL).
(cd build && PF_REQUIRE_ALL=1 PF_ARTIFACTS="$PWD/artifacts" ctest --output-on-failure)
