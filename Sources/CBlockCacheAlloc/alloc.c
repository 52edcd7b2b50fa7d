// See blockcache_alloc.h. Weak references: when the private jemalloc archive is
// linked (whole-archive) the bcje_* symbols are defined and used; otherwise they are
// NULL and the system allocator is used.
#include "blockcache_alloc.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern size_t bcje_nallocx(size_t, int) __attribute__((weak));
extern int bcje_mallctl(const char *, void *, size_t *, void *, size_t) __attribute__((weak));

#define HAVE_JE (bcje_malloc != NULL)

size_t bcmem_size_class(size_t size) {
    if (size == 0) size = 1;
    if (HAVE_JE) return bcje_nallocx(size, 0);
    // glibc: 8 bytes of chunk header, 16-byte granularity, 32-byte minimum chunk.
    size_t chunk = (size + 8 + 15) & ~(size_t)15;
    return chunk < 32 ? 32 : chunk;
}

int bcmem_is_jemalloc(void) { return HAVE_JE ? 1 : 0; }

const char *bcmem_allocator_name(void) {
    static char name[128];
    static int done;
    // Benign race: every thread writes the same bytes.
    if (!done) {
        const char *version = NULL;
        size_t len = sizeof(version);
        if (HAVE_JE && bcje_mallctl("version", &version, &len, NULL, 0) == 0 && version) {
            snprintf(name, sizeof(name), "jemalloc %s (private static build)", version);
        } else if (HAVE_JE) {
            snprintf(name, sizeof(name), "jemalloc (private static build)");
        } else {
            snprintf(name, sizeof(name), "system malloc (private jemalloc not linked)");
        }
        done = 1;
    }
    return name;
}

uint64_t bcmem_allocated_bytes(void) {
    if (!HAVE_JE) return 0;
    uint64_t epoch = 1;
    size_t sz = sizeof(epoch);
    bcje_mallctl("epoch", NULL, NULL, &epoch, sz);
    size_t allocated = 0;
    sz = sizeof(allocated);
    if (bcje_mallctl("stats.allocated", &allocated, &sz, NULL, 0) != 0) return 0;
    return (uint64_t)allocated;
}
