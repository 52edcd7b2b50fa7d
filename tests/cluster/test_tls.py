"""TLS: three blockcached processes with TLS on every connection, client
certificates required of peers (mTLS between nodes), membership through a real
etcd; redis-py and redis-cli over TLS; plaintext and untrusted clients refused;
etcd itself over TLS with client certificates; bad TLS flags refused at start.

Certificates: $BLOCKCACHE_TEST_CERTS (``make test`` sets it) or made here by
scripts/make-test-certs.sh.
"""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest
import redis

from conftest import REPO_ROOT, Cluster, binary_path, node_args, wait_until


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    d = os.environ.get("BLOCKCACHE_TEST_CERTS") or str(tmp_path_factory.mktemp("certs"))
    subprocess.run(["bash", str(REPO_ROOT / "scripts" / "make-test-certs.sh"), d], check=True, capture_output=True)
    return lambda name: str(Path(d) / name)


def tls_args(certs, client_certs: str = "peers") -> list[str]:
    return ["--tls-cert", certs("node.pem"), "--tls-key", certs("node-key.pem"), "--tls-ca", certs("ca.pem"),
            "--tls-client-certs", client_certs]


def tls_client(node, certs, **kw) -> redis.Redis:
    kw.setdefault("ssl_ca_certs", certs("ca.pem"))
    return node.client(ssl=True, **kw)


def members(node, certs) -> list[str]:
    with tls_client(node, certs) as c:
        return sorted(m.decode() for m in c.execute_command("BC.MEMBERS"))


def redis_cli(port: int, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["redis-cli", "-p", str(port), *args], capture_output=True, text=True, timeout=20)


def test_tls_cluster_with_etcd(launcher, certs):
    etcd = launcher.etcd()
    nodes = [launcher.node(node_args(etcd, extra=tls_args(certs)), name=f"tls{i + 1}") for i in range(3)]
    addrs = sorted(n.addr for n in nodes)
    wait_until(lambda: all(members(n, certs) == addrs for n in nodes), 10, f"members {addrs}")

    # Each key loaded once, by its owner: the nodes reach each other over mTLS.
    keys = [f"tls-{i}" for i in range(60)]
    with tls_client(nodes[0], certs) as c:
        for k in keys:
            assert c.get(k) == f"users:{k}".encode()
    loads = []
    for n in nodes:
        with tls_client(n, certs) as c:
            for k in keys:
                assert c.get(k) == f"users:{k}".encode()
            loads.append(int(c.info("groups")["group_users_loads"]))
            fallback = int(c.info("groups")["group_users_fallback_loads"])
            assert fallback == 0, f"{n.addr} loaded {fallback} keys itself: its peers were unreachable over TLS"
    assert sum(loads) == 60 and sum(1 for x in loads if x) >= 2, loads

    # Writes through one node are seen on the others when the call returns.
    with tls_client(nodes[1], certs) as w, tls_client(nodes[2], certs) as r:
        for i in range(20):
            k = keys[i]
            r.get(k)
            r.get(k)  # a hot copy where nodes[2] is not the owner
            assert w.set(k, "new") is True
            assert r.get(k) == b"new"
            assert w.delete(k) == 1
            assert r.get(k) == f"users:{k}".encode()

    # redis-cli over TLS; plaintext gets nothing.
    port = nodes[0].port
    ok = redis_cli(port, "--tls", "--cacert", certs("ca.pem"), "set", "cli", "v")
    assert ok.returncode == 0 and ok.stdout.strip() == "OK", ok
    got = redis_cli(nodes[2].port, "--tls", "--cacert", certs("ca.pem"), "get", "cli")
    assert got.stdout.strip() == "v", got
    plain = redis_cli(port, "get", "cli")
    assert plain.stdout.strip() != "v", plain
    with pytest.raises(redis.ConnectionError):
        with nodes[0].client() as c:
            c.get("cli")

    # An application may not act as a node without a client certificate; with one
    # from the cluster's CA it may; a certificate from elsewhere fails the handshake.
    with tls_client(nodes[0], certs) as c:
        with pytest.raises(redis.exceptions.NoPermissionError, match="client certificate"):
            c.execute_command("BC.SETPEERS", "127.0.0.1:1")
        with pytest.raises(redis.exceptions.NoPermissionError, match="client certificate"):
            c.execute_command("BC.GET", "users", "tls-1", "PEER")
    with tls_client(nodes[0], certs, ssl_certfile=certs("client.pem"), ssl_keyfile=certs("client-key.pem")) as c:
        assert c.execute_command("BC.DROP", "users", "tls-1") in (b"OK", "OK")
    with pytest.raises(redis.ConnectionError):
        with tls_client(nodes[0], certs, ssl_certfile=certs("rogue.pem"), ssl_keyfile=certs("rogue-key.pem")) as c:
            c.get("cli")
    with pytest.raises(redis.ConnectionError):  # a node certificate we do not trust
        with tls_client(nodes[0], certs, ssl_ca_certs=certs("rogue-ca.pem")) as c:
            c.get("cli")


def test_etcd_over_tls_with_client_certificates(launcher, certs):
    """etcd on https with --client-cert-auth: nodes with the CA and a client
    certificate register and find each other; one without a certificate cannot
    register (it logs why and keeps serving alone)."""
    etcd = launcher.etcd("etcd-tls", tls=dict(cert=certs("node.pem"), key=certs("node-key.pem"), ca=certs("ca.pem"),
                                              client_cert=certs("client.pem"), client_key=certs("client-key.pem")))
    assert etcd.url.startswith("https://")
    with_cert = ["--etcd-ca", certs("ca.pem"), "--etcd-cert", certs("client.pem"), "--etcd-key", certs("client-key.pem")]
    a = launcher.node(node_args(etcd, extra=with_cert), name="etcd-tls-a")
    b = launcher.node(node_args(etcd, extra=with_cert), name="etcd-tls-b")
    lonely = launcher.node(node_args(etcd, extra=["--etcd-ca", certs("ca.pem")]), name="etcd-tls-nocert")
    addrs = sorted([a.addr, b.addr])
    wait_until(lambda: a.members() == addrs and b.members() == addrs, 10, f"members {addrs} through etcd over TLS")
    assert lonely.members() == [lonely.addr]
    wait_until(lambda: "grant lease failed" in lonely.proc.log_text(), 10,
               "the node without a certificate to log why it cannot register")


def test_tls_client_certificates_for_all(launcher, certs):
    node = launcher.node(node_args(None, extra=tls_args(certs, "all")), name="tls-all")
    with pytest.raises(redis.ConnectionError):
        with tls_client(node, certs) as c:
            c.ping()
    with tls_client(node, certs, ssl_certfile=certs("client.pem"), ssl_keyfile=certs("client-key.pem")) as c:
        assert c.ping()
        assert c.get("k") == b"users:k"
    r = redis_cli(node.port, "--tls", "--cacert", certs("ca.pem"), "--cert", certs("client.pem"),
                  "--key", certs("client-key.pem"), "get", "k")
    assert r.stdout.strip() == "users:k", r


@pytest.mark.parametrize("flags, message", [
    (["--tls-cert", "{node.pem}"], "go together"),
    (["--tls-ca", "{ca.pem}"], "need --tls-cert"),
    (["--tls-cert", "/nonexistent/node.pem", "--tls-key", "{node-key.pem}"], "/nonexistent/node.pem"),
    (["--tls-cert", "{node.pem}", "--tls-key", "{client-key.pem}"], "TLS"),
    (["--tls-cert", "{node.pem}", "--tls-key", "{node-key.pem}", "--tls-client-certs", "some"], "none, peers or all"),
    (["--etcd", "http://127.0.0.1:1", "--etcd-ca", "{ca.pem}"], "https://"),
    (["--etcd", "https://127.0.0.1:1", "--etcd-cert", "{client.pem}"], "go together"),
    (["--etcd", "https://127.0.0.1:1", "--etcd-ca", "/nonexistent/ca.pem"], "/nonexistent/ca.pem"),
])
def test_bad_tls_flags_stop_the_node_at_start(certs, flags, message):
    argv = [str(binary_path()), "--port", "0", *[f if not f.startswith("{") else certs(f[1:-1]) for f in flags]]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    assert r.returncode == 2, r
    assert message in r.stderr, r.stderr
