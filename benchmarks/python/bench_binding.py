#!/usr/bin/env python3
"""Hit-path speed of the Python binding: Store.get vs cachetools.LRUCache.

All gets are hits: 10,000 keys of 8-16 bytes, 64-byte values, 1,000,000 gets
per run. The contenders take turns, REPEATS runs each, and the best run of each
counts, so background load on the machine hits them alike. For reference it also
times a bare ctypes call (bc_version_number, no arguments) and the raw six-argument
bc_store_get_into call that Store.get makes, without the Python around it: the
floor of any ctypes binding of this function.

    pip install cachetools   # once
    python3 benchmarks/python/bench_binding.py
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import platform
import random
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if importlib.util.find_spec("blockcache") is None:  # not installed: use the source tree
    sys.path.insert(0, os.path.join(ROOT, "bindings", "python"))

try:
    import cachetools
except ImportError:
    print("bench_binding.py needs cachetools: pip install cachetools", file=sys.stderr)
    sys.exit(2)

import blockcache  # noqa: E402
from blockcache import _native  # noqa: E402

N_KEYS = 10_000
ROUNDS = 100  # N_KEYS * ROUNDS = 1,000,000 gets per run
REPEATS = 5
VALUE_LEN = 64


def make_keys(rng: random.Random) -> list:
    keys = set()
    while len(keys) < N_KEYS:
        keys.add(bytes(rng.getrandbits(8) for _ in range(rng.randint(8, 16))))
    out = list(keys)
    rng.shuffle(out)
    return out


def best_rates(runs: dict, n: int) -> dict:
    """Runs each function REPEATS times, taking turns; returns n / best time."""
    best = {name: float("inf") for name in runs}
    for _ in range(REPEATS):
        for name, fn in runs.items():
            t0 = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - t0)
    return {name: n / t for name, t in best.items()}


def main() -> int:
    rng = random.Random(1)
    keys = make_keys(rng)
    values = {k: rng.randbytes(VALUE_LEN) if hasattr(rng, "randbytes") else os.urandom(VALUE_LEN) for k in keys}
    n = N_KEYS * ROUNDS

    store = blockcache.Store()
    for k in keys:
        store.set(k, values[k])
    lru = cachetools.LRUCache(maxsize=2 * N_KEYS)
    for k in keys:
        lru[k] = values[k]

    # Correctness first: every get is a hit with the right value.
    assert all(store.get(k) == values[k] for k in keys)
    assert all(lru.get(k) == values[k] for k in keys)

    def run_store() -> None:
        get = store.get
        for _ in range(ROUNDS):
            for k in keys:
                get(k)

    def run_lru_get() -> None:
        get = lru.get
        for _ in range(ROUNDS):
            for k in keys:
                get(k)

    def run_lru_getitem() -> None:
        c = lru
        for _ in range(ROUNDS):
            for k in keys:
                c[k]

    def run_bare_ctypes() -> None:
        f = _native.bc_version_number
        for _ in range(ROUNDS):
            for _k in keys:
                f()

    # The call Store.get makes, with its arguments prepared once.
    buf = ctypes.create_string_buffer(4096)
    size = ctypes.c_size_t()

    def run_raw_get_into() -> None:
        f = _native.bc_store_get_into_fast
        h = store._harg
        buf_arg = ctypes.byref(buf)
        cap = ctypes.c_size_t.from_param(len(buf))
        size_ref = ctypes.byref(size)
        lens = [ctypes.c_size_t.from_param(i) for i in range(17)]
        for _ in range(ROUNDS):
            for k in keys:
                f(h, k, lens[len(k)], buf_arg, cap, size_ref)

    st0 = store.stats()
    rates = best_rates(
        {
            "store": run_store,
            "lru_get": run_lru_get,
            "lru_item": run_lru_getitem,
            "bare": run_bare_ctypes,
            "raw": run_raw_get_into,
        },
        n,
    )
    st1 = store.stats()
    store.close()
    r_store, r_lru_get, r_lru_item, r_bare, r_raw = (
        rates[k] for k in ("store", "lru_get", "lru_item", "bare", "raw")
    )

    hits = st1.hits - st0.hits
    assert hits == 2 * n * REPEATS and st1.misses == st0.misses, "the timed gets were not all hits"

    print(f"blockcache {blockcache.version()} ({blockcache.allocator()}), "
          f"Python {platform.python_version()}, cachetools {cachetools.__version__}")
    print(f"{N_KEYS} keys of 8-16 bytes, {VALUE_LEN}-byte values, {n:,} gets per run, best of {REPEATS}")
    print(f"  blockcache Store.get          {r_store / 1e6:6.3f} M hits/s")
    print(f"  cachetools LRUCache.get       {r_lru_get / 1e6:6.3f} M hits/s")
    print(f"  cachetools LRUCache[key]      {r_lru_item / 1e6:6.3f} M hits/s")
    print(f"  bare ctypes call (no args)    {r_bare / 1e6:6.3f} M calls/s  (bc_version_number)")
    print(f"  raw bc_store_get_into call    {r_raw / 1e6:6.3f} M calls/s  (Store.get's one C call, alone)")
    print(f"  ratio Store.get / LRUCache.get    {r_store / r_lru_get:.2f}x")
    print(f"  ratio Store.get / LRUCache[key]   {r_store / r_lru_item:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
