/*
 * test_blockcache.c -- tests of the C interface of libblockcache.so.
 *
 * No framework: CHECK records a pass or prints file:line and the failing
 * expression; CHECK_RC also prints the status names and, for an expected
 * failure, checks that bc_last_error_message() is non-empty. The last line is
 * "N passed, N failed"; the exit status is non-zero on any failure.
 *
 * Usage: test_blockcache [--stress-ops N]
 *   --stress-ops N  operations per thread in the multithreaded stress test
 *                   (default 200000; use 5000 under valgrind).
 *
 * Every handle is freed before exit, so the program runs clean under
 *   valgrind --leak-check=full --error-exitcode=1 \
 *       --suppressions=tests/c/swift-runtime.supp build/bin/test_blockcache --stress-ops 5000
 * (see docs/c-programs.md for the suppressions and valgrind's DWARF 5 limit).
 */
#define _POSIX_C_SOURCE 200809L

#include "blockcache.h"

#include <inttypes.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* bc_hash64("hello", 5), pinned from the real library: the header promises the
   same value in every process on every machine. */
#define HELLO_HASH UINT64_C(0x49a593f92a7c549f)

/* wyhash final version 4.2 (upstream's current wyhash.h) with seed 0 and its
   default secret, computed by an independent implementation outside this repo,
   for the bytes (i * 37 + 11) & 0xff, i = 0..len-1. Lengths 48 and 96 exercise
   the boundary of the 48-byte bulk loop. */
static const struct {
    size_t len;
    uint64_t hash;
} wyhash_vectors[] = {
    {0, UINT64_C(0x93228a4de0eec5a2)},
    {3, UINT64_C(0x918ad54113cd1ff2)},
    {8, UINT64_C(0x96d6d732417cc1a2)},
    {16, UINT64_C(0x857e6cd92961fb56)},
    {17, UINT64_C(0x32fac1e1afce6651)},
    {47, UINT64_C(0x5e47a6d38eab463c)},
    {48, UINT64_C(0x62a44d0c6ca2649d)},
    {49, UINT64_C(0x1a9006c8dc3539ed)},
    {96, UINT64_C(0x85642ae2fd8ae29f)},
    {100, UINT64_C(0xd31625fee79b7998)},
    {200, UINT64_C(0x405e0f6d28e91f2e)},
};

/* ---- Checks ---------------------------------------------------------------- */

static long g_passed, g_failed; /* updated atomically: checks also run in threads */

static void record(int ok, const char *file, int line, const char *expr)
{
    if (ok) {
        __atomic_add_fetch(&g_passed, 1, __ATOMIC_RELAXED);
    } else {
        __atomic_add_fetch(&g_failed, 1, __ATOMIC_RELAXED);
        fprintf(stderr, "%s:%d: CHECK failed: %s\n", file, line, expr);
    }
}

#define CHECK(expr) record((expr) ? 1 : 0, __FILE__, __LINE__, #expr)

static void check_u64(const char *file, int line, const char *expr,
                      uint64_t got, uint64_t want)
{
    if (got == want) {
        record(1, file, line, expr);
    } else {
        char buf[512];
        snprintf(buf, sizeof buf, "%s (got %" PRIu64 ", expected %" PRIu64 ")",
                 expr, got, want);
        record(0, file, line, buf);
    }
}

#define CHECK_EQ(got, want) \
    check_u64(__FILE__, __LINE__, #got " == " #want, (uint64_t)(got), (uint64_t)(want))

/* Reads the thread's error message first thing, before any other bc_* call can
   replace it. */
static void check_rc(const char *file, int line, const char *expr, int32_t rc,
                     int32_t want)
{
    const char *m = bc_last_error_message();
    char msg[512];
    snprintf(msg, sizeof msg, "%s", m ? m : "(null)");
    if (rc == want) {
        record(1, file, line, expr);
    } else {
        char buf[1024];
        snprintf(buf, sizeof buf, "%s returned %d (%s), expected %d (%s); message: \"%s\"",
                 expr, (int)rc, bc_strerror(rc), (int)want, bc_strerror(want), msg);
        record(0, file, line, buf);
    }
    if (want != BC_OK && rc != BC_OK) {
        char buf[1024];
        snprintf(buf, sizeof buf, "bc_last_error_message() non-empty after %s", expr);
        record(m != NULL && msg[0] != '\0', file, line, buf);
        snprintf(buf, sizeof buf, "bc_last_error_code() == %d after %s", (int)rc, expr);
        record(bc_last_error_code() == rc, file, line, buf);
    }
}

#define CHECK_RC(want, call)                                       \
    do {                                                           \
        int32_t rc_ = (call);                                      \
        check_rc(__FILE__, __LINE__, #call, rc_, (int32_t)(want)); \
    } while (0)

static void section(const char *name)
{
    printf("== %s\n", name);
    fflush(stdout);
}

/* ---- Helpers --------------------------------------------------------------- */

static void sleep_ms(long ms)
{
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0) {
    }
}

static int32_t set_s(bc_store *s, const char *k, const char *v, int64_t ttl)
{
    return bc_store_set(s, k, strlen(k), v, strlen(v), ttl);
}

/* 1 if key is present with exactly value v. Counts as an access. */
static int has_value(bc_store *s, const char *k, const char *v)
{
    void *val = NULL;
    size_t len = 0;
    int ok;
    if (bc_store_get(s, k, strlen(k), &val, &len) != BC_OK)
        return 0;
    ok = val != NULL && len == strlen(v) && memcmp(val, v, len) == 0;
    bc_free(val);
    return ok;
}

/* 1 if key is present. Counts as an access. */
static int present(bc_store *s, const char *k)
{
    char buf[256];
    size_t len = 0;
    int32_t rc = bc_store_get_into(s, k, strlen(k), buf, sizeof buf, &len);
    return rc == BC_OK || rc == BC_BUFFER_TOO_SMALL;
}

static bc_store *make_store(const char *policy, uint32_t shards, uint64_t max_entries,
                            uint64_t max_bytes, int64_t default_ttl_ms,
                            int64_t sweep_interval_ms)
{
    bc_store_options o;
    bc_store *s = NULL;
    int32_t rc;
    bc_store_options_init(&o);
    o.policy = policy;
    o.shards = shards;
    o.max_entries = max_entries;
    o.max_bytes = max_bytes;
    o.default_ttl_ms = default_ttl_ms;
    o.sweep_interval_ms = sweep_interval_ms;
    rc = bc_store_new(&o, &s);
    CHECK_RC(BC_OK, rc);
    CHECK(s != NULL);
    return s;
}

static bc_store_stats store_stats(bc_store *s)
{
    bc_store_stats st;
    memset(&st, 0, sizeof st);
    CHECK_RC(BC_OK, bc_store_get_stats(s, &st, sizeof st));
    return st;
}

/* ---- Library ---------------------------------------------------------------- */

static void *fresh_thread_error(void *arg)
{
    int *ok = arg;
    /* Nothing failed on this thread yet. */
    ok[0] = strcmp(bc_last_error_message(), "") == 0;
    ok[1] = bc_store_new(NULL, NULL) == BC_MISUSE && bc_last_error_message()[0] != '\0';
    return NULL;
}

static void test_library(void)
{
    static const struct {
        int32_t code;
        const char *name;
    } codes[] = {
        {BC_OK, "BC_OK"},
        {BC_NOT_FOUND, "BC_NOT_FOUND"},
        {BC_INVALID_ARGUMENT, "BC_INVALID_ARGUMENT"},
        {BC_MISUSE, "BC_MISUSE"},
        {BC_NO_MEMORY, "BC_NO_MEMORY"},
        {BC_TOO_LARGE, "BC_TOO_LARGE"},
        {BC_BUFFER_TOO_SMALL, "BC_BUFFER_TOO_SMALL"},
        {BC_LOADER_FAILED, "BC_LOADER_FAILED"},
        {BC_INTERNAL, "BC_INTERNAL"},
        {BC_UNAVAILABLE, "BC_UNAVAILABLE"},
    };
    size_t i;
    const char *alloc;
    pthread_t t;
    int ok[2] = {0, 0};

    section("library");
    CHECK_EQ(bc_version_number(), BC_VERSION_NUMBER);
    CHECK_EQ(BC_VERSION_NUMBER, 10100);
    CHECK(bc_version_string() != NULL);
    CHECK(bc_version_string() != NULL && strcmp(bc_version_string(), BC_VERSION_STRING) == 0);
    printf("version %s (%u)\n", bc_version_string(), (unsigned)bc_version_number());

    alloc = bc_allocator_name();
    CHECK(alloc != NULL);
    CHECK(alloc != NULL && strncmp(alloc, "jemalloc", 8) == 0);
    printf("allocator: %s\n", alloc ? alloc : "(null)");

    /* Status codes are pinned. */
    CHECK_EQ(BC_OK, 0);
    CHECK_EQ(BC_NOT_FOUND, 1);
    CHECK_EQ(BC_INVALID_ARGUMENT, 2);
    CHECK_EQ(BC_MISUSE, 3);
    CHECK_EQ(BC_NO_MEMORY, 4);
    CHECK_EQ(BC_TOO_LARGE, 5);
    CHECK_EQ(BC_BUFFER_TOO_SMALL, 6);
    CHECK_EQ(BC_LOADER_FAILED, 7);
    CHECK_EQ(BC_INTERNAL, 8);
    CHECK_EQ(BC_UNAVAILABLE, 9);
    for (i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        const char *e = bc_strerror(codes[i].code);
        size_t n = strlen(codes[i].name);
        CHECK(e != NULL);
        if (e == NULL)
            continue;
        /* "BC_NOT_FOUND: ..." -- the name, then a non-name character. */
        if (!(strncmp(e, codes[i].name, n) == 0 && (e[n] == '\0' || e[n] == ':')))
            fprintf(stderr, "  bc_strerror(%d) = \"%s\"\n", (int)codes[i].code, e);
        CHECK(strncmp(e, codes[i].name, n) == 0 && (e[n] == '\0' || e[n] == ':'));
        CHECK(bc_strerror(codes[i].code) == e); /* static */
    }
    CHECK(bc_strerror(10) != NULL && strcmp(bc_strerror(10), "unknown status code") == 0);
    CHECK(bc_strerror(-1) != NULL && strcmp(bc_strerror(-1), "unknown status code") == 0);
    CHECK(bc_strerror(INT32_MAX) != NULL &&
          strcmp(bc_strerror(INT32_MAX), "unknown status code") == 0);
    CHECK(bc_strerror(INT32_MIN) != NULL &&
          strcmp(bc_strerror(INT32_MIN), "unknown status code") == 0);

    bc_free(NULL); /* no-op */
    CHECK(1);

    /* The error message is per thread: a new thread starts with "". */
    CHECK_RC(BC_MISUSE, bc_store_new(NULL, NULL));
    CHECK(pthread_create(&t, NULL, fresh_thread_error, ok) == 0);
    pthread_join(t, NULL);
    CHECK(ok[0]);
    CHECK(ok[1]);
}

static void test_hash(void)
{
    uint64_t h = bc_hash64("hello", 5);
    char buf[64];
    unsigned char bytes[256];
    size_t i;

    section("hash");
    printf("bc_hash64(\"hello\") = 0x%016" PRIx64 "\n", h);
    CHECK_EQ(bc_hash64("hello", 5), h); /* stable within the process */
    CHECK_EQ(h, HELLO_HASH);
    for (i = 0; i < sizeof bytes; i++)
        bytes[i] = (unsigned char)(i * 37 + 11);
    for (i = 0; i < sizeof wyhash_vectors / sizeof wyhash_vectors[0]; i++) {
        uint64_t got = bc_hash64(bytes, wyhash_vectors[i].len);
        if (got != wyhash_vectors[i].hash)
            fprintf(stderr, "  bc_hash64(len %zu) = 0x%016" PRIx64 ", wyhash 4.2 gives 0x%016" PRIx64 "\n",
                    wyhash_vectors[i].len, got, wyhash_vectors[i].hash);
        CHECK_EQ(got, wyhash_vectors[i].hash);
    }
    /* Depends only on the bytes, not on their address or alignment. */
    memcpy(buf + 3, "hello", 5);
    CHECK_EQ(bc_hash64(buf + 3, 5), h);
    CHECK(bc_hash64("hellp", 5) != h);
    CHECK(bc_hash64("hell", 4) != h);
    CHECK(bc_hash64("hello\0", 6) != h);
    /* NULL with length 0 is the empty string. */
    CHECK_EQ(bc_hash64(NULL, 0), bc_hash64("x", 0));
    CHECK(bc_hash64(NULL, 0) != h);
}

/* ---- Store: basics ---------------------------------------------------------- */

static void test_store_basics(const char *policy)
{
    bc_store *s;
    bc_store_stats st;
    void *val;
    size_t len;
    char buf[64];
    static const char bin1[] = {'a', '\0', 'b'};
    static const char bin2[] = {'a', '\0', 'c'};
    static const char bin3[] = {'a', '\0'};
    static const unsigned char allbytes_key[] = {0x00, 0xff, 0x80, 0x7f, 0x01, 0xfe};

    printf("== store basics (policy %s)\n", policy ? policy : "default");
    s = make_store(policy, 4, 0, 0, 0, -1);
    if (s == NULL)
        return;

    /* set / get */
    CHECK_RC(BC_OK, set_s(s, "alpha", "one", 0));
    val = NULL;
    len = 0;
    CHECK_RC(BC_OK, bc_store_get(s, "alpha", 5, &val, &len));
    CHECK(val != NULL);
    CHECK_EQ(len, 3);
    CHECK(val != NULL && memcmp(val, "one", 3) == 0);
    bc_free(val);

    /* Replacing a value updates the bytes (shorter, then longer). */
    CHECK_RC(BC_OK, set_s(s, "alpha", "x", 0));
    CHECK(has_value(s, "alpha", "x"));
    CHECK_RC(BC_OK, set_s(s, "alpha", "a much longer replacement value", 0));
    CHECK(has_value(s, "alpha", "a much longer replacement value"));
    CHECK_RC(BC_OK, set_s(s, "alpha", "two", 0));
    CHECK(has_value(s, "alpha", "two"));

    /* A miss leaves *val NULL and *val_len 0. */
    val = (void *)buf;
    len = 99;
    CHECK_RC(BC_NOT_FOUND, bc_store_get(s, "missing", 7, &val, &len));
    CHECK(val == NULL);
    CHECK_EQ(len, 0);

    /* get_into: exact fit, too small, NULL buffer with capacity 0. */
    memset(buf, '#', sizeof buf);
    len = 0;
    CHECK_RC(BC_OK, bc_store_get_into(s, "alpha", 5, buf, 3, &len));
    CHECK_EQ(len, 3);
    CHECK(memcmp(buf, "two", 3) == 0);
    CHECK(buf[3] == '#');
    memset(buf, '#', sizeof buf);
    len = 0;
    CHECK_RC(BC_BUFFER_TOO_SMALL, bc_store_get_into(s, "alpha", 5, buf, 2, &len));
    CHECK_EQ(len, 3);
    CHECK(buf[0] == '#' && buf[1] == '#'); /* nothing copied */
    len = 0;
    CHECK_RC(BC_BUFFER_TOO_SMALL, bc_store_get_into(s, "alpha", 5, NULL, 0, &len));
    CHECK_EQ(len, 3);
    len = 0;
    CHECK_RC(BC_OK, bc_store_get_into(s, "alpha", 5, buf, sizeof buf, &len));
    CHECK_EQ(len, 3);
    len = 77;
    CHECK_RC(BC_NOT_FOUND, bc_store_get_into(s, "missing", 7, buf, sizeof buf, &len));

    /* Empty key (NULL and non-NULL pointer name the same key) and empty value. */
    CHECK_RC(BC_OK, bc_store_set(s, NULL, 0, "empty-key", 9, 0));
    CHECK(has_value(s, "", "empty-key"));
    len = 0;
    CHECK_RC(BC_OK, bc_store_get_into(s, NULL, 0, buf, sizeof buf, &len));
    CHECK_EQ(len, 9);
    CHECK_RC(BC_OK, bc_store_set(s, "ev", 2, NULL, 0, 0));
    val = NULL;
    len = 99;
    CHECK_RC(BC_OK, bc_store_get(s, "ev", 2, &val, &len));
    CHECK(val != NULL); /* never NULL, even for an empty value */
    CHECK_EQ(len, 0);
    bc_free(val);
    len = 99;
    CHECK_RC(BC_OK, bc_store_get_into(s, "ev", 2, NULL, 0, &len));
    CHECK_EQ(len, 0);
    CHECK_RC(BC_OK, bc_store_set(s, "ev2", 3, "nonnull", 0, 0)); /* non-NULL, len 0 */
    CHECK(has_value(s, "ev2", ""));
    CHECK_RC(BC_OK, bc_store_set(s, NULL, 0, NULL, 0, 0));
    CHECK(has_value(s, "", ""));

    /* Binary keys: embedded NULs and every byte value. */
    CHECK_RC(BC_OK, bc_store_set(s, bin1, 3, "b1", 2, 0));
    CHECK_RC(BC_OK, bc_store_set(s, bin2, 3, "b2", 2, 0));
    CHECK_RC(BC_OK, bc_store_set(s, bin3, 2, "b3", 2, 0));
    CHECK_RC(BC_OK, bc_store_set(s, "a", 1, "b4", 2, 0));
    CHECK_RC(BC_OK, bc_store_set(s, allbytes_key, sizeof allbytes_key, "b5", 2, 0));
    len = 0;
    CHECK_RC(BC_OK, bc_store_get_into(s, bin1, 3, buf, sizeof buf, &len));
    CHECK(len == 2 && memcmp(buf, "b1", 2) == 0);
    CHECK_RC(BC_OK, bc_store_get_into(s, bin2, 3, buf, sizeof buf, &len));
    CHECK(len == 2 && memcmp(buf, "b2", 2) == 0);
    CHECK_RC(BC_OK, bc_store_get_into(s, bin3, 2, buf, sizeof buf, &len));
    CHECK(len == 2 && memcmp(buf, "b3", 2) == 0);
    CHECK_RC(BC_OK, bc_store_get_into(s, "a", 1, buf, sizeof buf, &len));
    CHECK(len == 2 && memcmp(buf, "b4", 2) == 0);
    CHECK_RC(BC_OK, bc_store_get_into(s, allbytes_key, sizeof allbytes_key, buf, sizeof buf, &len));
    CHECK(len == 2 && memcmp(buf, "b5", 2) == 0);

    /* Largest key is accepted. */
    {
        unsigned char *big = malloc(BC_MAX_KEY_LEN);
        CHECK(big != NULL);
        if (big != NULL) {
            memset(big, 'K', BC_MAX_KEY_LEN);
            CHECK_RC(BC_OK, bc_store_set(s, big, BC_MAX_KEY_LEN, "big", 3, 0));
            CHECK_RC(BC_OK, bc_store_get_into(s, big, BC_MAX_KEY_LEN, buf, sizeof buf, &len));
            CHECK(len == 3 && memcmp(buf, "big", 3) == 0);
            CHECK_RC(BC_OK, bc_store_delete(s, big, BC_MAX_KEY_LEN));
            free(big);
        }
    }

    /* delete */
    CHECK_RC(BC_OK, bc_store_delete(s, "alpha", 5));
    CHECK_RC(BC_NOT_FOUND, bc_store_delete(s, "alpha", 5));
    CHECK(!present(s, "alpha"));
    CHECK_RC(BC_OK, bc_store_delete(s, NULL, 0));
    CHECK(!present(s, ""));

    /* stats */
    st = store_stats(s);
    CHECK_EQ(st.entries, 7); /* ev ev2 "" bin1 bin2 bin3 a allbytes -> minus "" = 7 */
    CHECK(st.bytes > 0);
    CHECK_EQ(st.deletes, 3);
    CHECK_EQ(st.evictions, 0);
    CHECK_EQ(st.expirations, 0);
    CHECK_EQ(st.shards, 4);
    CHECK_EQ(st.max_bytes, 0);
    CHECK_EQ(st.max_entries, 0);
    CHECK_EQ(st.reserved, 0);
    CHECK(st.hits > 0);
    CHECK(st.misses > 0);
    CHECK(st.sets >= 14);

    /* Counters count exactly. */
    {
        bc_store_stats a = store_stats(s), b;
        CHECK_RC(BC_OK, set_s(s, "cnt", "v", 0));
        CHECK(has_value(s, "cnt", "v"));
        CHECK(!present(s, "nope"));
        b = store_stats(s);
        CHECK_EQ(b.sets, a.sets + 1);
        CHECK_EQ(b.hits, a.hits + 1);
        CHECK_EQ(b.misses, a.misses + 1);
        CHECK_EQ(b.entries, a.entries + 1);
        CHECK(b.bytes > a.bytes);
    }

    /* A short out_size writes no more than that. */
    {
        unsigned char raw[sizeof(bc_store_stats) + 16];
        bc_store_stats head;
        size_t cut = offsetof(bc_store_stats, sets);
        size_t i;
        int untouched = 1;
        memset(raw, 0xAB, sizeof raw);
        CHECK_RC(BC_OK, bc_store_get_stats(s, (bc_store_stats *)(void *)raw, cut));
        for (i = cut; i < sizeof raw; i++)
            if (raw[i] != 0xAB)
                untouched = 0;
        CHECK(untouched);
        memcpy(&head, raw, cut);
        CHECK(head.hits > 0);
        /* A caller that knows a bigger struct (newer header) still works. */
        memset(raw, 0, sizeof raw);
        CHECK_RC(BC_OK, bc_store_get_stats(s, (bc_store_stats *)(void *)raw, sizeof raw));
        memcpy(&head, raw, sizeof head);
        CHECK_EQ(head.shards, 4);
    }

    /* clear: counted neither as deletes nor as evictions */
    {
        bc_store_stats a = store_stats(s), b;
        CHECK_RC(BC_OK, bc_store_clear(s));
        b = store_stats(s);
        CHECK_EQ(b.entries, 0);
        CHECK_EQ(b.bytes, 0);
        CHECK_EQ(b.deletes, a.deletes);
        CHECK_EQ(b.evictions, a.evictions);
        CHECK(!present(s, "ev"));
        CHECK_RC(BC_OK, bc_store_clear(s)); /* clearing an empty store */
        CHECK_RC(BC_OK, set_s(s, "after", "clear", 0));
        CHECK(has_value(s, "after", "clear"));
    }

    bc_store_free(s);

    /* Defaults: o == NULL and shards = 0 pick a power of two. */
    s = NULL;
    CHECK_RC(BC_OK, bc_store_new(NULL, &s));
    if (s != NULL) {
        st = store_stats(s);
        CHECK(st.shards >= 1 && st.shards <= 1024 && (st.shards & (st.shards - 1)) == 0);
        CHECK_RC(BC_OK, set_s(s, "k", "v", 0));
        CHECK(has_value(s, "k", "v"));
        bc_store_free(s);
    }
    s = make_store(policy, 1024, 0, 0, 0, 0);
    if (s != NULL) {
        CHECK_EQ(store_stats(s).shards, 1024);
        bc_store_free(s);
    }
    s = make_store(policy, 1, 0, 0, 0, 0);
    if (s != NULL) {
        CHECK_EQ(store_stats(s).shards, 1);
        bc_store_free(s);
    }
}

/* ---- Store: eviction -------------------------------------------------------- */

static void test_lru_order(void)
{
    bc_store *s;
    bc_store_stats st;

    section("lru order");
    s = make_store("lru", 1, 4, 0, 0, -1);
    if (s == NULL)
        return;
    CHECK_RC(BC_OK, set_s(s, "a", "1", 0));
    CHECK_RC(BC_OK, set_s(s, "b", "2", 0));
    CHECK_RC(BC_OK, set_s(s, "c", "3", 0));
    CHECK_RC(BC_OK, set_s(s, "d", "4", 0));
    CHECK(has_value(s, "a", "1")); /* touch a: b is now the oldest */
    CHECK_RC(BC_OK, set_s(s, "e", "5", 0));
    st = store_stats(s);
    CHECK_EQ(st.entries, 4);
    CHECK_EQ(st.evictions, 1);
    CHECK(!present(s, "b"));
    /* Order now (oldest first): a c d e, after these touches in this order. */
    CHECK(has_value(s, "a", "1"));
    CHECK(has_value(s, "c", "3"));
    CHECK(has_value(s, "d", "4"));
    CHECK(has_value(s, "e", "5"));
    CHECK_RC(BC_OK, set_s(s, "f", "6", 0)); /* evicts a */
    CHECK(!present(s, "a"));
    /* A replacement counts as an access: c d e f -> replace c -> d is oldest. */
    CHECK_RC(BC_OK, set_s(s, "c", "33", 0));
    CHECK_RC(BC_OK, set_s(s, "g", "7", 0)); /* evicts d */
    CHECK(!present(s, "d"));
    CHECK(has_value(s, "c", "33"));
    CHECK(has_value(s, "e", "5"));
    CHECK(has_value(s, "f", "6"));
    CHECK(has_value(s, "g", "7"));
    st = store_stats(s);
    CHECK_EQ(st.entries, 4);
    CHECK_EQ(st.evictions, 3);
    bc_store_free(s);
}

/* A key read twice, then a scan of one-time keys bigger than the cache: LRU2
   keeps the key, plain LRU loses it. */
static void test_scan_resistance(const char *policy, int expect_survives)
{
    bc_store *s;
    bc_store_stats st;
    char k[32];
    int i;

    printf("== scan resistance (policy %s)\n", policy);
    s = make_store(policy, 1, 100, 0, 0, -1);
    if (s == NULL)
        return;
    CHECK_RC(BC_OK, set_s(s, "hot", "H", 0));
    CHECK(has_value(s, "hot", "H"));
    CHECK(has_value(s, "hot", "H"));
    for (i = 0; i < 500; i++) {
        snprintf(k, sizeof k, "scan-%d", i);
        CHECK_RC(BC_OK, set_s(s, k, "s", 0));
    }
    st = store_stats(s);
    CHECK(st.entries <= 100);
    CHECK(st.entries >= 50);
    CHECK_EQ(st.evictions + st.entries, 501);
    if (expect_survives)
        CHECK(has_value(s, "hot", "H"));
    else
        CHECK(!present(s, "hot"));
    /* The last scanned key is there under both policies. */
    CHECK(present(s, "scan-499"));
    bc_store_free(s);
}

static void test_budgets(const char *policy)
{
    bc_store *s;
    bc_store_stats st;
    char k[32];
    char v[100];
    char big[8192];
    char buf[64];
    size_t len;
    int i;

    printf("== budgets (policy %s)\n", policy);
    /* Entry budget. */
    s = make_store(policy, 4, 100, 0, 0, -1);
    if (s != NULL) {
        for (i = 0; i < 5000; i++) {
            snprintf(k, sizeof k, "e-%d", i);
            CHECK_RC(BC_OK, set_s(s, k, "v", 0));
        }
        st = store_stats(s);
        CHECK(st.entries <= 100);
        CHECK(st.entries > 0);
        CHECK_EQ(st.max_entries, 100);
        CHECK_EQ(st.sets, 5000);
        CHECK_EQ(st.evictions + st.entries, 5000);
        CHECK(present(s, "e-4999"));
        bc_store_free(s);
    }

    /* Byte budget. */
    memset(v, 'v', sizeof v);
    s = make_store(policy, 4, 0, 64 * 1024, 0, -1);
    if (s != NULL) {
        for (i = 0; i < 5000; i++) {
            snprintf(k, sizeof k, "b-%d", i);
            CHECK_RC(BC_OK, bc_store_set(s, k, strlen(k), v, sizeof v, 0));
        }
        st = store_stats(s);
        CHECK(st.bytes <= 64 * 1024);
        CHECK(st.entries > 0);
        CHECK(st.bytes >= st.entries * (sizeof v + 3)); /* key "b-N" is at least 3 bytes */
        CHECK_EQ(st.max_bytes, 64 * 1024);
        CHECK_EQ(st.evictions + st.entries, 5000);
        bc_store_free(s);
    }

    /* An entry larger than the budget: BC_TOO_LARGE, the old value stays. */
    memset(big, 'B', sizeof big);
    s = make_store(policy, 1, 0, 4096, 0, -1);
    if (s != NULL) {
        CHECK_RC(BC_OK, set_s(s, "k", "small", 0));
        CHECK_RC(BC_TOO_LARGE, bc_store_set(s, "k", 1, big, sizeof big, 0));
        CHECK(has_value(s, "k", "small"));
        CHECK_RC(BC_TOO_LARGE, bc_store_set(s, "new", 3, big, sizeof big, 0));
        CHECK(!present(s, "new"));
        len = 0;
        CHECK_RC(BC_OK, bc_store_get_into(s, "k", 1, buf, sizeof buf, &len));
        CHECK_EQ(len, 5);
        st = store_stats(s);
        CHECK_EQ(st.entries, 1);
        CHECK(st.bytes <= 4096);
        bc_store_free(s);
    }
    /* Same with an entry budget of 1: replacing the only entry works. */
    s = make_store(policy, 1, 1, 0, 0, -1);
    if (s != NULL) {
        CHECK_RC(BC_OK, set_s(s, "only", "1", 0));
        CHECK_RC(BC_OK, set_s(s, "only", "2", 0));
        CHECK(has_value(s, "only", "2"));
        CHECK_RC(BC_OK, set_s(s, "other", "3", 0));
        CHECK(!present(s, "only"));
        CHECK(has_value(s, "other", "3"));
        CHECK_EQ(store_stats(s).entries, 1);
        bc_store_free(s);
    }
}

/* ---- Store: TTL --------------------------------------------------------------- */

static void test_ttl(const char *policy)
{
    bc_store *s;
    bc_store_stats st;
    char k[32];
    int i;

    printf("== ttl (policy %s)\n", policy);
    /* Explicit TTL, lazy expiry. */
    s = make_store(policy, 1, 0, 0, 0, -1);
    if (s != NULL) {
        CHECK_RC(BC_OK, set_s(s, "t", "v", 30));
        CHECK_RC(BC_OK, set_s(s, "keep", "v", 60000));
        CHECK(has_value(s, "t", "v"));
        sleep_ms(100);
        CHECK_RC(BC_NOT_FOUND, bc_store_get_into(s, "t", 1, k, sizeof k, &(size_t){0}));
        CHECK(has_value(s, "keep", "v"));
        st = store_stats(s);
        CHECK_EQ(st.expirations, 1);
        CHECK_EQ(st.entries, 1);
        CHECK(st.misses >= 1);
        /* A set brings it back. */
        CHECK_RC(BC_OK, set_s(s, "t", "w", BC_TTL_NEVER));
        CHECK(has_value(s, "t", "w"));
        bc_store_free(s);
    }

    /* Store default TTL; BC_TTL_NEVER overrides it. */
    s = make_store(policy, 1, 0, 0, 30, -1);
    if (s != NULL) {
        CHECK_RC(BC_OK, set_s(s, "d", "default", 0));
        CHECK_RC(BC_OK, set_s(s, "n", "never", BC_TTL_NEVER));
        CHECK_RC(BC_OK, set_s(s, "l", "long", 60000));
        CHECK(has_value(s, "d", "default"));
        sleep_ms(100);
        CHECK(!present(s, "d"));
        CHECK(has_value(s, "n", "never"));
        CHECK(has_value(s, "l", "long"));
        st = store_stats(s);
        CHECK_EQ(st.expirations, 1);
        bc_store_free(s);
    }

    /* Active sweep: nothing touches the keys, the sweeper removes them. */
    s = make_store(policy, 0, 0, 0, 0, 10);
    if (s != NULL) {
        for (i = 0; i < 1000; i++) {
            snprintf(k, sizeof k, "sw-%d", i);
            CHECK_RC(BC_OK, set_s(s, k, "v", 20));
        }
        st = store_stats(s);
        CHECK_EQ(st.entries + st.expirations, 1000); /* the sweeper may have begun */
        sleep_ms(300);
        st = store_stats(s);
        CHECK_EQ(st.entries, 0);
        CHECK_EQ(st.expirations, 1000);
        CHECK_EQ(st.bytes, 0);
        bc_store_free(s);
    }
}

/* ---- Store: bad input ----------------------------------------------------------- */

static void test_store_misuse(void)
{
    bc_store_options o;
    bc_store *s = NULL, *bad;
    bc_store_stats st;
    void *val;
    size_t len;
    char buf[16];
    const char one = 'x';

    section("store misuse");
    bc_store_options_init(NULL); /* no-op */
    bc_store_free(NULL);         /* no-op */

    bc_store_options_init(&o);
    CHECK_EQ(o.struct_size, sizeof(bc_store_options));
    CHECK_EQ(o.shards, 0);
    CHECK(o.policy == NULL);
    CHECK_EQ(o.max_bytes, 0);
    CHECK_EQ(o.max_entries, 0);
    CHECK_EQ(o.default_ttl_ms, 0);
    CHECK_EQ(o.sweep_interval_ms, 0);

    CHECK_RC(BC_MISUSE, bc_store_new(NULL, NULL));
    CHECK_RC(BC_MISUSE, bc_store_new(&o, NULL));

#define BAD_OPTIONS(field_assignment)                                  \
    do {                                                               \
        bc_store_options_init(&o);                                     \
        field_assignment;                                              \
        bad = NULL;                                                    \
        CHECK_RC(BC_INVALID_ARGUMENT, bc_store_new(&o, &bad));         \
        bc_store_free(bad); /* in case a wrong BC_OK made a store */   \
    } while (0)
    BAD_OPTIONS(o.policy = "lfu");
    BAD_OPTIONS(o.policy = "");
    BAD_OPTIONS(o.policy = "lru ");
    BAD_OPTIONS(o.shards = 3);
    BAD_OPTIONS(o.shards = 2048);
    BAD_OPTIONS(o.shards = 1536);
    BAD_OPTIONS(o.default_ttl_ms = -1);
    BAD_OPTIONS(o.default_ttl_ms = INT64_MIN);
    BAD_OPTIONS(o.struct_size = 0);
    BAD_OPTIONS(o.struct_size = 4);
    BAD_OPTIONS(o.struct_size = (uint32_t)offsetof(bc_store_options, sweep_interval_ms));
#undef BAD_OPTIONS

    /* The policy string is copied. */
    {
        char pol[8];
        strcpy(pol, "lru");
        bc_store_options_init(&o);
        o.policy = pol;
        CHECK_RC(BC_OK, bc_store_new(&o, &s));
        memset(pol, 'z', sizeof pol - 1);
    }
    if (s == NULL)
        return;
    CHECK_RC(BC_OK, set_s(s, "k", "v", 0));
    CHECK(has_value(s, "k", "v"));

    /* NULL handle. */
    val = NULL;
    len = 0;
    CHECK_RC(BC_MISUSE, bc_store_set(NULL, "k", 1, "v", 1, 0));
    CHECK_RC(BC_MISUSE, bc_store_get(NULL, "k", 1, &val, &len));
    CHECK(val == NULL);
    CHECK_RC(BC_MISUSE, bc_store_get_into(NULL, "k", 1, buf, sizeof buf, &len));
    CHECK_RC(BC_MISUSE, bc_store_delete(NULL, "k", 1));
    CHECK_RC(BC_MISUSE, bc_store_clear(NULL));
    CHECK_RC(BC_MISUSE, bc_store_get_stats(NULL, &st, sizeof st));

    /* NULL out pointers. */
    CHECK_RC(BC_MISUSE, bc_store_get(s, "k", 1, NULL, &len));
    CHECK_RC(BC_MISUSE, bc_store_get(s, "k", 1, &val, NULL));
    CHECK_RC(BC_MISUSE, bc_store_get(s, "k", 1, NULL, NULL));
    CHECK_RC(BC_MISUSE, bc_store_get_into(s, "k", 1, buf, sizeof buf, NULL));
    CHECK_RC(BC_MISUSE, bc_store_get_stats(s, NULL, sizeof st));

    /* NULL pointer with a length. */
    CHECK_RC(BC_INVALID_ARGUMENT, bc_store_set(s, NULL, 1, "v", 1, 0));
    CHECK_RC(BC_INVALID_ARGUMENT, bc_store_set(s, "k", 1, NULL, 1, 0));
    val = (void *)buf;
    len = 5;
    CHECK_RC(BC_INVALID_ARGUMENT, bc_store_get(s, NULL, 1, &val, &len));
    CHECK(val == NULL);
    CHECK_EQ(len, 0);
    CHECK_RC(BC_INVALID_ARGUMENT, bc_store_get_into(s, NULL, 1, buf, sizeof buf, &len));
    CHECK_RC(BC_INVALID_ARGUMENT, bc_store_get_into(s, "k", 1, NULL, 5, &len));
    CHECK_RC(BC_INVALID_ARGUMENT, bc_store_delete(s, NULL, 1));
    CHECK(has_value(s, "k", "v")); /* nothing changed */

    /* Over-long keys and values: rejected by length, memory never read (the
       buffer behind them is one byte). */
    val = (void *)buf;
    len = 5;
    CHECK_RC(BC_TOO_LARGE, bc_store_set(s, &one, (size_t)BC_MAX_KEY_LEN + 1, "v", 1, 0));
    CHECK_RC(BC_TOO_LARGE, bc_store_set(s, &one, SIZE_MAX, "v", 1, 0));
    CHECK_RC(BC_TOO_LARGE, bc_store_get(s, &one, (size_t)BC_MAX_KEY_LEN + 1, &val, &len));
    CHECK(val == NULL);
    CHECK_EQ(len, 0);
    CHECK_RC(BC_TOO_LARGE, bc_store_get(s, &one, SIZE_MAX, &val, &len));
    CHECK_RC(BC_TOO_LARGE, bc_store_get_into(s, &one, (size_t)BC_MAX_KEY_LEN + 1, buf, sizeof buf, &len));
    CHECK_RC(BC_TOO_LARGE, bc_store_get_into(s, &one, SIZE_MAX, buf, sizeof buf, &len));
    CHECK_RC(BC_TOO_LARGE, bc_store_delete(s, &one, (size_t)BC_MAX_KEY_LEN + 1));
    CHECK_RC(BC_TOO_LARGE, bc_store_delete(s, &one, SIZE_MAX));
    CHECK_RC(BC_TOO_LARGE, bc_store_set(s, "k", 1, &one, (size_t)BC_MAX_VALUE_LEN + 1, 0));
    CHECK_RC(BC_TOO_LARGE, bc_store_set(s, "k", 1, &one, SIZE_MAX, 0));
    CHECK(has_value(s, "k", "v"));

    /* Bad TTLs. */
    CHECK_RC(BC_INVALID_ARGUMENT, bc_store_set(s, "k", 1, "w", 1, -2));
    CHECK_RC(BC_INVALID_ARGUMENT, bc_store_set(s, "k", 1, "w", 1, INT64_MIN));
    CHECK(has_value(s, "k", "v"));

    st = store_stats(s);
    CHECK_EQ(st.entries, 1);
    CHECK_EQ(st.sets, 1);
    bc_store_free(s);
}

/* ---- Group -------------------------------------------------------------------- */

struct loader_ctx {
    long calls;      /* atomically updated */
    bc_group *g;     /* for loaders that call back into their group */
    long sleep_ms;   /* per call, for the singleflight test */
    /* Results of bc_sink_* calls made inside the loader with bad arguments. */
    int32_t sink_null_val, sink_bad_ttl, sink_too_large, sink_zero_ttl;
    int inner_ok;
    bc_sink *saved_sink;
};

/* Keys select behavior:
   "nf..."    -> BC_NOT_FOUND
   "err..."   -> bc_sink_set_error("db down"), return BC_NO_MEMORY
   "code..."  -> return 99 with no message
   "noval..." -> BC_OK without a value
   "ttl..."   -> value with a 30 ms TTL
   "big..."   -> a 4096-byte value
   "checks"   -> bad bc_sink_* calls (results recorded), then a value
   "reent"    -> bc_group_get("inner") and bc_group_set("side") from the loader
   "save"     -> keeps the sink pointer (for the lifetime test)
   otherwise  -> "v:" + key */
static int32_t test_loader(void *user_data, const void *key, size_t key_len, bc_sink *sink)
{
    struct loader_ctx *c = user_data;
    char v[300];
    size_t n;

    __atomic_add_fetch(&c->calls, 1, __ATOMIC_SEQ_CST);
    if (c->sleep_ms > 0)
        sleep_ms(c->sleep_ms);
#define KEY_IS(prefix) (key_len >= strlen(prefix) && memcmp(key, prefix, strlen(prefix)) == 0)
    if (KEY_IS("nf"))
        return BC_NOT_FOUND;
    if (KEY_IS("err")) {
        bc_sink_set_error(sink, "db down");
        return BC_NO_MEMORY;
    }
    if (KEY_IS("code"))
        return 99;
    if (KEY_IS("noval"))
        return BC_OK;
    if (KEY_IS("big")) {
        char *big = malloc(4096);
        int32_t rc;
        if (big == NULL)
            return BC_NO_MEMORY;
        memset(big, 'B', 4096);
        rc = bc_sink_set_value(sink, big, 4096);
        free(big);
        return rc;
    }
    if (KEY_IS("checks")) {
        char one = 'x';
        c->sink_null_val = bc_sink_set_value(sink, NULL, 3);
        c->sink_bad_ttl = bc_sink_set_ttl(sink, -2);
        c->sink_too_large = bc_sink_set_value(sink, &one, (size_t)BC_MAX_VALUE_LEN + 1);
        c->sink_zero_ttl = bc_sink_set_ttl(sink, 0);
    }
    if (KEY_IS("reent")) {
        void *iv = NULL;
        size_t il = 0;
        int32_t r1 = bc_group_get(c->g, "inner", 5, &iv, &il);
        int32_t r2 = bc_group_set(c->g, "side", 4, "S", 1, 0);
        c->inner_ok = r1 == BC_OK && il == 7 && memcmp(iv, "v:inner", 7) == 0 && r2 == BC_OK;
        bc_free(iv);
    }
    if (KEY_IS("save"))
        c->saved_sink = sink;
    if (key_len > sizeof v - 2)
        key_len = sizeof v - 2;
    memcpy(v, "v:", 2);
    memcpy(v + 2, key, key_len);
    n = key_len + 2;
    if (KEY_IS("ttl") && bc_sink_set_ttl(sink, 30) != BC_OK)
        return BC_INTERNAL;
#undef KEY_IS
    return bc_sink_set_value(sink, v, n);
}

static bc_group *make_group(struct loader_ctx *c, const char *name)
{
    bc_group_options o;
    bc_store_options so;
    bc_group *g = NULL;
    bc_group_options_init(&o);
    bc_store_options_init(&so);
    so.sweep_interval_ms = -1;
    o.name = name;
    o.loader = test_loader;
    o.user_data = c;
    o.store = &so;
    CHECK_RC(BC_OK, bc_group_new(&o, &g));
    memset(&so, 0xA5, sizeof so); /* read only during bc_group_new, never retained */
    CHECK(g != NULL);
    if (c != NULL)
        c->g = g;
    return g;
}

static bc_group_stats group_stats(bc_group *g)
{
    bc_group_stats st;
    memset(&st, 0, sizeof st);
    CHECK_RC(BC_OK, bc_group_get_stats(g, &st, sizeof st));
    return st;
}

static bc_store_stats group_store_stats(bc_group *g)
{
    bc_store_stats st;
    memset(&st, 0, sizeof st);
    CHECK_RC(BC_OK, bc_group_get_store_stats(g, &st, sizeof st));
    return st;
}

/* 1 if bc_group_get returns exactly want. */
static int group_value(bc_group *g, const char *k, const char *want)
{
    void *val = NULL;
    size_t len = 0;
    int ok;
    int32_t rc = bc_group_get(g, k, strlen(k), &val, &len);
    if (rc != BC_OK) {
        fprintf(stderr, "  bc_group_get(\"%s\") = %d (%s): %s\n", k, (int)rc, bc_strerror(rc),
                bc_last_error_message());
        return 0;
    }
    ok = val != NULL && len == strlen(want) && memcmp(val, want, len) == 0;
    bc_free(val);
    return ok;
}

static void test_group(void)
{
    struct loader_ctx c;
    bc_group *g;
    bc_group_stats st;
    bc_store_stats sst;
    void *val;
    size_t len;
    char name[16];
    char msg[512];
    int32_t rc;

    section("group");
    memset(&c, 0, sizeof c);
    strcpy(name, "users");
    g = make_group(&c, name);
    if (g == NULL)
        return;
    memset(name, 'x', sizeof name - 1); /* the name was copied */
    CHECK(bc_group_name(g) != NULL && strcmp(bc_group_name(g), "users") == 0);
    CHECK(bc_group_name(NULL) == NULL);

    /* Miss -> load -> hit. */
    CHECK(group_value(g, "alice", "v:alice"));
    CHECK_EQ(c.calls, 1);
    CHECK(group_value(g, "alice", "v:alice"));
    CHECK_EQ(c.calls, 1);
    st = group_stats(g);
    CHECK_EQ(st.gets, 2);
    CHECK_EQ(st.hits, 1);
    CHECK_EQ(st.misses, 1);
    CHECK_EQ(st.loads, 1);
    CHECK_EQ(st.loads_deduplicated, 0);
    CHECK_EQ(st.loader_errors, 0);
    CHECK_EQ(st.loader_not_found, 0);
    sst = group_store_stats(g);
    CHECK_EQ(sst.entries, 1);
    CHECK_EQ(sst.sets, 1);
    CHECK_EQ(sst.hits, 1);
    CHECK_EQ(sst.misses, 1);
    CHECK_EQ(sst.max_bytes, 0);
    CHECK_EQ(sst.max_entries, 0);
    CHECK(sst.shards >= 1);
    CHECK(sst.bytes > 0);
    CHECK_EQ(sst.reserved, 0);
    /* out_size is honored: a shorter struct gets only its bytes. */
    {
        unsigned char raw[sizeof(bc_store_stats) + 8];
        memset(raw, 0xEE, sizeof raw);
        CHECK_RC(BC_OK, bc_group_get_store_stats(g, (bc_store_stats *)(void *)raw,
                                                 offsetof(bc_store_stats, misses)));
        CHECK_EQ(((bc_store_stats *)(void *)raw)->hits, 1);
        CHECK_EQ(raw[offsetof(bc_store_stats, misses)], 0xEE);
        memset(raw, 0xEE, sizeof raw);
        CHECK_RC(BC_OK, bc_group_get_store_stats(g, (bc_store_stats *)(void *)raw, 0));
        CHECK_EQ(raw[0], 0xEE);
        /* A larger out_size (a newer header's struct) writes no more than this one. */
        CHECK_RC(BC_OK, bc_group_get_store_stats(g, (bc_store_stats *)(void *)raw, sizeof raw));
        CHECK_EQ(((bc_store_stats *)(void *)raw)->entries, 1);
        CHECK_EQ(raw[sizeof(bc_store_stats)], 0xEE);
    }

    /* Not found: nothing cached, the next get asks again. */
    val = (void *)msg;
    len = 9;
    CHECK_RC(BC_NOT_FOUND, bc_group_get(g, "nf-1", 4, &val, &len));
    CHECK(val == NULL);
    CHECK_EQ(len, 0);
    CHECK_RC(BC_NOT_FOUND, bc_group_get(g, "nf-1", 4, &val, &len));
    CHECK_EQ(c.calls, 3);
    st = group_stats(g);
    CHECK_EQ(st.loader_not_found, 2);
    CHECK_EQ(group_store_stats(g).entries, 1);

    /* Loader error with a message. */
    val = NULL;
    rc = bc_group_get(g, "err-1", 5, &val, &len);
    snprintf(msg, sizeof msg, "%s", bc_last_error_message());
    CHECK_RC(BC_LOADER_FAILED, rc);
    CHECK(strstr(msg, "db down") != NULL);
    if (strstr(msg, "db down") == NULL)
        fprintf(stderr, "  message was \"%s\"\n", msg);
    CHECK(val == NULL);
    /* Loader error without a message, with a code outside the list. */
    CHECK_RC(BC_LOADER_FAILED, bc_group_get(g, "code-1", 6, &val, &len));
    /* BC_OK without a value. */
    CHECK_RC(BC_LOADER_FAILED, bc_group_get(g, "noval-1", 7, &val, &len));
    /* Failures are not cached either. */
    CHECK_RC(BC_LOADER_FAILED, bc_group_get(g, "err-1", 5, &val, &len));
    CHECK_EQ(c.calls, 7);
    st = group_stats(g);
    CHECK_EQ(st.loader_errors, 4);
    CHECK_EQ(st.loads, 7);
    CHECK_EQ(group_store_stats(g).entries, 1);

    /* Loader TTL. */
    CHECK(group_value(g, "ttl-1", "v:ttl-1"));
    CHECK(group_value(g, "ttl-1", "v:ttl-1"));
    CHECK_EQ(c.calls, 8);
    sleep_ms(100);
    CHECK(group_value(g, "ttl-1", "v:ttl-1"));
    CHECK_EQ(c.calls, 9);
    CHECK(group_store_stats(g).expirations >= 1);

    /* Bad bc_sink_* calls inside a loader; the load still succeeds. */
    CHECK(group_value(g, "checks", "v:checks"));
    CHECK_EQ(c.sink_null_val, BC_INVALID_ARGUMENT);
    CHECK_EQ(c.sink_bad_ttl, BC_INVALID_ARGUMENT);
    CHECK_EQ(c.sink_too_large, BC_TOO_LARGE);
    CHECK_EQ(c.sink_zero_ttl, BC_OK);

    /* The loader may use its own group (other keys). */
    CHECK(group_value(g, "reent", "v:reent"));
    CHECK(c.inner_ok);
    {
        long before = c.calls;
        CHECK(group_value(g, "inner", "v:inner"));
        CHECK(group_value(g, "side", "S"));
        CHECK_EQ(c.calls, before);
    }

    /* set / delete */
    CHECK_RC(BC_OK, bc_group_set(g, "bob", 3, "direct", 6, 0));
    {
        long before = c.calls;
        CHECK(group_value(g, "bob", "direct"));
        CHECK_EQ(c.calls, before);
        CHECK_RC(BC_OK, bc_group_delete(g, "bob", 3));
        CHECK_RC(BC_NOT_FOUND, bc_group_delete(g, "bob", 3));
        CHECK(group_value(g, "bob", "v:bob"));
        CHECK_EQ(c.calls, before + 1);
    }
    CHECK_RC(BC_OK, bc_group_set(g, "short", 5, "s", 1, 30));
    CHECK_RC(BC_OK, bc_group_set(g, NULL, 0, NULL, 0, BC_TTL_NEVER));
    val = NULL;
    CHECK_RC(BC_OK, bc_group_get(g, NULL, 0, &val, &len));
    CHECK(val != NULL);
    CHECK_EQ(len, 0);
    bc_free(val);

    /* Bad input on a live group. */
    {
        const char one = 'x';
        long before = c.calls;
        CHECK_RC(BC_MISUSE, bc_group_get(g, "k", 1, NULL, &len));
        CHECK_RC(BC_MISUSE, bc_group_get(g, "k", 1, &val, NULL));
        CHECK_RC(BC_INVALID_ARGUMENT, bc_group_get(g, NULL, 2, &val, &len));
        CHECK_RC(BC_TOO_LARGE, bc_group_get(g, &one, (size_t)BC_MAX_KEY_LEN + 1, &val, &len));
        CHECK_RC(BC_TOO_LARGE, bc_group_get(g, &one, SIZE_MAX, &val, &len));
        CHECK_RC(BC_INVALID_ARGUMENT, bc_group_set(g, NULL, 2, "v", 1, 0));
        CHECK_RC(BC_INVALID_ARGUMENT, bc_group_set(g, "k", 1, NULL, 1, 0));
        CHECK_RC(BC_INVALID_ARGUMENT, bc_group_set(g, "k", 1, "v", 1, -2));
        CHECK_RC(BC_TOO_LARGE, bc_group_set(g, &one, SIZE_MAX, "v", 1, 0));
        CHECK_RC(BC_TOO_LARGE, bc_group_set(g, "k", 1, &one, (size_t)BC_MAX_VALUE_LEN + 1, 0));
        CHECK_RC(BC_INVALID_ARGUMENT, bc_group_delete(g, NULL, 2));
        CHECK_RC(BC_TOO_LARGE, bc_group_delete(g, &one, SIZE_MAX));
        CHECK_RC(BC_MISUSE, bc_group_get_stats(g, NULL, sizeof st));
        CHECK_RC(BC_MISUSE, bc_group_get_store_stats(g, NULL, sizeof sst));
        CHECK_EQ(c.calls, before); /* none of these reached the loader */
    }
    bc_group_free(g);

    /* A loaded value too large for the store is returned but not cached. */
    {
        bc_group_options o;
        bc_store_options so;
        bc_group *small = NULL;
        memset(&c, 0, sizeof c);
        bc_group_options_init(&o);
        bc_store_options_init(&so);
        so.shards = 1;
        so.max_bytes = 1024;
        o.name = "small";
        o.loader = test_loader;
        o.user_data = &c;
        o.store = &so;
        CHECK_RC(BC_OK, bc_group_new(&o, &small));
        if (small != NULL) {
            sst = group_store_stats(small);
            CHECK_EQ(sst.shards, 1);
            CHECK_EQ(sst.max_bytes, 1024);
            val = NULL;
            len = 0;
            CHECK_RC(BC_OK, bc_group_get(small, "big", 3, &val, &len));
            CHECK_EQ(len, 4096);
            CHECK(val != NULL && ((unsigned char *)val)[4095] == 'B');
            bc_free(val);
            val = NULL;
            CHECK_RC(BC_OK, bc_group_get(small, "big", 3, &val, &len));
            bc_free(val);
            CHECK_EQ(c.calls, 2);
            CHECK_EQ(group_store_stats(small).entries, 0);
            bc_group_free(small);
        }
    }
}

static void test_group_misuse(void)
{
    struct loader_ctx c, d;
    bc_group_options o;
    bc_store_options so;
    bc_group *g;
    bc_group_stats st;
    bc_store_stats sst;
    void *val = NULL;
    size_t len = 0;

    section("group misuse");
    memset(&c, 0, sizeof c);
    memset(&d, 0, sizeof d);
    bc_group_options_init(NULL); /* no-op */
    bc_group_free(NULL);         /* no-op */

    bc_group_options_init(&o);
    CHECK_EQ(o.struct_size, sizeof(bc_group_options));
    CHECK(o.name == NULL);
    CHECK(o.loader == NULL);
    CHECK(o.user_data == NULL);
    CHECK(o.store == NULL);

    CHECK_RC(BC_MISUSE, bc_group_new(NULL, &g));
    CHECK_RC(BC_MISUSE, bc_group_new(&o, NULL));

#define BAD_GROUP(assignments)                                       \
    do {                                                             \
        bc_group_options_init(&o);                                   \
        bc_store_options_init(&so);                                  \
        o.name = "g";                                                \
        o.loader = test_loader;                                      \
        o.user_data = &c;                                            \
        assignments;                                                 \
        g = NULL;                                                    \
        CHECK_RC(BC_INVALID_ARGUMENT, bc_group_new(&o, &g));         \
        bc_group_free(g);                                            \
    } while (0)
    BAD_GROUP(o.loader = NULL);
    BAD_GROUP(o.name = NULL);
    BAD_GROUP(o.name = "");
    BAD_GROUP(so.policy = "nope"; o.store = &so);
    BAD_GROUP(so.shards = 3; o.store = &so);
    BAD_GROUP(so.default_ttl_ms = -5; o.store = &so);
    BAD_GROUP(o.struct_size = 0);
    BAD_GROUP(o.struct_size = (uint32_t)offsetof(bc_group_options, user_data));
    BAD_GROUP(so.struct_size = 0; o.store = &so);
    BAD_GROUP(so.struct_size = (uint32_t)offsetof(bc_store_options, sweep_interval_ms); o.store = &so);
#undef BAD_GROUP

    /* store NULL (what bc_group_options_init leaves) means the store defaults:
       automatic shards, no budget. */
    bc_group_options_init(&o);
    o.name = "defaults";
    o.loader = test_loader;
    o.user_data = &d;
    g = NULL;
    CHECK_RC(BC_OK, bc_group_new(&o, &g));
    if (g != NULL) {
        bc_store *ref = NULL;
        bc_store_stats want, got;
        CHECK_RC(BC_OK, bc_store_new(NULL, &ref));
        memset(&want, 0, sizeof want);
        if (ref != NULL)
            CHECK_RC(BC_OK, bc_store_get_stats(ref, &want, sizeof want));
        got = group_store_stats(g);
        CHECK_EQ(got.max_bytes, 0);
        CHECK_EQ(got.max_entries, 0);
        CHECK_EQ(got.entries, 0);
        CHECK_EQ(got.shards, want.shards);
        CHECK(group_value(g, "dflt", "v:dflt"));
        CHECK_EQ(group_store_stats(g).entries, 1);
        bc_store_free(ref);
        bc_group_free(g);
    }
    /* Store options that bc_store_options_init filled and left alone are the
       same defaults. */
    bc_group_options_init(&o);
    bc_store_options_init(&so);
    o.name = "explicit-defaults";
    o.loader = test_loader;
    o.user_data = &d;
    o.store = &so;
    g = NULL;
    CHECK_RC(BC_OK, bc_group_new(&o, &g));
    if (g != NULL) {
        CHECK_EQ(group_store_stats(g).max_entries, 0);
        bc_group_free(g);
    }

    CHECK_RC(BC_MISUSE, bc_group_get(NULL, "k", 1, &val, &len));
    CHECK(val == NULL);
    CHECK_RC(BC_MISUSE, bc_group_set(NULL, "k", 1, "v", 1, 0));
    CHECK_RC(BC_MISUSE, bc_group_delete(NULL, "k", 1));
    CHECK_RC(BC_MISUSE, bc_group_get_stats(NULL, &st, sizeof st));
    CHECK_RC(BC_MISUSE, bc_group_get_store_stats(NULL, &sst, sizeof sst));
    CHECK_RC(BC_MISUSE, bc_group_get_store_stats(NULL, NULL, sizeof sst));
    CHECK_RC(BC_MISUSE, bc_sink_set_value(NULL, "v", 1));
    CHECK_RC(BC_MISUSE, bc_sink_set_ttl(NULL, 10));
    CHECK_RC(BC_MISUSE, bc_sink_set_error(NULL, "x"));
    CHECK_EQ(c.calls, 0);
}

/* The header promises BC_MISUSE for a sink kept past its loader call: the
   library never dereferences a stale sink (valgrind checks that too). */
static void test_sink_lifetime(void)
{
    struct loader_ctx c;
    bc_group *g;

    section("sink lifetime");
    memset(&c, 0, sizeof c);
    g = make_group(&c, "lifetime"); /* sweep_interval_ms = -1: no sweeper thread */
    if (g == NULL)
        return;
    CHECK(group_value(g, "save", "v:save"));
    CHECK(c.saved_sink != NULL);
    if (c.saved_sink != NULL) {
        CHECK_RC(BC_MISUSE, bc_sink_set_value(c.saved_sink, "late", 4));
        CHECK_RC(BC_MISUSE, bc_sink_set_ttl(c.saved_sink, 10));
        CHECK_RC(BC_MISUSE, bc_sink_set_error(c.saved_sink, "late"));
        CHECK(strstr(bc_last_error_message(), "outside the loader call") != NULL);
    }
    /* The group is unharmed. */
    CHECK(group_value(g, "save", "v:save"));
    bc_group_free(g);
}

/* ---- Singleflight ------------------------------------------------------------------ */

#define SF_THREADS 8

struct sf_arg {
    bc_group *g;
    pthread_barrier_t *barrier;
    int ok;
};

static void *sf_thread(void *p)
{
    struct sf_arg *a = p;
    void *val = NULL;
    size_t len = 0;
    int32_t rc;
    pthread_barrier_wait(a->barrier);
    rc = bc_group_get(a->g, "slow-key", 8, &val, &len);
    a->ok = rc == BC_OK && len == 10 && memcmp(val, "v:slow-key", 10) == 0;
    bc_free(val);
    return NULL;
}

static void test_singleflight(void)
{
    struct loader_ctx c;
    bc_group *g;
    bc_group_stats st;
    pthread_t t[SF_THREADS];
    struct sf_arg a[SF_THREADS];
    pthread_barrier_t barrier;
    int i;

    section("singleflight");
    memset(&c, 0, sizeof c);
    c.sleep_ms = 100;
    g = make_group(&c, "sf");
    if (g == NULL)
        return;
    pthread_barrier_init(&barrier, NULL, SF_THREADS);
    for (i = 0; i < SF_THREADS; i++) {
        a[i].g = g;
        a[i].barrier = &barrier;
        a[i].ok = 0;
        CHECK(pthread_create(&t[i], NULL, sf_thread, &a[i]) == 0);
    }
    for (i = 0; i < SF_THREADS; i++) {
        pthread_join(t[i], NULL);
        CHECK(a[i].ok);
    }
    pthread_barrier_destroy(&barrier);
    CHECK_EQ(c.calls, 1);
    st = group_stats(g);
    printf("gets %" PRIu64 " hits %" PRIu64 " misses %" PRIu64 " loads %" PRIu64
           " deduplicated %" PRIu64 "\n",
           st.gets, st.hits, st.misses, st.loads, st.loads_deduplicated);
    CHECK_EQ(st.gets, SF_THREADS);
    CHECK_EQ(st.loads, 1);
    /* All 8 start together and the load takes 100 ms, so all 8 miss: one
       loads, seven share its result. */
    CHECK_EQ(st.misses, SF_THREADS);
    CHECK_EQ(st.hits, 0);
    CHECK_EQ(st.loads_deduplicated, SF_THREADS - 1);
    bc_group_free(g);
}

/* ---- Writes win over loads in flight (issue 15, case 1) ------------------------------ */

struct fill_arg {
    bc_group *g;
    const char *key;
};

static void *fill_thread(void *p)
{
    struct fill_arg *a = p;
    void *val = NULL;
    size_t len = 0;
    if (bc_group_get(a->g, a->key, strlen(a->key), &val, &len) == BC_OK)
        bc_free(val);
    return NULL;
}

/* A get starts a 300 ms load; a set (or a delete) lands while it runs. The load must
   not store its older value over the write. */
static void test_write_during_load(void)
{
    struct loader_ctx c;
    bc_group *g;
    pthread_t t;
    struct fill_arg a;
    bc_store_stats st;

    section("writes during a load");
    memset(&c, 0, sizeof c);
    c.sleep_ms = 300;
    g = make_group(&c, "fill");
    if (g == NULL)
        return;
    a.g = g;
    a.key = "race";
    CHECK(pthread_create(&t, NULL, fill_thread, &a) == 0);
    sleep_ms(100);
    CHECK_RC(BC_OK, bc_group_set(g, "race", 4, "NEW", 3, 0));
    CHECK(group_value(g, "race", "NEW"));
    pthread_join(t, NULL);
    CHECK(group_value(g, "race", "NEW")); /* was "v:race": the load replaced the set */

    /* A delete during a load: the load's value is not cached, so the next get loads. */
    a.key = "gone";
    CHECK(pthread_create(&t, NULL, fill_thread, &a) == 0);
    sleep_ms(100);
    CHECK_RC(BC_NOT_FOUND, bc_group_delete(g, "gone", 4));
    pthread_join(t, NULL);
    st = group_store_stats(g);
    CHECK_EQ(st.entries, 1); /* only "race": the load of "gone" was not cached */
    bc_group_free(g);
}

/* ---- Stress -------------------------------------------------------------------------- */

#define STRESS_THREADS 4
#define STRESS_KEYS 5000u
#define STRESS_VAL_MAX 200u

struct stress_arg {
    bc_store *s;
    uint64_t rng;
    long ops;
    long gets, get_oks, sets, deletes, delete_oks;
    long bad_values, bad_status;
};

static uint64_t xorshift(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* value = id (4 bytes) | length (4 bytes) | pattern of id and position */
static size_t make_value(unsigned char *v, uint32_t id, uint32_t len)
{
    uint32_t i;
    memcpy(v, &id, 4);
    memcpy(v + 4, &len, 4);
    for (i = 8; i < len; i++)
        v[i] = (unsigned char)(id * 31u + i * 7u);
    return len;
}

static int value_ok(const unsigned char *v, size_t len, uint32_t id)
{
    uint32_t vid, vlen, i;
    if (len < 8 || len > STRESS_VAL_MAX)
        return 0;
    memcpy(&vid, v, 4);
    memcpy(&vlen, v + 4, 4);
    if (vid != id || vlen != len)
        return 0;
    for (i = 8; i < len; i++)
        if (v[i] != (unsigned char)(id * 31u + i * 7u))
            return 0;
    return 1;
}

static void *stress_thread(void *p)
{
    struct stress_arg *a = p;
    unsigned char v[STRESS_VAL_MAX];
    unsigned char buf[STRESS_VAL_MAX];
    char k[16];
    long i;

    for (i = 0; i < a->ops; i++) {
        uint64_t r = xorshift(&a->rng);
        uint32_t id = (uint32_t)(r % STRESS_KEYS);
        unsigned op = (unsigned)((r >> 20) % 100);
        size_t klen = (size_t)snprintf(k, sizeof k, "key-%u", (unsigned)id);
        int32_t rc;
        if (op < 45) {
            void *val = NULL;
            size_t len = 0;
            rc = bc_store_get(a->s, k, klen, &val, &len);
            a->gets++;
            if (rc == BC_OK) {
                a->get_oks++;
                if (val == NULL || !value_ok(val, len, id))
                    a->bad_values++;
            } else if (rc != BC_NOT_FOUND || val != NULL || len != 0) {
                a->bad_status++;
            }
            bc_free(val);
        } else if (op < 60) {
            size_t len = 0;
            rc = bc_store_get_into(a->s, k, klen, buf, sizeof buf, &len);
            a->gets++;
            if (rc == BC_OK) {
                a->get_oks++;
                if (!value_ok(buf, len, id))
                    a->bad_values++;
            } else if (rc != BC_NOT_FOUND) {
                a->bad_status++;
            }
        } else if (op < 90) {
            uint32_t len = 8 + (uint32_t)((r >> 32) % (STRESS_VAL_MAX - 7));
            unsigned t = (unsigned)((r >> 48) % 4);
            int64_t ttl = t == 0 ? 0 : t == 1 ? BC_TTL_NEVER : t == 2 ? (int64_t)(1 + (r >> 56) % 50) : 1000;
            make_value(v, id, len);
            rc = bc_store_set(a->s, k, klen, v, len, ttl);
            if (rc == BC_OK)
                a->sets++;
            else
                a->bad_status++;
        } else {
            rc = bc_store_delete(a->s, k, klen);
            a->deletes++;
            if (rc == BC_OK)
                a->delete_oks++;
            else if (rc != BC_NOT_FOUND)
                a->bad_status++;
        }
    }
    return NULL;
}

static void test_stress(const char *policy, long ops)
{
    bc_store *s;
    bc_store_stats st;
    pthread_t t[STRESS_THREADS];
    struct stress_arg a[STRESS_THREADS];
    long gets = 0, get_oks = 0, sets = 0, delete_oks = 0, bad_values = 0, bad_status = 0;
    int i;

    printf("== stress (policy %s, %d threads x %ld ops)\n", policy, STRESS_THREADS, ops);
    fflush(stdout);
    s = make_store(policy, 0, 1000, 0, 0, 10);
    if (s == NULL)
        return;
    for (i = 0; i < STRESS_THREADS; i++) {
        memset(&a[i], 0, sizeof a[i]);
        a[i].s = s;
        a[i].rng = UINT64_C(0x9E3779B97F4A7C15) * (uint64_t)(i + 1);
        a[i].ops = ops;
        CHECK(pthread_create(&t[i], NULL, stress_thread, &a[i]) == 0);
    }
    for (i = 0; i < STRESS_THREADS; i++) {
        pthread_join(t[i], NULL);
        gets += a[i].gets;
        get_oks += a[i].get_oks;
        sets += a[i].sets;
        delete_oks += a[i].delete_oks;
        bad_values += a[i].bad_values;
        bad_status += a[i].bad_status;
    }
    CHECK_EQ(bad_values, 0);
    CHECK_EQ(bad_status, 0);
    st = store_stats(s);
    printf("hits %" PRIu64 " misses %" PRIu64 " sets %" PRIu64 " deletes %" PRIu64
           " evictions %" PRIu64 " expirations %" PRIu64 " entries %" PRIu64 "\n",
           st.hits, st.misses, st.sets, st.deletes, st.evictions, st.expirations, st.entries);
    CHECK(st.entries <= 1000);
    CHECK_EQ(st.hits, get_oks);
    CHECK_EQ(st.hits + st.misses, gets);
    CHECK_EQ(st.sets, sets);
    CHECK_EQ(st.deletes, delete_oks);
    CHECK(st.evictions > 0);
    bc_store_free(s);
}

/* ---- Ring ----------------------------------------------------------------------------- */

#define RING_KEYS 30000

static int node_index(const char *name)
{
    if (strcmp(name, "node-a") == 0)
        return 0;
    if (strcmp(name, "node-b") == 0)
        return 1;
    if (strcmp(name, "node-c") == 0)
        return 2;
    return -1;
}

/* Looks up RING_KEYS keys; owners[i] gets the node index; counts per node. */
static int ring_owners(bc_ring *r, signed char *owners, long counts[3])
{
    char k[32];
    int i, ok = 1;
    counts[0] = counts[1] = counts[2] = 0;
    for (i = 0; i < RING_KEYS; i++) {
        char *node = NULL;
        size_t n = (size_t)snprintf(k, sizeof k, "key-%d", i);
        int idx;
        if (bc_ring_lookup(r, k, n, &node) != BC_OK || node == NULL) {
            ok = 0;
            owners[i] = -1;
            continue;
        }
        idx = node_index(node);
        bc_free(node);
        owners[i] = (signed char)idx;
        if (idx < 0)
            ok = 0;
        else
            counts[idx]++;
    }
    return ok;
}

static void test_ring(void)
{
    bc_ring *r = NULL, *r2 = NULL, *rw = NULL, *bad;
    signed char *own1 = malloc(RING_KEYS), *own2 = malloc(RING_KEYS), *own3 = malloc(RING_KEYS);
    long cnt[3], cnt2[3];
    char *node;
    int i, same, moved_ok;

    section("ring");
    CHECK(own1 != NULL && own2 != NULL && own3 != NULL);
    if (own1 == NULL || own2 == NULL || own3 == NULL)
        goto out;
    bc_ring_free(NULL); /* no-op */
    CHECK_EQ(bc_ring_node_count(NULL), 0);

    CHECK_RC(BC_MISUSE, bc_ring_new(0, NULL));
    bad = NULL;
    CHECK_RC(BC_INVALID_ARGUMENT, bc_ring_new(65537, &bad));
    bc_ring_free(bad);
    bad = NULL;
    CHECK_RC(BC_OK, bc_ring_new(65536, &bad));
    bc_ring_free(bad);

    CHECK_RC(BC_OK, bc_ring_new(0, &r));
    if (r == NULL)
        goto out;
    CHECK_EQ(bc_ring_node_count(r), 0);
    node = NULL;
    CHECK_RC(BC_NOT_FOUND, bc_ring_lookup(r, "k", 1, &node));
    CHECK(node == NULL);

    CHECK_RC(BC_OK, bc_ring_add(r, "node-a", 1));
    CHECK_RC(BC_OK, bc_ring_add(r, "node-b", 1));
    CHECK_RC(BC_OK, bc_ring_add(r, "node-c", 1));
    CHECK_EQ(bc_ring_node_count(r), 3);

    /* Bad input. */
    CHECK_RC(BC_MISUSE, bc_ring_add(NULL, "x", 1));
    CHECK_RC(BC_INVALID_ARGUMENT, bc_ring_add(r, NULL, 1));
    CHECK_RC(BC_INVALID_ARGUMENT, bc_ring_add(r, "x", 0));
    CHECK_RC(BC_INVALID_ARGUMENT, bc_ring_add(r, "x", 1001));
    CHECK_RC(BC_MISUSE, bc_ring_remove(NULL, "node-a"));
    CHECK_RC(BC_INVALID_ARGUMENT, bc_ring_remove(r, NULL));
    CHECK_RC(BC_NOT_FOUND, bc_ring_remove(r, "node-zzz"));
    CHECK_RC(BC_MISUSE, bc_ring_lookup(NULL, "k", 1, &node));
    CHECK_RC(BC_MISUSE, bc_ring_lookup(r, "k", 1, NULL));
    CHECK_RC(BC_INVALID_ARGUMENT, bc_ring_lookup(r, NULL, 1, &node));
    CHECK_EQ(bc_ring_node_count(r), 3);
    node = NULL;
    CHECK_RC(BC_OK, bc_ring_lookup(r, NULL, 0, &node)); /* empty key */
    CHECK(node != NULL && node_index(node) >= 0);
    bc_free(node);

    /* Deterministic and roughly even. */
    CHECK(ring_owners(r, own1, cnt));
    printf("3 nodes: %ld %ld %ld\n", cnt[0], cnt[1], cnt[2]);
    for (i = 0; i < 3; i++) {
        CHECK(cnt[i] >= RING_KEYS * 20 / 100);
        CHECK(cnt[i] <= RING_KEYS * 47 / 100);
    }
    CHECK(ring_owners(r, own2, cnt2));
    CHECK(memcmp(own1, own2, RING_KEYS) == 0);
    /* Placement depends on the set of nodes, not on the order they came in. */
    CHECK_RC(BC_OK, bc_ring_new(0, &r2));
    if (r2 != NULL) {
        CHECK_RC(BC_OK, bc_ring_add(r2, "node-c", 1));
        CHECK_RC(BC_OK, bc_ring_add(r2, "node-a", 1));
        CHECK_RC(BC_OK, bc_ring_add(r2, "node-b", 1));
        CHECK(ring_owners(r2, own2, cnt2));
        CHECK(memcmp(own1, own2, RING_KEYS) == 0);
        bc_ring_free(r2);
    }

    /* Weight 2 gets more keys. */
    CHECK_RC(BC_OK, bc_ring_new(0, &rw));
    if (rw != NULL) {
        CHECK_RC(BC_OK, bc_ring_add(rw, "node-a", 1));
        CHECK_RC(BC_OK, bc_ring_add(rw, "node-b", 1));
        CHECK_RC(BC_OK, bc_ring_add(rw, "node-c", 2));
        CHECK(ring_owners(rw, own2, cnt2));
        printf("weights 1 1 2: %ld %ld %ld\n", cnt2[0], cnt2[1], cnt2[2]);
        CHECK(cnt2[2] > cnt2[0] && cnt2[2] > cnt2[1]);
        CHECK(cnt2[2] >= RING_KEYS * 35 / 100);
        CHECK(cnt2[2] <= RING_KEYS * 65 / 100);
        /* Changing a weight in place keeps the node count. */
        CHECK_RC(BC_OK, bc_ring_add(rw, "node-c", 1));
        CHECK_EQ(bc_ring_node_count(rw), 3);
        CHECK(ring_owners(rw, own2, cnt2));
        CHECK(memcmp(own1, own2, RING_KEYS) == 0); /* back to equal weights */
        bc_ring_free(rw);
    }

    /* Removing a node moves only its keys. */
    CHECK_RC(BC_OK, bc_ring_remove(r, "node-b"));
    CHECK_EQ(bc_ring_node_count(r), 2);
    CHECK_RC(BC_NOT_FOUND, bc_ring_remove(r, "node-b"));
    CHECK(ring_owners(r, own3, cnt2));
    same = 1;
    moved_ok = 1;
    for (i = 0; i < RING_KEYS; i++) {
        if (own1[i] != 1 && own3[i] != own1[i])
            same = 0;
        if (own1[i] == 1 && own3[i] != 0 && own3[i] != 2)
            moved_ok = 0;
    }
    CHECK(same);
    CHECK(moved_ok);
    CHECK_EQ(cnt2[1], 0);
    /* Adding it back restores the original placement. */
    CHECK_RC(BC_OK, bc_ring_add(r, "node-b", 1));
    CHECK(ring_owners(r, own3, cnt2));
    CHECK(memcmp(own1, own3, RING_KEYS) == 0);

out:
    bc_ring_free(r);
    free(own1);
    free(own2);
    free(own3);
}

/* ---- main ------------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    long stress_ops = 200000;
    int i;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--stress-ops") == 0 && i + 1 < argc) {
            stress_ops = strtol(argv[++i], NULL, 10);
        } else {
            fprintf(stderr, "usage: %s [--stress-ops N]\n", argv[0]);
            return 2;
        }
    }
    setvbuf(stdout, NULL, _IOLBF, 0);

    test_library();
    test_hash();
    test_store_basics("lru");
    test_store_basics("lru2");
    test_store_basics(NULL);
    test_lru_order();
    test_scan_resistance("lru2", 1);
    test_scan_resistance("lru", 0);
    test_budgets("lru");
    test_budgets("lru2");
    test_ttl("lru");
    test_ttl("lru2");
    test_store_misuse();
    test_group();
    test_group_misuse();
    test_sink_lifetime();
    test_singleflight();
    test_write_during_load();
    test_stress("lru2", stress_ops);
    test_stress("lru", stress_ops);
    test_ring();

    printf("%ld passed, %ld failed\n", g_passed, g_failed);
    return g_failed == 0 ? 0 : 1;
}
