"""Store: invalid inputs raise the right exceptions, never crash."""

import pytest

import blockcache


def test_key_too_long(store):
    key = b"k" * (blockcache.BC_MAX_KEY_LEN + 1)
    with pytest.raises(blockcache.TooLargeError) as ei:
        store.set(key, b"v")
    assert ei.value.code == blockcache.BC_TOO_LARGE
    with pytest.raises(blockcache.TooLargeError):
        store.get(key)
    with pytest.raises(blockcache.TooLargeError):
        store.delete(key)


@pytest.mark.parametrize("key", [123, None, 1.5, ["k"], object()])
def test_non_bytes_key_is_type_error(store, key):
    with pytest.raises(TypeError):
        store.set(key, b"v")
    with pytest.raises(TypeError):
        store.get(key)
    with pytest.raises(TypeError):
        store.delete(key)


@pytest.mark.parametrize("value", [123, None, 1.5])
def test_non_bytes_value_is_type_error(store, value):
    with pytest.raises(TypeError):
        store.set(b"k", value)
    assert store.get(b"k") is None


def test_error_carries_code_and_message(store):
    with pytest.raises(blockcache.BlockCacheError) as ei:
        store.set(b"k", b"v", ttl_ms=-7)
    e = ei.value
    assert e.code == blockcache.BC_INVALID_ARGUMENT
    assert isinstance(e.message, str) and e.message
    assert str(e) == e.message


def test_error_message_is_per_failure(store):
    with pytest.raises(blockcache.TooLargeError) as e1:
        store.set(b"k" * 70000, b"v")
    with pytest.raises(blockcache.InvalidArgumentError) as e2:
        store.set(b"k", b"v", ttl_ms=-3)
    assert e1.value.message != e2.value.message


def test_ttl_outside_int64_is_rejected_not_wrapped():
    with blockcache.Store() as s:
        with pytest.raises(blockcache.InvalidArgumentError):
            s.set(b"k", b"v", ttl_ms=1 << 70)
        with pytest.raises(blockcache.InvalidArgumentError):
            s.set(b"k", b"v", ttl_ms=-(1 << 70))
        assert s.get(b"k") is None
