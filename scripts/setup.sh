#!/usr/bin/env bash
# Installs what BlockCache's build and tests need on Debian, when it is missing,
# then builds the private jemalloc. Safe to run again: does nothing when all is there.
set -euo pipefail
cd "$(dirname "$0")/.."

sudo_() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

need=()
command -v cc >/dev/null || need+=(gcc)
command -v c++ >/dev/null || need+=(g++)
command -v make >/dev/null || need+=(make)
command -v valgrind >/dev/null || need+=(valgrind)
command -v dpkg-source >/dev/null || need+=(dpkg-dev)
command -v nm >/dev/null || need+=(binutils)
command -v python3 >/dev/null || need+=(python3)
command -v objcopy >/dev/null || need+=(binutils)
# The TLS tests make throw-away certificates (scripts/make-test-certs.sh).
command -v openssl >/dev/null || need+=(openssl)
# The cluster's tests and benchmarks: a real etcd, and Redis's own tools and server
# as the reference clients and the benchmark baseline.
command -v etcd >/dev/null || need+=(etcd-server)
command -v redis-cli >/dev/null || need+=(redis-tools)
command -v redis-benchmark >/dev/null || need+=(redis-tools)
command -v redis-server >/dev/null || need+=(redis-server)
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}"
  sudo_ apt-get update -qq
  sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

if ! python3 -c 'import pytest' 2>/dev/null; then
  echo "setup: installing pytest"
  python3 -m pip install -q pytest || sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-pytest >/dev/null
fi

if ! python3 -c 'import redis' 2>/dev/null; then
  echo "setup: installing redis-py (the cluster tests' Redis client)"
  python3 -m pip install -q redis
fi

# Does nothing when the archive is there and built with the current configuration.
bash scripts/build-jemalloc.sh
