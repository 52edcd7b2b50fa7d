"""Ring: consistent hashing of keys onto nodes."""

import collections
import subprocess
import sys

import pytest

import blockcache
from blockcache import Ring
from conftest import subprocess_env

KEYS = [f"key-{i}" for i in range(10_000)]


def make_ring(nodes, **kw):
    r = Ring(**kw)
    for n in nodes:
        r.add(n)
    return r


def test_empty_ring_maps_to_none():
    with Ring() as r:
        assert len(r) == 0
        assert r.lookup(b"k") is None


def test_add_and_len():
    with make_ring(["a", "b", "c"]) as r:
        assert len(r) == 3
        r.add("a", 5)  # re-adding changes the weight, not the count
        assert len(r) == 3
        assert r.lookup("x") in {"a", "b", "c"}


def test_deterministic_across_processes():
    code = (
        "import blockcache\n"
        "r = blockcache.Ring()\n"
        "[r.add(n) for n in ('alpha', 'beta', 'gamma', 'delta')]\n"
        "print(','.join(r.lookup(f'key-{i}') for i in range(200)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=subprocess_env(), capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    with make_ring(["delta", "gamma", "beta", "alpha"]) as r:  # insertion order must not matter
        here = [r.lookup(f"key-{i}") for i in range(200)]
    assert out.stdout.strip().split(",") == here


def test_remove_reassigns_only_that_nodes_keys():
    with make_ring(["a", "b", "c", "d"]) as r:
        before = {k: r.lookup(k) for k in KEYS}
        r.remove("c")
        assert len(r) == 3
        after = {k: r.lookup(k) for k in KEYS}
    moved = [k for k in KEYS if before[k] != after[k]]
    assert moved, "c owned no keys"
    assert all(before[k] == "c" for k in moved)
    assert all(after[k] != "c" for k in KEYS)


def test_adding_a_node_moves_keys_only_to_it():
    with make_ring(["a", "b", "c"]) as r:
        before = {k: r.lookup(k) for k in KEYS}
        r.add("d")
        after = {k: r.lookup(k) for k in KEYS}
    moved = [k for k in KEYS if before[k] != after[k]]
    assert moved and all(after[k] == "d" for k in moved)


def test_weights_roughly_proportional():
    with Ring() as r:
        r.add("one", 1)
        r.add("three", 3)
        counts = collections.Counter(r.lookup(k) for k in KEYS)
    share = counts["three"] / len(KEYS)
    assert 0.65 < share < 0.85, counts


def test_balance_with_equal_weights():
    with make_ring([f"n{i}" for i in range(4)]) as r:
        counts = collections.Counter(r.lookup(k) for k in KEYS)
    assert all(1500 < c < 3500 for c in counts.values()), counts


def test_virtual_nodes_option():
    with Ring(virtual_nodes=1) as r:
        r.add("a")
        r.add("b")
        assert r.lookup(b"k") in {"a", "b"}
    with pytest.raises(blockcache.InvalidArgumentError):
        Ring(virtual_nodes=70000)


def test_errors():
    with make_ring(["a"]) as r:
        with pytest.raises(blockcache.NotFoundError):
            r.remove("zzz")
        with pytest.raises(blockcache.InvalidArgumentError):
            r.add("b", 0)
        with pytest.raises(blockcache.InvalidArgumentError):
            r.add("b", 1001)
        with pytest.raises(blockcache.InvalidArgumentError):
            r.add("nul\x00name")
        with pytest.raises(TypeError):
            r.add(5)
        with pytest.raises(TypeError):
            r.lookup(5)


def test_unicode_node_names_and_keys():
    with make_ring(["nœud-1", "узел-2"]) as r:
        assert r.lookup("ключ") in {"nœud-1", "узел-2"}


def test_closed_ring_raises():
    r = make_ring(["a"])
    r.close()
    r.close()
    with pytest.raises(blockcache.MisuseError):
        r.lookup(b"k")
    with pytest.raises(blockcache.MisuseError):
        r.add("b")
    with pytest.raises(blockcache.MisuseError):
        len(r)
