#!/usr/bin/env bash
# valgrind memcheck on the C example and the C test suite: no invalid accesses and no
# leaks (definite, indirect or possible). The only suppression is the Swift runtime's
# process-lifetime metadata cache (tests/c/swift-runtime.supp explains it).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind is missing: run 'make deps'" >&2; exit 1; }
vg=(valgrind --quiet --leak-check=full --show-leak-kinds=definite,indirect,possible
    --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99
    --suppressions=tests/c/swift-runtime.supp)
export SWIFT_BACKTRACE=enable=no
echo "valgrind: examples/c/demo (4000 gets over 1000 keys, 2 threads)"
"${vg[@]}" build/bin/demo 4000 1000 2
echo "valgrind: tests/c/test_blockcache (stress reduced to 5000 ops per thread)"
"${vg[@]}" build/bin/test_blockcache --stress-ops 5000 | tail -n 3
echo "valgrind: 2 passed, 0 failed"
