"""Pins the version and every constant of blockcache.h."""

import blockcache
from blockcache import _native


def test_status_codes_are_pinned():
    assert blockcache.BC_OK == 0
    assert blockcache.BC_NOT_FOUND == 1
    assert blockcache.BC_INVALID_ARGUMENT == 2
    assert blockcache.BC_MISUSE == 3
    assert blockcache.BC_NO_MEMORY == 4
    assert blockcache.BC_TOO_LARGE == 5
    assert blockcache.BC_BUFFER_TOO_SMALL == 6
    assert blockcache.BC_LOADER_FAILED == 7
    assert blockcache.BC_INTERNAL == 8


def test_limits_are_pinned():
    assert blockcache.BC_MAX_KEY_LEN == 65535
    assert blockcache.BC_MAX_VALUE_LEN == 1 << 30
    assert blockcache.BC_TTL_NEVER == -1


def test_version():
    assert blockcache.BC_VERSION_NUMBER == 10100
    assert blockcache.BC_VERSION_STRING == "1.1.0"
    assert blockcache.version_number() // 10000 == blockcache.BC_VERSION_MAJOR == 1
    n = blockcache.version_number()
    assert blockcache.version() == f"{n // 10000}.{n // 100 % 100}.{n % 100}"
    assert blockcache.__version__ == "1.1.0"


def test_strerror_names_each_code():
    names = {
        0: "BC_OK",
        1: "BC_NOT_FOUND",
        2: "BC_INVALID_ARGUMENT",
        3: "BC_MISUSE",
        4: "BC_NO_MEMORY",
        5: "BC_TOO_LARGE",
        6: "BC_BUFFER_TOO_SMALL",
        7: "BC_LOADER_FAILED",
        8: "BC_INTERNAL",
    }
    for code, name in names.items():
        assert blockcache.strerror(code).startswith(name), (code, blockcache.strerror(code))
    assert blockcache.strerror(12345) == "unknown status code"


def test_struct_layouts_match_the_header():
    # x86-64 / aarch64 LP64 layouts of the header's structs.
    import ctypes

    assert ctypes.sizeof(_native.bc_store_options) == 48
    assert _native.bc_store_options.policy.offset == 8
    assert _native.bc_store_options.sweep_interval_ms.offset == 40
    assert ctypes.sizeof(_native.bc_store_stats) == 88
    assert _native.bc_store_stats.shards.offset == 80
    # bc_group_options points to its store options; bc_group_stats has no store
    # member (bc_group_get_store_stats returns it): both can grow at their end.
    assert ctypes.sizeof(_native.bc_group_options) == 8 + 8 + 8 + 8 + 8
    assert _native.bc_group_options.store.offset == 16
    assert _native.bc_group_options.loader.offset == 24
    assert _native.bc_group_options.user_data.offset == 32
    assert ctypes.sizeof(_native.bc_group_stats) == 7 * 8
    assert _native.bc_group_stats.loader_not_found.offset == 48


def test_exception_hierarchy():
    e = blockcache
    assert issubclass(e.NotFoundError, e.BlockCacheError) and issubclass(e.NotFoundError, KeyError)
    assert issubclass(e.InvalidArgumentError, ValueError)
    assert issubclass(e.NoMemoryError, MemoryError)
    for cls in (e.MisuseError, e.TooLargeError, e.LoaderError, e.InternalError):
        assert issubclass(cls, e.BlockCacheError)
    err = e.NotFoundError(1, "no such key")
    assert err.code == 1 and err.message == "no such key" and str(err) == "no such key"


def test_hash64_is_stable_and_accepts_str():
    h = blockcache.hash64(b"hello")
    assert h == blockcache.hash64("hello") == blockcache.hash64(bytearray(b"hello"))
    assert 0 <= h < 1 << 64
    assert blockcache.hash64(b"") == blockcache.hash64("")
    assert blockcache.hash64(b"a") != blockcache.hash64(b"b")


def test_exceptions_pickle():
    import pickle

    e = pickle.loads(pickle.dumps(blockcache.LoaderError(7, "ValueError: x")))
    assert type(e) is blockcache.LoaderError and e.code == 7 and e.message == "ValueError: x"
