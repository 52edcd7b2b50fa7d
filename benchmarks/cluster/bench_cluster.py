#!/usr/bin/env python3
"""Cluster benchmarks: figures printed, nothing asserted but the stampede's load count.

1. One blockcached node against redis-server, both driven by redis-benchmark
   (-t get,set -d 100 -r 100000) with -c 1 and -c 16, in the same run: the ratio
   node / redis-server for each.
   Then the same node with TLS (--tls-cert, redis-benchmark --tls) against it
   without: the cost of TLS, as a ratio.
2. Three nodes with a client connected to one of them (2/3 of the keys are owned
   elsewhere): requests/s, and the share of GETs that node answered from its hot tier.
3. Stampede: 1,000 concurrent GETs of one missing key spread over the 3 nodes;
   counts the loader calls in the whole cluster (must be exactly 1).

Usage: python3 benchmarks/cluster/bench_cluster.py [--requests N] [--binary PATH]
Needs redis-server, redis-benchmark (Debian redis-server, redis-tools) and a release
blockcached (`swift build -c release --product blockcached`).
"""
import argparse
import csv
import io
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


def wait_port(port, proc, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process on port {port} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def command(port, *args):
    """One RESP command over a fresh connection; returns the raw reply bytes."""
    with socket.create_connection(("127.0.0.1", port)) as s:
        out = f"*{len(args)}\r\n".encode()
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out += f"${len(a)}\r\n".encode() + a + b"\r\n"
        s.sendall(out)
        data = b""
        s.settimeout(5)
        while True:
            chunk = s.recv(1 << 20)
            data += chunk
            if not chunk or data.endswith(b"\r\n") and (not data.startswith(b"$") or data.count(b"\r\n") >= 2):
                return data


def info(port, section="groups"):
    raw = command(port, "INFO", section).decode()
    body = raw.split("\r\n", 1)[1]
    fields = {}
    for line in body.split("\r\n"):
        if ":" in line and not line.startswith("#"):
            k, v = line.split(":", 1)
            fields[k] = v
    return fields


def redis_benchmark(port, clients, requests, extra=()):
    out = subprocess.run(
        ["redis-benchmark", "-p", str(port), "-t", "get,set", "-d", "100", "-r", "100000",
         "-n", str(requests), "-c", str(clients), "--csv", "-q", *extra],
        check=True, capture_output=True, text=True).stdout
    rows = list(csv.reader(io.StringIO(out)))
    return {r[0]: float(r[1]) for r in rows[1:] if len(r) > 1}


def start_node(binary, port, peers, extra=()):
    cmd = [binary, "--port", str(port), "--quiet", "--peers", ",".join(peers), *extra]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wait_port(port, proc)
    return proc


def stop_all(procs):
    """Stops every process (SIGTERM, then SIGKILL after 5 s) and empties the list."""
    for p in procs:
        if p.poll() is None:
            p.terminate()
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    procs.clear()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=200000)
    ap.add_argument("--binary", default=os.path.join(ROOT, ".build/release/blockcached"))
    ap.add_argument("--node-arg", action="append", default=[],
                    help="an extra flag for every node of the 3-node runs (repeatable)")
    ap.add_argument("--only-cluster", action="store_true", help="only the 3-node runs and the stampede")
    args = ap.parse_args()
    procs = []
    try:
        if not args.only_cluster:
            # 1. One node vs redis-server.
            rport, nport = free_port(), free_port()
            procs.append(subprocess.Popen(["redis-server", "--port", str(rport), "--save", "", "--appendonly", "no"],
                                          stdout=subprocess.DEVNULL))
            wait_port(rport, procs[-1])
            node = start_node(args.binary, nport, [], ["--group", "name=kv,max-bytes=256m"])
            procs.append(node)
            print(f"== one node vs redis-server: redis-benchmark -t get,set -d 100 -r 100000 -n {args.requests}")
            print(f"{'clients':>8} {'op':>4} {'redis-server':>14} {'blockcached':>14} {'ratio':>7}")
            for c in (1, 16):
                r = redis_benchmark(rport, c, args.requests)
                b = redis_benchmark(nport, c, args.requests)
                for op in ("SET", "GET"):
                    print(f"{c:>8} {op:>4} {r[op]:>12.0f}/s {b[op]:>12.0f}/s {b[op] / r[op]:>6.2f}x")

            # 1b. The same node with TLS, against it without.
            certs = os.path.join(ROOT, "build", "test-certs")
            subprocess.run(["bash", os.path.join(ROOT, "scripts", "make-test-certs.sh"), certs], check=True,
                           capture_output=True)
            tport = free_port()
            procs.append(start_node(args.binary, tport, [], [
                "--group", "name=kv,max-bytes=256m", "--tls-cert", os.path.join(certs, "node.pem"),
                "--tls-key", os.path.join(certs, "node-key.pem")]))
            print(f"\n== one node with TLS vs without: redis-benchmark --tls, -n {args.requests}")
            print(f"{'clients':>8} {'op':>4} {'plaintext':>14} {'TLS':>14} {'ratio':>7}")
            for c in (1, 16):
                plain = redis_benchmark(nport, c, args.requests)
                tls = redis_benchmark(tport, c, args.requests, ["--tls", "--cacert", os.path.join(certs, "ca.pem")])
                for op in ("SET", "GET"):
                    print(f"{c:>8} {op:>4} {plain[op]:>12.0f}/s {tls[op]:>12.0f}/s {tls[op] / plain[op]:>6.2f}x")
            stop_all(procs)

        # 2. Three nodes, client on one.
        ports = [free_port() for _ in range(3)]
        members = [f"127.0.0.1:{p}" for p in ports]
        for p in ports:
            procs.append(start_node(args.binary, p, members, ["--group", "name=kv,max-bytes=256m", *args.node_arg]))
        print(f"\n== three nodes, client on one (2/3 of keys owned elsewhere): -n {args.requests}")
        for c in (1, 16):
            before = info(ports[0])
            b = redis_benchmark(ports[0], c, args.requests)
            after = info(ports[0])
            gets = int(after["group_kv_gets"]) - int(before["group_kv_gets"])
            hot = int(after["group_kv_hot_hits"]) - int(before["group_kv_hot_hits"])
            peer = int(after["group_kv_peer_gets"]) - int(before["group_kv_peer_gets"])
            # Every GET at the node is an owner lookup (gets), a hot hit or a fetch from the owner.
            total = gets + hot + peer
            print(f"  -c {c:<3} SET {b['SET']:>8.0f}/s  GET {b['GET']:>8.0f}/s   "
                  f"of {total} GETs: {gets} owned here, {peer} fetched from owners, {hot} from the hot tier "
                  f"({hot / max(1, total):.1%}; keys uniform over 100k, so few are hot)")
        # A skewed read load (a few hundred hot keys), to show the hot tier at work.
        keys = [f"hot{i}" for i in range(300)]
        for k in keys:
            command(ports[1], "SET", k, "x" * 100)
        before = info(ports[0])
        t0 = time.time()
        n = 0
        with socket.create_connection(("127.0.0.1", ports[0])) as s:
            for rnd in range(20):
                batch = b"".join(f"*2\r\n$3\r\nGET\r\n${len(k)}\r\n{k}\r\n".encode() for k in keys)
                s.sendall(batch)
                need = len(keys)
                buf = b""
                while buf.count(b"\r\n") < 2 * need:
                    buf += s.recv(1 << 20)
                n += need
        dt = time.time() - t0
        after = info(ports[0])
        hot = int(after["group_kv_hot_hits"]) - int(before["group_kv_hot_hits"])
        peer = int(after["group_kv_peer_gets"]) - int(before["group_kv_peer_gets"])
        print(f"  skewed: 300 keys read 20 times each, pipelined: {n / dt:.0f} GETs/s, "
              f"{hot} hot-tier hits, {peer} fetched from owners, hot share {hot / max(1, n):.1%}")
        stop_all(procs)

        # 3. Stampede.
        ports = [free_port() for _ in range(3)]
        members = [f"127.0.0.1:{p}" for p in ports]
        for p in ports:
            procs.append(start_node(args.binary, p, members,
                                    ["--group", "name=users,max-bytes=64m,loader=echo,load-delay-ms=300"]))
        results = []
        lock = threading.Lock()

        def one(i):
            r = command(ports[i % 3], "GET", "stampede-key")
            with lock:
                results.append(r)

        threads = [threading.Thread(target=one, args=(i,)) for i in range(1000)]
        t0 = time.time()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        loads = sum(int(info(p)["group_users_loads"]) for p in ports)
        ok = sum(1 for r in results if r.endswith(b"users:stampede-key\r\n"))
        print(f"\n== stampede: 1000 concurrent GETs of one missing key over 3 nodes in {time.time() - t0:.2f} s: "
              f"{ok} correct replies, {loads} loader call(s) in the cluster")
        if loads != 1 or ok != 1000:
            print("STAMPEDE FAILED", file=sys.stderr)
            return 1
        return 0
    finally:
        stop_all(procs)


if __name__ == "__main__":
    sys.exit(main())
