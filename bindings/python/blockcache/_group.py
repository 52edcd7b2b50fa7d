"""Group: a named cache whose misses are filled by a Python loader (a bc_group)."""

from __future__ import annotations

import threading
from ctypes import byref, c_size_t, c_void_p, pointer, sizeof, string_at
from dataclasses import dataclass, fields
from typing import Callable, Optional, Tuple, Union

from . import _native as N
from ._convert import BytesLike, as_bytes, as_cstring, as_ttl, init_options, store_options, take_bytes
from ._errors import _check, error_for
from ._handle import _Handle
from ._store import StoreStats

__all__ = ["Group", "GroupStats", "LoaderResult"]

# What a loader returns: the value (cached with the group's default TTL), a
# (value, ttl_ms) pair, or None for "this key does not exist".
LoaderResult = Optional[Union[bytes, bytearray, memoryview, str, Tuple[BytesLike, int]]]
Loader = Callable[[bytes], LoaderResult]


@dataclass(frozen=True)
class GroupStats:
    """A snapshot of a group's counters (see bc_group_stats in blockcache.h).

    ``store`` holds the counters of the group's store, read right after the
    group's own (bc_group_get_store_stats): the two are not one atomic instant.
    """

    gets: int
    hits: int
    misses: int
    loads: int
    loads_deduplicated: int
    loader_errors: int
    loader_not_found: int
    store: StoreStats

    @classmethod
    def _from_c(cls, s: N.bc_group_stats, store: N.bc_store_stats) -> "GroupStats":
        d = {f.name: getattr(s, f.name) for f in fields(cls) if f.name != "store"}
        return cls(store=StoreStats._from_c(store), **d)


def _make_trampoline(loader: Loader, tls: threading.local) -> Callable[[int, int, int, int], int]:
    """The C loader callback that runs ``loader`` and hands its result to the sink.

    It must never let an exception escape: ctypes would print it and return 0,
    which the library would read as BC_OK with no value. Every failure becomes
    BC_LOADER_FAILED with "TypeName: message" set through bc_sink_set_error; the
    exception object itself is parked in ``tls`` so Group.get, which runs on this
    same thread, can chain it. The closure holds the loader, not the Group, so
    the Group can still be collected while the callback object is alive.
    """

    def trampoline(user_data: Optional[int], key_ptr: Optional[int], key_len: int, sink: Optional[int]) -> int:
        try:
            key = string_at(key_ptr, key_len) if key_len else b""  # type: ignore[arg-type]
            result = loader(key)
            if result is None:
                return N.BC_NOT_FOUND
            if isinstance(result, tuple):
                if len(result) != 2:
                    raise TypeError("a loader's tuple must be (value, ttl_ms)")
                value_obj, ttl = result
                ttl = as_ttl(ttl)
            else:
                value_obj, ttl = result, 0
            value = as_bytes(value_obj, "the loader's value")
            if ttl:
                rc = N.bc_sink_set_ttl(sink, ttl)
                if rc:
                    raise error_for(rc)
            rc = N.bc_sink_set_value(sink, value, len(value))
            if rc:
                raise error_for(rc)
            return N.BC_OK
        except BaseException as e:  # noqa: B902 - see the docstring
            tls.exc = e
            text = str(e)
            message = f"{type(e).__name__}: {text}" if text else type(e).__name__
            N.bc_sink_set_error(sink, message.encode("utf-8", "replace").replace(b"\0", b"\\0"))
            return N.BC_LOADER_FAILED

    return trampoline


class Group(_Handle):
    """A named read-through cache: get() returns the cached value or loads it.

    ``loader(key: bytes)`` runs on a miss, on the thread that called get(), at
    most once at a time per key: concurrent gets of that key wait and share its
    result. It returns bytes or str (cached with the group's default TTL), a
    ``(value, ttl_ms)`` pair, or None if the key does not exist (get() then
    raises NotFoundError and nothing is cached). If it raises, get() raises
    LoaderError carrying "ExceptionType: message". A loader may use the group,
    except get() of the key it is loading (that would wait for itself).

    Methods may be called from any thread at the same time, except close(),
    which must not run while another call (a get in particular) is in progress.
    close() frees the group and its store; a Group is also a context manager.
    """

    __slots__ = ("_loader", "_callback", "_tls", "_name")

    _kind = "Group"
    _free = staticmethod(N.bc_group_free)

    def __init__(
        self,
        name: str,
        loader: Loader,
        *,
        policy: Optional[str] = None,
        max_bytes: int = 0,
        max_entries: int = 0,
        shards: int = 0,
        default_ttl_ms: int = 0,
        sweep_interval_ms: int = 0,
    ) -> None:
        super().__init__()
        if not callable(loader):
            raise TypeError(f"loader must be callable, not {type(loader).__name__}")
        self._loader = loader
        self._tls = threading.local()
        # The CFUNCTYPE object must outlive every call C makes through it: it is
        # kept here until the group is freed (close() drops it after bc_group_free).
        self._callback: Optional[object] = N.bc_loader_fn(_make_trampoline(loader, self._tls))
        store = store_options(policy, max_bytes, max_entries, shards, default_ttl_ms, sweep_interval_ms)
        o = init_options(N.bc_group_options_init, N.bc_group_options)
        o.name = as_cstring(name, "name")
        # bc_group_new reads the store options only during the call; `store`
        # stays alive (a local) until it returns.
        o.store = pointer(store)
        o.loader = self._callback  # type: ignore[assignment]
        o.user_data = None
        out = N.bc_group_p()
        _check(N.bc_group_new(byref(o), byref(out)))
        self._h = out.value
        raw = N.bc_group_name(self._h)
        self._name = raw.decode("utf-8", "replace") if raw is not None else str(name)

    @property
    def name(self) -> str:
        """The group's name."""
        return self._name

    def get(self, key: BytesLike) -> bytes:
        """The value for key, from the cache or loaded through the loader.

        Raises NotFoundError if the loader returned None, LoaderError if it raised.
        """
        if key.__class__ is not bytes:
            key = as_bytes(key)
        p = c_void_p()
        size = c_size_t()
        rc = N.bc_group_get(self._h, key, len(key), byref(p), byref(size))
        if rc == 0:
            return take_bytes(p, size)
        err = self._error(rc)
        cause = self._tls.__dict__.pop("exc", None)
        if rc == N.BC_LOADER_FAILED and cause is not None:
            if not isinstance(cause, Exception):  # KeyboardInterrupt, SystemExit
                raise cause
            raise err from cause
        raise err

    def set(self, key: BytesLike, value: BytesLike, ttl_ms: int = 0) -> None:
        """Stores a value in the group's cache directly, as Store.set."""
        key = as_bytes(key)
        value = as_bytes(value, "value")
        rc = N.bc_group_set(self._h, key, len(key), value, len(value), as_ttl(ttl_ms))
        if rc:
            raise self._error(rc)

    def delete(self, key: BytesLike) -> bool:
        """Removes key from the group's cache; True if it was there."""
        key = as_bytes(key)
        return self._found(N.bc_group_delete(self._h, key, len(key)))

    def stats(self) -> GroupStats:
        """A snapshot of the group's counters and its store's."""
        s = N.bc_group_stats()
        rc = N.bc_group_get_stats(self._h, byref(s), sizeof(s))
        if rc:
            raise self._error(rc)
        st = N.bc_store_stats()
        rc = N.bc_group_get_store_stats(self._h, byref(st), sizeof(st))
        if rc:
            raise self._error(rc)
        return GroupStats._from_c(s, st)

    def _released(self) -> None:
        # Only now may the callback go: bc_group_free has returned.
        self._callback = None

    def __repr__(self) -> str:
        state = "closed" if self._h is None else "open"
        return f"<blockcache.Group {getattr(self, '_name', '?')!r} {state}>"

