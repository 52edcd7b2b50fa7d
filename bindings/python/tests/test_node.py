"""Node and Peer: two in-process nodes on loopback with Python loaders."""

import ctypes
import os
import subprocess
import threading
import time

import pytest

import blockcache
from blockcache import Group, Node, NotFoundError, Peer, UnavailableError
from blockcache import _native as N


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


# ---- TLS ----------------------------------------------------------------------

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    """Throw-away certificates: $BLOCKCACHE_TEST_CERTS (make test sets it), else made here."""
    d = os.environ.get("BLOCKCACHE_TEST_CERTS") or str(tmp_path_factory.mktemp("certs"))
    subprocess.run(["bash", os.path.join(REPO, "scripts", "make-test-certs.sh"), d], check=True, capture_output=True)
    return lambda name: os.path.join(d, name)


def test_options_structs_match_the_library():
    # The library's init writes its struct_size: the ctypes layout must be that big.
    for init, cls in ((N.bc_node_options_init, N.bc_node_options), (N.bc_peer_options_init, N.bc_peer_options)):
        scratch = (ctypes.c_uint64 * 64)()
        init(ctypes.cast(scratch, ctypes.POINTER(cls)))
        assert ctypes.c_uint32.from_buffer(scratch).value == ctypes.sizeof(cls)


def test_tls_nodes_and_peers(certs):
    la, lb = Counting(), Counting()
    ga, gb = Group("users", la), Group("users", lb)
    tls = dict(tls_cert=certs("node.pem"), tls_key=certs("node-key.pem"), tls_ca=certs("ca.pem"),
               tls_client_certs="peers")
    with Node([ga], peer_timeout_ms=2000, **tls) as a, Node([gb], peer_timeout_ms=2000, **tls) as b:
        a.set_peers([a.address, b.address])
        b.set_peers([a.address, b.address])
        for i in range(40):
            assert a.get(f"t{i}") == f"v:t{i}".encode()
            assert b.get(f"t{i}") == f"v:t{i}".encode()
        assert la.calls + lb.calls == 40 and la.calls > 0 and lb.calls > 0

        with Peer(a.address, timeout_ms=2000, tls=True, tls_ca=certs("ca.pem")) as p:
            p.set("users", "tk", b"tv")
            assert p.get("users", "tk") == b"tv"
            assert b.get("tk") == b"tv"
        # localhost is in the certificate too.
        with Peer("localhost:" + a.address.rsplit(":", 1)[1], timeout_ms=2000, tls=True,
                  tls_ca=certs("ca.pem")) as p:
            assert p.get("users", "tk") == b"tv"
        # Plaintext; a node certificate we do not trust; a client certificate the node
        # does not trust (presented certificates are checked even in "peers" mode).
        for bad in (dict(), dict(tls=True, tls_ca=certs("rogue-ca.pem")),
                    dict(tls=True, tls_ca=certs("ca.pem"), tls_cert=certs("rogue.pem"), tls_key=certs("rogue-key.pem"))):
            with Peer(a.address, timeout_ms=2000, **bad) as p:
                with pytest.raises(UnavailableError):
                    p.get("users", "tk")

        redis = pytest.importorskip("redis")
        host, port = a.address.rsplit(":", 1)
        r = redis.Redis(host=host, port=int(port), ssl=True, ssl_ca_certs=certs("ca.pem"))
        assert r.get("tk") == b"tv"
        assert r.set("tk2", "x") and r.get("tk2") == b"x"
        # Without a client certificate a client may not act as a node.
        with pytest.raises(redis.exceptions.NoPermissionError, match="client certificate"):
            r.execute_command("BC.DROP", "users", "tk")
        r.close()
    ga.close()
    gb.close()


def test_tls_bad_options(certs):
    g = Group("g", lambda k: b"v")
    with pytest.raises(blockcache.InvalidArgumentError, match="nonexistent"):
        Node([g], tls_cert="/nonexistent.pem", tls_key=certs("node-key.pem"))
    with pytest.raises(blockcache.InvalidArgumentError):
        Node([g], tls_cert=certs("node.pem"))
    with pytest.raises(blockcache.InvalidArgumentError):
        Node([g], tls_cert=certs("node.pem"), tls_key=certs("client-key.pem"))
    with pytest.raises(ValueError):
        Node([g], tls_cert=certs("node.pem"), tls_key=certs("node-key.pem"), tls_client_certs="some")
    with pytest.raises(blockcache.InvalidArgumentError):
        Peer("127.0.0.1:1", tls_ca=certs("ca.pem"))  # TLS files without tls=True
    with pytest.raises(blockcache.InvalidArgumentError, match="https"):
        Node([g], etcd=["http://127.0.0.1:1"], etcd_ca=certs("ca.pem"))
    with pytest.raises(blockcache.InvalidArgumentError, match="nonexistent"):
        Node([g], etcd=["https://127.0.0.1:1"], etcd_ca="/nonexistent/ca.pem")
    g.close()


def test_a_node_listed_under_another_name_is_one_member():
    """Issue 15, case 3: peers that name this node as localhost:P (it listens on
    127.0.0.1:P) must not make it its own peer; every write must read back."""
    g = Group("users", Counting(), max_bytes=1 << 20)
    n = Node([g], peer_timeout_ms=300, event_loop_threads=1, loader_threads=2)
    g.close()
    try:
        port = n.address.rsplit(":", 1)[1]
        n.set_peers([f"localhost:{port}", n.address])
        assert n.members() == [n.address]
        for i in range(50):
            n.set(f"s{i}", f"v{i}")
        assert [n.get(f"s{i}") for i in range(50)] == [f"v{i}".encode() for i in range(50)]
    finally:
        n.stop()
