#!/usr/bin/env python3
"""Issue 15's benchmarks: figures printed, nothing timed in a test.

1. Stampede on a non-owner: 1,000 concurrent GETs of one missing key, all sent to a
   node that does not own it: loads in the cluster (must be 1) and BC.GET calls that
   node made (target <= 1).
2. A 2 s loader: 100 concurrent GETs of one key spread over 3 nodes: loads in the
   cluster (must be 1), fallback loads and breakers open (must be 0).
3. First request on a fresh cluster: the latency of the first GET (a hit on its
   owner, asked through a non-owner) after all three nodes listen.
4. BC.SETPEERS of 1,000 members: how long the command takes, and the longest a GET
   of another client waited meanwhile (target <= 50 ms).

Usage: python3 benchmarks/cluster/bench_consistency.py [--binary PATH]
(a release blockcached: make node)
"""
import argparse
import os
import socket
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def encode(*args):
    out = f"*{len(args)}\r\n".encode()
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += f"${len(a)}\r\n".encode() + a + b"\r\n"
    return out


def read_reply(f):
    line = f.readline()
    if line[:1] == b"$":
        n = int(line[1:])
        return None if n < 0 else f.read(n + 2)[:-2]
    if line[:1] == b"*":
        return [read_reply(f) for _ in range(int(line[1:]))]
    return line.rstrip(b"\r\n")


def command(port, *args):
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(encode(*args))
        return read_reply(s.makefile("rb"))


def info(port, field):
    text = command(port, "INFO", "groups").decode()
    for line in text.splitlines():
        if line.startswith(field + ":"):
            return int(line.split(":", 1)[1])
    return 0


class Cluster:
    def __init__(self, binary, n, group, extra=()):
        self.ports = [free_port() for _ in range(n)]
        peers = ",".join(f"127.0.0.1:{p}" for p in self.ports)
        self.procs = [subprocess.Popen([binary, "--port", str(p), "--group", group, "--peers", peers, "--quiet",
                                        *extra], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                      for p in self.ports]
        for p in self.ports:
            deadline = time.time() + 10
            while True:
                try:
                    command(p, "PING")
                    break
                except OSError:
                    if time.time() > deadline:
                        raise
                    time.sleep(0.02)

    def owner(self, key):
        return int(command(self.ports[0], "BC.OWNER", key).decode().rsplit(":", 1)[1])

    def stop(self):
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            p.wait(10)


def concurrent_gets(port, key, n, connections=50):
    per = n // connections
    socks = []
    for _ in range(connections):
        s = socket.create_connection(("127.0.0.1", port), timeout=60)
        s.sendall(encode("GET", key) * per)
        socks.append(s)
    for s in socks:
        f = s.makefile("rb")
        for _ in range(per):
            read_reply(f)
        s.close()


def stampede(binary):
    c = Cluster(binary, 3, "name=g,loader=echo,load-delay-ms=200")
    try:
        key = next(f"s{i}" for i in range(1000) if c.owner(f"s{i}") != c.ports[0])
        concurrent_gets(c.ports[0], key, 1000)
        loads = sum(info(p, "group_g_loads") for p in c.ports)
        print(f"1. stampede on a non-owner (1,000 GETs of one missing key): loads {loads}, "
              f"BC.GET calls by that node {info(c.ports[0], 'group_g_peer_gets')}")
    finally:
        c.stop()


def slow_loader(binary):
    c = Cluster(binary, 3, "name=g,loader=echo,load-delay-ms=2000")
    try:
        threads = [threading.Thread(target=concurrent_gets, args=(c.ports[i % 3], "slow", 10, 10)) for i in range(10)]
        t0 = time.time()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        took = time.time() - t0
        loads = sum(info(p, "group_g_loads") for p in c.ports)
        fallbacks = sum(info(p, "group_g_fallback_loads") for p in c.ports)
        breakers = sum(command(p, "INFO", "cluster").decode().count("breaker=open") for p in c.ports)
        print(f"2. 2 s loader, 100 concurrent GETs over 3 nodes: loads {loads}, fallback loads {fallbacks}, "
              f"breakers open {breakers}, {took:.2f} s")
    finally:
        c.stop()


def first_request(binary):
    c = Cluster(binary, 3, "name=kv,max-bytes=64m,loader=none")
    try:
        key = next(f"f{i}" for i in range(1000) if c.owner(f"f{i}") != c.ports[0])
        t0 = time.time()
        command(c.ports[0], "GET", key)
        print(f"3. first GET through a non-owner on a fresh cluster: {(time.time() - t0) * 1000:.1f} ms")
    finally:
        c.stop()


def setpeers(binary):
    c = Cluster(binary, 1, "name=kv,max-bytes=64m,loader=none", extra=["--peer-timeout-ms", "100"])
    port = c.ports[0]
    try:
        command(port, "SET", "x", "1")
        stop = threading.Event()
        worst = [0.0]

        def getter():
            with socket.create_connection(("127.0.0.1", port)) as s:
                f = s.makefile("rb")
                while not stop.is_set():
                    t0 = time.time()
                    s.sendall(encode("GET", "x"))
                    read_reply(f)
                    worst[0] = max(worst[0], time.time() - t0)

        getters = [threading.Thread(target=getter) for _ in range(4)]  # on both event loops
        for g in getters:
            g.start()
        time.sleep(0.2)
        members = [f"127.0.0.1:{port}"] + [f"127.0.{i // 250}.{i % 250 + 1}:7001" for i in range(999)]
        t0 = time.time()
        command(port, "BC.SETPEERS", *members)
        took = time.time() - t0
        time.sleep(0.3)
        stop.set()
        for g in getters:
            g.join()
        n = len(command(port, "BC.MEMBERS"))
        print(f"4. BC.SETPEERS of 1,000 members: {took * 1000:.0f} ms, ring has {n}; "
              f"longest GET of another client meanwhile {worst[0] * 1000:.1f} ms")
    finally:
        c.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=os.path.join(ROOT, "build/bin/blockcached"))
    a = ap.parse_args()
    for f in (stampede, slow_loader, first_request, setpeers):
        f(a.binary)


if __name__ == "__main__":
    sys.exit(main())
