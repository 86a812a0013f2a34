#!/usr/bin/env bash
# One command on a fresh Debian 12 machine, as root: install what is missing,
# build, and run the bundled scenario suites. Exit code: pipefault's (the
# posix and seed suites contain buggy servers on purpose, so 1 is expected).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/deps.sh
tools/build.sh build
exec build/harness/pipefault run scenarios/posix scenarios/seed "$@"
