"""_Handle: the one owner of a native handle that Store, Group and Ring share.

It holds the handle, frees it exactly once (close() or, failing that, the
garbage collector), is a context manager, and turns BC_MISUSE on a closed object
into "the <kind> is closed".
"""

from __future__ import annotations

import threading
from typing import ClassVar, Optional, TypeVar

from . import _native as N
from ._errors import BlockCacheError, MisuseError, error_for

__all__ = ["_Handle"]

_H = TypeVar("_H", bound="_Handle")


class _Handle:
    """Base of the classes that own one library object.

    A subclass sets ``_kind`` (its public name, for messages) and ``_free`` (the
    ``bc_*_free`` function, wrapped in staticmethod), calls ``_Handle.__init__``
    before anything can fail, and then stores the handle in ``_h``. ``_h`` is
    None until then and once the object is closed: NULL, which the library
    answers with BC_MISUSE, so a closed object cannot crash.
    """

    __slots__ = ("_h", "_lock", "__weakref__")

    _kind: ClassVar[str] = "object"

    @staticmethod
    def _free(h: int) -> None:
        """The library's free function for this kind of handle."""
        raise NotImplementedError

    def __init__(self) -> None:
        self._h: Optional[int] = None
        self._lock = threading.Lock()  # makes close() idempotent across threads

    @property
    def closed(self) -> bool:
        """True once close() has run (or the object was never opened)."""
        return self._h is None

    def close(self) -> None:
        """Frees the library object and everything it holds.

        Idempotent; later calls of other methods raise MisuseError. Must not race
        with other calls on this object.
        """
        with self._lock:
            h = self._detach()
        if h is not None:
            self._free(h)
            self._released()

    def __enter__(self: _H) -> _H:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            h = self._detach()
        except AttributeError:  # __init__ failed before _h was set
            return
        if h is not None:
            try:
                self._free(h)
            except Exception:  # interpreter shutdown: module globals may be gone
                pass

    def _detach(self) -> Optional[int]:
        """Sets the handle (and any copy of it a subclass keeps) to None; returns it."""
        h, self._h = self._h, None
        return h

    def _released(self) -> None:
        """Runs in close() right after the handle was freed; nothing by default."""

    def _found(self, rc: int) -> bool:
        """A delete's status as its result: True for BC_OK, False for BC_NOT_FOUND.

        Raises for any other status; call it right after the call, as _error.
        """
        if rc == N.BC_NOT_FOUND:
            return False
        if rc:
            raise self._error(rc)
        return True

    def _error(self, rc: int) -> BlockCacheError:
        """The exception for status rc; "the <kind> is closed" for BC_MISUSE once closed.

        Call it right after the failing call: error_for reads the thread's detail
        message before any other bc_* call can replace it.
        """
        if rc == N.BC_MISUSE and self._h is None:
            return MisuseError(rc, f"the {self._kind} is closed")
        return error_for(rc)
