"""Ring: consistent hashing of keys onto named nodes (a bc_ring)."""

from __future__ import annotations

from ctypes import POINTER, byref, c_char, string_at
from typing import Optional

from . import _native as N
from ._convert import BytesLike, as_bytes, as_cstring, as_uint
from ._errors import _check
from ._handle import _Handle

__all__ = ["Ring"]


class Ring(_Handle):
    """A consistent-hash ring: each key maps to one node; adding or removing a
    node moves only the keys that node gains or loses.

    A node of weight w gets w * virtual_nodes points on the ring (virtual_nodes
    0 = the library's default, 160). Mappings are stable across processes and
    machines. Methods may be called from any thread at the same time, except
    close(), which must not race with other calls on this Ring. close() frees
    the ring; a Ring is also a context manager.
    """

    __slots__ = ()

    _kind = "Ring"
    _free = staticmethod(N.bc_ring_free)

    def __init__(self, virtual_nodes: int = 0) -> None:
        super().__init__()
        out = N.bc_ring_p()
        _check(N.bc_ring_new(as_uint(virtual_nodes, "virtual_nodes", 32), byref(out)))
        self._h = out.value

    def add(self, node: str, weight: int = 1) -> None:
        """Adds node with weight 1..1000, or changes the weight of a node already there."""
        rc = N.bc_ring_add(self._h, as_cstring(node, "node"), as_uint(weight, "weight", 32))
        if rc:
            raise self._error(rc)

    def remove(self, node: str) -> None:
        """Removes node; raises NotFoundError (a KeyError) if it is not on the ring."""
        rc = N.bc_ring_remove(self._h, as_cstring(node, "node"))
        if rc:
            raise self._error(rc)

    def lookup(self, key: BytesLike) -> Optional[str]:
        """The node that owns key, or None if the ring is empty."""
        key = as_bytes(key)
        out = POINTER(c_char)()
        rc = N.bc_ring_lookup(self._h, key, len(key), byref(out))
        if rc == N.BC_NOT_FOUND:
            return None
        if rc:
            raise self._error(rc)
        try:
            return string_at(out).decode("utf-8", "replace")
        finally:
            N.bc_free(out)

    def __len__(self) -> int:
        """The number of nodes on the ring."""
        if self._h is None:
            raise self._error(N.BC_MISUSE)
        return N.bc_ring_node_count(self._h)

    def __repr__(self) -> str:
        if self._h is None:
            return "<blockcache.Ring closed>"
        return f"<blockcache.Ring nodes={len(self)}>"
