/*
 * demo.c -- a read-through cache in front of a slow "database".
 *
 * A bc_group fills its misses through a loader that pretends to be a database
 * query (about 2 ms each). Worker threads read keys with a Zipf-like skew (key
 * of rank r is chosen with probability proportional to 1/r), as real traffic
 * does, so most reads are answered from the cache and only the first read of a
 * key (or a read after its eviction) waits for the database.
 *
 * Usage: demo [GETS [KEYS [THREADS]]]   (defaults: 20000 2000 2)
 */
#define _POSIX_C_SOURCE 200809L

#include "blockcache.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DB_LATENCY_NS 2000000L /* one "query": 2 ms */
#define MAX_THREADS 64

/* The "database": every key "user:N" exists; its row is derived from N. */
struct database {
    long queries; /* loader calls; updated atomically */
};

static size_t make_row(char *out, size_t cap, const char *key, size_t key_len)
{
    int n = snprintf(out, cap, "{\"key\":\"%.*s\",\"plan\":\"gold\",\"credits\":%u}",
                     (int)key_len, key, (unsigned)(key_len * 7u + (unsigned char)key[key_len - 1]));
    return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}

static int32_t db_loader(void *user_data, const void *key, size_t key_len, bc_sink *sink)
{
    struct database *db = user_data;
    struct timespec ts = {0, DB_LATENCY_NS};
    char row[256];
    size_t n;

    __atomic_add_fetch(&db->queries, 1, __ATOMIC_RELAXED);
    while (nanosleep(&ts, &ts) != 0) {
    }
    if (key_len == 0 || key_len > 64) {
        bc_sink_set_error(sink, "no such row");
        return BC_NOT_FOUND;
    }
    n = make_row(row, sizeof row, key, key_len);
    return bc_sink_set_value(sink, row, n);
}

/* Zipf-like key choice: cdf[i] = P(rank <= i), searched with a uniform draw. */
struct workload {
    bc_group *group;
    const double *cdf;
    long keys;
    long gets;
    uint64_t seed;
    long wrong; /* values that did not match the row */
    long errors;
};

static double uniform01(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return (double)(*x >> 11) * (1.0 / 9007199254740992.0);
}

static long pick(const double *cdf, long n, double u)
{
    long lo = 0, hi = n - 1;
    while (lo < hi) {
        long mid = lo + (hi - lo) / 2;
        if (cdf[mid] < u)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void *worker(void *p)
{
    struct workload *w = p;
    char key[32], row[256];
    long i;

    for (i = 0; i < w->gets; i++) {
        long rank = pick(w->cdf, w->keys, uniform01(&w->seed));
        /* Spread ranks over ids so hot keys are not neighbours. */
        long id = (rank * 7919) % w->keys;
        size_t klen = (size_t)snprintf(key, sizeof key, "user:%ld", id);
        void *val = NULL;
        size_t len = 0;
        int32_t rc = bc_group_get(w->group, key, klen, &val, &len);
        if (rc != BC_OK) {
            if (w->errors++ == 0)
                fprintf(stderr, "get %s: %s (%s)\n", key, bc_strerror(rc), bc_last_error_message());
            continue;
        }
        if (len != make_row(row, sizeof row, key, klen) || memcmp(val, row, len) != 0)
            w->wrong++;
        bc_free(val);
    }
    return NULL;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    long gets = argc > 1 ? atol(argv[1]) : 20000;
    long keys = argc > 2 ? atol(argv[2]) : 2000;
    int threads = argc > 3 ? atoi(argv[3]) : 2;
    struct database db = {0};
    struct workload w[MAX_THREADS];
    pthread_t tid[MAX_THREADS];
    bc_group_options o;
    bc_store_options so;
    bc_group *g = NULL;
    bc_group_stats st;
    bc_store_stats sst;
    double *cdf, sum = 0, t0, elapsed;
    long i, wrong = 0, errors = 0;
    int32_t rc;
    int t;

    if (gets < 1 || keys < 1 || threads < 1 || threads > MAX_THREADS) {
        fprintf(stderr, "usage: %s [GETS [KEYS [THREADS<=%d]]]\n", argv[0], MAX_THREADS);
        return 2;
    }
    printf("BlockCache %s (%u), allocator: %s\n", bc_version_string(),
           (unsigned)bc_version_number(), bc_allocator_name());

    cdf = malloc((size_t)keys * sizeof *cdf);
    if (cdf == NULL)
        return 1;
    for (i = 0; i < keys; i++)
        cdf[i] = (sum += 1.0 / (double)(i + 1));
    for (i = 0; i < keys; i++)
        cdf[i] /= sum;

    bc_store_options_init(&so);
    so.max_entries = (uint64_t)(keys / 2 > 0 ? keys / 2 : 1); /* half the key space */
    bc_group_options_init(&o);
    o.name = "users";
    o.loader = db_loader;
    o.user_data = &db;
    o.store = &so; /* read by bc_group_new only */
    rc = bc_group_new(&o, &g);
    if (rc != BC_OK) {
        fprintf(stderr, "bc_group_new: %s (%s)\n", bc_strerror(rc), bc_last_error_message());
        free(cdf);
        return 1;
    }

    t0 = now_s();
    for (t = 0; t < threads; t++) {
        w[t].group = g;
        w[t].cdf = cdf;
        w[t].keys = keys;
        w[t].gets = gets / threads + (t < gets % threads ? 1 : 0);
        w[t].seed = UINT64_C(0x9E3779B97F4A7C15) * (uint64_t)(t + 1);
        w[t].wrong = 0;
        w[t].errors = 0;
        if (pthread_create(&tid[t], NULL, worker, &w[t]) != 0) {
            fprintf(stderr, "pthread_create failed\n");
            return 1;
        }
    }
    for (t = 0; t < threads; t++) {
        pthread_join(tid[t], NULL);
        wrong += w[t].wrong;
        errors += w[t].errors;
    }
    elapsed = now_s() - t0;

    memset(&st, 0, sizeof st);
    memset(&sst, 0, sizeof sst);
    bc_group_get_stats(g, &st, sizeof st);
    bc_group_get_store_stats(g, &sst, sizeof sst);
    printf("group \"%s\": %ld gets over %ld keys (Zipf-like), %d threads, cache holds %" PRIu64
           " entries\n",
           bc_group_name(g), gets, keys, threads, sst.max_entries);
    printf("  hits          %" PRIu64 " (%.1f%%)\n", st.hits,
           st.gets ? 100.0 * (double)st.hits / (double)st.gets : 0.0);
    printf("  misses        %" PRIu64 "\n", st.misses);
    printf("  loader calls  %ld (stats: loads %" PRIu64 ", deduplicated %" PRIu64 ")\n",
           db.queries, st.loads, st.loads_deduplicated);
    printf("  evictions     %" PRIu64 ", entries now %" PRIu64 "\n", sst.evictions,
           sst.entries);
    printf("  elapsed       %.2f s (without the cache: about %.1f s of queries)\n", elapsed,
           (double)gets * (double)DB_LATENCY_NS / 1e9 / threads);
    printf("  wrong values  %ld, errors %ld\n", wrong, errors);

    bc_group_free(g);
    free(cdf);
    return wrong == 0 && errors == 0 && (long)st.loads == db.queries ? 0 : 1;
}
