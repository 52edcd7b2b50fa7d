#!/usr/bin/env python3
"""A 3-node BlockCache cluster at work: etcd on loopback, three blockcached nodes,
and redis-py as the application's client.

Shows: nodes finding each other through etcd; a key loaded once, by its owner,
whichever node is asked; a write visible on every node at once; a node killed
with SIGKILL while reads go on (no failed read), and the survivors' rings dropping
it when its lease expires; a graceful stop.

Usage: python3 examples/cluster/demo.py [--binary build/bin/blockcached]
"""
import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import redis

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LEASE_TTL = 2


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what, check, timeout=15.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if check():
                return
        except Exception:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"timed out waiting for {what}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=os.path.join(ROOT, "build/bin/blockcached"))
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="blockcache-demo-")
    procs = []
    try:
        etcd_port, peer_port = free_port(), free_port()
        etcd_url = f"http://127.0.0.1:{etcd_port}"
        procs.append(subprocess.Popen(
            ["etcd", "--name", "demo", "--data-dir", os.path.join(tmp, "etcd"),
             "--listen-client-urls", etcd_url, "--advertise-client-urls", etcd_url,
             "--listen-peer-urls", f"http://127.0.0.1:{peer_port}",
             "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer_port}",
             "--initial-cluster", f"demo=http://127.0.0.1:{peer_port}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        print(f"etcd on {etcd_url}")

        ports = [free_port() for _ in range(3)]
        nodes = {}

        def start(port):
            p = subprocess.Popen(
                [args.binary, "--port", str(port), "--quiet", "--etcd", etcd_url,
                 "--etcd-lease-ttl", str(LEASE_TTL), "--peer-timeout-ms", "300",
                 "--group", "name=users,max-bytes=64m,loader=echo,load-delay-ms=20"],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            procs.append(p)
            nodes[port] = p
            wait_for(f"node {port}", lambda: redis.Redis(port=port).ping())

        for port in ports:
            start(port)
        clients = {p: redis.Redis(port=p) for p in ports}
        want = sorted(f"127.0.0.1:{p}" for p in ports)
        wait_for("3 members everywhere",
                 lambda: all([m.decode() for m in c.execute_command("BC.MEMBERS")] == want for c in clients.values()))
        print(f"3 nodes: {', '.join(want)} (found each other through etcd)")

        def loads():
            return {p: int(clients[p].info("groups")["group_users_loads"]) for p in ports}

        # Read 300 keys through the first node: each is loaded once, by its owner.
        a = clients[ports[0]]
        for i in range(300):
            assert a.get(f"user:{i}") == f"users:user:{i}".encode()
        per_node = loads()
        print(f"300 keys read through :{ports[0]} -> loads per node {per_node} (sum {sum(per_node.values())})")
        for p in ports[1:]:
            for i in range(300):
                assert clients[p].get(f"user:{i}") == f"users:user:{i}".encode()
        print(f"the same keys read through the other nodes -> loads {loads()} (no new loads)")

        # A write through one node, visible everywhere when it returns.
        clients[ports[1]].set("user:7", "alice", ex=60)
        seen = [clients[p].get("user:7") for p in ports]
        print(f"SET user:7 alice through :{ports[1]} -> every node reads {seen}")
        assert seen == [b"alice"] * 3
        clients[ports[2]].delete("user:7")
        print(f"DEL user:7 through :{ports[2]} -> every node reads {[clients[p].get('user:7') for p in ports]} "
              "(loaded again)")

        # kill -9 one node while reading through the others.
        victim = ports[2]
        nodes[victim].send_signal(signal.SIGKILL)
        nodes[victim].wait()
        killed_at = time.time()
        failures, reads = 0, 0
        survivors = [clients[p] for p in ports[:2]]
        want2 = sorted(f"127.0.0.1:{p}" for p in ports[:2])
        dropped_after = None
        while time.time() - killed_at < LEASE_TTL + 2:
            for c in survivors:
                for i in range(0, 300, 7):
                    try:
                        ok = c.get(f"user:{i}") == f"users:user:{i}".encode()
                    except redis.RedisError:
                        ok = False
                    failures += not ok
                    reads += 1
            if dropped_after is None and all(
                    [m.decode() for m in c.execute_command("BC.MEMBERS")] == want2 for c in survivors):
                dropped_after = time.time() - killed_at
        print(f"killed :{victim} with SIGKILL; {reads} reads through the survivors, {failures} failed; "
              f"their rings dropped it after {dropped_after:.1f} s (lease TTL {LEASE_TTL} s)")
        assert failures == 0 and dropped_after is not None

        # It comes back and rejoins.
        start(victim)
        clients[victim] = redis.Redis(port=victim)
        wait_for("rejoin", lambda: all(
            [m.decode() for m in clients[p].execute_command("BC.MEMBERS")] == want for p in ports))
        print(f"restarted :{victim}: all three rings have 3 members again")
        info = clients[ports[0]].info("groups")
        print("node 1 stats: " + ", ".join(f"{k[len('group_users_'):]}={v}" for k, v in info.items()
                                           if k.split("_", 2)[-1] in ("gets", "loads", "owner_hits", "peer_gets",
                                                                      "hot_hits", "fallback_loads")))

        # Graceful stop: the lease is revoked, so the others drop it at once.
        t0 = time.time()
        nodes[ports[0]].send_signal(signal.SIGTERM)
        code = nodes[ports[0]].wait(timeout=10)
        wait_for("graceful leave", lambda: f"127.0.0.1:{ports[0]}" not in
                 [m.decode() for m in clients[ports[1]].execute_command("BC.MEMBERS")])
        print(f"SIGTERM to :{ports[0]}: exit code {code}, gone from the others' rings after {time.time() - t0:.2f} s")
        return 0
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    p.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
