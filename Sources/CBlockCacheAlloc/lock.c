// See blockcache_lock.h.
#define _GNU_SOURCE
#include "blockcache_lock.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

// Spins before sleeping: a shard's critical section is a few hundred nanoseconds,
// far shorter than a futex sleep and wake-up.
#define BCLOCK_SPINS 100

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

void bclock_lock_slow(uint32_t *word) {
    for (int i = 0; i < BCLOCK_SPINS; i++) {
        cpu_relax();
        uint32_t expected = 0;
        if (__atomic_load_n(word, __ATOMIC_RELAXED) == 0 &&
            __atomic_compare_exchange_n(word, &expected, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
            return;
        }
    }
    // Mark the lock contended (2) and sleep until it is released to us.
    while (__atomic_exchange_n(word, 2, __ATOMIC_ACQUIRE) != 0) {
        syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, 2, NULL, NULL, 0);
    }
}

void bclock_wake_one(uint32_t *word) {
    syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}
