"""Exceptions, and the one place that turns a status code into one (``_check``)."""

from __future__ import annotations

from typing import Dict, NoReturn, Optional, Type

from . import _native as N

class BlockCacheError(Exception):
    """A BlockCache call failed.

    ``code`` is the BC_* status code; ``message`` the library's detail message
    for the failed call (or the code's name when the library gave none).
    """

    code: int
    message: str

    def __init__(self, code: int, message: str) -> None:
        super().__init__(code, message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code}, {self.message!r})"

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (type(self), (self.code, self.message))


class NotFoundError(BlockCacheError, KeyError):
    """BC_NOT_FOUND: the key is absent, or the loader said it does not exist."""

    # KeyError.__str__ would repr() the first argument; keep the plain message.
    __str__ = BlockCacheError.__str__


class InvalidArgumentError(BlockCacheError, ValueError):
    """BC_INVALID_ARGUMENT: a pointer, length or option is invalid."""


class MisuseError(BlockCacheError):
    """BC_MISUSE: a required handle is NULL, e.g. the object was closed."""


class NoMemoryError(BlockCacheError, MemoryError):
    """BC_NO_MEMORY: the library's allocator could not provide memory."""


class TooLargeError(BlockCacheError):
    """BC_TOO_LARGE: a key, value or entry exceeds a limit or a shard's budget."""


class BufferTooSmallError(BlockCacheError):
    """BC_BUFFER_TOO_SMALL: internal; the binding retries with a larger buffer."""


class LoaderError(BlockCacheError):
    """BC_LOADER_FAILED: the group's loader failed; the message carries why."""


class InternalError(BlockCacheError):
    """BC_INTERNAL: a bug in BlockCache; please report the message."""


class UnavailableError(BlockCacheError):
    """BC_UNAVAILABLE: a node could not be reached or refused the call."""


_BY_CODE: Dict[int, Type[BlockCacheError]] = {
    N.BC_NOT_FOUND: NotFoundError,
    N.BC_INVALID_ARGUMENT: InvalidArgumentError,
    N.BC_MISUSE: MisuseError,
    N.BC_NO_MEMORY: NoMemoryError,
    N.BC_TOO_LARGE: TooLargeError,
    N.BC_BUFFER_TOO_SMALL: BufferTooSmallError,
    N.BC_LOADER_FAILED: LoaderError,
    N.BC_INTERNAL: InternalError,
    N.BC_UNAVAILABLE: UnavailableError,
}

# The exception classes, named once: the base and the table above.
__all__ = [BlockCacheError.__name__] + [cls.__name__ for cls in _BY_CODE.values()]


def strerror(code: int) -> str:
    """The library's static name for a status code (bc_strerror)."""
    return (N.bc_strerror(code) or b"").decode("utf-8", "replace")


def error_for(code: int, message: Optional[str] = None) -> BlockCacheError:
    """The exception for ``code``; reads bc_last_error_message when no message is given.

    Must run right after the failing call, on the same thread, with no bc_* call
    in between: the detail message is per thread and valid until the next call.
    """
    if message is None:
        raw = N.bc_last_error_message()
        message = raw.decode("utf-8", "replace") if raw else ""
        if not message:
            message = strerror(code)
    return _BY_CODE.get(code, BlockCacheError)(code, message)


def _check(status: int) -> None:
    """Raises the exception for a non-BC_OK status; returns for BC_OK."""
    if status:
        raise error_for(status)


def _raise(status: int, message: Optional[str] = None) -> NoReturn:
    raise error_for(status, message)
