// See blockcache_alloc.h. Weak references: when the private jemalloc archive is
// linked (whole-archive) the bcje_* symbols are defined and used; otherwise they are
// NULL and the system allocator is used.
#include "blockcache_alloc.h"

#define _GNU_SOURCE
#include <malloc.h>
#include <sys/mman.h>
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

// Tables at least this large are mapped directly: 256 KiB, past which a grow's
// abandoned table is worth returning to the system at once.
#define BCMEM_TABLE_MMAP_MIN ((size_t)256 << 10)

void *bcmem_table_alloc(size_t size) {
    if (size < BCMEM_TABLE_MMAP_MIN) {
        void *p = bcmem_malloc(size);
        if (p != NULL) memset(p, 0, size);
        return p;
    }
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return NULL;
#ifdef MADV_HUGEPAGE
    madvise(p, size, MADV_HUGEPAGE);  // advisory: random probes miss the TLB less
#endif
    return p;  // mmap memory is already zero
}

void bcmem_table_free(void *p, size_t size) {
    if (p == NULL) return;
    if (size < BCMEM_TABLE_MMAP_MIN) {
        bcmem_free_sized(p, size);
    } else {
        munmap(p, size);
    }
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
