#!/usr/bin/env bash
# Builds the C programs (tests, example, benchmarks) against build/lib/libblockcache.so
# into build/bin. The rpath $ORIGIN/../lib lets them find the library from there.
# Usage: scripts/c-programs.sh        (CC overrides the compiler; default cc)
set -e
cd "$(dirname "$0")/.."
cc=${CC:-cc}
[ -e build/lib/libblockcache.so ] || { echo "build/lib/libblockcache.so is missing: run 'make lib' first" >&2; exit 1; }
mkdir -p build/bin
build() { # build NAME SOURCE [extra libraries]
  name=$1 src=$2; shift 2
  echo "$cc $src -> build/bin/$name"
  "$cc" -std=c99 -O2 -Wall -Wextra -Werror -Iinclude "$src" -Lbuild/lib -lblockcache \
    -Wl,-rpath,'$ORIGIN/../lib' -pthread "$@" -o "build/bin/$name"
}
build test_blockcache tests/c/test_blockcache.c
build test_node       tests/c/test_node.c
build demo            examples/c/demo.c
build bench_hitpath   benchmarks/c/bench_hitpath.c -lm
build bench_memory    benchmarks/c/bench_memory.c
