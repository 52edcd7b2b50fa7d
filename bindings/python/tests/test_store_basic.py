"""Store: set, get, delete, clear, stats and lifetime."""

import pytest

import blockcache
from blockcache import Store


def test_set_get_delete_bytes_key(store):
    assert store.get(b"k") is None
    store.set(b"k", b"v")
    assert store.get(b"k") == b"v"
    assert type(store.get(b"k")) is bytes
    assert store.delete(b"k") is True
    assert store.get(b"k") is None
    assert store.delete(b"k") is False


def test_str_keys_and_values_are_utf8(store):
    store.set("clé", "valeur €")
    assert store.get("clé") == "valeur €".encode("utf-8")
    assert store.get("clé".encode("utf-8")) == "valeur €".encode("utf-8")
    assert store.delete("clé") is True


def test_bytearray_and_memoryview(store):
    store.set(bytearray(b"ba"), memoryview(b"mv-value"))
    assert store.get(memoryview(b"ba")) == b"mv-value"
    assert store.get(bytearray(b"ba")) == b"mv-value"
    store.set(memoryview(b"xbay")[1:3], bytearray(b"second"))
    assert store.get(b"ba") == b"second"


def test_other_buffers_are_taken_as_their_bytes(store):
    import array

    a = array.array("I", [1, 2])
    store.set(a, b"arr")
    assert store.get(a.tobytes()) == b"arr"


def test_bytes_subclass_key(store):
    class B(bytes):
        pass

    store.set(B(b"sub"), b"1")
    assert store.get(B(b"sub")) == b"1"


def test_replace(store):
    store.set(b"k", b"one")
    store.set(b"k", b"two")
    assert store.get(b"k") == b"two"


def test_empty_key_and_empty_value(store):
    store.set(b"", b"empty key")
    assert store.get(b"") == b"empty key"
    assert store.get("") == b"empty key"
    store.set(b"ek", b"")
    v = store.get(b"ek")
    assert v == b"" and v is not None
    assert store.delete(b"") is True


def test_binary_keys_with_nul_bytes(store):
    store.set(b"a\x00b", b"1")
    store.set(b"a\x00c", b"2")
    store.set(b"a", b"3")
    store.set(b"\x00", b"4")
    store.set(b"\x00\x00", b"5")
    assert store.get(b"a\x00b") == b"1"
    assert store.get(b"a\x00c") == b"2"
    assert store.get(b"a") == b"3"
    assert store.get(b"\x00") == b"4"
    assert store.get(b"\x00\x00") == b"5"
    store.set(b"v", b"x\x00y\x00")
    assert store.get(b"v") == b"x\x00y\x00"


@pytest.mark.parametrize("size", [16 * 1024 + 1, 1 << 20, (1 << 20) + 1, 4 << 20])
def test_large_values_grow_the_buffer_or_use_the_allocating_get(store, size):
    value = bytes(range(256)) * (size // 256) + b"z" * (size % 256)
    store.set(b"big", value)
    assert store.get(b"big") == value
    # Small values still work on the same thread afterwards.
    store.set(b"small", b"s")
    assert store.get(b"small") == b"s"
    assert store.get(b"big") == value


def test_max_key_length(store):
    key = b"k" * blockcache.BC_MAX_KEY_LEN
    store.set(key, b"v")
    assert store.get(key) == b"v"
    assert store.delete(key)


def test_clear(store):
    for i in range(100):
        store.set(f"k{i}", b"v")
    store.clear()
    assert store.get(b"k1") is None
    st = store.stats()
    assert st.entries == 0
    assert st.deletes == 0 and st.evictions == 0


def test_stats_count_operations():
    with Store(shards=1) as s:
        s.set(b"a", b"1")
        s.set(b"a", b"2")
        s.get(b"a")
        s.get(b"a")
        s.get(b"missing")
        s.delete(b"a")
        s.delete(b"a")
        st = s.stats()
        assert (st.sets, st.hits, st.misses, st.deletes) == (2, 2, 1, 1)
        assert st.entries == 0
        assert st.shards == 1
        assert st.max_bytes == 0 and st.max_entries == 0
        assert isinstance(st, blockcache.StoreStats)


def test_bytes_are_charged(store):
    assert store.stats().bytes == 0
    store.set(b"key", b"x" * 1000)
    st = store.stats()
    assert st.bytes >= 1003 and st.entries == 1


def test_contains(store):
    store.set(b"k", b"v")
    assert b"k" in store
    assert "missing" not in store


def test_shards_power_of_two():
    for n in (1, 2, 4, 1024):
        with Store(shards=n) as s:
            assert s.stats().shards == n


def test_close_is_idempotent_and_closed_store_raises():
    s = Store()
    s.set(b"k", b"v")
    s.close()
    s.close()
    assert s.closed
    with pytest.raises(blockcache.MisuseError):
        s.get(b"k")
    with pytest.raises(blockcache.MisuseError):
        s.set(b"k", b"v")
    with pytest.raises(blockcache.MisuseError):
        s.delete(b"k")
    with pytest.raises(blockcache.MisuseError):
        s.clear()
    with pytest.raises(blockcache.MisuseError):
        s.stats()
    with pytest.raises(blockcache.MisuseError):
        s.get(b"x" * 100_000)  # the allocating path too
    assert "closed" in repr(s)


def test_context_manager_closes():
    with Store() as s:
        s.set(b"k", b"v")
    assert s.closed
    with pytest.raises(blockcache.MisuseError):
        s.get(b"k")


def test_del_frees_without_close():
    import gc

    for _ in range(50):
        s = Store()
        s.set(b"k", b"v" * 1000)
        del s
    gc.collect()


def test_reentrant_get_on_the_same_thread_does_not_clobber_the_value(store):
    # A signal handler, finalizer or trace function may run Python code between
    # any two bytecodes of Store.get, on the same thread. Run a nested get of
    # another key at every opcode of the outer get: the outer get must still
    # return its own value.
    import sys

    store.set(b"outer", b"O" * 100)
    store.set(b"inner", b"I" * 7)
    get_code = type(store).get.__code__
    nested = []

    def tracer(frame, event, arg):
        if frame.f_code is get_code:
            frame.f_trace_opcodes = True
            if event == "opcode" and not nested:
                nested.append(1)
                try:
                    assert store.get(b"inner") == b"I" * 7
                finally:
                    nested.pop()
            return tracer
        return None

    results = []
    sys.settrace(tracer)
    try:
        for _ in range(3):
            results.append(store.get(b"outer"))
    finally:
        sys.settrace(None)
    assert results == [b"O" * 100] * 3
