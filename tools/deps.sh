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
  python3 python3-pytest python3-pytest-xdist python3-selenium chromium chromium-driver
  # Win32 parts: cross compiler and Wine
  gcc-mingw-w64-x86-64 wine wine64
  # fixtures and benchmark: a Go server, strace for comparison
  golang-go strace
  # the loader's libFuzzer target (clang's -fsanitize=fuzzer)
  clang clang-tools
  # real servers the examples/ scenarios test (drivers/test_examples.py)
  socat redis-server php-fpm memcached
  # static analysis in tools/test-all.sh
  cppcheck
  # man pages (scdoc builds them, man-db renders them in the tests) and the
  # Debian package (cpack: dpkg-shlibdeps from dpkg-dev, file finds the ELFs)
  scdoc man-db dpkg-dev file
  # the package checked against Debian policy (drivers/test_install.py)
  lintian
)
# Services those packages would start and enable: pipefault starts its own
# servers, and a system one left running would hold ports and sockets.
services=(redis-server php8.2-fpm memcached)

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
# No service starts during the install: invoke-rc.d and deb-systemd-invoke
# ask policy-rc.d, and 101 means "not allowed". Ours is removed afterwards;
# one that was already there (e.g. a container's) is left as it was.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  trap 'rm -f "$policy"' EXIT
fi
apt-get update -qq
apt-get install -y -qq "${missing[@]}" >/dev/null
# On a machine booted with systemd the units are still enabled for the next
# boot: disable them (and stop any that ran before this script).
if [ -d /run/systemd/system ]; then
  for s in "${services[@]}"; do
    systemctl disable --now "$s" >/dev/null 2>&1 || true
  done
fi
echo "deps: done"
