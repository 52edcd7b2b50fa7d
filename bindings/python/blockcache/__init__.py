"""Python binding of BlockCache (libblockcache.so).

BlockCache is an in-process, read-through cache engine: a Store is a sharded
key-value cache with eviction policies ("lru", "lru2", "wtinylfu"), byte and entry budgets
and per-entry TTL; a Group fills misses through a loader, one load per key at a
time; a Ring maps keys onto nodes by consistent hashing; a Node serves groups
to a cluster over the Redis protocol, and a Peer is a client of one node.

    >>> import blockcache
    >>> with blockcache.Store(max_entries=10_000) as s:
    ...     s.set("user:1", b"alice", ttl_ms=60_000)
    ...     s.get("user:1")
    b'alice'

The library is found through $BLOCKCACHE_LIBRARY, then this package's folder,
then the repository's build/lib folder.
"""

from __future__ import annotations

from . import _native
from ._convert import BytesLike, as_bytes
from ._errors import (
    BlockCacheError,
    BufferTooSmallError,
    InternalError,
    InvalidArgumentError,
    LoaderError,
    MisuseError,
    NoMemoryError,
    NotFoundError,
    TooLargeError,
    UnavailableError,
    strerror,
)
from ._group import Group, GroupStats, LoaderResult
from ._native import (
    BC_BUFFER_TOO_SMALL,
    BC_INTERNAL,
    BC_INVALID_ARGUMENT,
    BC_LOADER_FAILED,
    BC_MAX_KEY_LEN,
    BC_MAX_VALUE_LEN,
    BC_MISUSE,
    BC_NO_MEMORY,
    BC_NOT_FOUND,
    BC_OK,
    BC_TOO_LARGE,
    BC_TTL_NEVER,
    BC_TLS_CLIENT_CERTS_ALL,
    BC_TLS_CLIENT_CERTS_NONE,
    BC_TLS_CLIENT_CERTS_PEERS,
    BC_UNAVAILABLE,
    BC_VERSION_MAJOR,
    BC_VERSION_MINOR,
    BC_VERSION_NUMBER,
    BC_VERSION_PATCH,
    BC_VERSION_STRING,
)
from ._node import Node, Peer
from ._ring import Ring
from ._store import Store, StoreStats

__version__ = "1.1.0"

__all__ = [
    "Store",
    "StoreStats",
    "Group",
    "GroupStats",
    "LoaderResult",
    "Ring",
    "Node",
    "Peer",
    "BytesLike",
    "version",
    "version_number",
    "allocator",
    "hash64",
    "strerror",
    "library_path",
    "BlockCacheError",
    "NotFoundError",
    "InvalidArgumentError",
    "MisuseError",
    "NoMemoryError",
    "TooLargeError",
    "BufferTooSmallError",
    "LoaderError",
    "InternalError",
    "UnavailableError",
    "BC_OK",
    "BC_NOT_FOUND",
    "BC_INVALID_ARGUMENT",
    "BC_MISUSE",
    "BC_NO_MEMORY",
    "BC_TOO_LARGE",
    "BC_BUFFER_TOO_SMALL",
    "BC_LOADER_FAILED",
    "BC_INTERNAL",
    "BC_UNAVAILABLE",
    "BC_MAX_KEY_LEN",
    "BC_MAX_VALUE_LEN",
    "BC_TTL_NEVER",
    "BC_TLS_CLIENT_CERTS_NONE",
    "BC_TLS_CLIENT_CERTS_PEERS",
    "BC_TLS_CLIENT_CERTS_ALL",
    "BC_VERSION_MAJOR",
    "BC_VERSION_MINOR",
    "BC_VERSION_PATCH",
    "BC_VERSION_NUMBER",
    "BC_VERSION_STRING",
]

#: The path of the loaded libblockcache.so.
library_path: str = _native.library_path


def version() -> str:
    """The loaded library's version string, e.g. "1.1.0"."""
    return _native.bc_version_string().decode("ascii")


def version_number() -> int:
    """The loaded library's version as MAJOR * 10000 + MINOR * 100 + PATCH."""
    return int(_native.bc_version_number())


def allocator() -> str:
    """Name and version of the allocator that holds the library's memory."""
    return _native.bc_allocator_name().decode("utf-8", "replace")


def hash64(data: BytesLike) -> int:
    """Stable 64-bit hash (wyhash, fixed seed) of data; str is hashed as UTF-8."""
    b = as_bytes(data, "data")
    return int(_native.bc_hash64(b, len(b)))
