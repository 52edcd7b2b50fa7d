/*
 * bench_hitpath.c -- the C ABI hit path: BlockCache against a hand-written
 * mutex + hash map + LRU list cache.
 *
 * Workload: KEYS 8-byte keys, all preloaded; each operation picks a key by
 * Zipf(0.99) and is a get (90%) or a set of a 64-byte value (10%). The key and
 * operation stream (8M samples) is computed before timing; thread t walks it
 * from offset t * samples / threads, wrapping around. Each measurement runs for
 * a fixed time and counts completed operations. Both caches are preloaded up
 * front and measured interleaved for R rounds; the table shows medians.
 *
 * Measured, for 1 and 2 threads:
 *   baseline   one pthread mutex; open addressing (linear probing, power-of-two
 *              table of {hash, entry*}); intrusive doubly linked LRU list; one
 *              malloc per entry with key and value inline; get returns a
 *              malloc'd copy of the value that the caller frees.
 *   blockcache bc_store_get (+ bc_free) / bc_store_set; store without limits,
 *              default policy, automatic shards.
 *   get_into   the same with bc_store_get_into into a caller buffer (no
 *              allocation), for reference.
 *
 * Usage: bench_hitpath [--seconds S] [--reps R] [--keys N] [--samples N]
 *                      [--policy NAME] [--max-entries N] [--compare-lru]
 *   --policy and --max-entries configure the BlockCache store (default: default
 *   policy, no limits; a policy's bookkeeping such as W-TinyLFU's sketch runs only
 *   in a bounded store, so compare policies with --max-entries = --keys).
 *   --compare-lru also builds the same store with policy "lru" and, in every
 *   round, measures the policy's store and the LRU store for S seconds each in
 *   alternating 0.05 s slices (paired, so that noise from neighbours on a shared
 *   machine, which comes in bursts longer than a slice, hits both alike): the
 *   policy's throughput as a ratio to LRU's (issue 3's target, >= 0.9x), the
 *   median of the per-round ratios.
 *   defaults: 2 s per measurement, 3 rounds, 1000000 keys, 8388608 samples
 *   (about 40 s in all).
 */
#define _POSIX_C_SOURCE 200809L

#include "blockcache.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define VALUE_LEN 64
#define GET_PERCENT 90
#define ZIPF_S 0.99
#define SET_FLAG 0x80000000u /* in a sample: this operation is a set */
#define BATCH 1024           /* operations between looks at the stop flag */
#define MAX_THREADS 2
#define SLICE_S 0.05         /* --compare-lru: policy and lru alternate in slices this long */

/* ---- Random numbers and Zipf ------------------------------------------------------ */

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static double uniform01(uint64_t *x)
{
    return (double)(splitmix64(x) >> 11) * (1.0 / 9007199254740992.0);
}

/* Zipf sampling by rejection-inversion: W. Hörmann and G. Derflinger,
   "Rejection-inversion to generate variates from monotone discrete
   distributions", ACM TOMACS 6(3), 1996; same formulation as Apache Commons
   RNG's RejectionInversionZipfSampler. O(1) per sample, exact for any n. */
struct zipf {
    double n, s;
    double h_integral_x1, h_integral_n, shift;
};

static double helper1(double x) /* log1p(x) / x, accurate near 0 */
{
    return fabs(x) > 1e-8 ? log1p(x) / x : 1.0 - x * (0.5 - x * (1.0 / 3.0 - 0.25 * x));
}

static double helper2(double x) /* expm1(x) / x, accurate near 0 */
{
    return fabs(x) > 1e-8 ? expm1(x) / x : 1.0 + x * 0.5 * (1.0 + x * (1.0 / 3.0) * (1.0 + 0.25 * x));
}

static double zipf_h(const struct zipf *z, double x) { return exp(-z->s * log(x)); }

static double zipf_h_integral(const struct zipf *z, double x)
{
    double lx = log(x);
    return helper2((1.0 - z->s) * lx) * lx;
}

static double zipf_h_integral_inv(const struct zipf *z, double x)
{
    double t = x * (1.0 - z->s);
    if (t < -1.0)
        t = -1.0;
    return exp(helper1(t) * x);
}

static void zipf_init(struct zipf *z, long n, double s)
{
    z->n = (double)n;
    z->s = s;
    z->h_integral_x1 = zipf_h_integral(z, 1.5) - 1.0;
    z->h_integral_n = zipf_h_integral(z, z->n + 0.5);
    z->shift = 2.0 - zipf_h_integral_inv(z, zipf_h_integral(z, 2.5) - zipf_h(z, 2.0));
}

/* A rank in 1..n; rank 1 is the most popular. */
static long zipf_sample(const struct zipf *z, uint64_t *rng)
{
    for (;;) {
        double u = z->h_integral_n + uniform01(rng) * (z->h_integral_x1 - z->h_integral_n);
        double x = zipf_h_integral_inv(z, u);
        double k = floor(x + 0.5);
        if (k < 1.0)
            k = 1.0;
        else if (k > z->n)
            k = z->n;
        if (k - x <= z->shift || u >= zipf_h_integral(z, k + 0.5) - zipf_h(z, k))
            return (long)k;
    }
}

/* ---- Baseline: mutex + open addressing + intrusive LRU -------------------------------- */

struct bl_entry {
    struct bl_entry *prev, *next; /* LRU list; head.next is the most recent */
    uint64_t hash;
    uint32_t key_len, val_len;
    unsigned char data[]; /* key, then value */
};

struct bl_slot {
    uint64_t hash; /* cached, so probes rarely touch the entry */
    struct bl_entry *e;
};

struct baseline {
    pthread_mutex_t mu; /* protects everything below */
    struct bl_slot *slots;
    size_t mask;     /* table size - 1; size is a power of two */
    size_t count;
    size_t capacity; /* entry budget; 0 = none */
    struct bl_entry head; /* sentinel of the LRU list */
};

#define BL_MAX_LOAD_NUM 1 /* grow when count > size * 1/2: short linear probes */
#define BL_MAX_LOAD_DEN 2

/* wyhash-style multiply-fold hash; good enough for a table indexed by low bits. */
static uint64_t bl_mix(uint64_t a, uint64_t b)
{
    __uint128_t r = (__uint128_t)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static uint64_t bl_hash(const void *p, size_t n)
{
    const unsigned char *s = p;
    uint64_t h = UINT64_C(0x9E3779B97F4A7C15) ^ (uint64_t)n;
    uint64_t w;
    for (; n >= 8; s += 8, n -= 8) {
        memcpy(&w, s, 8);
        h = bl_mix(w ^ UINT64_C(0xa0761d6478bd642f), h ^ UINT64_C(0xe7037ed1a0b428db));
    }
    if (n > 0) {
        w = 0;
        memcpy(&w, s, n);
        h = bl_mix(w ^ UINT64_C(0xa0761d6478bd642f), h ^ UINT64_C(0xe7037ed1a0b428db));
    }
    return bl_mix(h, UINT64_C(0x8ebc6af09c88c6e3));
}

static void bl_unlink(struct bl_entry *e)
{
    e->prev->next = e->next;
    e->next->prev = e->prev;
}

static void bl_push_front(struct baseline *b, struct bl_entry *e)
{
    e->prev = &b->head;
    e->next = b->head.next;
    b->head.next->prev = e;
    b->head.next = e;
}

static int bl_init(struct baseline *b, size_t expected, size_t capacity)
{
    size_t size = 16;
    while (size * BL_MAX_LOAD_NUM / BL_MAX_LOAD_DEN < expected)
        size *= 2;
    b->slots = calloc(size, sizeof *b->slots);
    if (b->slots == NULL)
        return -1;
    b->mask = size - 1;
    b->count = 0;
    b->capacity = capacity;
    b->head.prev = b->head.next = &b->head;
    pthread_mutex_init(&b->mu, NULL);
    return 0;
}

static void bl_destroy(struct baseline *b)
{
    struct bl_entry *e = b->head.next;
    while (e != &b->head) {
        struct bl_entry *next = e->next;
        free(e);
        e = next;
    }
    free(b->slots);
    pthread_mutex_destroy(&b->mu);
}

/* Slot of key, or of the empty slot where it would go. */
static size_t bl_find(const struct baseline *b, uint64_t h, const void *key, size_t key_len)
{
    size_t i = (size_t)h & b->mask;
    for (;;) {
        const struct bl_slot *sl = &b->slots[i];
        if (sl->e == NULL)
            return i;
        if (sl->hash == h && sl->e->key_len == key_len && memcmp(sl->e->data, key, key_len) == 0)
            return i;
        i = (i + 1) & b->mask;
    }
}

/* Backward-shift deletion: no tombstones, probe sequences stay short. */
static void bl_remove_slot(struct baseline *b, size_t i)
{
    size_t j = i;
    for (;;) {
        size_t home;
        j = (j + 1) & b->mask;
        if (b->slots[j].e == NULL)
            break;
        home = (size_t)b->slots[j].hash & b->mask;
        /* The entry at j may move to i unless its home lies cyclically in (i, j]. */
        if (i <= j ? (home <= i || home > j) : (home <= i && home > j)) {
            b->slots[i] = b->slots[j];
            i = j;
        }
    }
    b->slots[i].e = NULL;
    b->count--;
}

static int bl_grow(struct baseline *b)
{
    size_t old_size = b->mask + 1, size = old_size * 2, i;
    struct bl_slot *old = b->slots, *slots = calloc(size, sizeof *slots);
    if (slots == NULL)
        return -1;
    for (i = 0; i < old_size; i++) {
        if (old[i].e != NULL) {
            size_t j = (size_t)old[i].hash & (size - 1);
            while (slots[j].e != NULL)
                j = (j + 1) & (size - 1);
            slots[j] = old[i];
        }
    }
    b->slots = slots;
    b->mask = size - 1;
    free(old);
    return 0;
}

/* Returns a malloc'd copy of the value (caller frees), or NULL on a miss. */
static void *bl_get(struct baseline *b, const void *key, size_t key_len, size_t *val_len)
{
    uint64_t h = bl_hash(key, key_len);
    void *copy = NULL;
    size_t i;
    pthread_mutex_lock(&b->mu);
    i = bl_find(b, h, key, key_len);
    if (b->slots[i].e != NULL) {
        struct bl_entry *e = b->slots[i].e;
        bl_unlink(e);
        bl_push_front(b, e);
        copy = malloc(e->val_len ? e->val_len : 1);
        if (copy != NULL) {
            memcpy(copy, e->data + e->key_len, e->val_len);
            *val_len = e->val_len;
        }
    }
    pthread_mutex_unlock(&b->mu);
    return copy;
}

static int bl_set(struct baseline *b, const void *key, size_t key_len, const void *val,
                  size_t val_len)
{
    /* Build the entry before taking the lock; free what it displaces after. */
    struct bl_entry *e = malloc(sizeof *e + key_len + val_len), *old = NULL;
    size_t i;
    if (e == NULL)
        return -1;
    e->hash = bl_hash(key, key_len);
    e->key_len = (uint32_t)key_len;
    e->val_len = (uint32_t)val_len;
    memcpy(e->data, key, key_len);
    memcpy(e->data + key_len, val, val_len);

    pthread_mutex_lock(&b->mu);
    i = bl_find(b, e->hash, key, key_len);
    if (b->slots[i].e != NULL) {
        old = b->slots[i].e;
        bl_unlink(old);
        b->slots[i].e = e;
    } else {
        if ((b->count + 1) * BL_MAX_LOAD_DEN > (b->mask + 1) * BL_MAX_LOAD_NUM) {
            if (bl_grow(b) != 0) {
                pthread_mutex_unlock(&b->mu);
                free(e);
                return -1;
            }
            i = bl_find(b, e->hash, key, key_len);
        }
        b->slots[i].hash = e->hash;
        b->slots[i].e = e;
        b->count++;
        if (b->capacity != 0 && b->count > b->capacity) {
            old = b->head.prev; /* least recently used */
            bl_unlink(old);
            bl_remove_slot(b, bl_find(b, old->hash, old->data, old->key_len));
        }
    }
    bl_push_front(b, e);
    pthread_mutex_unlock(&b->mu);
    free(old);
    return 0;
}

/* Checks the baseline's lookup, replacement, eviction and deletion paths on a
   small budget before it is timed (a wrong baseline would be a wrong yardstick). */
static int bl_selftest(void)
{
    struct baseline b;
    uint64_t k;
    unsigned char v[16];
    int ok = 1;
    if (bl_init(&b, 16, 1000) != 0)
        return 0;
    for (k = 0; k < 20000; k++) {
        memset(v, (int)(k & 0xff), sizeof v);
        memcpy(v, &k, sizeof k);
        if (bl_set(&b, &k, sizeof k, v, sizeof v) != 0)
            ok = 0;
        if (k % 3 == 0) { /* replace with the same bytes */
            if (bl_set(&b, &k, sizeof k, v, sizeof v) != 0)
                ok = 0;
        }
    }
    if (b.count != 1000)
        ok = 0;
    for (k = 0; k < 20000; k++) {
        size_t len = 0;
        unsigned char *got = bl_get(&b, &k, sizeof k, &len);
        uint64_t stored;
        if ((got != NULL) != (k >= 19000))
            ok = 0;
        if (got != NULL) {
            memcpy(&stored, got, sizeof stored);
            if (len != sizeof v || stored != k || got[15] != (unsigned char)(k & 0xff))
                ok = 0;
        }
        free(got);
    }
    bl_destroy(&b);
    return ok;
}

/* ---- Timed runs ------------------------------------------------------------------------- */

enum impl { IMPL_BASELINE, IMPL_BC_GET, IMPL_BC_GET_INTO };

struct run {
    enum impl impl;
    struct baseline *bl;
    bc_store *bc;
    const uint32_t *samples;
    size_t nsamples;
    size_t start;
    int *stop;
    pthread_barrier_t *barrier;
    uint64_t ops, misses, checksum;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *run_thread(void *p)
{
    struct run *r = p;
    unsigned char value[VALUE_LEN], buf[VALUE_LEN];
    size_t i = r->start;
    uint64_t ops = 0, misses = 0, checksum = 0;
    int k;

    memset(value, 0x5a, sizeof value);
    pthread_barrier_wait(r->barrier);
    while (!__atomic_load_n(r->stop, __ATOMIC_RELAXED)) {
        for (k = 0; k < BATCH; k++) {
            uint32_t smp = r->samples[i];
            uint64_t key = smp & ~SET_FLAG;
            if (++i == r->nsamples)
                i = 0;
            if (smp & SET_FLAG) {
                memcpy(value, &key, sizeof key);
                value[8] = (unsigned char)ops;
                if (r->impl == IMPL_BASELINE)
                    bl_set(r->bl, &key, sizeof key, value, sizeof value);
                else
                    bc_store_set(r->bc, &key, sizeof key, value, sizeof value, 0);
            } else if (r->impl == IMPL_BASELINE) {
                size_t len = 0;
                unsigned char *v = bl_get(r->bl, &key, sizeof key, &len);
                if (v == NULL)
                    misses++;
                else
                    checksum += v[0];
                free(v);
            } else if (r->impl == IMPL_BC_GET) {
                void *v = NULL;
                size_t len = 0;
                if (bc_store_get(r->bc, &key, sizeof key, &v, &len) != BC_OK)
                    misses++;
                else
                    checksum += ((unsigned char *)v)[0];
                bc_free(v);
            } else {
                size_t len = 0;
                if (bc_store_get_into(r->bc, &key, sizeof key, buf, sizeof buf, &len) != BC_OK)
                    misses++;
                else
                    checksum += buf[0];
            }
        }
        ops += BATCH;
    }
    r->ops = ops;
    r->misses = misses;
    r->checksum = checksum;
    return NULL;
}

/* Runs threads for `seconds`; returns operations per second. */
static double measure(enum impl impl, struct baseline *bl, bc_store *bc, const uint32_t *samples,
                      size_t nsamples, int threads, double seconds, uint64_t *missed)
{
    struct run r[MAX_THREADS];
    pthread_t tid[MAX_THREADS];
    pthread_barrier_t barrier;
    struct timespec ts;
    int stop = 0, t;
    uint64_t ops = 0, misses = 0;
    double t0, t1;

    pthread_barrier_init(&barrier, NULL, (unsigned)threads + 1);
    for (t = 0; t < threads; t++) {
        r[t].impl = impl;
        r[t].bl = bl;
        r[t].bc = bc;
        r[t].samples = samples;
        r[t].nsamples = nsamples;
        r[t].start = nsamples / (size_t)threads * (size_t)t;
        r[t].stop = &stop;
        r[t].barrier = &barrier;
        if (pthread_create(&tid[t], NULL, run_thread, &r[t]) != 0) {
            fprintf(stderr, "pthread_create failed\n");
            exit(1);
        }
    }
    pthread_barrier_wait(&barrier);
    t0 = now_s();
    ts.tv_sec = (time_t)seconds;
    ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
    while (nanosleep(&ts, &ts) != 0) {
    }
    __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
    for (t = 0; t < threads; t++) {
        pthread_join(tid[t], NULL);
        ops += r[t].ops;
        misses += r[t].misses;
    }
    t1 = now_s();
    pthread_barrier_destroy(&barrier);
    if (missed != NULL)
        *missed += misses;
    else if (misses != 0)
        fprintf(stderr, "warning: %llu misses (all keys were preloaded)\n",
                (unsigned long long)misses);
    return (double)ops / (t1 - t0);
}

static double median(const double *v, int n)
{
    double s[64];
    int i, j;
    for (i = 0; i < n; i++) { /* insertion sort: n is tiny */
        double x = v[i];
        for (j = i; j > 0 && s[j - 1] > x; j--)
            s[j] = s[j - 1];
        s[j] = x;
    }
    return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static int preload_bc(bc_store *s, long keys)
{
    unsigned char value[VALUE_LEN];
    uint64_t k;
    memset(value, 0x5a, sizeof value);
    for (k = 0; k < (uint64_t)keys; k++) {
        memcpy(value, &k, sizeof k);
        if (bc_store_set(s, &k, sizeof k, value, sizeof value, 0) != BC_OK) {
            fprintf(stderr, "bc_store_set: %s\n", bc_last_error_message());
            return -1;
        }
    }
    return 0;
}

static int preload_bl(struct baseline *b, long keys)
{
    unsigned char value[VALUE_LEN];
    uint64_t k;
    memset(value, 0x5a, sizeof value);
    for (k = 0; k < (uint64_t)keys; k++) {
        memcpy(value, &k, sizeof k);
        if (bl_set(b, &k, sizeof k, value, sizeof value) != 0)
            return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    double seconds = 2.0;
    long keys = 1000000;
    size_t nsamples = (size_t)8 << 20;
    static const int thread_counts[] = {1, 2};
    static const double targets[] = {1.0, 1.5};
    enum { NT = 2, MAX_REPS = 15 };
    double bl_ops[NT][MAX_REPS], bc_ops[NT][MAX_REPS], into_ops[NT][MAX_REPS];
    double lru_ops[NT][MAX_REPS], pol_ops[NT][MAX_REPS], vs_lru[NT][MAX_REPS];
    int compare_lru = 0;
    bc_store *lru = NULL;
    int reps = 3, rep;
    uint32_t *samples, *perm;
    struct zipf z;
    uint64_t rng = 42, top = 0;
    double harmonic = 0;
    size_t i;
    int t, a;
    struct baseline bl;
    bc_store_options o;
    bc_store *s = NULL;
    int32_t rc;
    const char *policy = NULL;
    unsigned long long max_entries = 0;

    for (a = 1; a < argc; a++) {
        if (strcmp(argv[a], "--seconds") == 0 && a + 1 < argc)
            seconds = atof(argv[++a]);
        else if (strcmp(argv[a], "--keys") == 0 && a + 1 < argc)
            keys = atol(argv[++a]);
        else if (strcmp(argv[a], "--samples") == 0 && a + 1 < argc)
            nsamples = (size_t)atol(argv[++a]);
        else if (strcmp(argv[a], "--reps") == 0 && a + 1 < argc)
            reps = atoi(argv[++a]);
        else if (strcmp(argv[a], "--policy") == 0 && a + 1 < argc)
            policy = argv[++a];
        else if (strcmp(argv[a], "--max-entries") == 0 && a + 1 < argc)
            max_entries = strtoull(argv[++a], NULL, 10);
        else if (strcmp(argv[a], "--compare-lru") == 0)
            compare_lru = 1;
        else {
            fprintf(stderr, "usage: %s [--seconds S] [--reps R] [--keys N] [--samples N] [--policy NAME] [--max-entries N] [--compare-lru]\n", argv[0]);
            return 2;
        }
    }
    if (reps < 1 || reps > MAX_REPS || seconds <= 0 || keys < 1 || keys >= (long)SET_FLAG || nsamples < (size_t)MAX_THREADS) {
        fprintf(stderr, "bad arguments\n");
        return 2;
    }

    printf("BlockCache %s, allocator: %s\n", bc_version_string(), bc_allocator_name());
    printf("workload: %ld keys x 8 B, %d-byte values, Zipf(%.2f), %d%% get / %d%% set, "
           "%zu precomputed samples, %d rounds of %.1f s per measurement\n",
           keys, VALUE_LEN, ZIPF_S, GET_PERCENT, 100 - GET_PERCENT, nsamples, reps, seconds);

    /* The sample stream: rank -> key through a random permutation, so popular
       keys are not neighbours; the top bit marks a set. */
    samples = malloc(nsamples * sizeof *samples);
    perm = malloc((size_t)keys * sizeof *perm);
    if (samples == NULL || perm == NULL) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    for (i = 0; i < (size_t)keys; i++)
        perm[i] = (uint32_t)i;
    for (i = (size_t)keys - 1; i > 0; i--) {
        size_t j = (size_t)(splitmix64(&rng) % (i + 1));
        uint32_t tmp = perm[i];
        perm[i] = perm[j];
        perm[j] = tmp;
    }
    zipf_init(&z, keys, ZIPF_S);
    for (i = 0; i < nsamples; i++) {
        long rank = zipf_sample(&z, &rng);
        int is_set = splitmix64(&rng) % 100 >= GET_PERCENT;
        if (rank == 1)
            top++;
        samples[i] = perm[rank - 1] | (is_set ? SET_FLAG : 0u);
    }
    for (i = 1; i <= (size_t)keys; i++)
        harmonic += pow((double)i, -ZIPF_S);
    printf("zipf check: most popular key drawn %.4f of the time, expected %.4f\n",
           (double)top / (double)nsamples, 1.0 / harmonic);
    free(perm);

    if (!bl_selftest()) {
        fprintf(stderr, "baseline self-test failed\n");
        return 1;
    }
    /* Both caches are built up front and measured interleaved, REPS rounds;
       the median of each figure is reported, so drift on a shared machine
       hits both sides alike. */
    if (bl_init(&bl, (size_t)keys, 0) != 0 || preload_bl(&bl, keys) != 0) {
        fprintf(stderr, "baseline: out of memory\n");
        return 1;
    }
    bc_store_options_init(&o);
    o.policy = policy;
    o.max_entries = max_entries;
    rc = bc_store_new(&o, &s);
    if (rc != BC_OK || preload_bc(s, keys) != 0) {
        fprintf(stderr, "bc_store_new: %s (%s)\n", bc_strerror(rc), bc_last_error_message());
        return 1;
    }
    if (compare_lru) {
        /* The same store with policy "lru", measured in the same rounds: the policy's
           hit-path cost as a ratio to LRU's (issue 3: within 10%). */
        o.policy = "lru";
        rc = bc_store_new(&o, &lru);
        if (rc != BC_OK || preload_bc(lru, keys) != 0) {
            fprintf(stderr, "bc_store_new (lru): %s (%s)\n", bc_strerror(rc), bc_last_error_message());
            return 1;
        }
    }
    {
        bc_store_stats st;
        bc_store_get_stats(s, &st, sizeof st);
        printf("blockcache store: %u shards, %llu entries, policy %s, max_entries %llu (0 = none)\n",
               (unsigned)st.shards, (unsigned long long)st.entries, policy ? policy : "default",
               (unsigned long long)st.max_entries);
    }
    for (rep = 0; rep < reps; rep++) {
        for (t = 0; t < NT; t++) {
            bl_ops[t][rep] = measure(IMPL_BASELINE, &bl, NULL, samples, nsamples, thread_counts[t], seconds, NULL);
            bc_ops[t][rep] = measure(IMPL_BC_GET, NULL, s, samples, nsamples, thread_counts[t], seconds, NULL);
            into_ops[t][rep] = measure(IMPL_BC_GET_INTO, NULL, s, samples, nsamples, thread_counts[t], seconds, NULL);
            printf("  round %d, %d thread(s): baseline %10.0f  blockcache %10.0f  get_into %10.0f ops/s",
                   rep + 1, thread_counts[t], bl_ops[t][rep], bc_ops[t][rep], into_ops[t][rep]);
            if (lru != NULL) {
                /* Paired slices: the two stores alternate every SLICE_S (which goes
                   first alternates too), so that a neighbour's burst on a shared
                   machine, which lasts longer than a slice, hits both alike. */
                double policy_sum = 0, lru_sum = 0;
                uint64_t missed = 0;
                int k, slices = seconds / SLICE_S < 1 ? 1 : (int)(seconds / SLICE_S + 0.5);
                for (k = 0; k < slices; k++) {
                    double a, b;
                    if (k & 1) {
                        b = measure(IMPL_BC_GET, NULL, lru, samples, nsamples, thread_counts[t], SLICE_S, &missed);
                        a = measure(IMPL_BC_GET, NULL, s, samples, nsamples, thread_counts[t], SLICE_S, &missed);
                    } else {
                        a = measure(IMPL_BC_GET, NULL, s, samples, nsamples, thread_counts[t], SLICE_S, &missed);
                        b = measure(IMPL_BC_GET, NULL, lru, samples, nsamples, thread_counts[t], SLICE_S, &missed);
                    }
                    policy_sum += a;
                    lru_sum += b;
                }
                lru_ops[t][rep] = lru_sum / slices;
                pol_ops[t][rep] = policy_sum / slices;
                vs_lru[t][rep] = policy_sum / lru_sum;
                printf("  paired: policy %10.0f lru %10.0f ops/s (policy/lru %.2f, %llu misses)",
                       policy_sum / slices, lru_ops[t][rep], vs_lru[t][rep], (unsigned long long)missed);
            }
            printf("\n");
            fflush(stdout);
        }
    }
    bc_store_free(s);
    bc_store_free(lru);
    bl_destroy(&bl);
    free(samples);

    printf("\nmedian of %d rounds of %.1f s each:\n", reps, seconds);
    printf("%-8s %14s %16s %8s %12s   %14s %8s\n", "threads", "baseline ops/s",
           "blockcache ops/s", "ratio", "target", "get_into ops/s", "ratio");
    for (t = 0; t < NT; t++) {
        double b = median(bl_ops[t], reps), c = median(bc_ops[t], reps), g = median(into_ops[t], reps);
        double ratio = c / b;
        printf("%-8d %14.0f %16.0f %7.2fx  >=%.1fx %-6s %14.0f %7.2fx\n", thread_counts[t], b, c,
               ratio, targets[t], ratio >= targets[t] ? "met" : "MISSED", g, g / b);
    }
    if (compare_lru) {
        printf("\n%s against lru, in alternating %.2f s slices (median of the per-round ratios):\n", policy ? policy : "default", SLICE_S);
        printf("%-8s %16s %14s %8s %12s\n", "threads", "policy ops/s", "lru ops/s", "ratio", "target");
        for (t = 0; t < NT; t++) {
            double r = median(vs_lru[t], reps);
            printf("%-8d %16.0f %14.0f %7.2fx  >=0.9x %-6s\n", thread_counts[t], median(pol_ops[t], reps),
                   median(lru_ops[t], reps), r, r >= 0.9 ? "met" : "MISSED");
        }
    }
    return 0;
}
