"""Raw ctypes declarations of libblockcache.so (layer 1 of 3).

This module finds and loads the library, checks its major version, and declares
every function of ``include/blockcache.h`` with its C prototype pasted above the
``argtypes``/``restype`` lines. Nothing here owns a handle or raises a
BlockCache status as an exception: that is ``_errors._check`` and the objects in
``_store``, ``_group`` and ``_ring``.

The library is never closed: it contains the Swift runtime, and unloading it
would leave conformance records pointing into unmapped memory.
"""

from __future__ import annotations

import ctypes
import os
from ctypes import (
    CFUNCTYPE,
    POINTER,
    Structure,
    c_char,
    c_char_p,
    c_int32,
    c_int64,
    c_size_t,
    c_uint32,
    c_uint64,
    c_void_p,
)
from typing import List, Tuple

# ---- Constants (pinned by the header; tests/test_constants.py checks them) ----

BC_VERSION_MAJOR = 1
BC_VERSION_MINOR = 1
BC_VERSION_PATCH = 0
BC_VERSION_NUMBER = BC_VERSION_MAJOR * 10000 + BC_VERSION_MINOR * 100 + BC_VERSION_PATCH
BC_VERSION_STRING = "1.1.0"

BC_OK = 0
BC_NOT_FOUND = 1
BC_INVALID_ARGUMENT = 2
BC_MISUSE = 3
BC_NO_MEMORY = 4
BC_TOO_LARGE = 5
BC_BUFFER_TOO_SMALL = 6
BC_LOADER_FAILED = 7
BC_INTERNAL = 8
BC_UNAVAILABLE = 9

BC_MAX_KEY_LEN = 65535
BC_MAX_VALUE_LEN = 1073741824  # 1 GiB
BC_TTL_NEVER = -1

BC_TLS_CLIENT_CERTS_NONE = 0
BC_TLS_CLIENT_CERTS_PEERS = 1
BC_TLS_CLIENT_CERTS_ALL = 2

LIBRARY_ENV = "BLOCKCACHE_LIBRARY"
LIBRARY_NAME = "libblockcache.so"

# ---- Finding and loading the library -----------------------------------------

_HERE = os.path.dirname(os.path.abspath(__file__))


def candidate_paths() -> List[Tuple[str, str]]:
    """The places the library is looked for, in order, as (description, path).

    BLOCKCACHE_LIBRARY, when set, is the only place tried: a user who names a
    library explicitly should get an error about that file, not silently a
    different build picked up from the package or repository folder.
    """
    env = os.environ.get(LIBRARY_ENV)
    if env:
        return [("$" + LIBRARY_ENV, env)]
    return [
        ("package folder", os.path.join(_HERE, LIBRARY_NAME)),
        (
            "repository build folder",
            os.path.normpath(os.path.join(_HERE, "..", "..", "..", "build", "lib", LIBRARY_NAME)),
        ),
    ]


def _load() -> Tuple[ctypes.CDLL, ctypes.PyDLL, str]:
    tried = []
    for where, path in candidate_paths():
        if not os.path.exists(path):
            tried.append(f"  {where}: {path} (no such file)")
            continue
        try:
            cdll = ctypes.CDLL(path)
            # The same dlopen handle again, as a PyDLL: its functions keep the GIL
            # during the call. Used only for the store's hit path (see below).
            pydll = ctypes.PyDLL(path)
        except OSError as e:
            tried.append(f"  {where}: {path} ({e})")
            continue
        return cdll, pydll, path
    raise ImportError(
        "blockcache: cannot load " + LIBRARY_NAME + "; tried:\n" + "\n".join(tried)
        + "\nBuild it with `make lib` in the BlockCache repository, or set "
        + LIBRARY_ENV + " to the path of libblockcache.so."
    )


lib, _pylib, library_path = _load()

# Opaque handle types: passed as c_void_p (Python int or None). None is NULL,
# which every function answers with BC_MISUSE, so a closed object cannot crash.
bc_store_p = c_void_p
bc_group_p = c_void_p
bc_ring_p = c_void_p
bc_sink_p = c_void_p
bc_node_p = c_void_p
bc_peer_p = c_void_p

# ---- Structures (mirror the header field by field) -----------------------------


class bc_store_options(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("shards", c_uint32),
        ("policy", c_char_p),
        ("max_bytes", c_uint64),
        ("max_entries", c_uint64),
        ("default_ttl_ms", c_int64),
        ("sweep_interval_ms", c_int64),
    ]


class bc_store_stats(Structure):
    _fields_ = [
        ("hits", c_uint64),
        ("misses", c_uint64),
        ("sets", c_uint64),
        ("deletes", c_uint64),
        ("evictions", c_uint64),
        ("expirations", c_uint64),
        ("bytes", c_uint64),
        ("entries", c_uint64),
        ("max_bytes", c_uint64),
        ("max_entries", c_uint64),
        ("shards", c_uint32),
        ("reserved", c_uint32),
    ]


# typedef int32_t (*bc_loader_fn)(void *user_data, const void *key, size_t key_len,
#                                 bc_sink *sink);
bc_loader_fn = CFUNCTYPE(c_int32, c_void_p, c_void_p, c_size_t, bc_sink_p)


class bc_group_options(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("name", c_char_p),
        ("store", POINTER(bc_store_options)),  # NULL = store defaults; read by bc_group_new only
        ("loader", bc_loader_fn),
        ("user_data", c_void_p),
    ]


class bc_group_stats(Structure):
    _fields_ = [
        ("gets", c_uint64),
        ("hits", c_uint64),
        ("misses", c_uint64),
        ("loads", c_uint64),
        ("loads_deduplicated", c_uint64),
        ("loader_errors", c_uint64),
        ("loader_not_found", c_uint64),
    ]


class bc_node_options(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("host", c_char_p),
        ("port", c_int32),
        ("advertise", c_char_p),
        ("default_group", c_char_p),
        ("peers", POINTER(c_char_p)),
        ("peer_count", c_size_t),
        ("etcd_endpoints", POINTER(c_char_p)),
        ("etcd_endpoint_count", c_size_t),
        ("etcd_prefix", c_char_p),
        ("etcd_lease_ttl_s", c_int32),
        ("password", c_char_p),
        ("peer_timeout_ms", c_int64),
        ("breaker_backoff_ms", c_int64),
        ("max_frame_bytes", c_uint64),
        ("max_value_bytes", c_uint64),
        ("event_loop_threads", c_uint32),
        ("loader_threads", c_uint32),
        ("tls_cert_file", c_char_p),
        ("tls_key_file", c_char_p),
        ("tls_ca_file", c_char_p),
        ("tls_client_certs", c_int32),
        ("tls_verify_hostnames", c_int32),
        ("etcd_tls_ca_file", c_char_p),
        ("etcd_tls_cert_file", c_char_p),
        ("etcd_tls_key_file", c_char_p),
    ]


class bc_peer_options(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("timeout_ms", c_int64),
        ("password", c_char_p),
        ("connections", c_uint32),
        ("breaker_backoff_ms", c_int64),
        ("tls", c_int32),
        ("tls_verify_hostnames", c_int32),
        ("tls_ca_file", c_char_p),
        ("tls_cert_file", c_char_p),
        ("tls_key_file", c_char_p),
        ("tls_server_name", c_char_p),
    ]


def _declare(name: str, restype, argtypes) -> "ctypes._CFuncPtr":  # type: ignore[name-defined]
    f = getattr(lib, name)
    f.restype = restype
    f.argtypes = argtypes
    return f


# ---- Library ------------------------------------------------------------------

# uint32_t bc_version_number(void);
bc_version_number = _declare("bc_version_number", c_uint32, [])
# const char *bc_version_string(void);
bc_version_string = _declare("bc_version_string", c_char_p, [])
# const char *bc_allocator_name(void);
bc_allocator_name = _declare("bc_allocator_name", c_char_p, [])
# const char *bc_strerror(int32_t code);
bc_strerror = _declare("bc_strerror", c_char_p, [c_int32])
# const char *bc_last_error_message(void);
bc_last_error_message = _declare("bc_last_error_message", c_char_p, [])
# int32_t bc_last_error_code(void);
bc_last_error_code = _declare("bc_last_error_code", c_int32, [])
# void bc_free(void *p);
bc_free = _declare("bc_free", None, [c_void_p])
# uint64_t bc_hash64(const void *data, size_t len);
bc_hash64 = _declare("bc_hash64", c_uint64, [c_char_p, c_size_t])

# Keys and values are declared c_char_p rather than c_void_p: c_void_p would
# accept a str and pass its wchar_t buffer, c_char_p accepts only bytes (or None).

# ---- Store --------------------------------------------------------------------

# void bc_store_options_init(bc_store_options *o);
bc_store_options_init = _declare("bc_store_options_init", None, [POINTER(bc_store_options)])
# int32_t bc_store_new(const bc_store_options *o, bc_store **out);
bc_store_new = _declare("bc_store_new", c_int32, [POINTER(bc_store_options), POINTER(bc_store_p)])
# void bc_store_free(bc_store *s);
bc_store_free = _declare("bc_store_free", None, [bc_store_p])
# int32_t bc_store_set(bc_store *s, const void *key, size_t key_len,
#                      const void *val, size_t val_len, int64_t ttl_ms);
bc_store_set = _declare(
    "bc_store_set", c_int32, [bc_store_p, c_char_p, c_size_t, c_char_p, c_size_t, c_int64]
)
# int32_t bc_store_get(bc_store *s, const void *key, size_t key_len,
#                      void **val, size_t *val_len);
bc_store_get = _declare(
    "bc_store_get", c_int32, [bc_store_p, c_char_p, c_size_t, POINTER(c_void_p), POINTER(c_size_t)]
)
# int32_t bc_store_get_into(bc_store *s, const void *key, size_t key_len,
#                           void *buf, size_t buf_cap, size_t *val_len);
bc_store_get_into = _declare(
    "bc_store_get_into", c_int32, [bc_store_p, c_char_p, c_size_t, c_void_p, c_size_t, POINTER(c_size_t)]
)
# int32_t bc_store_delete(bc_store *s, const void *key, size_t key_len);
bc_store_delete = _declare("bc_store_delete", c_int32, [bc_store_p, c_char_p, c_size_t])
# int32_t bc_store_clear(bc_store *s);
bc_store_clear = _declare("bc_store_clear", c_int32, [bc_store_p])
# int32_t bc_store_get_stats(bc_store *s, bc_store_stats *out, size_t out_size);
bc_store_get_stats = _declare(
    "bc_store_get_stats", c_int32, [bc_store_p, POINTER(bc_store_stats), c_size_t]
)

# ---- Group --------------------------------------------------------------------

# int32_t bc_sink_set_value(bc_sink *sink, const void *val, size_t val_len);
bc_sink_set_value = _declare("bc_sink_set_value", c_int32, [bc_sink_p, c_char_p, c_size_t])
# int32_t bc_sink_set_ttl(bc_sink *sink, int64_t ttl_ms);
bc_sink_set_ttl = _declare("bc_sink_set_ttl", c_int32, [bc_sink_p, c_int64])
# int32_t bc_sink_set_error(bc_sink *sink, const char *message);
bc_sink_set_error = _declare("bc_sink_set_error", c_int32, [bc_sink_p, c_char_p])
# void bc_group_options_init(bc_group_options *o);
bc_group_options_init = _declare("bc_group_options_init", None, [POINTER(bc_group_options)])
# int32_t bc_group_new(const bc_group_options *o, bc_group **out);
bc_group_new = _declare("bc_group_new", c_int32, [POINTER(bc_group_options), POINTER(bc_group_p)])
# void bc_group_free(bc_group *g);
bc_group_free = _declare("bc_group_free", None, [bc_group_p])
# int32_t bc_group_get(bc_group *g, const void *key, size_t key_len,
#                      void **val, size_t *val_len);
bc_group_get = _declare(
    "bc_group_get", c_int32, [bc_group_p, c_char_p, c_size_t, POINTER(c_void_p), POINTER(c_size_t)]
)
# int32_t bc_group_set(bc_group *g, const void *key, size_t key_len,
#                      const void *val, size_t val_len, int64_t ttl_ms);
bc_group_set = _declare(
    "bc_group_set", c_int32, [bc_group_p, c_char_p, c_size_t, c_char_p, c_size_t, c_int64]
)
# int32_t bc_group_delete(bc_group *g, const void *key, size_t key_len);
bc_group_delete = _declare("bc_group_delete", c_int32, [bc_group_p, c_char_p, c_size_t])
# const char *bc_group_name(const bc_group *g);
bc_group_name = _declare("bc_group_name", c_char_p, [bc_group_p])
# int32_t bc_group_get_stats(bc_group *g, bc_group_stats *out, size_t out_size);
bc_group_get_stats = _declare(
    "bc_group_get_stats", c_int32, [bc_group_p, POINTER(bc_group_stats), c_size_t]
)
# int32_t bc_group_get_store_stats(bc_group *g, bc_store_stats *out, size_t out_size);
bc_group_get_store_stats = _declare(
    "bc_group_get_store_stats", c_int32, [bc_group_p, POINTER(bc_store_stats), c_size_t]
)

# ---- Ring ---------------------------------------------------------------------

# int32_t bc_ring_new(uint32_t virtual_nodes, bc_ring **out);
bc_ring_new = _declare("bc_ring_new", c_int32, [c_uint32, POINTER(bc_ring_p)])
# void bc_ring_free(bc_ring *r);
bc_ring_free = _declare("bc_ring_free", None, [bc_ring_p])
# int32_t bc_ring_add(bc_ring *r, const char *node, uint32_t weight);
bc_ring_add = _declare("bc_ring_add", c_int32, [bc_ring_p, c_char_p, c_uint32])
# int32_t bc_ring_remove(bc_ring *r, const char *node);
bc_ring_remove = _declare("bc_ring_remove", c_int32, [bc_ring_p, c_char_p])
# uint32_t bc_ring_node_count(const bc_ring *r);
bc_ring_node_count = _declare("bc_ring_node_count", c_uint32, [bc_ring_p])
# int32_t bc_ring_lookup(const bc_ring *r, const void *key, size_t key_len,
#                        char **node);
bc_ring_lookup = _declare(
    "bc_ring_lookup", c_int32, [bc_ring_p, c_char_p, c_size_t, POINTER(POINTER(c_char))]
)

# ---- Node and peer client --------------------------------------------------------

# void bc_node_options_init(bc_node_options *o);
bc_node_options_init = _declare("bc_node_options_init", None, [POINTER(bc_node_options)])
# int32_t bc_node_start(const bc_node_options *o, bc_group *const *groups, size_t group_count, bc_node **out);
bc_node_start = _declare(
    "bc_node_start", c_int32, [POINTER(bc_node_options), POINTER(bc_group_p), c_size_t, POINTER(bc_node_p)]
)
# void bc_node_stop(bc_node *n);
bc_node_stop = _declare("bc_node_stop", None, [bc_node_p])
# const char *bc_node_address(const bc_node *n);
bc_node_address = _declare("bc_node_address", c_char_p, [bc_node_p])
# int32_t bc_node_set_peers(bc_node *n, const char *const *peers, size_t count);
bc_node_set_peers = _declare("bc_node_set_peers", c_int32, [bc_node_p, POINTER(c_char_p), c_size_t])
# int32_t bc_node_members(bc_node *n, char **out);
bc_node_members = _declare("bc_node_members", c_int32, [bc_node_p, POINTER(POINTER(c_char))])
# int32_t bc_node_get(bc_node *n, const char *group, const void *key, size_t key_len, void **val, size_t *val_len);
bc_node_get = _declare(
    "bc_node_get", c_int32, [bc_node_p, c_char_p, c_char_p, c_size_t, POINTER(c_void_p), POINTER(c_size_t)]
)
# int32_t bc_node_set(bc_node *n, const char *group, const void *key, size_t key_len,
#                     const void *val, size_t val_len, int64_t ttl_ms);
bc_node_set = _declare(
    "bc_node_set", c_int32, [bc_node_p, c_char_p, c_char_p, c_size_t, c_char_p, c_size_t, c_int64]
)
# int32_t bc_node_delete(bc_node *n, const char *group, const void *key, size_t key_len);
bc_node_delete = _declare("bc_node_delete", c_int32, [bc_node_p, c_char_p, c_char_p, c_size_t])
# void bc_peer_options_init(bc_peer_options *o);
bc_peer_options_init = _declare("bc_peer_options_init", None, [POINTER(bc_peer_options)])
# int32_t bc_peer_new(const char *address, const bc_peer_options *o, bc_peer **out);
bc_peer_new = _declare("bc_peer_new", c_int32, [c_char_p, POINTER(bc_peer_options), POINTER(bc_peer_p)])
# void bc_peer_free(bc_peer *p);
bc_peer_free = _declare("bc_peer_free", None, [bc_peer_p])
# int32_t bc_peer_get(bc_peer *p, const char *group, const void *key, size_t key_len,
#                     void **val, size_t *val_len, int64_t *ttl_ms);
bc_peer_get = _declare(
    "bc_peer_get", c_int32,
    [bc_peer_p, c_char_p, c_char_p, c_size_t, POINTER(c_void_p), POINTER(c_size_t), POINTER(c_int64)],
)
# int32_t bc_peer_set(bc_peer *p, const char *group, const void *key, size_t key_len,
#                     const void *val, size_t val_len, int64_t ttl_ms);
bc_peer_set = _declare(
    "bc_peer_set", c_int32, [bc_peer_p, c_char_p, c_char_p, c_size_t, c_char_p, c_size_t, c_int64]
)
# int32_t bc_peer_delete(bc_peer *p, const char *group, const void *key, size_t key_len);
bc_peer_delete = _declare("bc_peer_delete", c_int32, [bc_peer_p, c_char_p, c_char_p, c_size_t])

# ---- The store's hit path -------------------------------------------------------
#
# int32_t bc_store_get_into(bc_store *s, const void *key, size_t key_len,
#                           void *buf, size_t buf_cap, size_t *val_len);
#
# A second function object for the same symbol, deliberately WITHOUT argtypes and
# loaded through PyDLL. Measured on this machine (2 cores, CPython 3.11) against
# the typed declaration above: argtypes cost one Python-level from_param call per
# argument, ~0.45 us for six, and the untyped call takes about half as long.
# Releasing and re-taking the GIL would add more for a call that takes ~0.1 us.
#
# Without argtypes nothing converts or checks the arguments, so the only caller
# (Store.get) passes each with its exact C type: s as c_void_p.from_param(handle),
# key as bytes (never str: ctypes would pass a wchar_t buffer), key_len and
# buf_cap as c_size_t.from_param(n), buf as byref(buffer), val_len as
# byref(size_t array). Ready-made CArgObjects also spare ctypes an allocation per
# argument.
#
# Keeping the GIL is safe here because bc_store_get_into never calls back into
# Python and only waits for a shard lock, whose holders (other bc_* calls, the
# sweeper thread) never need the GIL. Everything that can wait on Python code
# (bc_group_get and its loader) goes through the GIL-releasing CDLL declarations.
bc_store_get_into_fast = _pylib["bc_store_get_into"]
bc_store_get_into_fast.restype = c_int32


def _check_major() -> None:
    number = bc_version_number()
    if number // 10000 != BC_VERSION_MAJOR:
        raise ImportError(
            f"blockcache: {library_path} is version {number // 10000}.{number // 100 % 100}."
            f"{number % 100}; this binding needs major version {BC_VERSION_MAJOR}"
        )


_check_major()
