#!/usr/bin/env bash
# Builds the private jemalloc that libblockcache.so links statically.
#
# Why not Debian's libjemalloc.so.2: it uses initial-exec TLS, so any process that
# dlopens a library depending on it (Python's ctypes) fails with "cannot allocate
# memory in static TLS block". We build Debian's own jemalloc source package with
#   --disable-initial-exec-tls    (global-dynamic TLS: safe to dlopen)
#   --with-jemalloc-prefix=bcje_  (bcje_malloc, ...: never replaces the host's malloc)
#   --with-private-namespace      (internal symbols cannot clash with another jemalloc)
#   -mtls-dialect=gnu2 on x86-64  (TLS descriptors: when the library is linked at
#                                  program start its thread-locals are a plain offset,
#                                  not a __tls_get_addr call on every malloc and free;
#                                  when it is dlopen'ed they still resolve dynamically)
#   --with-malloc-conf=thp:always (entries on transparent huge pages where the kernel
#                                  allows them: a cache's random reads over hundreds of
#                                  MB otherwise miss the TLB on nearly every access;
#                                  measured +15% on the hit-path benchmark. Override at
#                                  run time with BCJE_MALLOC_CONF=thp:never.)
# and install only the PIC static archive and header into .deps/jemalloc.
# Idempotent: does nothing when the archive is already there.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
prefix="$root/.deps/jemalloc"
# The stamp names this script's configuration: changing it rebuilds.
stamp="v2 tlsdesc thp"
[ -f "$prefix/lib/libjemalloc_pic.a" ] && [ "$(cat "$prefix/STAMP" 2>/dev/null)" = "$stamp" ] && exit 0
rm -rf "$prefix"

sudo_() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# A deb-src entry for the release the machine already uses (Debian 12 bookworm).
if ! grep -rqs '^Types:.*deb-src' /etc/apt/sources.list.d/ && ! grep -qs '^deb-src' /etc/apt/sources.list; then
  codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
  sudo_ tee /etc/apt/sources.list.d/blockcache-deb-src.sources >/dev/null <<SRC
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: $codename
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  sudo_ apt-get update -qq
fi
command -v dpkg-source >/dev/null || { sudo_ apt-get update -qq; sudo_ apt-get install -y -qq dpkg-dev; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
if ! apt-get source -qq --download-only jemalloc >/dev/null 2>&1; then
  sudo_ apt-get update -qq
  apt-get source -qq --download-only jemalloc
fi
dpkg-source -x --no-check ./*.dsc src >/dev/null
echo "building the private jemalloc (about a minute)"
cd src
# Debian's orig tarball is upstream's release tarball: configure is included.
[ -x configure ] || autoconf
cflags="-O2 -fPIC"
[ "$(uname -m)" = x86_64 ] && cflags="$cflags -mtls-dialect=gnu2"
./configure --quiet \
  --prefix="$prefix" \
  --with-jemalloc-prefix=bcje_ \
  --with-private-namespace=bcje_internal_ \
  --disable-initial-exec-tls \
  --disable-cxx \
  --disable-shared \
  --enable-static \
  --disable-doc \
  --with-malloc-conf=thp:always \
  CFLAGS="$cflags" >/dev/null
make -s -j"$(nproc)" build_lib_static >/dev/null
mkdir -p "$prefix/lib" "$prefix/include/jemalloc"
cp lib/libjemalloc_pic.a "$prefix/lib/"
cp include/jemalloc/jemalloc.h "$prefix/include/jemalloc/"
grep -m1 'define JEMALLOC_VERSION ' include/jemalloc/jemalloc.h | sed 's/.*"\(.*\)".*/\1/' > "$prefix/VERSION"
echo "$stamp" > "$prefix/STAMP"
echo "jemalloc $(cat "$prefix/VERSION") built into $prefix"
