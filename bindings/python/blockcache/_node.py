"""Node (a cluster member: bc_node) and Peer (a client of one node: bc_peer)."""

from __future__ import annotations

import os

from ctypes import POINTER, byref, c_char, c_char_p, c_int64, c_size_t, c_void_p, string_at
from typing import List, Optional, Sequence, Tuple

from . import _native as N
from ._convert import BytesLike, as_bytes, as_cstring, as_ttl, as_uint, init_options, take_bytes
from ._errors import _check
from ._group import Group
from ._handle import _Handle

__all__ = ["Node", "Peer"]


def _cstrings(items: Sequence[str], name: str) -> Tuple[object, int]:
    if isinstance(items, (str, bytes)):
        raise TypeError(f"{name} must be a sequence of 'host:port' strings, not a single string")
    encoded = [as_cstring(x, name) for x in items]
    arr = (c_char_p * max(1, len(encoded)))(*encoded)
    return arr, len(encoded)


_CLIENT_CERTS = {
    "none": N.BC_TLS_CLIENT_CERTS_NONE,
    "peers": N.BC_TLS_CLIENT_CERTS_PEERS,
    "all": N.BC_TLS_CLIENT_CERTS_ALL,
}


def _optional_path(path: Optional[object], name: str) -> Optional[bytes]:
    if path is None:
        return None
    return as_cstring(os.fspath(path), name)  # type: ignore[arg-type]


class Node(_Handle):
    """A member of a BlockCache cluster, serving ``groups`` over RESP (the Redis
    protocol) on ``host:port``.

    Each key has one owner on the consistent-hash ring of the members (this node
    included); the owner loads it (the group's loader, once per key at a time), the
    others ask the owner and keep hot copies, and load themselves when the owner
    cannot be reached. Members come from ``peers`` (see :meth:`set_peers`) and,
    with ``etcd`` endpoints, from etcd. Any Redis client can talk to the node.

    TLS: with ``tls_cert`` and ``tls_key`` (PEM files) every connection to the node
    is TLS, and nodes reach each other over TLS, presenting that certificate and
    checking each other's against ``tls_ca`` (PEM roots; None = the system's).
    ``tls_client_certs`` says who must present a client certificate: "none",
    "peers" (the node-to-node commands are refused without one: mTLS between
    nodes) or "all" (no handshake without one). ``etcd`` endpoints may be
    ``https://``: ``etcd_ca`` (PEM roots), ``etcd_cert`` and ``etcd_key`` (a client
    certificate for an etcd with ``--client-cert-auth``).

    The node keeps its own reference to each group (and to its Python loader),
    so the Group objects may be closed while the node runs. :meth:`stop` (or ``with``) stops it gracefully: it leaves etcd, lets
    connections finish, and frees the node. Methods may be called from any thread;
    get/set/delete block until the cluster answered.
    """

    __slots__ = ("_address", "_callbacks")

    _kind = "Node"
    _free = staticmethod(N.bc_node_stop)

    def __init__(
        self,
        groups: Sequence[Group],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        advertise: Optional[str] = None,
        default_group: Optional[str] = None,
        peers: Sequence[str] = (),
        etcd: Sequence[str] = (),
        etcd_prefix: Optional[str] = None,
        etcd_lease_ttl_s: int = 0,
        password: Optional[str] = None,
        peer_timeout_ms: int = 0,
        breaker_backoff_ms: int = 0,
        max_frame_bytes: int = 0,
        max_value_bytes: int = 0,
        event_loop_threads: int = 0,
        loader_threads: int = 0,
        tls_cert: Optional[str] = None,
        tls_key: Optional[str] = None,
        tls_ca: Optional[str] = None,
        tls_client_certs: str = "none",
        tls_verify_hostnames: bool = True,
        etcd_ca: Optional[str] = None,
        etcd_cert: Optional[str] = None,
        etcd_key: Optional[str] = None,
    ) -> None:
        super().__init__()
        o = init_options(N.bc_node_options_init, N.bc_node_options)
        o.host = as_cstring(host, "host")
        o.port = as_uint(port, "port", 16)
        o.advertise = as_cstring(advertise, "advertise") if advertise is not None else None
        o.default_group = as_cstring(default_group, "default_group") if default_group is not None else None
        peer_arr, o.peer_count = _cstrings(peers, "peers")
        o.peers = peer_arr  # type: ignore[assignment]
        etcd_arr, o.etcd_endpoint_count = _cstrings(etcd, "etcd")
        o.etcd_endpoints = etcd_arr  # type: ignore[assignment]
        o.etcd_prefix = as_cstring(etcd_prefix, "etcd_prefix") if etcd_prefix is not None else None
        o.etcd_lease_ttl_s = as_uint(etcd_lease_ttl_s, "etcd_lease_ttl_s", 31)
        o.password = as_cstring(password, "password") if password is not None else None
        o.peer_timeout_ms = as_uint(peer_timeout_ms, "peer_timeout_ms", 63)
        o.breaker_backoff_ms = as_uint(breaker_backoff_ms, "breaker_backoff_ms", 63)
        o.max_frame_bytes = as_uint(max_frame_bytes, "max_frame_bytes", 64)
        o.max_value_bytes = as_uint(max_value_bytes, "max_value_bytes", 64)
        o.event_loop_threads = as_uint(event_loop_threads, "event_loop_threads", 32)
        o.loader_threads = as_uint(loader_threads, "loader_threads", 32)
        o.tls_cert_file = _optional_path(tls_cert, "tls_cert")
        o.tls_key_file = _optional_path(tls_key, "tls_key")
        o.tls_ca_file = _optional_path(tls_ca, "tls_ca")
        if tls_client_certs not in _CLIENT_CERTS:
            raise ValueError(f"tls_client_certs must be one of {', '.join(_CLIENT_CERTS)}, not {tls_client_certs!r}")
        o.tls_client_certs = _CLIENT_CERTS[tls_client_certs]
        o.tls_verify_hostnames = 1 if tls_verify_hostnames else 0
        o.etcd_tls_ca_file = _optional_path(etcd_ca, "etcd_ca")
        o.etcd_tls_cert_file = _optional_path(etcd_cert, "etcd_cert")
        o.etcd_tls_key_file = _optional_path(etcd_key, "etcd_key")
        groups = list(groups)
        for g in groups:
            if not isinstance(g, Group):
                raise TypeError(f"groups must be blockcache.Group objects, not {type(g).__name__}")
        handles = (N.bc_group_p * max(1, len(groups)))(*[g._h for g in groups])
        out = N.bc_node_p()
        _check(N.bc_node_start(byref(o), handles, len(groups), byref(out)))
        self._h = out.value
        self._address = (N.bc_node_address(self._h) or b"").decode()
        # The node calls the groups' loaders for as long as it runs, even after the
        # Group objects are closed: keep their C callbacks alive with the node.
        self._callbacks = [g._callback for g in groups]

    @property
    def address(self) -> str:
        """The node's ``host:port`` on the ring."""
        return self._address

    def set_peers(self, peers: Sequence[str]) -> None:
        """Replaces the static members (``host:port``; this node may be among them)."""
        arr, n = _cstrings(peers, "peers")
        rc = N.bc_node_set_peers(self._h, arr, n)  # type: ignore[arg-type]
        if rc:
            raise self._error(rc)

    def members(self) -> List[str]:
        """The ring's members now, this node included, sorted."""
        out = POINTER(c_char)()
        rc = N.bc_node_members(self._h, byref(out))
        if rc:
            raise self._error(rc)
        try:
            text = string_at(out).decode()
        finally:
            N.bc_free(out)
        return text.split("\n") if text else []

    def get(self, key: BytesLike, group: Optional[str] = None) -> bytes:
        """The value of key in group (None = the default group) through the cluster.

        Raises NotFoundError (a KeyError) when the loader has no value,
        LoaderError when it failed.
        """
        k = as_bytes(key)
        v, n = c_void_p(), c_size_t()
        rc = N.bc_node_get(self._h, self._group(group), k, len(k), byref(v), byref(n))
        if rc:
            raise self._error(rc)
        return take_bytes(v, n)

    def set(self, key: BytesLike, value: BytesLike, ttl_ms: int = 0, group: Optional[str] = None) -> None:
        """Sets key at its owner and drops every other copy before returning.

        Raises UnavailableError when the owner cannot be reached; its message says
        whether the write was not applied or its outcome is unknown (sent, no answer:
        applied before its deadline or never).
        """
        k, v = as_bytes(key), as_bytes(value, "value")
        rc = N.bc_node_set(self._h, self._group(group), k, len(k), v, len(v), as_ttl(ttl_ms))
        if rc:
            raise self._error(rc)

    def delete(self, key: BytesLike, group: Optional[str] = None) -> bool:
        """Deletes key at its owner and drops every other copy; whether the owner had it."""
        k = as_bytes(key)
        return self._found(N.bc_node_delete(self._h, self._group(group), k, len(k)))

    def stop(self) -> None:
        """Stops gracefully and frees the node (the same as close())."""
        self.close()

    @staticmethod
    def _group(group: Optional[str]) -> Optional[bytes]:
        return None if group is None else as_cstring(group, "group")

    def __repr__(self) -> str:
        if self._h is None:
            return "<blockcache.Node stopped>"
        return f"<blockcache.Node {self._address}>"


class Peer(_Handle):
    """A client of one BlockCache node at ``address`` (``host:port``): group reads and
    writes with BC.GET / BC.SET / BC.DEL over pipelined connections, a deadline per
    call (``timeout_ms``) and a circuit breaker (after a failure, calls raise
    UnavailableError at once for ``breaker_backoff_ms``, then one probe decides).

    TLS: ``tls=True`` connects with TLS, checking the node's certificate against
    ``tls_ca`` (PEM roots; None = the system's) and against ``tls_server_name`` (None
    = the address's host) unless ``tls_verify_hostnames`` is False; ``tls_cert`` and
    ``tls_key`` are a client certificate for a node that asks for one.

    Thread-safe; close() (or ``with``) closes the connections.
    """

    __slots__ = ()

    _kind = "Peer"
    _free = staticmethod(N.bc_peer_free)

    def __init__(self, address: str, *, timeout_ms: int = 0, password: Optional[str] = None,
                 connections: int = 0, breaker_backoff_ms: int = 0, tls: bool = False,
                 tls_ca: Optional[str] = None, tls_cert: Optional[str] = None, tls_key: Optional[str] = None,
                 tls_server_name: Optional[str] = None, tls_verify_hostnames: bool = True) -> None:
        super().__init__()
        o = init_options(N.bc_peer_options_init, N.bc_peer_options)
        o.timeout_ms = as_uint(timeout_ms, "timeout_ms", 63)
        o.password = as_cstring(password, "password") if password is not None else None
        o.connections = as_uint(connections, "connections", 32)
        o.breaker_backoff_ms = as_uint(breaker_backoff_ms, "breaker_backoff_ms", 63)
        o.tls = 1 if tls else 0
        o.tls_verify_hostnames = 1 if tls_verify_hostnames else 0
        o.tls_ca_file = _optional_path(tls_ca, "tls_ca")
        o.tls_cert_file = _optional_path(tls_cert, "tls_cert")
        o.tls_key_file = _optional_path(tls_key, "tls_key")
        o.tls_server_name = as_cstring(tls_server_name, "tls_server_name") if tls_server_name is not None else None
        out = N.bc_peer_p()
        _check(N.bc_peer_new(as_cstring(address, "address"), byref(o), byref(out)))
        self._h = out.value

    def get(self, group: str, key: BytesLike) -> bytes:
        """The value of key in group; NotFoundError when there is none."""
        return self.get_with_ttl(group, key)[0]

    def get_with_ttl(self, group: str, key: BytesLike) -> Tuple[bytes, int]:
        """The value and its remaining lifetime in ms (BC_TTL_NEVER = -1 for none)."""
        k = as_bytes(key)
        v, n, ttl = c_void_p(), c_size_t(), c_int64()
        rc = N.bc_peer_get(self._h, as_cstring(group, "group"), k, len(k), byref(v), byref(n), byref(ttl))
        if rc:
            raise self._error(rc)
        return take_bytes(v, n), ttl.value

    def set(self, group: str, key: BytesLike, value: BytesLike, ttl_ms: int = 0) -> None:
        """Sets key in group through the node (at the owner; other copies dropped)."""
        k, v = as_bytes(key), as_bytes(value, "value")
        rc = N.bc_peer_set(self._h, as_cstring(group, "group"), k, len(k), v, len(v), as_ttl(ttl_ms))
        if rc:
            raise self._error(rc)

    def delete(self, group: str, key: BytesLike) -> bool:
        """Deletes key in group; whether the owner had it."""
        k = as_bytes(key)
        return self._found(N.bc_peer_delete(self._h, as_cstring(group, "group"), k, len(k)))

    def __repr__(self) -> str:
        return "<blockcache.Peer closed>" if self._h is None else "<blockcache.Peer>"
