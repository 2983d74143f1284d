"""Request bodies read with a hard size limit that also holds for chunked requests.

Werkzeug's ``MAX_CONTENT_LENGTH`` checks the Content-Length header; a chunked body has none and
slips through (measured: 2.5 MB passed a 1 MB limit). So bodies are read here, at most
limit + 1 bytes, and anything longer is refused before it is parsed or stored.

Werkzeug's own cap must then sit one byte *above* the limit: capped at exactly the limit, it cuts
a longer chunked stream there without a word, and the cut body reads as a complete one of legal
size (a 400 for broken XML instead of 413, or worse, a shorter document that parses).

Every body is read here, in one place, before any view runs (:func:`init_app`): a view that
takes no body (a reload, a rollback, a job run) cannot act on an oversized one, and a view that
takes one gets the same bytes from :func:`read_body`.

The WSGI server reads the whole body before the app sees the request (waitress buffers it, to a
temporary file past 512 KiB, up to 1 GiB by default), so the server gets a cap of its own:
:func:`server_body_cap`, a little above the limit. A body over that cap is answered 413 by the
server itself and never read to its end; one between the limit and the cap gets the gateway's
own 413 (JSON error or SOAP Fault).
"""

from __future__ import annotations

from flask import Flask, current_app, g, request

from gateway.errors import XMLLimitError
from gateway.web.context import gateway_of
from gateway.xml.parser import read_limited


class BodyTooLargeError(XMLLimitError):
    code = "body_too_large"


def server_body_cap(limit: int) -> int:
    """The WSGI server's own body cap for a gateway limit of ``limit`` bytes: the limit plus
    room for chunked framing (waitress counts chunk-size lines as body), at least 64 KiB, and
    plus one (waitress refuses a body of exactly its cap)."""
    return limit + max(limit // 16, 64 * 1024) + 1


def init_app(app: Flask) -> None:
    """Read (bounded) every request's body before its view runs (module doc)."""

    @app.before_request
    def _bounded_body() -> None:
        if request.content_length or "chunked" in request.headers.get("Transfer-Encoding", ""):
            read_body()


def read_body() -> bytes:
    """The whole request body; :class:`BodyTooLargeError` (413) past ``server.max_body_bytes``."""
    body: bytes | None = g.get("request_body")
    if body is None:
        body = g.request_body = _read_bounded()
        # What Werkzeug's get_data(cache=True) leaves behind: form parsing (the console's
        # forms) and get_data() read these bytes, not the stream this has emptied.
        request._cached_data = body
    return body


def _read_bounded() -> bytes:
    limit = gateway_of(current_app).settings.server.max_body_bytes
    request.max_content_length = limit + 1  # before the stream is first touched (see above)
    declared = request.content_length
    if declared is not None and declared > limit:
        raise BodyTooLargeError(f"request body of {declared} bytes is over the limit of {limit}")
    try:
        return read_limited(request.stream, limit, source="request body")
    except XMLLimitError as exc:
        raise BodyTooLargeError(exc.reason, source="request body") from exc
