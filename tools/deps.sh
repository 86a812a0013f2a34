#!/usr/bin/env bash
# Installs, from Debian's archive, every package pipefault needs to build and
# test that is not already installed. Idempotent; needs root.
set -euo pipefail

packages=(
  # build
  build-essential cmake pkg-config
  # libraries: YAML, JSON, seccomp, POSIX ACLs, unit tests
  libyaml-dev libjson-c-dev libseccomp-dev libacl1-dev check
  # accounts and process tools the harness and tests use
  passwd acl util-linux procps
  # test driver and browser test
  python3 python3-pytest python3-selenium chromium chromium-driver
  # Win32 parts: cross compiler and Wine
  gcc-mingw-w64-x86-64 wine wine64
  # fixtures and benchmark: a Go server, strace for comparison
  golang-go strace
  # the loader's libFuzzer target (clang's -fsanitize=fuzzer)
  clang clang-tools
  # static analysis in tools/test-all.sh
  cppcheck
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${#packages[@]} packages present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "deps: missing ${missing[*]}; run as root to install them" >&2
  exit 3
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${missing[@]}" >/dev/null
echo "deps: done"
