// The platform seam of the BlockCache engine: allocator, prefetch, and (in
// blockcache_lock.h) the shard lock.
//
// The allocator:
//
// Entries and the memory handed to callers come from a private jemalloc build
// (symbols prefixed bcje_, see scripts/build-jemalloc.sh) when it is linked into the
// final binary, and from the system malloc otherwise (a Swift package that depends
// on the engine without the Makefile's build). The choice is made at link time
// through weak symbols and reported by bcmem_allocator_name().
//
// Names start with "bcmem_" so that libblockcache.so's export list (bc_*) never
// includes them.
#ifndef BLOCKCACHE_ALLOC_H
#define BLOCKCACHE_ALLOC_H

#include <stddef.h>
#include <stdint.h>

#include "blockcache_lock.h"

#ifdef __cplusplus
extern "C" {
#endif

// The private jemalloc, when linked in. Weak: NULL when it is not.
extern void *bcje_malloc(size_t) __attribute__((weak));
extern void bcje_free(void *) __attribute__((weak));
extern void bcje_sdallocx(void *, size_t, int) __attribute__((weak));
void *malloc(size_t);
void free(void *);

// Inline so that Swift callers reach jemalloc's fast path with one call, not two.

/// Allocates `size` bytes (size 0 allocates a minimal block). NULL when out of memory.
static inline void *bcmem_malloc(size_t size) {
    if (size == 0) size = 1;
    return bcje_malloc ? bcje_malloc(size) : malloc(size);
}

/// Frees memory from bcmem_malloc whose size is not known. NULL is a no-op.
static inline void bcmem_free(void *p) {
    if (p == NULL) return;
    if (bcje_free) bcje_free(p); else free(p);
}

/// Frees memory from bcmem_malloc(size): the faster path when the size is known.
static inline void bcmem_free_sized(void *p, size_t size) {
    if (p == NULL) return;
    if (size == 0) size = 1;
    if (bcje_sdallocx) bcje_sdallocx(p, size, 0); else free(p);
}

/// Allocates a zero-filled index table of `size` bytes. Large tables are mapped
/// directly (and offered to transparent huge pages), so that the old table's memory
/// goes back to the system the moment a grown table replaces it, instead of lingering
/// as allocator-cached pages in the process's resident size. NULL when out of memory.
void *bcmem_table_alloc(size_t size);
/// Frees a table from bcmem_table_alloc(size).
void bcmem_table_free(void *p, size_t size);

/// Starts loading the cache line at `p` (no fault if `p` is not mapped).
static inline void bcmem_prefetch(const void *p) { __builtin_prefetch(p, 0, 3); }

/// A relaxed atomic load and store of an aligned 64-bit word: plain moves on x86-64
/// and arm64, but defined behaviour when another thread reads the word while this one
/// writes it (the frequency sketch is written under its shard's lock and read by shadow
/// replays outside it).
static inline uint64_t bcmem_load_relaxed(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }
static inline void bcmem_store_relaxed(uint64_t *p, uint64_t v) { __atomic_store_n(p, v, __ATOMIC_RELAXED); }

/// The number of bytes the allocator really reserves for a request of `size` (asks
/// jemalloc; the engine uses its own inline copy of the size-class rule).
size_t bcmem_size_class(size_t size);
/// 1 when the private jemalloc is in use, 0 for the system malloc.
int bcmem_is_jemalloc(void);
/// "jemalloc <version> (private static build)" or "system malloc (...)". Static.
const char *bcmem_allocator_name(void);
/// Bytes currently allocated through the allocator (jemalloc's stats.allocated),
/// or 0 when unknown.
uint64_t bcmem_allocated_bytes(void);

#ifdef __cplusplus
}
#endif

#endif
