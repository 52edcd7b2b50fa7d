#!/usr/bin/env python3
"""BlockCache demo: a read-through Group in front of a slow "database".

Four threads issue 20,000 gets over 2,000 keys with a Zipf-like skew (a few keys
are very popular, most are rare). Every miss costs the loader ~2 ms; the cache
turns most gets into hits, and concurrent misses of one key share one load.

Run from the repository root after `make lib`:
    python3 examples/python/demo.py
"""

from __future__ import annotations

import importlib.util
import os
import random
import sys
import threading
import time
from typing import Optional

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if importlib.util.find_spec("blockcache") is None:  # not installed: use the source tree
    sys.path.insert(0, os.path.join(ROOT, "bindings", "python"))

import blockcache  # noqa: E402

N_KEYS = 2_000
N_GETS = 20_000
N_THREADS = 4
LOAD_SECONDS = 0.002
ZIPF_S = 1.1  # skew: key i is requested with weight 1 / (i + 1) ** ZIPF_S


class SlowDatabase:
    """Stands in for a remote store: each lookup sleeps ~2 ms and is counted."""

    def __init__(self) -> None:
        self.calls = 0
        self._lock = threading.Lock()  # protects calls

    def load(self, key: bytes) -> Optional[bytes]:
        with self._lock:
            self.calls += 1
        time.sleep(LOAD_SECONDS)
        n = int(key.split(b":")[1])
        if n % 500 == 499:
            return None  # a few keys do not exist
        return b"row %d " % n + b"x" * 100


def main() -> None:
    db = SlowDatabase()
    rng = random.Random(42)
    keys = [b"user:%d" % i for i in range(N_KEYS)]
    weights = [1.0 / (i + 1) ** ZIPF_S for i in range(N_KEYS)]
    workload = rng.choices(keys, weights=weights, k=N_GETS)
    chunks = [workload[i::N_THREADS] for i in range(N_THREADS)]
    not_found = [0] * N_THREADS

    # Room for half the keys: the rare ones get evicted and reloaded.
    with blockcache.Group("users", db.load, max_entries=N_KEYS // 2) as users:

        def worker(t: int) -> None:
            for key in chunks[t]:
                try:
                    users.get(key)
                except blockcache.NotFoundError:
                    not_found[t] += 1

        start = time.perf_counter()
        threads = [threading.Thread(target=worker, args=(t,)) for t in range(N_THREADS)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        elapsed = time.perf_counter() - start
        st = users.stats()

    print(f"blockcache {blockcache.version()}  allocator: {blockcache.allocator()}")
    print(f"{N_GETS} gets over {N_KEYS} keys (Zipf s={ZIPF_S}), {N_THREADS} threads, "
          f"{LOAD_SECONDS * 1000:.0f} ms per database load")
    print(f"  hits:              {st.hits}")
    print(f"  misses:            {st.misses}")
    print(f"  loader calls:      {db.calls}  (group counted {st.loads}, "
          f"{st.loads_deduplicated} misses shared another thread's load)")
    print(f"  not found:         {sum(not_found)}  (loader said the key does not exist)")
    print(f"  evictions:         {st.store.evictions}  (budget {st.store.max_entries} entries)")
    print(f"  hit ratio:         {st.hits / max(st.gets, 1):.1%}")
    print(f"  wall time:         {elapsed:.2f} s  (without the cache: ~{N_GETS * LOAD_SECONDS:.0f} s "
          f"of database time)")


if __name__ == "__main__":
    main()
