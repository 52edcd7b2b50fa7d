/*
 * bench_memory.c -- resident memory per entry beyond its key and value.
 *
 * Reads the process's resident set size (/proc/self/statm) before creating a
 * store, inserts ENTRIES entries with 8-byte keys and 64-byte values into a
 * store without limits, reads it again, and reports
 *     (rss_after - rss_before) / ENTRIES - 72    as overhead bytes per entry
 * next to the target (<= 48 B), and the library's own charge per entry
 * (stats.bytes / stats.entries). Run it in its own process: anything else
 * the process did would blur the measurement.
 *
 * Before the first reading the library is warmed up (a small store is created,
 * filled and freed) so the allocator's one-time setup is not charged to entries.
 *
 * Usage: bench_memory [--entries N] [--policy lru|lru2] [--shards N]
 *   defaults: 1000000 entries, default policy, automatic shards.
 */
#define _POSIX_C_SOURCE 200809L

#include "blockcache.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KEY_LEN 8
#define VALUE_LEN 64
#define TARGET_OVERHEAD 48.0

/* Resident bytes now, from /proc/self/statm (second field, in pages). */
static long long rss_bytes(void)
{
    long long size = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL)
        return -1;
    if (fscanf(f, "%lld %lld", &size, &resident) != 2)
        resident = -1;
    fclose(f);
    return resident < 0 ? -1 : resident * (long long)sysconf(_SC_PAGESIZE);
}

static int fill(bc_store *s, uint64_t n)
{
    unsigned char value[VALUE_LEN];
    uint64_t k;
    memset(value, 0x5a, sizeof value);
    for (k = 0; k < n; k++) {
        int32_t rc;
        memcpy(value, &k, sizeof k);
        rc = bc_store_set(s, &k, KEY_LEN, value, VALUE_LEN, 0);
        if (rc != BC_OK) {
            fprintf(stderr, "bc_store_set: %s (%s)\n", bc_strerror(rc), bc_last_error_message());
            return -1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    uint64_t entries = 1000000;
    const char *policy = NULL;
    uint32_t shards = 0;
    bc_store_options o;
    bc_store *s = NULL;
    bc_store_stats st;
    long long before, after, freed;
    double overhead;
    int32_t rc;
    int a;

    for (a = 1; a < argc; a++) {
        if (strcmp(argv[a], "--entries") == 0 && a + 1 < argc)
            entries = (uint64_t)strtoull(argv[++a], NULL, 10);
        else if (strcmp(argv[a], "--policy") == 0 && a + 1 < argc)
            policy = argv[++a];
        else if (strcmp(argv[a], "--shards") == 0 && a + 1 < argc)
            shards = (uint32_t)strtoul(argv[++a], NULL, 10);
        else {
            fprintf(stderr, "usage: %s [--entries N] [--policy lru|lru2] [--shards N]\n", argv[0]);
            return 2;
        }
    }
    if (entries == 0) {
        fprintf(stderr, "--entries must be > 0\n");
        return 2;
    }

    bc_store_options_init(&o);
    o.policy = policy;
    o.shards = shards;

    /* Warm-up: allocator and library setup. */
    rc = bc_store_new(&o, &s);
    if (rc != BC_OK) {
        fprintf(stderr, "bc_store_new: %s (%s)\n", bc_strerror(rc), bc_last_error_message());
        return 1;
    }
    if (fill(s, 1000) != 0)
        return 1;
    bc_store_free(s);
    s = NULL;

    before = rss_bytes();
    rc = bc_store_new(&o, &s);
    if (rc != BC_OK) {
        fprintf(stderr, "bc_store_new: %s (%s)\n", bc_strerror(rc), bc_last_error_message());
        return 1;
    }
    if (fill(s, entries) != 0)
        return 1;
    after = rss_bytes();
    if (before < 0 || after < 0) {
        fprintf(stderr, "cannot read /proc/self/statm\n");
        return 1;
    }
    memset(&st, 0, sizeof st);
    bc_store_get_stats(s, &st, sizeof st);

    overhead = (double)(after - before) / (double)entries - (KEY_LEN + VALUE_LEN);
    printf("BlockCache %s, allocator: %s\n", bc_version_string(), bc_allocator_name());
    printf("store: policy %s, %u shards, %llu entries, %d-byte keys, %d-byte values\n",
           policy ? policy : "default", (unsigned)st.shards, (unsigned long long)st.entries,
           KEY_LEN, VALUE_LEN);
    printf("rss before %.1f MiB, after %.1f MiB, delta %.2f bytes/entry\n",
           (double)before / 1048576.0, (double)after / 1048576.0,
           (double)(after - before) / (double)entries);
    printf("overhead bytes/entry: %.1f (target <= %.0f B: %s)\n", overhead, TARGET_OVERHEAD,
           overhead <= TARGET_OVERHEAD ? "met" : "MISSED");
    if (st.entries > 0)
        printf("library charge: stats.bytes / entries = %.1f bytes/entry (%.1f beyond key+value)\n",
               (double)st.bytes / (double)st.entries,
               (double)st.bytes / (double)st.entries - (KEY_LEN + VALUE_LEN));

    bc_store_free(s);
    freed = rss_bytes();
    printf("rss after bc_store_free: %.1f MiB\n", (double)freed / 1048576.0);
    return 0;
}
