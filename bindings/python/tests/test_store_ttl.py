"""Store: per-entry TTL, default TTL and BC_TTL_NEVER."""

import time

import pytest

import blockcache
from blockcache import Store


def test_ttl_expires(store):
    store.set(b"k", b"v", ttl_ms=50)
    assert store.get(b"k") == b"v"
    time.sleep(0.2)
    assert store.get(b"k") is None
    assert store.stats().expirations >= 1


def test_ttl_expires_with_lazy_expiry_only():
    with Store(sweep_interval_ms=-1) as s:
        s.set(b"k", b"v", ttl_ms=50)
        time.sleep(0.2)
        assert s.get(b"k") is None
        st = s.stats()
        assert st.expirations >= 1 and st.entries == 0


def test_sweeper_removes_expired_entries_without_access():
    with Store(sweep_interval_ms=20) as s:
        for i in range(50):
            s.set(f"k{i}", b"v", ttl_ms=30)
        deadline = time.monotonic() + 3
        while s.stats().entries and time.monotonic() < deadline:
            time.sleep(0.05)
        st = s.stats()
        assert st.entries == 0
        assert st.expirations == 50


def test_default_ttl():
    with Store(default_ttl_ms=50) as s:
        s.set(b"default", b"v")
        s.set(b"long", b"v", ttl_ms=60_000)
        time.sleep(0.2)
        assert s.get(b"default") is None
        assert s.get(b"long") == b"v"


def test_ttl_never_overrides_default_ttl():
    with Store(default_ttl_ms=50) as s:
        s.set(b"forever", b"v", ttl_ms=blockcache.BC_TTL_NEVER)
        time.sleep(0.2)
        assert s.get(b"forever") == b"v"


def test_replacing_resets_ttl(store):
    store.set(b"k", b"v1", ttl_ms=50)
    store.set(b"k", b"v2")  # no default TTL: never expires
    time.sleep(0.2)
    assert store.get(b"k") == b"v2"


def test_negative_ttl_is_invalid(store):
    with pytest.raises(blockcache.InvalidArgumentError) as ei:
        store.set(b"k", b"v", ttl_ms=-2)
    assert ei.value.code == blockcache.BC_INVALID_ARGUMENT
    assert ei.value.message


def test_negative_default_ttl_is_invalid():
    with pytest.raises(blockcache.InvalidArgumentError):
        Store(default_ttl_ms=-5)


def test_ttl_must_be_an_int(store):
    with pytest.raises(TypeError):
        store.set(b"k", b"v", ttl_ms=1.5)
