"""Store: entry and byte budgets, eviction policies, option validation."""

import pytest

import blockcache
from blockcache import Store


@pytest.mark.parametrize("policy", [None, "lru", "lru2"])
def test_entry_budget_evicts(policy):
    with Store(policy=policy, max_entries=100) as s:
        for i in range(1000):
            s.set(f"key-{i}", b"v" * 10)
        st = s.stats()
        assert st.entries <= 100
        assert st.evictions > 0
        assert st.max_entries == 100
        assert st.entries + st.evictions == 1000


@pytest.mark.parametrize("policy", ["lru", "lru2"])
def test_byte_budget_evicts(policy):
    budget = 64 * 1024
    with Store(policy=policy, max_bytes=budget, shards=1) as s:
        for i in range(1000):
            s.set(f"key-{i}", bytes(1024))
        st = s.stats()
        assert 0 < st.bytes <= budget
        assert st.evictions > 0
        assert st.max_bytes == budget
        assert s.get("key-999") == bytes(1024)  # the newest entry survives


def test_lru_evicts_least_recently_used():
    with Store(policy="lru", max_entries=3, shards=1) as s:
        s.set(b"a", b"1")
        s.set(b"b", b"2")
        s.set(b"c", b"3")
        assert s.get(b"a") == b"1"  # a is now the most recently used
        s.set(b"d", b"4")
        assert s.get(b"b") is None
        assert s.get(b"a") == b"1"
        assert s.get(b"c") == b"3"
        assert s.get(b"d") == b"4"


def test_lru2_keeps_a_frequently_used_entry_through_a_scan():
    # lru2 protects entries accessed more than once from one-off scans.
    with Store(policy="lru2", max_entries=10, shards=1) as s:
        s.set(b"hot", b"h")
        for _ in range(3):
            assert s.get(b"hot") == b"h"
        for i in range(100):
            s.set(f"scan-{i}", b"x")
        assert s.get(b"hot") == b"h"


def test_entry_larger_than_budget_is_too_large():
    with Store(max_bytes=4096, shards=1) as s:
        s.set(b"k", b"old")
        with pytest.raises(blockcache.TooLargeError):
            s.set(b"k", bytes(100_000))
        assert s.get(b"k") == b"old"  # left as it was


def test_unknown_policy_is_invalid():
    with pytest.raises(blockcache.InvalidArgumentError) as ei:
        Store(policy="fifo")
    assert "fifo" in str(ei.value)
    assert isinstance(ei.value, ValueError)


@pytest.mark.parametrize("shards", [3, 6, 2048])
def test_bad_shard_count_is_invalid(shards):
    with pytest.raises(blockcache.InvalidArgumentError):
        Store(shards=shards)


@pytest.mark.parametrize("field", ["max_bytes", "max_entries", "shards"])
def test_negative_budget_is_rejected_before_ctypes_wraps_it(field):
    with pytest.raises(blockcache.InvalidArgumentError):
        Store(**{field: -1})


def test_option_types_are_checked():
    with pytest.raises(TypeError):
        Store(max_entries=1.5)
    with pytest.raises(TypeError):
        Store(policy=3)
