"""Conversions shared by Store, Group and Ring (the slow paths only): arguments
to C, and library-allocated results back to bytes."""

from __future__ import annotations

import ctypes
import operator
from ctypes import POINTER, c_size_t, c_void_p, cast, sizeof, string_at
from typing import Optional, Type, TypeVar, Union

from . import _native as N
from ._errors import InvalidArgumentError

# What the API accepts as a key or value: bytes-like objects are taken as they
# are, str is encoded as UTF-8.
BytesLike = Union[bytes, bytearray, memoryview, str]

_INT64_MIN = -(1 << 63)
_INT64_MAX = (1 << 63) - 1


def as_bytes(obj: object, what: str = "key") -> bytes:
    """``obj`` as bytes: bytes as is, str as UTF-8, any other buffer copied.

    Raises TypeError for anything else (an int is *not* taken as a length, as
    ``bytes(5)`` would).
    """
    if isinstance(obj, bytes):
        return bytes(obj) if obj.__class__ is not bytes else obj
    if isinstance(obj, str):
        return obj.encode("utf-8")
    try:
        return memoryview(obj).tobytes()  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(
            f"{what} must be bytes, bytearray, memoryview or str, not {type(obj).__name__}"
        ) from None


def _as_index(value: object, name: str) -> int:
    """``value`` as an int through __index__ (so not a float or a str); else TypeError."""
    try:
        return operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(f"{name} must be an int, not {type(value).__name__}") from None


def as_int64(value: object, name: str) -> int:
    """An int in int64 range (ctypes would silently wrap a larger one)."""
    v = _as_index(value, name)
    if not _INT64_MIN <= v <= _INT64_MAX:
        raise InvalidArgumentError(N.BC_INVALID_ARGUMENT, f"{name} {v} is out of the int64 range")
    return v


def as_ttl(ttl_ms: object) -> int:
    """A TTL argument as an int in int64 range (the library checks its meaning)."""
    return as_int64(ttl_ms, "ttl_ms")


def as_uint(value: object, name: str, bits: int) -> int:
    """A non-negative int that fits ``bits`` bits (ctypes would silently wrap it)."""
    v = _as_index(value, name)
    if not 0 <= v < (1 << bits):
        raise InvalidArgumentError(
            N.BC_INVALID_ARGUMENT, f"{name} must be between 0 and {(1 << bits) - 1}, not {v}"
        )
    return v


def as_cstring(value: object, name: str) -> bytes:
    """A str as a NUL-terminated UTF-8 C string; an embedded NUL would truncate it."""
    if isinstance(value, str):
        b = value.encode("utf-8")
    elif isinstance(value, bytes):
        b = bytes(value)
    else:
        raise TypeError(f"{name} must be a str, not {type(value).__name__}")
    if b"\0" in b:
        raise InvalidArgumentError(N.BC_INVALID_ARGUMENT, f"{name} must not contain a NUL character")
    return b


S = TypeVar("S", bound=ctypes.Structure)

# Room for a newer library's larger options struct: see init_options.
_SCRATCH_WORDS = 128


def init_options(init_fn, cls: Type[S]) -> S:
    """Runs a ``bc_*_options_init`` function and returns its defaults as ``cls``.

    The init functions take no size argument. The header's ABI rule says they
    write exactly the layout of the release that introduced them (a release that appends
    fields adds new, sized init functions); they still write into an oversized
    scratch buffer, as a guard, and only the fields this binding knows are
    kept. struct_size is then set to this binding's size so the library reads
    no further than that.
    """
    scratch = (ctypes.c_uint64 * _SCRATCH_WORDS)()
    init_fn(cast(scratch, POINTER(cls)))
    o = cls.from_buffer_copy(scratch, 0) if sizeof(cls) <= sizeof(scratch) else cls()
    o.struct_size = sizeof(cls)  # type: ignore[attr-defined]
    return o


def store_options(
    policy: Optional[str],
    max_bytes: int,
    max_entries: int,
    shards: int,
    default_ttl_ms: int,
    sweep_interval_ms: Optional[int],
) -> N.bc_store_options:
    """The library's default store options with these arguments filled in, checked.

    Used by Store and by Group (for its store); the arguments mean what
    Store.__init__ documents.
    """
    o = init_options(N.bc_store_options_init, N.bc_store_options)
    o.policy = None if policy is None else as_cstring(policy, "policy")
    o.max_bytes = as_uint(max_bytes, "max_bytes", 64)
    o.max_entries = as_uint(max_entries, "max_entries", 64)
    o.shards = as_uint(shards, "shards", 32)
    o.default_ttl_ms = as_int64(default_ttl_ms, "default_ttl_ms")
    if sweep_interval_ms is not None:
        o.sweep_interval_ms = as_int64(sweep_interval_ms, "sweep_interval_ms")
    return o


def take_bytes(p: c_void_p, size: c_size_t) -> bytes:
    """Copies the ``size`` bytes the library allocated at ``p`` and frees them."""
    try:
        return string_at(p.value, size.value) if size.value else b""  # type: ignore[arg-type]
    finally:
        N.bc_free(p)
