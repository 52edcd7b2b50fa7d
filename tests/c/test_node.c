/* Tests of the cluster part of the C ABI (bc_node_*, bc_peer_*): two nodes in this
 * process on loopback with static peers, C loaders that count their calls.
 *
 * Checks: keys are loaded once, by their owner, whichever node is asked; set and
 * delete through one node are seen through the other; the peer client reads, writes
 * and deletes; a dead peer costs at most one timeout and gets fall back to a local
 * load; bad arguments give the documented codes. TLS: two nodes talk over TLS with
 * client certificates between them; a TLS peer client works, plaintext and untrusted
 * ones are refused; bad TLS options are errors. The certificates come from
 * scripts/make-test-certs.sh, in the folder named by BLOCKCACHE_TEST_CERTS.
 */
#define _POSIX_C_SOURCE 200809L
#include "blockcache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static long g_passed, g_failed;

static void record(int ok, const char *file, int line, const char *expr)
{
    if (ok) {
        g_passed++;
    } else {
        g_failed++;
        fprintf(stderr, "%s:%d: CHECK failed: %s (last error: %s)\n", file, line, expr, bc_last_error_message());
    }
}
#define CHECK(expr) record((expr) ? 1 : 0, __FILE__, __LINE__, #expr)

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Value "<tag>:<key>", so a test can tell which node's loader produced it. */
struct loader_ctx {
    long calls;
    const char *tag;
};

static int32_t loader(void *user_data, const void *key, size_t key_len, bc_sink *sink)
{
    struct loader_ctx *c = user_data;
    char v[256];
    int n;
    __atomic_add_fetch(&c->calls, 1, __ATOMIC_SEQ_CST);
    if (key_len >= 2 && memcmp(key, "nf", 2) == 0)
        return BC_NOT_FOUND;
    n = snprintf(v, sizeof v, "v:%.*s", (int)(key_len > 200 ? 200 : key_len), (const char *)key);
    return bc_sink_set_value(sink, v, (size_t)n);
}

static bc_group *make_group(const char *name, struct loader_ctx *ctx)
{
    bc_group_options go;
    bc_group *g = NULL;
    bc_group_options_init(&go);
    go.name = name;
    go.loader = loader;
    go.user_data = ctx;
    CHECK(bc_group_new(&go, &g) == BC_OK);
    return g;
}

/* v and n by address: C evaluates arguments in no fixed order, so the get that
   fills them must not race the reading of them in one argument list. */
static int value_is(int32_t rc, void **v, size_t *n, const char *want)
{
    int ok = rc == BC_OK && *n == strlen(want) && memcmp(*v, want, *n) == 0;
    bc_free(*v);
    *v = NULL;
    return ok;
}

static const char *cert(const char *dir, const char *name)
{
    static char paths[8][512];
    static int next;
    char *p = paths[next++ % 8];
    snprintf(p, 512, "%s/%s", dir, name);
    return p;
}

static void tls_checks(void)
{
    const char *dir = getenv("BLOCKCACHE_TEST_CERTS");
    struct loader_ctx cc = {0, "c"}, cd = {0, "d"};
    bc_group *gc, *gd;
    bc_node_options o;
    bc_peer_options po;
    bc_node *c = NULL, *d = NULL;
    bc_peer *p = NULL;
    void *v = NULL;
    size_t n = 0;
    char key[32];
    int i;

    CHECK(dir != NULL); /* make test-c sets it (scripts/make-test-certs.sh) */
    if (dir == NULL)
        return;
    gc = make_group("users", &cc);
    gd = make_group("users", &cd);

    /* Bad TLS options are errors, not crashes. */
    bc_node_options_init(&o);
    CHECK(o.tls_verify_hostnames == 1 && o.tls_cert_file == NULL);
    o.tls_cert_file = cert(dir, "node.pem");
    CHECK(bc_node_start(&o, &gc, 1, &c) == BC_INVALID_ARGUMENT && c == NULL); /* no key */
    o.tls_key_file = "/nonexistent/key.pem";
    CHECK(bc_node_start(&o, &gc, 1, &c) == BC_INVALID_ARGUMENT && c == NULL);
    CHECK(strstr(bc_last_error_message(), "/nonexistent/key.pem") != NULL);
    o.tls_key_file = cert(dir, "client-key.pem"); /* not the certificate's key */
    CHECK(bc_node_start(&o, &gc, 1, &c) == BC_INVALID_ARGUMENT && c == NULL);
    o.tls_key_file = cert(dir, "node-key.pem");
    o.tls_client_certs = 7;
    CHECK(bc_node_start(&o, &gc, 1, &c) == BC_INVALID_ARGUMENT && c == NULL);
    bc_node_options_init(&o);
    o.tls_ca_file = cert(dir, "ca.pem"); /* TLS options without a certificate */
    CHECK(bc_node_start(&o, &gc, 1, &c) == BC_INVALID_ARGUMENT && c == NULL);
    {
        const char *plain[] = {"http://127.0.0.1:1"}, *secure[] = {"https://127.0.0.1:1"};
        bc_node_options_init(&o);
        o.etcd_endpoints = plain; /* etcd TLS files without an https:// endpoint */
        o.etcd_endpoint_count = 1;
        o.etcd_tls_ca_file = cert(dir, "ca.pem");
        CHECK(bc_node_start(&o, &gc, 1, &c) == BC_INVALID_ARGUMENT && c == NULL);
        o.etcd_endpoints = secure;
        o.etcd_tls_ca_file = "/nonexistent/etcd-ca.pem";
        CHECK(bc_node_start(&o, &gc, 1, &c) == BC_INVALID_ARGUMENT && c == NULL);
        CHECK(strstr(bc_last_error_message(), "/nonexistent/etcd-ca.pem") != NULL);
        o.etcd_tls_ca_file = cert(dir, "ca.pem");
        o.etcd_tls_cert_file = cert(dir, "client.pem"); /* without its key */
        CHECK(bc_node_start(&o, &gc, 1, &c) == BC_INVALID_ARGUMENT && c == NULL);
    }

    /* Two TLS nodes; only holders of a certificate from ca.pem may act as peers. */
    bc_node_options_init(&o);
    o.event_loop_threads = 1;
    o.peer_timeout_ms = 2000;
    o.tls_cert_file = cert(dir, "node.pem");
    o.tls_key_file = cert(dir, "node-key.pem");
    o.tls_ca_file = cert(dir, "ca.pem");
    o.tls_client_certs = BC_TLS_CLIENT_CERTS_PEERS;
    CHECK(bc_node_start(&o, &gc, 1, &c) == BC_OK && c != NULL);
    CHECK(bc_node_start(&o, &gd, 1, &d) == BC_OK && d != NULL);
    bc_group_free(gc);
    bc_group_free(gd);
    if (c == NULL || d == NULL) {
        bc_node_stop(c);
        bc_node_stop(d);
        return;
    }
    {
        const char *members[] = {bc_node_address(c), bc_node_address(d)};
        CHECK(bc_node_set_peers(c, members, 2) == BC_OK);
        CHECK(bc_node_set_peers(d, members, 2) == BC_OK);
    }
    for (i = 0; i < 40; i++) {
        char want[40];
        snprintf(key, sizeof key, "t%d", i);
        snprintf(want, sizeof want, "v:%s", key);
        CHECK(value_is(bc_node_get(c, NULL, key, strlen(key), &v, &n), &v, &n, want));
        CHECK(value_is(bc_node_get(d, NULL, key, strlen(key), &v, &n), &v, &n, want));
    }
    printf("TLS nodes: c loaded %ld keys, d %ld (40 keys asked of both)\n", cc.calls, cd.calls);
    CHECK(cc.calls + cd.calls == 40 && cc.calls > 0 && cd.calls > 0);

    /* A TLS peer client with the CA: works. */
    bc_peer_options_init(&po);
    CHECK(po.tls == 0 && po.tls_verify_hostnames == 1);
    po.timeout_ms = 2000;
    po.tls = 1;
    po.tls_ca_file = cert(dir, "ca.pem");
    CHECK(bc_peer_new(bc_node_address(c), &po, &p) == BC_OK);
    CHECK(bc_peer_set(p, "users", "tk", 2, "tv", 2, BC_TTL_NEVER) == BC_OK);
    CHECK(value_is(bc_node_get(d, NULL, "tk", 2, &v, &n), &v, &n, "tv"));
    CHECK(value_is(bc_peer_get(p, "users", "tk", 2, &v, &n, NULL), &v, &n, "tv"));
    bc_peer_free(p);
    /* Trusting another CA, or plaintext: refused. */
    po.tls_ca_file = cert(dir, "rogue-ca.pem");
    CHECK(bc_peer_new(bc_node_address(c), &po, &p) == BC_OK);
    CHECK(bc_peer_get(p, "users", "tk", 2, &v, &n, NULL) == BC_UNAVAILABLE);
    bc_peer_free(p);
    bc_peer_options_init(&po);
    po.timeout_ms = 2000;
    CHECK(bc_peer_new(bc_node_address(c), &po, &p) == BC_OK);
    CHECK(bc_peer_get(p, "users", "tk", 2, &v, &n, NULL) == BC_UNAVAILABLE);
    bc_peer_free(p);
    /* TLS file options without tls = 1, and a certificate without its key: errors. */
    po.tls_ca_file = cert(dir, "ca.pem");
    CHECK(bc_peer_new(bc_node_address(c), &po, &p) == BC_INVALID_ARGUMENT && p == NULL);
    po.tls = 1;
    po.tls_cert_file = cert(dir, "client.pem");
    CHECK(bc_peer_new(bc_node_address(c), &po, &p) == BC_INVALID_ARGUMENT && p == NULL);

    bc_node_stop(c);
    bc_node_stop(d);
}

int main(void)
{
    struct loader_ctx ca = {0, "a"}, cb = {0, "b"};
    bc_group *ga = make_group("users", &ca), *gb = make_group("users", &cb);
    bc_node_options o;
    bc_node *a = NULL, *b = NULL;
    char key[32];
    void *v = NULL;
    size_t n = 0;
    int i;
    setvbuf(stdout, NULL, _IOLBF, 0);

    /* Misuse. */
    bc_node_options_init(&o);
    CHECK(bc_node_start(NULL, &ga, 1, &a) == BC_MISUSE && a == NULL);
    CHECK(bc_node_start(&o, &ga, 0, &a) == BC_INVALID_ARGUMENT && a == NULL);
    CHECK(bc_node_start(&o, &ga, 1, NULL) == BC_MISUSE);
    {
        const char *bad[] = {"no-port"};
        o.peers = bad;
        o.peer_count = 1;
        CHECK(bc_node_start(&o, &ga, 1, &a) == BC_INVALID_ARGUMENT && a == NULL);
        o.peers = NULL;
        o.peer_count = 0;
    }
    o.struct_size = 4;
    CHECK(bc_node_start(&o, &ga, 1, &a) == BC_INVALID_ARGUMENT);
    /* Thread counts that cannot work are errors, not a crash of the host process. */
    bc_node_options_init(&o);
    o.event_loop_threads = 100000;
    CHECK(bc_node_start(&o, &ga, 1, &a) == BC_INVALID_ARGUMENT && a == NULL);
    CHECK(strstr(bc_last_error_message(), "event-loop threads") != NULL);
    bc_node_options_init(&o);
    o.loader_threads = 100000;
    CHECK(bc_node_start(&o, &ga, 1, &a) == BC_INVALID_ARGUMENT && a == NULL);

    /* Two nodes on free ports, then tell each about the other. */
    bc_node_options_init(&o);
    o.peer_timeout_ms = 300;
    o.event_loop_threads = 1;
    o.loader_threads = 4;
    CHECK(bc_node_start(&o, &ga, 1, &a) == BC_OK && a != NULL);
    CHECK(bc_node_start(&o, &gb, 1, &b) == BC_OK && b != NULL);
    if (a == NULL || b == NULL) {
        printf("%ld passed, %ld failed\n", g_passed, g_failed);
        return 1;
    }
    bc_group_free(ga); /* the nodes keep their own references */
    bc_group_free(gb);
    printf("nodes at %s and %s\n", bc_node_address(a), bc_node_address(b));
    {
        /* Issue 15, case 3: a peer list naming a node as localhost:P (it listens on
           127.0.0.1:P) lists it once; the node is not its own peer. */
        char alias[64];
        const char *port = strrchr(bc_node_address(a), ':');
        const char *members[3];
        char *m = NULL;
        snprintf(alias, sizeof alias, "localhost%s", port != NULL ? port : ":0");
        members[0] = bc_node_address(a);
        members[1] = bc_node_address(b);
        members[2] = alias;
        CHECK(bc_node_set_peers(a, members, 3) == BC_OK);
        CHECK(bc_node_members(a, &m) == BC_OK && m != NULL);
        if (m != NULL) {
            CHECK(strstr(m, "localhost") == NULL);
            CHECK(strchr(m, '\n') != NULL && strchr(strchr(m, '\n') + 1, '\n') == NULL); /* two lines */
        }
        bc_free(m);
    }
    {
        const char *members[] = {bc_node_address(a), bc_node_address(b)};
        char *m = NULL;
        CHECK(bc_node_set_peers(a, members, 2) == BC_OK);
        CHECK(bc_node_set_peers(b, members, 2) == BC_OK);
        CHECK(bc_node_members(a, &m) == BC_OK && m != NULL && strchr(m, '\n') != NULL);
        bc_free(m);
    }

    /* 100 keys through a, then through b: each loaded exactly once in total, by both
       loaders between them (the owners). */
    for (i = 0; i < 100; i++) {
        snprintf(key, sizeof key, "k%d", i);
        CHECK(bc_node_get(a, NULL, key, strlen(key), &v, &n) == BC_OK);
        bc_free(v);
    }
    for (i = 0; i < 100; i++) {
        char want[40];
        snprintf(key, sizeof key, "k%d", i);
        snprintf(want, sizeof want, "v:%s", key);
        CHECK(value_is(bc_node_get(b, "users", key, strlen(key), &v, &n), &v, &n, want));
    }
    printf("loads: a %ld, b %ld\n", ca.calls, cb.calls);
    CHECK(ca.calls + cb.calls == 100);
    CHECK(ca.calls > 10 && cb.calls > 10);

    CHECK(bc_node_get(a, NULL, "nf1", 3, &v, &n) == BC_NOT_FOUND && v == NULL);
    CHECK(bc_node_get(a, "nope", "k1", 2, &v, &n) == BC_NOT_FOUND);
    CHECK(bc_node_get(NULL, NULL, "k1", 2, &v, &n) == BC_MISUSE);

    /* Writes through one node are seen through the other, for keys of both owners. */
    for (i = 0; i < 20; i++) {
        snprintf(key, sizeof key, "w%d", i);
        CHECK(bc_node_get(b, NULL, key, strlen(key), &v, &n) == BC_OK);
        bc_free(v);
        CHECK(bc_node_get(b, NULL, key, strlen(key), &v, &n) == BC_OK); /* twice: hot copy */
        bc_free(v);
        CHECK(bc_node_set(a, NULL, key, strlen(key), "new", 3, 0) == BC_OK);
        CHECK(value_is(bc_node_get(b, NULL, key, strlen(key), &v, &n), &v, &n, "new"));
        CHECK(bc_node_delete(a, NULL, key, strlen(key)) == BC_OK);
        CHECK(bc_node_delete(a, NULL, key, strlen(key)) == BC_NOT_FOUND);
        {
            char want[40];
            snprintf(want, sizeof want, "v:%s", key); /* deleted: loaded again */
            CHECK(value_is(bc_node_get(b, NULL, key, strlen(key), &v, &n), &v, &n, want));
        }
    }
    CHECK(bc_node_set(a, NULL, "t", 1, "v", 1, -5) == BC_INVALID_ARGUMENT);

    /* The peer client. */
    {
        bc_peer *p = NULL;
        bc_peer_options po;
        int64_t ttl = 0;
        CHECK(bc_peer_new(NULL, NULL, &p) == BC_MISUSE);
        CHECK(bc_peer_new("nocolon", NULL, &p) == BC_INVALID_ARGUMENT && p == NULL);
        CHECK(bc_peer_new(bc_node_address(a), NULL, &p) == BC_OK && p != NULL);
        CHECK(bc_peer_set(p, "users", "pk", 2, "pv", 2, 60000) == BC_OK);
        CHECK(bc_peer_get(p, "users", "pk", 2, &v, &n, &ttl) == BC_OK && n == 2 && memcmp(v, "pv", 2) == 0);
        bc_free(v);
        CHECK(ttl > 50000 && ttl <= 60000);
        CHECK(value_is(bc_node_get(b, NULL, "pk", 2, &v, &n), &v, &n, "pv"));
        CHECK(bc_peer_delete(p, "users", "pk", 2) == BC_OK);
        CHECK(bc_peer_delete(p, "users", "pk", 2) == BC_NOT_FOUND);
        CHECK(bc_peer_get(p, "users", "nf2", 3, &v, &n, NULL) == BC_NOT_FOUND);
        CHECK(bc_peer_get(p, "nogroup", "x", 1, &v, &n, NULL) == BC_NOT_FOUND);
        CHECK(bc_peer_get(p, NULL, "x", 1, &v, &n, NULL) == BC_INVALID_ARGUMENT);
        bc_peer_free(p);

        /* A client of a port nobody listens on: BC_UNAVAILABLE, then the breaker
           answers at once. */
        bc_peer_options_init(&po);
        po.timeout_ms = 200;
        po.breaker_backoff_ms = 5000;
        CHECK(bc_peer_new("127.0.0.1:1", &po, &p) == BC_OK);
        CHECK(bc_peer_get(p, "users", "x", 1, &v, &n, NULL) == BC_UNAVAILABLE);
        {
            double t0 = now_ms();
            CHECK(bc_peer_get(p, "users", "x", 1, &v, &n, NULL) == BC_UNAVAILABLE);
            CHECK(now_ms() - t0 < 50);
        }
        bc_peer_free(p);
        bc_peer_free(NULL);
    }

    /* Stop b: a keeps answering every key, loading b's keys itself, and only the
       first call to b waits for a failure. */
    {
        long before = ca.calls;
        double t0, worst = 0;
        bc_node_stop(b);
        for (i = 0; i < 100; i++) {
            char want[40];
            double t;
            snprintf(key, sizeof key, "d%d", i);
            snprintf(want, sizeof want, "v:%s", key);
            t0 = now_ms();
            CHECK(value_is(bc_node_get(a, NULL, key, strlen(key), &v, &n), &v, &n, want));
            t = now_ms() - t0;
            if (i > 0 && t > worst)
                worst = t;
        }
        printf("after stopping b: a loaded %ld keys; slowest get after the first %.1f ms\n", ca.calls - before, worst);
        CHECK(ca.calls - before == 100);
        CHECK(worst < 250); /* no further peer timeouts once the breaker is open */
        /* A write whose owner is b fails cleanly. */
        {
            int unavailable = 0;
            for (i = 0; i < 50; i++) {
                snprintf(key, sizeof key, "s%d", i);
                int32_t rc = bc_node_set(a, NULL, key, strlen(key), "x", 1, 0);
                CHECK(rc == BC_OK || rc == BC_UNAVAILABLE);
                unavailable += rc == BC_UNAVAILABLE;
            }
            CHECK(unavailable > 0);
        }
    }
    bc_node_stop(a);
    bc_node_stop(NULL);

    tls_checks();

    printf("%ld passed, %ld failed\n", g_passed, g_failed);
    return g_failed == 0 ? 0 : 1;
}
