"""A real HTTP partner on 127.0.0.1 for the delivery tests: records what arrives, misbehaves.

``behave(request_number, body)`` chooses the answer of each request: ``"ok"`` (200), ``"fail"``
(500), ``"refuse"`` (400), or ``"slow"`` (the partner processes the message, then answers after
the client's timeout: the case that makes an at-least-once sender send a repeat). The server can
be stopped and started again on the same port, to be "down for a while".
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Receipt:
    message_id: str
    body: bytes
    headers: dict[str, str]
    accepted: bool  # the partner kept it (200, or processed before a slow answer)


@dataclass
class PartnerServer:
    behave: Callable[[int, bytes], str] = lambda n, body: "ok"
    slow_seconds: float = 1.0
    receipts: list[Receipt] = field(default_factory=list)
    port: int = 0
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _count: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/cpex"

    def start(self) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with owner._lock:
                    owner._count += 1
                    number = owner._count
                answer = owner.behave(number, body)
                kept = answer in ("ok", "slow")
                with owner._lock:
                    owner.receipts.append(Receipt(self.headers.get("Idempotency-Key", ""), body,
                                                  dict(self.headers), kept))
                if answer == "slow":
                    time.sleep(owner.slow_seconds)
                status = {"ok": 200, "slow": 200, "fail": 500, "refuse": 400}[answer]
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass  # the client gave up waiting (the slow case)

            def log_message(self, *args: object) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            if self._thread is not None:
                self._thread.join(timeout=5)
            self._server = None

    def accepted_ids(self) -> list[str]:
        """Message ids the partner kept, in arrival order, repeats included."""
        with self._lock:
            return [r.message_id for r in self.receipts if r.accepted]
