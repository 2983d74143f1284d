"""The demo's partner endpoints: a small HTTP server on loopback that stands in for the sample
partners, so the quick start shows both ends of outbound delivery within a minute.

- ``POST /acme`` (REST) and ``POST /persona`` (webhook) accept every message (200) and say so on
  the console: deliveries arriving;
- ``POST /globex`` (SOAP, through the gateway's own WSDL) answers 503 (the partner is down): its
  deliveries are retried with the demo's short backoff and end as dead letters, ready for
  ``cpex-gateway deliveries replay``;
- ``GET /`` lists what arrived (message id, partner, bytes), newest last, as JSON.

:func:`demo_delivery_toml` writes the ``delivery.toml`` that points the dispatcher at it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ACCEPTING = ("acme", "persona")
FAILING = "globex"
#: The WSDL the demo's SOAP deliveries load (under schemas/): the partner file names a remote one.
DEMO_WSDL = "cpex/cpex-exchange-1.0.wsdl"
#: How the demo's dispatcher retries: a dead letter after 3 attempts about 20 s apart at most.
DEMO_DELIVERY = {
    "max_attempts": 3,
    "backoff_seconds": 2,
    "backoff_max_seconds": 8,
    "timeout_seconds": 5,
}
MAX_BODY = 10 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Received:
    partner: str
    message_id: str
    content_type: str
    bytes: int


@dataclass
class DemoPartners:
    """The running endpoint: its base URL, what arrived, and how to stop it."""

    server: ThreadingHTTPServer
    received: list[Received] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def url(self, partner: str) -> str:
        return f"{self.base_url}/{partner}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def start_demo_partners(say: Callable[[str], None]) -> DemoPartners:
    """Serve the demo partners on 127.0.0.1 (a free port) in a daemon thread; ``say`` gets one
    line per message received or refused."""
    lock = threading.Lock()
    received: list[Received] = []

    class Handler(BaseHTTPRequestHandler):
        server_version = "cpex-demo-partner"

        def do_POST(self) -> None:
            partner = self.path.strip("/")
            size = int(self.headers.get("Content-Length") or 0)
            if size > MAX_BODY or partner not in (*ACCEPTING, FAILING):
                self._answer(404 if size <= MAX_BODY else 413, {"error": "unknown endpoint"})
                return
            self.rfile.read(size)
            message = self.headers.get("X-Message-Id", "?")
            if partner == FAILING:
                say(
                    f"demo partner {partner}: refused {message} (503: down on purpose, "
                    "it becomes a dead letter)"
                )
                self._answer(503, {"error": "the demo partner is down"})
                return
            item = Received(partner, message, self.headers.get("Content-Type", ""), size)
            with lock:
                received.append(item)
            say(f"demo partner {partner}: received {message} ({size} bytes)")
            self._answer(200, {"received": message})

        def do_GET(self) -> None:
            with lock:
                items = [asdict(r) for r in received]
            self._answer(200, {"received": items})

        def _answer(self, status: int, body: dict[str, object]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: the lines above say what matters."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="demo-partners", daemon=True).start()
    return DemoPartners(server, received)


def demo_delivery_toml(partners: DemoPartners) -> str:
    """The demo's ``delivery.toml``: short backoff, the sample partners at the endpoint."""
    lines = [
        "# Written by 'cpex-gateway demo' for its own run: short backoff, and the sample",
        "# partners' addresses pointed at the demo partner endpoint on loopback.",
        "version = 1",
    ]
    lines += [f"{key} = {value}" for key, value in DEMO_DELIVERY.items()]
    for partner in (*ACCEPTING, FAILING):
        lines += ["", f"[partners.{partner}]", f'address = "{partners.url(partner)}"']
    lines.append(f'wsdl = "{DEMO_WSDL}"')
    return "\n".join(lines) + "\n"
