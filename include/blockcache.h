/*
 * blockcache.h -- the C interface of libblockcache.so.
 *
 * BlockCache is an in-process, read-through cache engine: stores with eviction
 * policies, byte and entry budgets and per-entry TTL; groups that fill misses
 * through a loader, one load per key at a time (singleflight); a consistent-hash
 * ring. This header is the canonical contract; the Swift implementation follows it.
 *
 * Conventions (apply to every function below unless it says otherwise):
 * - Status: functions return an int32_t status code (BC_OK = 0 on success). On
 *   failure, bc_last_error_message() returns a detail message for the calling
 *   thread. bc_strerror(code) names a code.
 * - Keys and values are byte strings given as (pointer, length). A NULL pointer
 *   is allowed only with length 0 (the empty string). Keys are at most
 *   BC_MAX_KEY_LEN bytes, values at most BC_MAX_VALUE_LEN bytes.
 * - Handles are opaque. Passing NULL where a handle is required returns
 *   BC_MISUSE. Using a handle after it was freed is undefined behavior.
 * - Memory the library returns (values, strings) comes from the library's own
 *   allocator (a private jemalloc build) and must be released with bc_free(),
 *   never with free().
 * - Thread safety: every function is safe to call from any thread at any time,
 *   concurrently on the same handle, except the *_free functions, which must not
 *   run concurrently with any other use of that handle.
 *
 * ABI rule: libblockcache.so.<MAJOR> keeps its ABI for every release with the
 * same BC_VERSION_MAJOR (the SONAME carries the major version). Structs that may
 * grow start with a struct_size field that the *_init function fills; new fields
 * are only ever appended, so a caller built against an older header keeps working.
 * No struct embeds another growable struct by value: it points to it instead
 * (bc_group_options.store), or a separate function returns it
 * (bc_group_get_store_stats). Structs the library fills (the *_stats) are
 * written up to the out_size the caller passes. Every *_options_init function
 * writes exactly the struct of the release that introduced it (1.0 for store and
 * group, 1.1 for node and peer); a release that appends fields adds new init
 * functions that take the caller's struct size, and keeps these writing that layout.
 */
#ifndef BLOCKCACHE_H
#define BLOCKCACHE_H

#include <stddef.h>
#include <stdint.h>

#define BC_VERSION_MAJOR 1
#define BC_VERSION_MINOR 1
#define BC_VERSION_PATCH 0
/* MAJOR * 10000 + MINOR * 100 + PATCH, as returned by bc_version_number(). */
#define BC_VERSION_NUMBER (BC_VERSION_MAJOR * 10000 + BC_VERSION_MINOR * 100 + BC_VERSION_PATCH)
#define BC_VERSION_STRING "1.1.0"

#if defined(__GNUC__) || defined(__clang__)
#define BC_API __attribute__((visibility("default")))
#else
#define BC_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Status codes (values are pinned; new codes are only appended) -------- */
#define BC_OK               0  /* Success. */
#define BC_NOT_FOUND        1  /* The key is not in the store, or the loader reported it does not exist. */
#define BC_INVALID_ARGUMENT 2  /* A pointer, length or option is invalid (the message says which). */
#define BC_MISUSE           3  /* A required handle is NULL, or an object is used outside its lifetime. */
#define BC_NO_MEMORY        4  /* The allocator could not provide memory. */
#define BC_TOO_LARGE        5  /* The key, value or entry exceeds a limit or the budget of its shard. */
#define BC_BUFFER_TOO_SMALL 6  /* The caller's buffer is too small; the needed length was reported. */
#define BC_LOADER_FAILED    7  /* The group's loader failed; the message carries its reason. */
#define BC_INTERNAL         8  /* A bug in BlockCache; please report the message. */
#define BC_UNAVAILABLE      9  /* A node could not be reached, or refused the call (its reply is in the message). */

/* Largest key and value, in bytes. */
#define BC_MAX_KEY_LEN   65535u
#define BC_MAX_VALUE_LEN 1073741824u /* 1 GiB */

/* ttl_ms value for bc_store_set / bc_group_set / bc_sink_set_ttl: never expire,
   even when the store has a default TTL. */
#define BC_TTL_NEVER ((int64_t)-1)

/* ---- Library ------------------------------------------------------------- */

/* Version of the loaded library as BC_VERSION_NUMBER / BC_VERSION_STRING.
   The string is static; never free it. */
BC_API uint32_t bc_version_number(void);
BC_API const char *bc_version_string(void);

/* Name and version of the allocator that holds entries and returned memory,
   e.g. "jemalloc 5.3.0-0-g54eaed1 (private static build)". Static string. */
BC_API const char *bc_allocator_name(void);

/* A static, human-readable name for a status code ("BC_NOT_FOUND: ..."). Unknown
   codes give "unknown status code". Never NULL; never free it. */
BC_API const char *bc_strerror(int32_t code);

/* Detail message of the last failed call on the calling thread ("" if none).
   Valid until the next bc_* call on this thread; copy it to keep it. */
BC_API const char *bc_last_error_message(void);

/* Status code of the last failed call on the calling thread (BC_OK if none);
   the code that goes with bc_last_error_message(). */
BC_API int32_t bc_last_error_code(void);

/* Releases memory returned by this library (values from *_get, strings from
   bc_ring_lookup). NULL is a no-op. Never pass memory from anywhere else. */
BC_API void bc_free(void *p);

/* Stable 64-bit hash of a byte string: wyhash final version 4.3 with seed 0 and
   its default secret, bytes read little-endian. The same bytes give the same value
   in every process, on every machine (the ring and the store use it). NULL data is
   hashed as the empty string. Thread-safe; no errors. */
BC_API uint64_t bc_hash64(const void *data, size_t len);

/* ---- Store: a sharded, budgeted key-value cache --------------------------- */

typedef struct bc_store bc_store;

typedef struct bc_store_options {
    uint32_t struct_size;      /* sizeof(bc_store_options); set by bc_store_options_init. */
    uint32_t shards;           /* Power of two up to 1024, or 0 = automatic (by CPUs and budget). */
    const char *policy;        /* "lru", "lru2" or "wtinylfu" (any case); NULL = default ("wtinylfu"). Copied. */
    uint64_t max_bytes;        /* Byte budget (keys + values + per-entry overhead), 0 = no byte limit. */
    uint64_t max_entries;      /* Entry budget, 0 = no entry limit. */
    int64_t default_ttl_ms;    /* TTL for sets that pass ttl_ms = 0; 0 = never expire. Must be >= 0. */
    int64_t sweep_interval_ms; /* Active expiry period; 0 = default (100 ms), < 0 = lazy expiry only. */
} bc_store_options;

/* Fills *o with defaults: automatic shards, default policy, no limits, no TTL.
   NULL is a no-op. */
BC_API void bc_store_options_init(bc_store_options *o);

/* Creates a store. o may be NULL (all defaults). On BC_OK, *out owns a new store,
   to be released with bc_store_free. Errors: BC_MISUSE (out is NULL),
   BC_INVALID_ARGUMENT (unknown policy, bad shard count, max_entries smaller than
   the shard count, negative TTL, struct_size smaller than this header's struct; a
   larger struct_size, from a newer header, is accepted and its extra fields are
   ignored), BC_NO_MEMORY. */
BC_API int32_t bc_store_new(const bc_store_options *o, bc_store **out);

/* Frees the store and every entry, and stops its expiry sweeper (joins its
   thread). NULL is a no-op. */
BC_API void bc_store_free(bc_store *s);

/* Inserts or replaces key -> value. The bytes are copied. ttl_ms > 0 expires the
   entry after that many milliseconds, 0 uses the store's default_ttl_ms,
   BC_TTL_NEVER never expires. If the store is over budget afterwards, entries
   are evicted by the store's policy. Errors: BC_MISUSE, BC_INVALID_ARGUMENT
   (NULL pointer with non-zero length, ttl_ms < -1), BC_TOO_LARGE (key or value
   over its limit, or the entry alone exceeds its shard's budget; an existing
   value is then left as it was), BC_NO_MEMORY. */
BC_API int32_t bc_store_set(bc_store *s, const void *key, size_t key_len,
                            const void *val, size_t val_len, int64_t ttl_ms);

/* Looks key up. On BC_OK, *val is a copy of the value that the caller releases
   with bc_free (never NULL, even for an empty value) and *val_len its length.
   Counts as an access for the eviction policy. On any other status *val is NULL
   and *val_len 0. Errors: BC_NOT_FOUND (absent or expired), BC_MISUSE (s, val or
   val_len NULL), BC_INVALID_ARGUMENT, BC_TOO_LARGE (key), BC_NO_MEMORY. */
BC_API int32_t bc_store_get(bc_store *s, const void *key, size_t key_len,
                            void **val, size_t *val_len);

/* Like bc_store_get, but copies the value into the caller's buffer buf of
   buf_cap bytes (buf may be NULL if buf_cap is 0). *val_len receives the value's
   length. If the value does not fit, nothing is copied and BC_BUFFER_TOO_SMALL
   is returned with *val_len set to the length needed. No memory is allocated.
   Errors as bc_store_get; BC_MISUSE if val_len is NULL; BC_INVALID_ARGUMENT if buf
   is NULL with buf_cap > 0. */
BC_API int32_t bc_store_get_into(bc_store *s, const void *key, size_t key_len,
                                 void *buf, size_t buf_cap, size_t *val_len);

/* Removes key. Errors: BC_NOT_FOUND (it was not there), BC_MISUSE,
   BC_INVALID_ARGUMENT, BC_TOO_LARGE (key). */
BC_API int32_t bc_store_delete(bc_store *s, const void *key, size_t key_len);

/* Removes every entry (counted neither as deletes nor as evictions). */
BC_API int32_t bc_store_clear(bc_store *s);

typedef struct bc_store_stats {
    uint64_t hits;         /* Gets that found a live entry. */
    uint64_t misses;       /* Gets that found nothing (or an expired entry). */
    uint64_t sets;         /* Successful sets (inserts and replacements). */
    uint64_t deletes;      /* Deletes that removed an entry. */
    uint64_t evictions;    /* Entries removed to stay within budget. */
    uint64_t expirations;  /* Expired entries removed (lazily on access or by the sweeper). */
    uint64_t bytes;        /* Bytes charged now (keys + values + per-entry overhead). */
    uint64_t entries;      /* Entries now (expired ones not yet removed included). */
    uint64_t max_bytes;    /* The byte budget (0 = none). */
    uint64_t max_entries;  /* The entry budget (0 = none). */
    uint32_t shards;       /* Number of shards in use. */
    uint32_t reserved;     /* Zero. */
} bc_store_stats;

/* Fills *out with a snapshot of the counters (each shard is read under its own
   lock, so the totals are not one atomic instant). out_size is sizeof(*out) as
   the caller knows it; at most that many bytes are written. Errors: BC_MISUSE. */
BC_API int32_t bc_store_get_stats(bc_store *s, bc_store_stats *out, size_t out_size);

/* ---- Group: a named cache with a loader that fills misses ----------------- */

typedef struct bc_group bc_group;

/* Where a loader puts its result. Valid only during the loader call that
   received it; a sink kept past that call is detected (BC_MISUSE), never
   dereferenced. */
typedef struct bc_sink bc_sink;

/* A loader is called on a miss, on the thread that called bc_group_get, at most
   once at a time per key (concurrent gets of the same key wait for it and share
   its result). Return BC_OK after bc_sink_set_value; BC_NOT_FOUND if the key does
   not exist (nothing is cached, bc_group_get returns BC_NOT_FOUND); any other code
   for a failure (bc_group_get returns BC_LOADER_FAILED with the loader's message
   from bc_sink_set_error). The loader must not free or modify key. It may call
   the group's own functions, except a get of the key it is loading. */
typedef int32_t (*bc_loader_fn)(void *user_data, const void *key, size_t key_len,
                                bc_sink *sink);

/* Hands the loaded value to the group (the bytes are copied). Errors: BC_MISUSE
   (sink NULL or used outside its loader call), BC_INVALID_ARGUMENT,
   BC_TOO_LARGE, BC_NO_MEMORY. */
BC_API int32_t bc_sink_set_value(bc_sink *sink, const void *val, size_t val_len);

/* Sets the loaded value's TTL: > 0 milliseconds, 0 = the group's default,
   BC_TTL_NEVER = never expire. Errors: BC_MISUSE, BC_INVALID_ARGUMENT. */
BC_API int32_t bc_sink_set_ttl(bc_sink *sink, int64_t ttl_ms);

/* Records a failure message (copied, NUL-terminated; NULL records "(no message)")
   for bc_group_get to report. Errors: BC_MISUSE. */
BC_API int32_t bc_sink_set_error(bc_sink *sink, const char *message);

typedef struct bc_group_options {
    uint32_t struct_size;           /* sizeof(bc_group_options); set by bc_group_options_init. */
    const char *name;               /* Namespace name, non-empty; copied. */
    const bc_store_options *store;  /* Budget, policy, shards and default TTL of the group's
                                       store. NULL = store defaults (as bc_store_new with NULL
                                       options); otherwise it must point to a struct filled by
                                       bc_store_options_init. Read only during bc_group_new,
                                       never retained. */
    bc_loader_fn loader;            /* Required. */
    void *user_data;                /* Passed to every loader call; the caller keeps it alive
                                       until bc_group_free returns. */
} bc_group_options;

/* Fills *o with defaults (no name, no loader, no user data, store NULL = store
   defaults). NULL is a no-op. */
BC_API void bc_group_options_init(bc_group_options *o);

/* Creates a group. o->store, if not NULL, is read only during this call (the
   caller may free or reuse it afterwards). On BC_OK, *out owns the group; release
   with bc_group_free. Errors: BC_MISUSE (o or out NULL), BC_INVALID_ARGUMENT
   (NULL loader, NULL or empty name, struct_size smaller than this header's struct,
   bad store options as for bc_store_new, including their struct_size),
   BC_NO_MEMORY. */
BC_API int32_t bc_group_new(const bc_group_options *o, bc_group **out);

/* Frees the group and its store. Must not run while a get is in progress.
   NULL is a no-op. */
BC_API void bc_group_free(bc_group *g);

/* Returns the cached value, or loads it through the loader, caches it and
   returns it. On BC_OK *val is a copy released with bc_free and *val_len its
   length. A loaded value too large for the store is returned but not cached.
   Errors: BC_NOT_FOUND (the loader said so), BC_LOADER_FAILED, BC_MISUSE,
   BC_INVALID_ARGUMENT, BC_TOO_LARGE (key), BC_NO_MEMORY. */
BC_API int32_t bc_group_get(bc_group *g, const void *key, size_t key_len,
                            void **val, size_t *val_len);

/* Stores a value in the group's cache directly, as bc_store_set. */
BC_API int32_t bc_group_set(bc_group *g, const void *key, size_t key_len,
                            const void *val, size_t val_len, int64_t ttl_ms);

/* Removes a key from the group's cache, as bc_store_delete. */
BC_API int32_t bc_group_delete(bc_group *g, const void *key, size_t key_len);

/* The group's name; valid until bc_group_free. NULL if g is NULL. */
BC_API const char *bc_group_name(const bc_group *g);

typedef struct bc_group_stats {
    uint64_t gets;               /* bc_group_get calls with valid arguments. */
    uint64_t hits;               /* Gets answered from the cache. */
    uint64_t misses;             /* Gets that had to wait for a load. */
    uint64_t loads;              /* Loader calls. */
    uint64_t loads_deduplicated; /* Misses that shared another caller's load. */
    uint64_t loader_errors;      /* Loader calls that failed. */
    uint64_t loader_not_found;   /* Loader calls that reported BC_NOT_FOUND. */
} bc_group_stats;

/* Fills *out with a snapshot of the group's counters (the counters of its store
   come from bc_group_get_store_stats). out_size is sizeof(*out) as the caller
   knows it; at most that many bytes are written. Errors: BC_MISUSE (g or out
   NULL). */
BC_API int32_t bc_group_get_stats(bc_group *g, bc_group_stats *out, size_t out_size);

/* Fills *out, which the caller owns, with a snapshot of the counters of the
   group's store, as bc_store_get_stats does for a store (each shard is read under
   its own lock; the snapshot is not taken at the same instant as one from
   bc_group_get_stats). out_size is sizeof(*out) as the caller knows it; at most
   that many bytes are written. Safe to call from any thread, concurrently with
   any other call on g except bc_group_free. Errors: BC_MISUSE (g or out NULL). */
BC_API int32_t bc_group_get_store_stats(bc_group *g, bc_store_stats *out, size_t out_size);

/* ---- Ring: consistent hashing of keys onto named nodes -------------------- */

typedef struct bc_ring bc_ring;

/* Creates an empty ring where a node of weight 1 gets virtual_nodes points
   (0 = default 160, at most 65536). Errors: BC_MISUSE, BC_INVALID_ARGUMENT. */
BC_API int32_t bc_ring_new(uint32_t virtual_nodes, bc_ring **out);

/* NULL is a no-op. */
BC_API void bc_ring_free(bc_ring *r);

/* Adds a node (NUL-terminated name, copied) with weight 1..1000 (its share of
   points), or changes the weight of a node already there. Errors: BC_MISUSE,
   BC_INVALID_ARGUMENT. */
BC_API int32_t bc_ring_add(bc_ring *r, const char *node, uint32_t weight);

/* Removes a node. Errors: BC_NOT_FOUND, BC_MISUSE, BC_INVALID_ARGUMENT. */
BC_API int32_t bc_ring_remove(bc_ring *r, const char *node);

/* Number of nodes on the ring (0 if r is NULL). */
BC_API uint32_t bc_ring_node_count(const bc_ring *r);

/* The node that owns key (at most BC_MAX_KEY_LEN bytes). On BC_OK *node is a
   NUL-terminated copy of its name, released with bc_free. Errors: BC_NOT_FOUND
   (empty ring), BC_MISUSE, BC_INVALID_ARGUMENT, BC_TOO_LARGE, BC_NO_MEMORY. */
BC_API int32_t bc_ring_lookup(const bc_ring *r, const void *key, size_t key_len,
                              char **node);

/* ---- Node: a member of a BlockCache cluster -------------------------------- */

/* A node serves groups to Redis clients and to other nodes over RESP (the Redis
   protocol), owns the keys the consistent-hash ring gives it, asks the owner for the
   others, keeps hot copies of values fetched often, and loads locally when an owner
   cannot be reached. Members come from a static list and/or etcd. docs/cluster.md
   describes the protocol and the rules. */
typedef struct bc_node bc_node;

typedef struct bc_node_options {
    uint32_t struct_size;            /* sizeof(bc_node_options); set by bc_node_options_init. */
    const char *host;                /* Listen address; NULL = "127.0.0.1". */
    int32_t port;                    /* Listen port; 0 = a free port (see bc_node_address). */
    const char *advertise;           /* "host:port" the other nodes use and the name on the
                                        ring; NULL = host:port as bound. */
    const char *default_group;       /* Group of plain GET/SET/DEL; NULL = the first group. */
    const char *const *peers;        /* Static members "host:port" (may include this node). */
    size_t peer_count;
    const char *const *etcd_endpoints; /* "http://host:port" or "https://host:port" (TLS);
                                        none = no etcd. */
    size_t etcd_endpoint_count;
    const char *etcd_prefix;         /* Registration key prefix; NULL = "/blockcache/nodes/". */
    int32_t etcd_lease_ttl_s;        /* Lease TTL in seconds; 0 = 5. */
    const char *password;            /* Clients must AUTH with it; nodes send it. NULL = none. */
    int64_t peer_timeout_ms;         /* Deadline of each call to a peer; 0 = 500. */
    int64_t breaker_backoff_ms;      /* First backoff after a peer fails; 0 = 1000. */
    uint64_t max_frame_bytes;        /* Largest request a connection may send; 0 = 64 MiB. */
    uint64_t max_value_bytes;        /* Largest value of a SET; 0 = 32 MiB. */
    uint32_t event_loop_threads;     /* 0 = one per CPU; at most 1024, and few enough for the
                                        open-file limit (about 4 descriptors each, plus 256),
                                        else bc_node_start returns BC_INVALID_ARGUMENT. */
    uint32_t loader_threads;         /* Threads that run loaders; 0 = 16; at most 1024. */
    /* TLS. With tls_cert_file set every connection to the node is TLS 1.2+, and nodes
       reach each other over TLS, presenting this certificate as their client
       certificate and checking each other's against tls_ca_file. */
    const char *tls_cert_file;       /* PEM certificate chain, leaf first; NULL = no TLS. */
    const char *tls_key_file;        /* PEM private key of tls_cert_file (required with it). */
    const char *tls_ca_file;         /* PEM roots of the other nodes' and clients' certificates;
                                        NULL = the system's roots. */
    int32_t tls_client_certs;        /* BC_TLS_CLIENT_CERTS_*: who must present a certificate. */
    int32_t tls_verify_hostnames;    /* Non-zero (the default): a peer's certificate must name
                                        the host dialled (DNS name, or IP address SAN). */
    /* TLS to https:// etcd endpoints (only with one). */
    const char *etcd_tls_ca_file;    /* PEM roots of etcd's certificate; NULL = the system's. */
    const char *etcd_tls_cert_file;  /* PEM client certificate for an etcd with
                                        --client-cert-auth; NULL = none. */
    const char *etcd_tls_key_file;   /* Its PEM private key (required with it). */
} bc_node_options;

/* bc_node_options.tls_client_certs */
#define BC_TLS_CLIENT_CERTS_NONE  0  /* Nobody: clients and nodes authenticate by password only. */
#define BC_TLS_CLIENT_CERTS_PEERS 1  /* Anyone may connect, but the node-to-node commands (BC.DROP,
                                        BC.SETPEERS, BC.GET/SET/DEL ... PEER) are refused without
                                        a certificate that chains to tls_ca_file: mTLS for peers. */
#define BC_TLS_CLIENT_CERTS_ALL   2  /* A connection without such a certificate fails the handshake. */

/* Fills *o with the defaults. NULL is a no-op. */
BC_API void bc_node_options_init(bc_node_options *o);

/* Starts a node serving the given groups (at least one; names must differ) and
   returns once it accepts connections. Strings and arrays in *o are copied. The
   node keeps its own reference to each group: the caller may bc_group_free its
   handles at any time. Loaders run on the node's loader threads. Thread-safe.
   Errors: BC_MISUSE (o, groups or out NULL, or a NULL group), BC_INVALID_ARGUMENT
   (struct_size too small, no groups, duplicate names, unknown default group, a
   peer that is not host:port, TLS files that cannot be read or a key that does not
   match its certificate, TLS fields without tls_cert_file and tls_key_file, etcd TLS
   fields without an https:// endpoint, or the address cannot be bound: the message
   says why). */
BC_API int32_t bc_node_start(const bc_node_options *o, bc_group *const *groups,
                             size_t group_count, bc_node **out);

/* Stops the node gracefully (leaves etcd by revoking its lease, stops accepting,
   lets connections finish what they sent, up to 2 s), then frees it. Blocks until
   done. NULL is a no-op. Must not be called from a loader. */
BC_API void bc_node_stop(bc_node *n);

/* The node's "host:port" on the ring; valid until bc_node_stop. NULL if n is NULL. */
BC_API const char *bc_node_address(const bc_node *n);

/* Replaces the static members (strings copied); etcd members, if any, are added to
   them. Thread-safe. Errors: BC_MISUSE, BC_INVALID_ARGUMENT (not host:port). */
BC_API int32_t bc_node_set_peers(bc_node *n, const char *const *peers, size_t count);

/* The ring's members now, this node included, sorted, one "host:port" per line,
   as a NUL-terminated string released with bc_free. Errors: BC_MISUSE, BC_NO_MEMORY. */
BC_API int32_t bc_node_members(bc_node *n, char **out);

/* The value of key in group (NULL = the default group) through the cluster: from
   this node's cache if it owns the key or has a hot copy, else from the owner, else
   (owner unreachable) loaded here. On BC_OK *val (released with bc_free) and
   *val_len hold it. Blocks; thread-safe; must not be called from a loader.
   Errors: BC_NOT_FOUND (no value: the loader has none), BC_LOADER_FAILED,
   BC_MISUSE, BC_INVALID_ARGUMENT (unknown group: BC_NOT_FOUND), BC_TOO_LARGE. */
BC_API int32_t bc_node_get(bc_node *n, const char *group, const void *key, size_t key_len,
                           void **val, size_t *val_len);

/* Sets key in group at its owner and drops every other node's copy before it
   returns; once it returns BC_OK, no get that starts later on a node that can reach
   the owner reads an older value (docs/cluster.md, "Consistency"). ttl_ms as for
   bc_store_set. Blocks; thread-safe.
   Errors: BC_UNAVAILABLE: the owner could not be reached. The message says which
   case: "the write was not applied" (it never reached the owner), or "the outcome of
   the write is unknown" (it was sent and no answer came: the owner applies it before
   its deadline, one peer timeout after it was sent, or never).
   BC_NOT_FOUND (unknown group), BC_MISUSE, BC_INVALID_ARGUMENT, BC_TOO_LARGE. */
BC_API int32_t bc_node_set(bc_node *n, const char *group, const void *key, size_t key_len,
                           const void *val, size_t val_len, int64_t ttl_ms);

/* Deletes key in group at its owner and drops every other copy. BC_OK if the owner
   had it, BC_NOT_FOUND if not. Errors as bc_node_set. */
BC_API int32_t bc_node_delete(bc_node *n, const char *group, const void *key, size_t key_len);

/* ---- Peer client: a client of one node ----------------------------------- */

/* Talks to one node (or, for the plain commands, any Redis server) over pipelined
   connections with a deadline per call and a circuit breaker: after a transport
   failure calls fail at once with BC_UNAVAILABLE for a backoff, then one probe call
   decides. Thread-safe: one client may be shared by threads. */
typedef struct bc_peer bc_peer;

typedef struct bc_peer_options {
    uint32_t struct_size;            /* sizeof(bc_peer_options); set by bc_peer_options_init. */
    int64_t timeout_ms;              /* Deadline of each call, connecting included; 0 = 500. */
    const char *password;            /* Sent with AUTH on each new connection; NULL = none. */
    uint32_t connections;            /* Pipelined connections; 0 = 1. */
    int64_t breaker_backoff_ms;      /* 0 = 1000. */
    /* TLS; tls = 0 (the default) is plaintext. */
    int32_t tls;                     /* Non-zero: connect with TLS 1.2+. */
    int32_t tls_verify_hostnames;    /* Non-zero (the default): the node's certificate must
                                        name tls_server_name, or the address's host. */
    const char *tls_ca_file;         /* PEM roots the node's certificate must chain to;
                                        NULL = the system's roots. */
    const char *tls_cert_file;       /* PEM client certificate chain, for a node that asks
                                        for one (mTLS); NULL = none. */
    const char *tls_key_file;        /* Its PEM private key (required with tls_cert_file). */
    const char *tls_server_name;     /* Name expected in the node's certificate and sent as
                                        SNI; NULL = the address's host. */
} bc_peer_options;

BC_API void bc_peer_options_init(bc_peer_options *o);

/* A client of the node at address ("host:port"); connects on first use. o may be
   NULL for the defaults. Free with bc_peer_free. A TLS handshake that fails (an
   untrusted or misnamed certificate, a plaintext node) is a call's BC_UNAVAILABLE.
   Errors: BC_MISUSE (address or out NULL), BC_INVALID_ARGUMENT (not host:port,
   struct_size too small, TLS files unreadable or a certificate without its key,
   TLS file fields with tls = 0). */
BC_API int32_t bc_peer_new(const char *address, const bc_peer_options *o, bc_peer **out);

/* Closes the connections and frees the client. NULL is a no-op. */
BC_API void bc_peer_free(bc_peer *p);

/* BC.GET: the value of key in group as the node serves it (the node routes it to the
   owner). On BC_OK *val (bc_free) and *val_len hold the value, and *ttl_ms (if not
   NULL) its remaining lifetime in ms, or BC_TTL_NEVER. Blocks.
   Errors: BC_NOT_FOUND, BC_UNAVAILABLE (unreachable, timeout, or an error reply:
   the message has it), BC_MISUSE, BC_INVALID_ARGUMENT, BC_TOO_LARGE. */
BC_API int32_t bc_peer_get(bc_peer *p, const char *group, const void *key, size_t key_len,
                           void **val, size_t *val_len, int64_t *ttl_ms);

/* BC.SET: sets key in group through the node (owner, then invalidation), ttl_ms as
   for bc_store_set. Blocks. Errors as bc_peer_get, without BC_NOT_FOUND. */
BC_API int32_t bc_peer_set(bc_peer *p, const char *group, const void *key, size_t key_len,
                           const void *val, size_t val_len, int64_t ttl_ms);

/* BC.DEL: BC_OK if the owner had the key, BC_NOT_FOUND if not. Blocks.
   Errors as bc_peer_get. */
BC_API int32_t bc_peer_delete(bc_peer *p, const char *group, const void *key, size_t key_len);

#ifdef __cplusplus
}
#endif

#endif /* BLOCKCACHE_H */
