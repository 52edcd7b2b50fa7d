"""Fixtures for the blockcached cluster integration tests.

Every process (etcd, blockcached) is started through a ``Launcher`` that owns it:
the launcher's finalizer stops what it started (SIGTERM, then SIGKILL), whatever
the outcome of the test. Logs go to files under pytest's temporary directory; when
a test fails, the stderr of every process alive during it is attached to the
report (the "log of ..." sections pytest prints with the failure).

The binary comes from env ``BLOCKCACHED`` (default ``.build/debug/blockcached``
relative to the repository root).
"""

from __future__ import annotations

import atexit
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable, Iterable

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

REPO_ROOT = Path(__file__).resolve().parents[2]
ETCD_BIN = os.environ.get("ETCD", "/usr/bin/etcd")

# Standard cluster settings (the command line).
LEASE_TTL = 2
USERS_GROUP = "name=users,max-bytes=64m,loader=echo,load-delay-ms=200"
KV_GROUP = "name=kv,max-bytes=64m,loader=none"
# The module cluster's peer deadline: generous, so that on a busy 2-core machine a
# slow (but live) owner is never mistaken for a dead one (which would add fallback
# loads and make the exact load counts meaningless). The kill -9 test uses 300 ms.
MODULE_PEER_TIMEOUT_MS = 2000


def binary_path() -> Path:
    p = Path(os.environ.get("BLOCKCACHED", ".build/debug/blockcached"))
    return p if p.is_absolute() else REPO_ROOT / p


# ---------------------------------------------------------------------------
# polling helpers


def wait_until(predicate: Callable[[], object], timeout: float, what: str, interval: float = 0.05):
    """Polls ``predicate`` until it returns a truthy value (returned) or ``timeout``
    seconds pass (AssertionError naming ``what`` and the last value/exception)."""
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        try:
            value = predicate()
            if value:
                return value
            last = value
        except Exception as e:  # noqa: BLE001 - report the last failure
            last = e
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.1f}s waiting for {what}; last: {last!r}")
        time.sleep(interval)


_handed_out_ports: set[int] = set()


def free_port() -> int:
    """A port that was free a moment ago (bound to port 0 and released); never
    hands out the same port twice in a session."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _handed_out_ports:
            _handed_out_ports.add(port)
            return port
    raise RuntimeError("no free port")


# ---------------------------------------------------------------------------
# processes

_ALL_PROCS: list["Proc"] = []


class Proc:
    """A child process whose stdout+stderr go to a log file."""

    def __init__(self, name: str, argv: list[str], log_path: Path, env: dict | None = None):
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self.ended_at: float | None = None
        self.port: int | None = None  # the RESP port of a blockcached process
        self.started_at = time.monotonic()
        self._log = open(log_path, "ab")
        self._log.write(f"=== {' '.join(argv)}\n".encode())
        self._log.flush()
        self.popen = self._spawn(argv, env)
        _ALL_PROCS.append(self)

    def _spawn(self, argv, env):
        # The binary may be rebuilt under us: wait for it to reappear.
        deadline = time.monotonic() + 120
        while True:
            try:
                return subprocess.Popen(
                    argv, stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log,
                    env=env, start_new_session=True,
                )
            except (FileNotFoundError, PermissionError, OSError) as e:
                if isinstance(e, OSError) and e.errno not in (2, 13, 26):  # ENOENT, EACCES, ETXTBSY
                    raise
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError as e:
            return f"<cannot read {self.log_path}: {e}>"

    def tail(self, lines: int = 150) -> str:
        text = self.log_text().splitlines()
        head = "" if len(text) <= lines else f"... ({len(text) - lines} earlier lines in {self.log_path})\n"
        return head + "\n".join(text[-lines:])

    def _mark_ended(self):
        if self.ended_at is None:
            self.ended_at = time.monotonic()
        try:
            self._log.close()
        except OSError:
            pass

    def signal(self, sig: int):
        if self.alive():
            self.popen.send_signal(sig)

    def kill9(self):
        if self.alive():
            self.popen.kill()
        self.popen.wait(10)
        self._mark_ended()

    def terminate(self, timeout: float = 10) -> int:
        """SIGTERM and wait; SIGKILL if it does not exit in time. Returns the exit code."""
        if self.alive():
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(10)
        self._mark_ended()
        return self.popen.returncode

    def wait_exit(self, timeout: float) -> int:
        rc = self.popen.wait(timeout)
        self._mark_ended()
        return rc


class Etcd:
    """A single-member etcd on free ports with its own data directory. With ``tls``
    (a dict of PEM paths: cert, key, ca, and client_cert/client_key for its own health
    checks) it serves https and requires client certificates (--client-cert-auth)."""

    def __init__(self, launcher: "Launcher", data_dir: Path, name: str = "etcd", tls: dict | None = None):
        self.launcher = launcher
        self.data_dir = data_dir
        self.name = name
        self.tls = tls
        self.client_port = free_port()
        self.peer_port = free_port()
        self.proc: Proc | None = None

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.client_port}"

    def start(self, timeout: float = 20):
        peer = f"http://127.0.0.1:{self.peer_port}"
        argv = [
            ETCD_BIN, "--name", self.name, "--data-dir", str(self.data_dir),
            "--listen-client-urls", self.url, "--advertise-client-urls", self.url,
            "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
            "--initial-cluster", f"{self.name}={peer}",
        ]
        if self.tls:
            argv += ["--cert-file", self.tls["cert"], "--key-file", self.tls["key"],
                     "--trusted-ca-file", self.tls["ca"], "--client-cert-auth"]
        self.proc = self.launcher.spawn(self.name, argv)
        wait_until(self.healthy, timeout, f"{self.name} to be healthy")

    def healthy(self) -> bool:
        if self.proc is None or not self.proc.alive():
            raise AssertionError(f"{self.name} is not running:\n{self.proc.tail(40) if self.proc else ''}")
        context = None
        if self.tls:
            context = ssl.create_default_context(cafile=self.tls["ca"])
            context.load_cert_chain(self.tls["client_cert"], self.tls["client_key"])
        try:
            with urllib.request.urlopen(self.url + "/health", timeout=1, context=context) as r:
                return json.loads(r.read()).get("health") == "true"
        except (urllib.error.URLError, OSError, ValueError):
            return False

    def stop(self):
        if self.proc is not None:
            self.proc.terminate()


class Node:
    """One blockcached process."""

    def __init__(self, launcher: "Launcher", port: int, args: list[str], name: str | None = None):
        self.launcher = launcher
        self.port = port
        self.args = args
        self.name = name or f"blockcached-{port}"
        self.proc: Proc | None = None

    @property
    def addr(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 30):
        argv = [str(binary_path()), "--port", str(self.port), *self.args]
        self.proc = self.launcher.spawn(self.name, argv)
        self.proc.port = self.port
        pattern = f"listening on 127.0.0.1:{self.port}"

        def listening():
            if not self.proc.alive():
                raise AssertionError(
                    f"{self.name} exited with {self.proc.popen.returncode} before listening:\n{self.proc.tail(60)}")
            return pattern in self.proc.log_text()

        wait_until(listening, timeout, f"{self.name} to log '{pattern}'")
        return self

    def client(self, **kw) -> redis.Redis:
        kw.setdefault("protocol", 2)
        # No silent retries: a failed command must surface as a failure.
        kw.setdefault("retry", Retry(NoBackoff(), 0))
        kw.setdefault("socket_timeout", 10)
        kw.setdefault("socket_connect_timeout", 5)
        return redis.Redis(host="127.0.0.1", port=self.port, **kw)

    def members(self) -> list[str]:
        with self.client() as c:
            return [m.decode() for m in c.execute_command("BC.MEMBERS")]

    def group_info(self) -> dict:
        with self.client() as c:
            return c.info("groups")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.alive()

    def info_text(self, section: str) -> str:
        """The text of ``INFO section`` as sent (redis-py's parser mangles 'peer_host:port:...' lines)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as s:
            s.sendall(b"*2\r\n$4\r\nINFO\r\n$%d\r\n%s\r\n" % (len(section), section.encode()))
            f = s.makefile("rb")
            header = f.readline()
            assert header.startswith(b"$"), header
            return f.read(int(header[1:]) + 2)[:-2].decode()

    def open_breakers(self) -> list[str]:
        return [ln for ln in self.info_text("cluster").splitlines()
                if ln.startswith("peer_") and "breaker=closed" not in ln]


class Launcher:
    """Starts processes and stops them all in its finalizer (reverse order)."""

    def __init__(self, base_dir: Path):
        self.base_dir = base_dir
        self.procs: list[Proc] = []
        self._n = 0

    def spawn(self, name: str, argv: list[str]) -> Proc:
        self._n += 1
        log = self.base_dir / f"{self._n:02d}-{re.sub(r'[^A-Za-z0-9_.-]', '_', name)}.log"
        p = Proc(name, argv, log)
        self.procs.append(p)
        return p

    def etcd(self, name: str = "etcd", tls: dict | None = None) -> Etcd:
        d = self.base_dir / f"{name}-data"
        e = Etcd(self, d, name=name, tls=tls)
        e.start()
        return e

    def node(self, args: list[str], port: int | None = None, start: bool = True, name: str | None = None) -> Node:
        n = Node(self, port if port is not None else free_port(), args, name=name)
        if start:
            n.start()
        return n

    def close(self):
        for p in reversed(self.procs):
            try:
                p.terminate(timeout=5)
            except Exception:  # noqa: BLE001 - keep stopping the others
                try:
                    p.popen.kill()
                except OSError:
                    pass


def node_args(etcd: Etcd | None, *, lease_ttl: int = LEASE_TTL, peer_timeout_ms: int = MODULE_PEER_TIMEOUT_MS,
              users_group: str = USERS_GROUP, extra: Iterable[str] = ()) -> list[str]:
    args = ["--group", users_group, "--group", KV_GROUP, "--default-group", "users",
            "--peer-timeout-ms", str(peer_timeout_ms)]
    if etcd is not None:
        args += ["--etcd", etcd.url, "--etcd-lease-ttl", str(lease_ttl)]
    return args + list(extra)


class Cluster:
    def __init__(self, launcher: Launcher, etcd: Etcd, nodes: list[Node]):
        self.launcher = launcher
        self.etcd = etcd
        self.nodes = nodes

    @property
    def addrs(self) -> list[str]:
        return sorted(n.addr for n in self.nodes)

    def wait_members(self, expected: Iterable[str], nodes: Iterable[Node] | None = None, timeout: float = 10) -> float:
        """Waits until every node in ``nodes`` reports exactly ``expected``; returns the time taken."""
        expected = sorted(expected)
        nodes = list(nodes if nodes is not None else self.nodes)
        t0 = time.monotonic()

        def check():
            return all(n.members() == expected for n in nodes)

        try:
            wait_until(check, timeout, f"members {expected}")
        except AssertionError:
            views = {}
            for n in nodes:
                try:
                    views[n.addr] = n.members()
                except Exception as e:  # noqa: BLE001
                    views[n.addr] = repr(e)
            raise AssertionError(f"members did not converge to {expected} within {timeout}s: {views}") from None
        return time.monotonic() - t0


    def heal_breakers(self, timeout: float = 40):
        """A test that made peer calls fail leaves breakers open (then half-open: the
        next call is a probe, and calls made while it runs are refused). Waits until
        every breaker has closed after a successful probe, so that the next test starts
        with a healthy cluster: probes with cheap misses in group kv (no loader)."""
        def healed():
            if any(n.open_breakers() for n in self.nodes):
                return False
            for n in self.nodes:
                with n.client() as c:
                    p = c.pipeline(transaction=False)
                    for i in range(60):  # 60 keys: every other node owns some of them
                        p.execute_command("BC.GET", "kv", f"__probe-{i}")
                    p.execute_command("BC.MEMBERS")
                    p.execute()
            return not any(n.open_breakers() for n in self.nodes)
        wait_until(healed, timeout, "all peer breakers closed", interval=0.2)


def sum_info(nodes: Iterable[Node], field: str) -> int:
    return sum(int(n.group_info().get(field, 0)) for n in nodes)


# ---------------------------------------------------------------------------
# fixtures


@pytest.fixture(scope="session", autouse=True)
def _check_binaries():
    b = binary_path()
    # The binary may be being rebuilt: give it a while to reappear.
    deadline = time.monotonic() + 120
    while not (b.exists() and os.access(b, os.X_OK)):
        if time.monotonic() > deadline:
            pytest.fail(f"blockcached binary not found at {b} (set BLOCKCACHED)")
        time.sleep(0.5)
    if not Path(ETCD_BIN).exists():
        pytest.fail(f"etcd not found at {ETCD_BIN}")
    yield
    # Safety net: nothing we started may outlive the session.
    _kill_leftovers()


def _kill_leftovers():
    for p in _ALL_PROCS:
        if p.popen.poll() is None:
            try:
                p.popen.kill()
                p.popen.wait(5)
            except Exception:  # noqa: BLE001
                pass


atexit.register(_kill_leftovers)


@pytest.fixture
def launcher(tmp_path) -> Launcher:
    lx = Launcher(tmp_path)
    yield lx
    lx.close()


@pytest.fixture(scope="module")
def module_launcher(tmp_path_factory) -> Launcher:
    lx = Launcher(tmp_path_factory.mktemp("cluster"))
    yield lx
    lx.close()


@pytest.fixture(scope="module")
def cluster(module_launcher) -> Cluster:
    """3 nodes registered in a real etcd (lease TTL 2 s). Started, not yet converged:
    tests call ``cluster.wait_members``."""
    etcd = module_launcher.etcd()
    nodes = [module_launcher.node(node_args(etcd), name=f"node{i + 1}") for i in range(3)]
    return Cluster(module_launcher, etcd, nodes)


@pytest.fixture
def converged(cluster) -> Cluster:
    """The module cluster, with all three nodes agreeing on the three members."""
    cluster.wait_members(cluster.addrs, timeout=10)
    cluster.heal_breakers()
    return cluster


# ---------------------------------------------------------------------------
# logs of failed tests

_TEST_START = pytest.StashKey[float]()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    item.stash[_TEST_START] = time.monotonic()


def _ping(port: int, timeout: float = 2.0) -> str:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(b"*1\r\n$4\r\nPING\r\n")
            data = b""
            while not data.endswith(b"\r\n"):
                chunk = s.recv(64)
                if not chunk:
                    break
                data += chunk
            return data.decode(errors="replace").strip()
    except OSError as e:
        return repr(e)


def _backtrace(pid: int) -> str:
    """All threads' stacks of a process that does not answer (needs gdb)."""
    try:
        r = subprocess.run(["gdb", "-p", str(pid), "-batch", "-ex", "thread apply all bt 30"],
                           capture_output=True, text=True, timeout=60)
        return r.stdout[-30000:]
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"<no backtrace: {e!r}>"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.failed:
        t0 = item.stash.get(_TEST_START, 0.0)
        for p in _ALL_PROCS:
            if p.ended_at is None or p.ended_at >= t0:
                alive = p.popen.poll() is None
                state = "running" if alive else f"exited {p.popen.returncode}"
                if alive and p.port is not None:
                    pong = _ping(p.port)
                    state += f", PING -> {pong}"
                    if pong != "+PONG":
                        report.sections.append((f"threads of unresponsive {p.name} (pid {p.pid})",
                                                _backtrace(p.pid)))
                lines = 60 if p.name.startswith("etcd") else 200
                report.sections.append((f"log of {p.name} (pid {p.pid}, {state}) {p.log_path}", p.tail(lines)))
    return report
