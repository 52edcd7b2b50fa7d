// The allocator seam of the BlockCache engine.
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

#ifdef __cplusplus
extern "C" {
#endif

/// Allocates `size` bytes (size 0 allocates a minimal block). NULL when out of memory.
void *bcmem_malloc(size_t size);
/// Frees memory from bcmem_malloc whose size is not known. NULL is a no-op.
void bcmem_free(void *p);
/// Frees memory from bcmem_malloc(size): the faster path when the size is known.
void bcmem_free_sized(void *p, size_t size);
/// The number of bytes the allocator really reserves for a request of `size`.
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
