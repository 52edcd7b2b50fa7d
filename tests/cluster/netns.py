"""Test hosts in network namespaces, for faults loopback cannot make: a partition.

``Mesh(n)`` makes n namespaces, each a host with one address, 10.213.<net>.<i+1>/32
on its loopback, and a veth pair between every two hosts (a full mesh), so that a
link between two hosts can be cut (``cut(i, j)``) while both stay reachable from
the others and from this process: the root namespace reaches host i through its own
veth pair, from 10.213.<net>.254. Nothing is routed anywhere else. Everything is
removed by ``close()``. Needs root and iproute2 (``ip netns``).
"""

from __future__ import annotations

import itertools
import os
import subprocess


def available() -> bool:
    if os.geteuid() != 0:
        return False
    try:
        subprocess.run(["ip", "netns", "add", "bcprobe"], check=True, capture_output=True)
        subprocess.run(["ip", "netns", "del", "bcprobe"], check=True, capture_output=True)
        return True
    except (OSError, subprocess.CalledProcessError):
        return False


def sh(*args: str):
    r = subprocess.run(list(args), capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: {r.stderr.strip()}")


class Mesh:
    def __init__(self, n: int):
        self.n = n
        tag = os.getpid() % 10000
        self.net = 100 + os.getpid() % 100
        self.ns = [f"bc{tag}h{i}" for i in range(n)]
        self.ips = [f"10.213.{self.net}.{i + 1}" for i in range(n)]
        self.client_ip = f"10.213.{self.net}.254"
        self._tag = tag
        self._made: list[str] = []
        try:
            self._build()
        except Exception:
            self.close()
            raise

    def _link(self, i: int, j: int) -> str:
        return f"bc{self._tag}l{i}{j}"

    def _build(self):
        for ns, ip in zip(self.ns, self.ips):
            sh("ip", "netns", "add", ns)
            self._made.append(ns)
            sh("ip", "-n", ns, "link", "set", "lo", "up")
            sh("ip", "-n", ns, "addr", "add", f"{ip}/32", "dev", "lo")
        for i, j in itertools.combinations(range(self.n), 2):
            a, b = self._link(i, j), self._link(j, i)
            sh("ip", "link", "add", a, "netns", self.ns[i], "type", "veth", "peer", "name", b, "netns", self.ns[j])
            self._up(i, j)
        for i, ns in enumerate(self.ns):
            host, inner = f"bc{self._tag}r{i}", f"bc{self._tag}c{i}"
            sh("ip", "link", "add", host, "type", "veth", "peer", "name", inner, "netns", ns)
            sh("ip", "link", "set", host, "up")
            sh("ip", "-n", ns, "link", "set", inner, "up")
            sh("ip", "addr", "add", f"{self.client_ip}/32", "dev", host)
            sh("ip", "route", "add", f"{self.ips[i]}/32", "dev", host, "src", self.client_ip)
            sh("ip", "-n", ns, "route", "add", f"{self.client_ip}/32", "dev", inner, "src", self.ips[i])

    def _up(self, i: int, j: int):
        for x, y in ((i, j), (j, i)):
            sh("ip", "-n", self.ns[x], "link", "set", self._link(x, y), "up")
        for x, y in ((i, j), (j, i)):
            # Routes through a link go when it goes down: add them (again).
            subprocess.run(["ip", "-n", self.ns[x], "route", "replace", f"{self.ips[y]}/32", "dev",
                            self._link(x, y), "src", self.ips[x]], check=True, capture_output=True)

    def cut(self, i: int, j: int):
        """Cuts the link between hosts i and j (both directions)."""
        sh("ip", "-n", self.ns[i], "link", "set", self._link(i, j), "down")

    def heal(self, i: int, j: int):
        self._up(i, j)

    def exec_argv(self, i: int, argv: list[str]) -> list[str]:
        return ["ip", "netns", "exec", self.ns[i], *argv]

    def close(self):
        for ns in self._made:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        self._made = []
