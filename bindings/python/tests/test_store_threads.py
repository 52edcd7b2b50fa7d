"""Store: concurrent use from several Python threads."""

import threading

from blockcache import Store


def test_stress_four_threads():
    errors = []
    n_threads, n_ops = 4, 20_000

    with Store(max_entries=5000) as s:

        def work(t: int) -> None:
            try:
                for i in range(n_ops):
                    own = f"t{t}-{i % 500}".encode()
                    value = own * 3
                    s.set(own, value)
                    got = s.get(own)
                    # Another thread never writes this key; the entry may have
                    # been evicted, but a value is always the one written.
                    assert got is None or got == value, (own, got)
                    shared = f"shared-{i % 100}".encode()
                    if i % 3 == 0:
                        s.set(shared, shared + b"!" * (i % 50))
                    elif i % 3 == 1:
                        v = s.get(shared)
                        assert v is None or v.startswith(shared)
                    else:
                        s.delete(shared)
                    if i % 5000 == 0:
                        s.get(b"big-" + own)  # miss path
                        s.set(b"big", bytes(200_000))
                        v = s.get(b"big")
                        assert v is None or len(v) == 200_000
            except BaseException as e:  # pragma: no cover - reported below
                errors.append(e)

        threads = [threading.Thread(target=work, args=(t,)) for t in range(n_threads)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert not errors, errors[:3]
        st = s.stats()
        assert st.entries <= 5000
        assert st.hits + st.misses >= n_threads * n_ops
