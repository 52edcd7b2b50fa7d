"""Issue 16 (part): a client cannot inject replies, and an HTTP request (a web page
through a browser) runs nothing."""

from __future__ import annotations

import socket
import time

from conftest import wait_until


def send(port: int, data: bytes, wait: float = 0.5) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(data)
        time.sleep(wait)
        s.settimeout(0.5)
        out = b""
        try:
            while chunk := s.recv(65536):
                out += chunk
        except (socket.timeout, ConnectionResetError):
            pass
        return out


def test_an_http_post_runs_none_of_its_body(launcher):
    node = launcher.node(["--group", "name=kv,loader=none"])
    body = b"SET pwned yes\r\nBC.SETPEERS 127.0.0.1:1 127.0.0.1:%d\r\n" % node.port
    request = (b"POST / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: text/plain\r\n"
               b"Content-Length: %d\r\n\r\n" % (node.port, len(body))) + body
    reply = send(node.port, request)
    assert reply == b"", reply  # closed at the request line, before any command ran
    with node.client() as c:
        assert c.get("pwned") is None
        assert c.execute_command("BC.MEMBERS") == [node.addr.encode()]
        assert int(c.info("stats")["cross_protocol_closed"]) >= 1
    wait_until(lambda: "cross-protocol attack" in node.proc.log_text(), 5, "the attack logged")
    # A GET request line too (and a bare Host: header).
    assert send(node.port, b"GET /?x HTTP/1.1\r\nSET pwned2 yes\r\n") == b""
    assert send(node.port, b"Host: x\r\nSET pwned3 yes\r\n") == b""
    with node.client() as c:
        assert c.get("pwned2") is None and c.get("pwned3") is None


def test_an_error_reply_cannot_carry_a_second_reply(launcher):
    """An unknown group name with CR LF in it was copied into the error line: the
    client read the injected $6 SECRET as the reply to its next command."""
    node = launcher.node(["--group", "name=kv,loader=none"])
    evil = b"nogroup\r\n$6\r\nSECRET\r\n+Y"
    frame = b"*3\r\n$6\r\nBC.GET\r\n$%d\r\n%s\r\n$1\r\nk\r\n" % (len(evil), evil)
    frame += b"*1\r\n$4\r\nPING\r\n"
    reply = send(node.port, frame)
    lines = reply.split(b"\r\n")
    assert lines[0].startswith(b"-ERR no group"), reply
    assert lines[1] == b"+PONG", reply  # the next reply is the PING's, nothing injected
    # Unknown command names and HELLO options are quoted too.
    frame = b"*1\r\n$9\r\nX\r\n+OK\r\nZ\r\n*1\r\n$4\r\nPING\r\n"
    reply = send(node.port, frame)
    assert reply.split(b"\r\n")[1] == b"+PONG", reply


def test_thread_counts_that_cannot_work_are_errors(tmp_path):
    """--threads 400 under ulimit -n 1024 died of a signal in SwiftNIO; now exit 2."""
    import subprocess
    from conftest import binary_path, free_port
    r = subprocess.run(["bash", "-c", f"ulimit -n 1024; exec {binary_path()} --port {free_port()} --threads 400"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2, (r.returncode, r.stderr[-2000:])
    assert "open files" in r.stderr and "ulimit -n" in r.stderr, r.stderr
    r = subprocess.run([str(binary_path()), "--port", str(free_port()), "--threads", "5000"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "event-loop threads" in r.stderr, (r.returncode, r.stderr[-2000:])
