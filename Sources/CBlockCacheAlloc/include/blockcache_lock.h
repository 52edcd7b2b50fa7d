// A small mutex for the store's shards: one 32-bit word, Drepper's three-state
// futex mutex ("Futexes Are Tricky", 2011, mutex #2) with a short spin first.
//
// Why not Synchronization.Mutex: on Linux it records the owner's thread id (a TLS
// lookup in every lock) and sleeps through priority-inheritance futexes, which cost a
// kernel round trip under the brief, frequent contention of a cache shard. Here the
// uncontended path is one compare-and-swap to lock and one exchange to unlock, and a
// contended locker spins briefly before it sleeps.
//
// States: 0 unlocked, 1 locked, 2 locked with (possible) sleepers.
#ifndef BLOCKCACHE_LOCK_H
#define BLOCKCACHE_LOCK_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

void bclock_lock_slow(uint32_t *word);
void bclock_wake_one(uint32_t *word);

static inline void bclock_lock(uint32_t *word) {
    uint32_t expected = 0;
    if (__atomic_compare_exchange_n(word, &expected, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) return;
    bclock_lock_slow(word);
}

static inline void bclock_unlock(uint32_t *word) {
    if (__atomic_exchange_n(word, 0, __ATOMIC_RELEASE) == 2) bclock_wake_one(word);
}

#ifdef __cplusplus
}
#endif

#endif
