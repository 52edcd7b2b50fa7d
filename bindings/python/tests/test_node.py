"""Node and Peer: two in-process nodes on loopback with Python loaders."""

import threading
import time

import pytest

import blockcache
from blockcache import Group, Node, NotFoundError, Peer, UnavailableError


class Counting:
    def __init__(self):
        self.calls = 0
        self.lock = threading.Lock()

    def __call__(self, key: bytes):
        with self.lock:
            self.calls += 1
        if key.startswith(b"nf"):
            return None
        return b"v:" + key


@pytest.fixture
def pair():
    la, lb = Counting(), Counting()
    ga, gb = Group("users", la, max_bytes=1 << 20), Group("users", lb, max_bytes=1 << 20)
    a = Node([ga], peer_timeout_ms=300, event_loop_threads=1, loader_threads=4)
    b = Node([gb], peer_timeout_ms=300, event_loop_threads=1, loader_threads=4)
    ga.close()  # the nodes hold their own references
    gb.close()
    members = [a.address, b.address]
    a.set_peers(members)
    b.set_peers(members)
    yield a, b, la, lb
    a.stop()
    b.stop()


def test_each_key_is_loaded_once_by_its_owner(pair):
    a, b, la, lb = pair
    assert a.members() == sorted([a.address, b.address])
    for i in range(100):
        assert a.get(f"k{i}") == f"v:k{i}".encode()
    for i in range(100):
        assert b.get(f"k{i}", group="users") == f"v:k{i}".encode()
    assert la.calls + lb.calls == 100
    assert la.calls > 10 and lb.calls > 10


def test_missing_key_and_unknown_group(pair):
    a, _, _, _ = pair
    with pytest.raises(NotFoundError):
        a.get("nf-1")
    with pytest.raises(NotFoundError):
        a.get("k", group="nope")


def test_writes_are_seen_on_every_node(pair):
    a, b, _, _ = pair
    for i in range(20):
        key = f"w{i}"
        b.get(key)
        b.get(key)  # a second read may keep a hot copy
        a.set(key, b"new", ttl_ms=60_000)
        assert b.get(key) == b"new"
        assert a.delete(key) is True
        assert a.delete(key) is False
        assert b.get(key) == f"v:{key}".encode()  # deleted: loaded again


def test_peer_client(pair):
    a, b, _, _ = pair
    with Peer(a.address, timeout_ms=500) as p:
        p.set("users", "pk", b"pv", ttl_ms=60_000)
        value, ttl = p.get_with_ttl("users", "pk")
        assert value == b"pv" and 50_000 < ttl <= 60_000
        assert b.get("pk") == b"pv"
        assert p.delete("users", "pk") is True
        assert p.delete("users", "pk") is False
        with pytest.raises(NotFoundError):
            p.get("users", "nf-2")


def test_peer_breaker_fails_fast():
    with Peer("127.0.0.1:1", timeout_ms=200, breaker_backoff_ms=5000) as p:
        with pytest.raises(UnavailableError):
            p.get("users", "x")
        t0 = time.perf_counter()
        with pytest.raises(UnavailableError):
            p.get("users", "x")
        assert time.perf_counter() - t0 < 0.05


def test_dead_peer_costs_no_failed_get(pair):
    a, b, la, _ = pair
    b.stop()
    before = la.calls
    for i in range(50):
        assert a.get(f"d{i}") == f"v:d{i}".encode()
    assert la.calls - before == 50


def test_bad_arguments():
    g = Group("g", lambda k: b"v")
    with pytest.raises(blockcache.InvalidArgumentError):
        Node([g], peers=["no-port"])
    with pytest.raises(TypeError):
        Node([g], peers="127.0.0.1:1")
    with pytest.raises(blockcache.InvalidArgumentError):
        Node([])
    g.close()


def test_redis_client_against_a_node():
    redis = pytest.importorskip("redis")
    g = Group("users", lambda k: b"v:" + k)
    with Node([g]) as n:
        host, port = n.address.rsplit(":", 1)
        r = redis.Redis(host=host, port=int(port))
        assert r.ping()
        assert r.get("x") == b"v:x"
        assert r.set("y", "1", ex=10)
        assert r.get("y") == b"1"
        assert r.delete("y") == 1
    g.close()
