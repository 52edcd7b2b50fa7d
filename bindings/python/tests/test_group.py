"""Group: read-through loading, errors from the loader, singleflight."""

import threading
import time

import pytest

import blockcache
from blockcache import Group


class CountingLoader:
    def __init__(self, fn=None, delay=0.0):
        self.calls = []
        self.lock = threading.Lock()
        self.fn = fn or (lambda key: b"value:" + key)
        self.delay = delay

    def __call__(self, key: bytes):
        with self.lock:
            self.calls.append(key)
        if self.delay:
            time.sleep(self.delay)
        return self.fn(key)


def test_hits_misses_loads_are_counted():
    loader = CountingLoader()
    with Group("users", loader) as g:
        assert g.name == "users"
        assert g.get(b"a") == b"value:a"
        assert g.get(b"a") == b"value:a"
        assert g.get("b") == b"value:b"
        assert loader.calls == [b"a", b"b"]
        st = g.stats()
        assert (st.gets, st.hits, st.misses, st.loads) == (3, 1, 2, 2)
        assert st.loader_errors == 0 and st.loader_not_found == 0
        assert st.store.entries == 2 and st.store.sets >= 2
        assert isinstance(st, blockcache.GroupStats)


def test_loader_gets_exact_key_bytes():
    seen = []

    def loader(key):
        seen.append(key)
        return key[::-1]

    with Group("bin", loader) as g:
        assert g.get(b"a\x00b\xff") == b"\xffb\x00a"
        assert g.get(b"") == b""
        assert seen == [b"a\x00b\xff", b""]


def test_loader_may_return_str_bytearray_memoryview():
    values = {b"s": "text €", b"ba": bytearray(b"ba"), b"mv": memoryview(b"mv"), b"e": b""}
    with Group("types", lambda k: values[k]) as g:
        assert g.get(b"s") == "text €".encode()
        assert g.get(b"ba") == b"ba"
        assert g.get(b"mv") == b"mv"
        assert g.get(b"e") == b""


def test_loader_returning_none_is_not_found():
    loader = CountingLoader(lambda key: None)
    with Group("nf", loader) as g:
        with pytest.raises(blockcache.NotFoundError) as ei:
            g.get(b"ghost")
        assert ei.value.code == blockcache.BC_NOT_FOUND
        assert isinstance(ei.value, KeyError)
        # Nothing was cached: the loader is asked again.
        with pytest.raises(blockcache.NotFoundError):
            g.get(b"ghost")
        assert len(loader.calls) == 2
        assert g.stats().loader_not_found == 2


def test_loader_raising_is_loader_error_with_message():
    def loader(key):
        raise ValueError(f"database is down for {key!r}")

    with Group("err", loader) as g:
        with pytest.raises(blockcache.LoaderError) as ei:
            g.get(b"k")
        e = ei.value
        assert e.code == blockcache.BC_LOADER_FAILED
        assert "ValueError" in e.message
        assert "database is down for b'k'" in e.message
        assert isinstance(e.__cause__, ValueError)
        st = g.stats()
        assert st.loader_errors == 1
        assert st.store.entries == 0


def test_loader_error_message_with_nul_and_unicode():
    def loader(key):
        raise RuntimeError("bad\x00byte ünïcode")

    with Group("err2", loader) as g:
        with pytest.raises(blockcache.LoaderError) as ei:
            g.get(b"k")
        assert "RuntimeError" in ei.value.message
        assert "ünïcode" in ei.value.message


def test_loader_returning_wrong_type_is_loader_error():
    with Group("bad", lambda key: 42) as g:
        with pytest.raises(blockcache.LoaderError) as ei:
            g.get(b"k")
        assert "TypeError" in ei.value.message
    with Group("bad2", lambda key: (b"v", 1, 2)) as g:
        with pytest.raises(blockcache.LoaderError):
            g.get(b"k")


def test_loader_ttl_tuple_expires():
    loader = CountingLoader(lambda key: (b"short", 50))
    with Group("ttl", loader) as g:
        assert g.get(b"k") == b"short"
        assert g.get(b"k") == b"short"
        assert len(loader.calls) == 1
        time.sleep(0.2)
        assert g.get(b"k") == b"short"
        assert len(loader.calls) == 2


def test_loader_bad_ttl_is_loader_error():
    with Group("badttl", lambda key: (b"v", -5)) as g:
        with pytest.raises(blockcache.LoaderError) as ei:
            g.get(b"k")
        assert "InvalidArgumentError" in ei.value.message


def test_group_default_ttl_and_ttl_never():
    def loader(key):
        return (b"forever", blockcache.BC_TTL_NEVER) if key == b"never" else b"default"

    counting = CountingLoader(loader)
    with Group("dttl", counting, default_ttl_ms=50) as g:
        g.get(b"never")
        g.get(b"plain")
        time.sleep(0.2)
        g.get(b"never")
        g.get(b"plain")
        assert counting.calls == [b"never", b"plain", b"plain"]


def test_concurrent_gets_share_one_load():
    loader = CountingLoader(delay=0.2)
    with Group("sf", loader) as g:
        results = []
        barrier = threading.Barrier(8)

        def worker():
            barrier.wait()
            results.append(g.get(b"hot"))

        threads = [threading.Thread(target=worker) for _ in range(8)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - t0
        assert loader.calls == [b"hot"]
        assert results == [b"value:hot"] * 8
        st = g.stats()
        assert st.loads == 1
        assert st.gets == 8
        assert st.hits + st.misses == 8
        # The GIL is released while waiting: the 8 gets overlap.
        assert elapsed < 1.0


def test_concurrent_failures_reach_every_waiter():
    def loader(key):
        time.sleep(0.2)
        raise KeyError("gone")

    with Group("sf-err", loader) as g:
        errors = []

        def worker():
            try:
                g.get(b"k")
            except blockcache.LoaderError as e:
                errors.append(e.message)

        threads = [threading.Thread(target=worker) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(errors) == 4
        assert all("KeyError" in m for m in errors), errors


def test_loads_of_different_keys_run_in_parallel():
    loader = CountingLoader(delay=0.2)
    with Group("par", loader) as g:
        threads = [threading.Thread(target=g.get, args=(f"k{i}",)) for i in range(6)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert time.monotonic() - t0 < 0.8  # one after another: 1.2 s
        assert len(loader.calls) == 6


def test_loader_runs_on_the_calling_thread():
    seen = {}

    def loader(key):
        seen[key] = threading.get_ident()
        return b"v"

    with Group("thread", loader) as g:
        g.get(b"main")
        t = threading.Thread(target=g.get, args=(b"worker",))
        t.start()
        t.join()
        assert seen[b"main"] == threading.get_ident()
        assert seen[b"worker"] == t.ident


def test_set_delete_and_reload():
    loader = CountingLoader()
    with Group("sd", loader) as g:
        g.set(b"k", b"manual")
        assert g.get(b"k") == b"manual"
        assert loader.calls == []
        assert g.delete(b"k") is True
        assert g.delete(b"k") is False
        assert g.get(b"k") == b"value:k"
        assert loader.calls == [b"k"]
        g.set("t", "x", ttl_ms=50)
        time.sleep(0.2)
        assert g.get("t") == b"value:t"


def test_loader_may_use_the_group_for_other_keys():
    holder = {}

    def loader(key):
        if key == b"outer":
            return b"outer+" + holder["g"].get(b"inner")
        holder["g"].set(b"side", b"effect")
        return b"in"

    with Group("reentrant", loader) as g:
        holder["g"] = g
        assert g.get(b"outer") == b"outer+in"
        assert g.get(b"side") == b"effect"


def test_budget_applies_to_group_store():
    with Group("budget", lambda k: bytes(100), max_entries=10) as g:
        for i in range(100):
            g.get(f"k{i}")
        st = g.stats()
        assert st.store.entries <= 10 and st.store.evictions > 0
        assert st.store.max_entries == 10


def test_store_stats_come_from_bc_group_get_store_stats():
    import ctypes

    from blockcache import _native as N

    with Group("raw", lambda k: b"v", max_entries=7, shards=2) as g:
        g.get(b"a")
        g.get(b"a")
        st = N.bc_store_stats()
        assert N.bc_group_get_store_stats(g._h, ctypes.byref(st), ctypes.sizeof(st)) == N.BC_OK
        assert (st.entries, st.hits, st.misses, st.max_entries, st.shards) == (1, 1, 1, 7, 2)
        py = g.stats().store
        assert (py.entries, py.max_entries, py.shards) == (1, 7, 2)
        # NULL out or NULL group: BC_MISUSE, nothing written.
        assert N.bc_group_get_store_stats(g._h, None, ctypes.sizeof(st)) == N.BC_MISUSE
        assert N.bc_last_error_code() == N.BC_MISUSE
        assert N.bc_group_get_store_stats(None, ctypes.byref(st), ctypes.sizeof(st)) == N.BC_MISUSE


def test_group_options_store_null_means_defaults():
    import ctypes

    from blockcache import _native as N
    from blockcache._convert import init_options

    o = init_options(N.bc_group_options_init, N.bc_group_options)
    assert not o.store  # bc_group_options_init leaves store NULL
    o.name = b"null-store"
    o.loader = N.bc_loader_fn(lambda user_data, key, key_len, sink: N.BC_NOT_FOUND)
    h = N.bc_group_p()
    assert N.bc_group_new(ctypes.byref(o), ctypes.byref(h)) == N.BC_OK
    try:
        st = N.bc_store_stats()
        assert N.bc_group_get_store_stats(h, ctypes.byref(st), ctypes.sizeof(st)) == N.BC_OK
        assert st.max_entries == 0 and st.max_bytes == 0 and st.entries == 0
        with blockcache.Store() as s:
            assert st.shards == s.stats().shards
    finally:
        N.bc_group_free(h)
    # The Python Group without budget options gets the same defaults.
    with Group("py-defaults", lambda k: b"v") as g:
        assert g.stats().store.max_entries == 0 and g.stats().store.max_bytes == 0


def test_policy_options():
    for policy in ("lru", "lru2"):
        with Group("p-" + policy, lambda k: b"v", policy=policy, shards=2) as g:
            assert g.get(b"k") == b"v"
            assert g.stats().store.shards == 2
    with pytest.raises(blockcache.InvalidArgumentError) as ei:
        Group("p", lambda k: b"v", policy="mru")
    assert "mru" in str(ei.value)


def test_invalid_construction():
    with pytest.raises(blockcache.InvalidArgumentError):
        Group("", lambda k: b"v")
    with pytest.raises(TypeError):
        Group("x", "not callable")
    with pytest.raises(blockcache.InvalidArgumentError):
        Group("x", lambda k: b"v", shards=3)


def test_closed_group_raises():
    g = Group("closed", lambda k: b"v")
    g.close()
    g.close()
    assert g.closed
    for call in (lambda: g.get(b"k"), lambda: g.set(b"k", b"v"), lambda: g.delete(b"k"), g.stats):
        with pytest.raises(blockcache.MisuseError):
            call()


def test_group_key_errors():
    with Group("keys", lambda k: b"v") as g:
        with pytest.raises(TypeError):
            g.get(12)
        with pytest.raises(blockcache.TooLargeError):
            g.get(b"k" * 70000)


def test_large_loaded_value():
    big = bytes(range(256)) * 8192  # 2 MiB
    with Group("large", lambda k: big) as g:
        assert g.get(b"k") == big
        assert g.get(b"k") == big


def test_many_groups_with_same_name_are_independent():
    with Group("same", lambda k: b"1") as a, Group("same", lambda k: b"2") as b:
        assert a.get(b"k") == b"1"
        assert b.get(b"k") == b"2"


def test_a_set_during_a_load_is_not_replaced_by_it():
    """Issue 15, case 1: a load that began before a set must not store its older
    value over the set (it did: the next gets read the loader's value for good)."""
    loader = CountingLoader(delay=0.3)
    with Group("race", loader) as g:
        reader = threading.Thread(target=lambda: g.get(b"k"))
        reader.start()
        time.sleep(0.1)
        g.set(b"k", b"NEW")
        assert g.get(b"k") == b"NEW"
        reader.join()
        assert g.get(b"k") == b"NEW"
        # A delete during a load: the load's value is not cached, so the next get loads.
        reader = threading.Thread(target=lambda: g.get(b"gone"))
        reader.start()
        time.sleep(0.1)
        assert g.delete(b"gone") is False
        reader.join()
        assert g.stats().store.entries == 1
        assert g.get(b"gone") == b"value:gone"
        assert loader.calls.count(b"gone") == 2
