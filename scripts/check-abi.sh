#!/usr/bin/env bash
# Checks the shipped library's ABI promises:
#  - include/blockcache.h compiles as C99 and C++17 with every warning an error;
#  - the .so exports only bc_* functions, has the SONAME libblockcache.so.1, and needs
#    neither the Swift runtime nor a system jemalloc at load time;
#  - a C program built from include/ and the .so alone runs with an empty environment;
#  - plain python3 imports the binding (dlopen, no GLIBC_TUNABLES or LD_PRELOAD) and
#    its entries are allocated by jemalloc.
set -euo pipefail
cd "$(dirname "$0")/.."
lib=build/lib/libblockcache.so
fail=0; passed=0
ok()  { echo "ok   - $*"; passed=$((passed + 1)); }
bad() { echo "FAIL - $*"; fail=$((fail + 1)); }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

printf '#include "blockcache.h"\nint main(void){ return bc_version_number() == BC_VERSION_NUMBER ? 0 : 1; }\n' >"$tmp/h.c"
cp "$tmp/h.c" "$tmp/h.cpp"
if cc -std=c99 -Wall -Wextra -Werror -pedantic -Iinclude -c "$tmp/h.c" -o "$tmp/h.o"; then ok "header compiles as C99 -Wall -Wextra -Werror -pedantic"; else bad "header as C99"; fi
if c++ -std=c++17 -Wall -Wextra -Werror -Iinclude -c "$tmp/h.cpp" -o "$tmp/hpp.o"; then ok "header compiles as C++17 -Wall -Wextra -Werror"; else bad "header as C++17"; fi

others=$(nm -D --defined-only "$lib" | awk '{print $3}' | grep -vE '^bc_' || true)
if [ -z "$others" ]; then ok "exports only bc_* ($(nm -D --defined-only "$lib" | grep -c ' bc_') functions)"; else bad "exports beyond bc_*: $others"; fi

# Every bc_ function the header declares is exported, and nothing else.
declared=$(grep -oE 'BC_API [^(]*\bbc_[a-z0-9_]+\(' include/blockcache.h | grep -oE 'bc_[a-z0-9_]+' | sort -u)
exported=$(nm -D --defined-only "$lib" | awk '{print $3}' | sort -u)
if [ "$declared" = "$exported" ]; then ok "exports match the header's declarations"; else bad "header vs exports differ: $(diff <(echo "$declared") <(echo "$exported") | grep '^[<>]' | tr '\n' ' ')"; fi

soname=$(readelf -d "$lib" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
if [ "$soname" = "libblockcache.so.1" ]; then ok "SONAME $soname"; else bad "SONAME is '$soname'"; fi

if ldd "$lib" | grep -qE 'libswift|libjemalloc|libdispatch|libFoundation'; then bad "ldd lists Swift, Foundation or system jemalloc libraries: $(ldd "$lib" | grep -E 'swift|jemalloc|dispatch|Foundation' | tr '\n' ' ')"; else ok "ldd lists no Swift runtime and no system jemalloc"; fi

# A C program from include/ and the .so alone, run with an empty environment.
mkdir -p "$tmp/sdk/include" "$tmp/sdk/lib"
cp include/blockcache.h "$tmp/sdk/include/"
cp "$lib" "$tmp/sdk/lib/"
ln -s libblockcache.so "$tmp/sdk/lib/libblockcache.so.1"
cat >"$tmp/alone.c" <<'C'
#include "blockcache.h"
#include <stdio.h>
#include <string.h>
int main(void) {
    bc_store *s = NULL;
    if (bc_store_new(NULL, &s) != BC_OK) return 1;
    if (bc_store_set(s, "k", 1, "v", 1, 0) != BC_OK) return 2;
    void *v = NULL; size_t n = 0;
    if (bc_store_get(s, "k", 1, &v, &n) != BC_OK || n != 1 || memcmp(v, "v", 1) != 0) return 3;
    bc_free(v);
    bc_store_free(s);
    printf("%s on %s\n", bc_version_string(), bc_allocator_name());
    return strncmp(bc_allocator_name(), "jemalloc", 8) == 0 ? 0 : 4;
}
C
cc -std=c99 -I"$tmp/sdk/include" "$tmp/alone.c" -L"$tmp/sdk/lib" -lblockcache -Wl,-rpath,"$tmp/sdk/lib" -o "$tmp/alone"
if out=$(env -i "$tmp/alone"); then ok "C program from include/ + .so alone runs under env -i: $out"; else bad "C program under env -i failed"; fi

py=$(command -v python3)
if out=$(env -i PYTHONPATH="$PWD/bindings/python" BLOCKCACHE_LIBRARY="$PWD/$lib" "$py" -c 'import blockcache; print(blockcache.allocator())') && [[ "$out" == jemalloc* ]]; then
  ok "plain python3 imports blockcache (no GLIBC_TUNABLES, no LD_PRELOAD): $out"
else
  bad "plain python3 import failed or allocator is not jemalloc: ${out:-}"
fi
root=$PWD
if out=$(cd "$tmp" && env -i PYTHONPATH="$root/bindings/python" "$py" -c 'import blockcache; s = blockcache.Store(); s.set(b"k", b"v"); print(s.get(b"k"))' 2>&1) && [ "$out" = "b'v'" ]; then
  ok "the binding finds the library in the build folder without BLOCKCACHE_LIBRARY"
else
  bad "the binding did not find build/lib by itself: $out"
fi

echo "check-abi: $passed passed, $fail failed"
[ "$fail" -eq 0 ]
