"""The served gateway (waitress, as ``cpex-gateway serve`` builds it, on 127.0.0.1 port 0) refuses
an oversized body while it arrives: an unauthenticated 100 MB chunked upload is answered 413 after
about the limit, not read to its end (waitress alone would buffer up to 1 GiB first)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from waitress.server import BaseWSGIServer

from gateway.cli.serving import make_server
from gateway.config import load_settings
from gateway.runtime import Gateway
from gateway.web import create_app

LIMIT = 256 * 1024
HUNDRED_MB = 100 * 1024 * 1024
CHUNK = b"<a>" + b"x" * (64 * 1024 - 7) + b"</a>"  # 64 KiB of generated body, sent again and again


@pytest.fixture
def served(migrated_engine: Engine) -> Iterator[int]:
    settings = load_settings(
        environ={},
        overrides={"database.url": str(migrated_engine.url), "server.max_body_bytes": LIMIT},
    )
    app = create_app(gateway=Gateway(settings, _engine=migrated_engine))
    server = make_server(app, settings, host="127.0.0.1", port=0)
    assert isinstance(server, BaseWSGIServer)
    stop = threading.Event()

    def serve() -> None:  # server.run() in steps, so it can stop before its sockets close
        while not stop.is_set():
            server.asyncore.loop(timeout=0.05, map=server._map, count=1)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.effective_port
    finally:
        stop.set()
        thread.join(timeout=30)
        assert not thread.is_alive()
        for channel in list(server._map.values()):
            channel.close()
        server.task_dispatcher.shutdown()


def stream_chunked(port: int, path: str, total: int) -> tuple[int, bytes]:
    """POST ``total`` bytes chunked, without credentials, as long as the server reads; returns
    how many body bytes were sent and the answer's first bytes."""
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/xml\r\n"
            "Transfer-Encoding: chunked\r\n\r\n".encode()
        )
        framed = f"{len(CHUNK):x}\r\n".encode() + CHUNK + b"\r\n"
        try:
            while sent < total:
                sock.sendall(framed)
                sent += len(CHUNK)
            sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed while the body was still coming
        answer = b""
        try:
            while not answer.endswith(b"\r\n\r\n") and len(answer) < 4096:
                part = sock.recv(4096)
                if not part:
                    break
                answer += part
        except ConnectionResetError:
            pass
    return sent, answer


@pytest.mark.parametrize("path", ["/cpex/v1/exchange", "/soap/v1/exchange", "/api/v1/profiles"])
def test_unauthenticated_100_mb_chunked_body_is_refused_early(served: int, path: str) -> None:
    sent, answer = stream_chunked(served, path, HUNDRED_MB)
    assert sent < HUNDRED_MB // 4, f"the server read {sent} bytes of an oversized body"
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]


def test_declared_100_mb_body_is_refused_before_it_is_sent(served: int) -> None:
    with socket.create_connection(("127.0.0.1", served), timeout=30) as sock:
        sock.sendall(
            f"POST /cpex/v1/exchange HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {HUNDRED_MB}"
            "\r\nContent-Type: application/xml\r\n\r\n".encode()
        )
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
