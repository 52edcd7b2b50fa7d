"""Store: a handle on a bc_store, with a lean hit path."""

from __future__ import annotations

from ctypes import ArgumentError, byref, c_size_t, c_void_p, create_string_buffer, sizeof
from dataclasses import dataclass, fields
from typing import Any, Callable, List, Optional, Tuple

from . import _native as N
from ._convert import BytesLike, as_bytes, as_ttl, store_options, take_bytes
from ._errors import _check
from ._handle import _Handle

__all__ = ["Store", "StoreStats"]


@dataclass(frozen=True)
class StoreStats:
    """A snapshot of a store's counters (see bc_store_stats in blockcache.h)."""

    hits: int
    misses: int
    sets: int
    deletes: int
    evictions: int
    expirations: int
    bytes: int
    entries: int
    max_bytes: int
    max_entries: int
    shards: int

    @classmethod
    def _from_c(cls, s: N.bc_store_stats) -> "StoreStats":
        return cls(**{f.name: getattr(s, f.name) for f in fields(cls)})


# ---- Hit path arguments ---------------------------------------------------------
#
# Store.get makes one untyped call (see _native.bc_store_get_into_fast), and every
# argument but the key is a ready-made ctypes CArgObject: a c_void_p or c_size_t
# instance would make ctypes allocate a fresh CArgObject on every call, which
# measured ~120 ns of a ~470 ns call. CArgObjects are only read by a call, so one
# may be shared by any number of calls and threads.

# Key lengths as exact size_t arguments, for keys up to _SHORT_KEY bytes; longer
# keys build theirs per call.
_SHORT_KEY = 1024
_LEN_ARGS = tuple(c_size_t.from_param(i) for i in range(_SHORT_KEY + 1))

# Store.get copies the value into a buffer it takes from _pool for the length of
# the call, so the hit path allocates nothing in the library and makes exactly
# one C call. A buffer must not be shared while in use, even though the fast
# call keeps the GIL: between the call's return and the copy out of the buffer,
# the interpreter may switch threads, and on the *same* thread it may run a
# signal handler, a finalizer or a trace function that calls Store.get again.
# A per-thread buffer (threading.local) would survive the first but not the
# second (it would return the inner get's value from the outer get); a pool
# survives both: list.pop and list.append are atomic under the GIL. It costs
# ~25 ns per get more than a threading.local lookup (~600 vs ~575 ns measured).
# The pool holds as many buffers as gets were ever in progress at once; it is
# LIFO, so the warmest buffer is reused first.
#
# A buffer is a tuple (buf, buf_arg, cap_arg, len_arg, val_len):
#   buf        ctypes char array; buf[:n] is one copy straight into a bytes
#              (measured ~2x faster than bytes(memoryview(bytearray)[:n]))
#   buf_arg    byref(buf): the void *buf argument
#   cap_arg    its capacity as a size_t argument
#   len_arg    byref() to a one-element size_t array that receives the length
#   val_len    a memoryview of that array: val_len[0] reads it faster than
#              c_size_t.value does
_pool: List["_Buffer"] = []

# First size of a buffer: most cached values fit; it grows on demand.
_INITIAL_BUFFER = 16 * 1024
# Largest a buffer grows to. A bigger value is fetched with bc_store_get (one
# library-allocated copy) so that huge values do not pin that much memory in
# every pooled buffer.
_MAX_POOLED_BUFFER = 1 << 20

_Buffer = Tuple[Any, Any, Any, Any, memoryview]


def _new_buffer(cap: int = _INITIAL_BUFFER) -> _Buffer:
    buf = create_string_buffer(cap)
    n = (c_size_t * 1)()
    return (buf, byref(buf), c_size_t.from_param(cap), byref(n), memoryview(n).cast("B").cast("N"))  # type: ignore[call-overload]


def _long_key_len(key: bytes) -> Any:
    return c_size_t.from_param(len(key))


def _grow_buffer(needed: int) -> _Buffer:
    cap = _INITIAL_BUFFER
    while cap < needed:
        cap <<= 1
    return _new_buffer(cap)


class Store(_Handle):
    """A sharded, budgeted key-value cache in the library (a bc_store handle).

    Keys and values are bytes; a str is encoded as UTF-8, and bytearray or
    memoryview is copied. Every method may be called from any thread at the same
    time, except close(), which must not race with other calls on this Store.
    close() frees the store and its entries; a Store is also a context manager.
    """

    __slots__ = ("_harg",)

    _kind = "Store"
    _free = staticmethod(N.bc_store_free)

    def __init__(
        self,
        policy: Optional[str] = None,
        max_bytes: int = 0,
        max_entries: int = 0,
        shards: int = 0,
        default_ttl_ms: int = 0,
        sweep_interval_ms: int = 0,
    ) -> None:
        """Creates a store.

        policy: "lru", "lru2" or "wtinylfu" (None = the library's default, "wtinylfu").
        max_bytes / max_entries: budgets, 0 = none. shards: a power of two up to
        1024, 0 = automatic. default_ttl_ms: TTL of sets that pass ttl_ms=0
        (0 = never expire). sweep_interval_ms: active expiry period, 0 = default
        (100 ms), < 0 = lazy expiry only.
        """
        # _h: the handle as int (None once closed) for the typed declarations;
        # _harg: the same as a ready-made pointer argument for the untyped hit path
        # (None once closed: NULL, which the library answers with BC_MISUSE).
        super().__init__()
        self._harg: Any = None
        o = store_options(policy, max_bytes, max_entries, shards, default_ttl_ms, sweep_interval_ms)
        out = N.bc_store_p()
        _check(N.bc_store_new(byref(o), byref(out)))
        self._h = out.value
        self._harg = c_void_p.from_param(out.value)

    # ---- Hit path ---------------------------------------------------------------

    def get(
        self,
        key: BytesLike,
        _fast: Any = N.bc_store_get_into_fast,
        _take: Callable[[], _Buffer] = _pool.pop,
        _give: Callable[[_Buffer], None] = _pool.append,
        _len_args: Tuple[Any, ...] = _LEN_ARGS,
    ) -> Optional[bytes]:
        """The value stored under key, or None if absent or expired.

        Counts as an access for the eviction policy. (The _-prefixed parameters
        bind globals as defaults: the hit path reads only locals.)
        """
        if key.__class__ is not bytes:
            key = as_bytes(key)
        try:
            key_len = _len_args[len(key)]
        except IndexError:
            key_len = _long_key_len(key)
        try:
            b = _take()
        except IndexError:
            b = _new_buffer()
        buf, buf_arg, cap_arg, len_arg, val_len = b
        rc = _fast(self._harg, key, key_len, buf_arg, cap_arg, len_arg)
        if rc:
            return self._get_rest(rc, key, key_len, b)
        value = buf[: val_len[0]]
        _give(b)
        return value  # type: ignore[no-any-return]

    def _get_rest(self, rc: int, key: bytes, key_len: Any, b: _Buffer) -> Optional[bytes]:
        """Everything but a hit: a miss, a value too big for the buffer, an error.

        Owns buffer b and puts it (or its larger replacement) back in the pool.
        """
        while True:
            if rc == 0:
                value = b[0][: b[4][0]]
                _pool.append(b)
                return value  # type: ignore[no-any-return]
            if rc != N.BC_BUFFER_TOO_SMALL:
                _pool.append(b)
                if rc == N.BC_NOT_FOUND:
                    return None
                raise self._error(rc)  # no bc_* call since the failing one
            needed = b[4][0]
            if needed > _MAX_POOLED_BUFFER:
                _pool.append(b)
                return self._get_alloc(key)
            b = _grow_buffer(needed)
            # The value may have been replaced by a larger one meanwhile: loop.
            rc = N.bc_store_get_into_fast(self._harg, key, key_len, b[1], b[2], b[3])

    def _get_alloc(self, key: bytes) -> Optional[bytes]:
        """A get through bc_store_get: the library allocates the copy, we free it."""
        p = c_void_p()
        size = c_size_t()
        rc = N.bc_store_get(self._h, key, len(key), byref(p), byref(size))
        if rc == N.BC_NOT_FOUND:
            return None
        if rc:
            raise self._error(rc)
        return take_bytes(p, size)

    # ---- Other operations -------------------------------------------------------

    def set(self, key: BytesLike, value: BytesLike, ttl_ms: int = 0) -> None:
        """Inserts or replaces key -> value.

        ttl_ms > 0 expires the entry after that many milliseconds, 0 uses the
        store's default TTL, BC_TTL_NEVER (-1) never expires. Evicts by the
        store's policy if the store is over budget afterwards. Raises
        TooLargeError if the key, value or entry exceeds a limit.
        """
        if ttl_ms.__class__ is not int or not -(1 << 63) <= ttl_ms < (1 << 63):
            ttl_ms = as_ttl(ttl_ms)  # ctypes would silently wrap an out-of-range int
        try:
            rc = N.bc_store_set(self._h, key, len(key), value, len(value), ttl_ms)  # type: ignore[arg-type]
        except (ArgumentError, TypeError):
            key = as_bytes(key)
            value = as_bytes(value, "value")
            ttl_ms = as_ttl(ttl_ms)
            rc = N.bc_store_set(self._h, key, len(key), value, len(value), ttl_ms)
        if rc:
            raise self._error(rc)

    def delete(self, key: BytesLike) -> bool:
        """Removes key; True if it was there."""
        if key.__class__ is not bytes:
            key = as_bytes(key)
        return self._found(N.bc_store_delete(self._h, key, len(key)))

    def clear(self) -> None:
        """Removes every entry (counted neither as deletes nor as evictions)."""
        rc = N.bc_store_clear(self._h)
        if rc:
            raise self._error(rc)

    def stats(self) -> StoreStats:
        """A snapshot of the counters (each shard read under its own lock)."""
        s = N.bc_store_stats()
        rc = N.bc_store_get_stats(self._h, byref(s), sizeof(s))
        if rc:
            raise self._error(rc)
        return StoreStats._from_c(s)

    def __contains__(self, key: BytesLike) -> bool:
        """True if key has a live entry. This is a get: it counts as a hit or miss."""
        return self.get(key) is not None

    # ---- Lifetime (the rest is _Handle's) ------------------------------------

    def _detach(self) -> Optional[int]:
        # _harg is the hit path's copy of the handle: it goes with _h.
        h, self._h, self._harg = self._h, None, None
        return h

    def __repr__(self) -> str:
        return f"<blockcache.Store {'closed' if self._h is None else hex(self._h)}>"
