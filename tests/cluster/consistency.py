"""A consistency checker for a blockcached cluster: concurrent writers and readers on
every node, a fault injected while they run, and three counts that must be zero.

Each key has one writer, which SETs ``v<version>`` with a version that only grows, and
records for every write whether it was acknowledged (and when), reported not applied,
or reported of unknown outcome. Readers GET random keys on random nodes and record
when each read began and what it returned. Then:

(a) stale reads: a read that returned a version older than one acknowledged before
    the read began. Excused only as docs/cluster.md allows: on a node that could not
    be reached when that write was acknowledged (paused), within the hot-tier max age;
    and when the older version is a write whose client gave up on it (timed out): a
    node paused with it in a socket buffer runs it when it resumes, as Redis would,
    so it may take effect after later writes (counted as late_client_writes).
(b) lost writes: after the fault heals, a key whose value (read on every node) is
    older than its last acknowledged version, or missing. Keys of a node that was
    killed with SIGKILL are counted apart (a restart without persistence forgets).
(c) ghost writes: a read that returned a version whose write was reported "not
    applied".

Reads that returned nothing are counted but are not errors: a cache may forget.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field

import redis


@dataclass
class KeyLog:
    acked: list[tuple[int, float]] = field(default_factory=list)  # (version, ack time)
    not_applied: set[int] = field(default_factory=set)
    unknown: set[int] = field(default_factory=set)  # the node said the outcome is unknown
    client_gave_up: set[int] = field(default_factory=set)  # the client timed out or lost the connection


@dataclass
class Read:
    node: int
    key: str
    start: float
    version: int | None


@dataclass
class Counts:
    stale: int = 0
    lost: int = 0
    ghosts: int = 0
    lost_to_crash: int = 0
    excused_stale: int = 0
    late_client_writes: int = 0
    empty_reads: int = 0
    reads: int = 0
    acked_writes: int = 0
    failed_writes: int = 0
    examples: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (f"stale={self.stale} lost={self.lost} ghosts={self.ghosts} "
                f"(lost_to_crash={self.lost_to_crash} excused_stale={self.excused_stale} "
                f"late_client_writes={self.late_client_writes} "
                f"empty_reads={self.empty_reads} reads={self.reads} acked_writes={self.acked_writes} "
                f"failed_writes={self.failed_writes})")


class Checker:
    def __init__(self, ports: list, keys: int = 30, writers: int = 3, readers: int = 4,
                 hot_max_age: float = 5.0, seed: int = 1):
        # Each a port on 127.0.0.1, or a (host, port) pair.
        self.ports = [p if isinstance(p, tuple) else ("127.0.0.1", p) for p in ports]
        self.keys = [f"ck:{i}" for i in range(keys)]
        self.writers = writers
        self.readers = readers
        self.hot_max_age = hot_max_age
        self.logs = {k: KeyLog() for k in self.keys}
        self.reads: list[Read] = []
        self.paused: dict[int, list[tuple[float, float]]] = {}  # node index -> [(from, to)]
        self.crashed: set[int] = set()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._seed = seed

    def _client(self, addr: tuple) -> redis.Redis:
        from redis.backoff import NoBackoff
        from redis.retry import Retry
        # A short timeout: a client stuck on a paused node gives up (outcome unknown)
        # and goes on through the others.
        return redis.Redis(host=addr[0], port=addr[1], socket_timeout=1, socket_connect_timeout=1,
                           retry=Retry(NoBackoff(), 0))

    def _writer(self, w: int):
        rnd = random.Random(self._seed * 100 + w)
        clients = [self._client(p) for p in self.ports]
        mine = self.keys[w::self.writers]
        version = {k: 0 for k in mine}
        while not self._stop.is_set():
            k = rnd.choice(mine)
            version[k] += 1
            v = version[k]
            try:
                clients[rnd.randrange(len(clients))].set(k, f"v{v}")
                with self._lock:
                    self.logs[k].acked.append((v, time.monotonic()))
            except redis.ResponseError as e:
                with self._lock:
                    (self.logs[k].not_applied if "not applied" in str(e) else self.logs[k].unknown).add(v)
            except (redis.ConnectionError, redis.TimeoutError):
                with self._lock:
                    self.logs[k].client_gave_up.add(v)
                clients = [self._client(p) for p in self.ports]
            time.sleep(0.002)

    def _reader(self, r: int):
        rnd = random.Random(self._seed * 1000 + r)
        clients = [self._client(p) for p in self.ports]
        while not self._stop.is_set():
            k = rnd.choice(self.keys)
            n = rnd.randrange(len(clients))
            start = time.monotonic()
            try:
                raw = clients[n].get(k)
            except (redis.ResponseError, redis.ConnectionError, redis.TimeoutError):
                clients[n] = self._client(self.ports[n])
                continue
            with self._lock:
                self.reads.append(Read(n, k, start, int(raw[1:]) if raw else None))

    def start(self):
        self._threads = [threading.Thread(target=self._writer, args=(i,), daemon=True) for i in range(self.writers)]
        self._threads += [threading.Thread(target=self._reader, args=(i,), daemon=True) for i in range(self.readers)]
        for t in self._threads:
            t.start()

    def stop(self):
        self._stop.set()
        for t in self._threads:
            t.join(30)

    def note_pause(self, node: int, start: float, end: float):
        """Node `node` could not be reached by the others from `start` to `end`
        (paused, or cut off by a partition)."""
        self.paused.setdefault(node, []).append((start, end))

    def _was_paused(self, node: int, t: float) -> bool:
        return any(a <= t <= b for a, b in self.paused.get(node, []))

    def count(self, final_reads: dict[str, list[int | None]], crashed_keys: set[str] = frozenset()) -> Counts:
        c = Counts()
        for k, log in self.logs.items():
            c.acked_writes += len(log.acked)
            c.failed_writes += len(log.not_applied) + len(log.unknown) + len(log.client_gave_up)
        for rd in self.reads:
            c.reads += 1
            if rd.version is None:
                c.empty_reads += 1
                continue
            log = self.logs[rd.key]
            if rd.version in log.not_applied:
                c.ghosts += 1
                if len(c.examples) < 10:
                    c.examples.append(f"ghost: {rd}")
            newer = [(v, t) for v, t in log.acked if t < rd.start and v > rd.version]
            if newer:
                v, t = max(newer)
                if rd.version in log.client_gave_up:
                    # A write its client gave up on (its own timeout) may still run, late,
                    # on a node that was paused with it in its socket buffer: as with
                    # Redis, its outcome is unknown, and it may take effect after later
                    # writes (no deadline travels from a client). Not a stale read.
                    c.late_client_writes += 1
                elif self._was_paused(rd.node, t) and rd.start < t + self.hot_max_age:
                    c.excused_stale += 1
                else:
                    c.stale += 1
                    if len(c.examples) < 10:
                        c.examples.append(f"stale: {rd} while v{v} was acked {rd.start - t:.3f}s before")
        for k, values in final_reads.items():
            log = self.logs[k]
            if not log.acked:
                continue
            last = max(v for v, _ in log.acked)
            for got in values:
                if got is not None and got in log.not_applied:
                    c.ghosts += 1
                    c.examples.append(f"ghost at the end: {k}=v{got}")
                if got is not None and got < last and got in log.client_gave_up:
                    c.late_client_writes += 1
                elif got is None or got < last:
                    if k in crashed_keys:
                        c.lost_to_crash += 1
                    else:
                        c.lost += 1
                        if len(c.examples) < 10:
                            c.examples.append(f"lost: {k} reads {got}, last acked v{last}")
        return c

    def final_reads(self) -> dict[str, list[int | None]]:
        out = {}
        for k in self.keys:
            vals = []
            for p in self.ports:
                raw = self._client(p).get(k)
                vals.append(int(raw[1:]) if raw else None)
            out[k] = vals
        return out
