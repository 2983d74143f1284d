from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from tests.xml.attack_corpus import SECRET, Attack, build_corpus


class _Recorder(BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        type(self).hits.append(self.path)
        body = f'<!ENTITY leak "{SECRET}">'.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="session")
def trap_server() -> Iterator[tuple[str, list[str]]]:
    """A real HTTP server on 127.0.0.1 that an XML attack would call; it must see no request."""
    hits: ClassVar[list[str]] = []
    handler = type("Trap", (_Recorder,), {"hits": hits})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/evil", hits
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def attack_corpus(
    tmp_path_factory: pytest.TempPathFactory, trap_server: tuple[str, list[str]]
) -> list[Attack]:
    folder = tmp_path_factory.mktemp("attacks")
    secret = folder / "secret.txt"
    secret.write_text(SECRET + "\n")
    return build_corpus(secret, trap_server[0], folder / "evil.dtd")
