"""A request id for every HTTP request, and one access line in the log for each.

The id is the caller's ``X-Request-Id`` when it is a plausible id (a proxy or an integrator's
own trace id; up to 128 letters, digits, ``.``, ``_``, ``-``), else a new random one. It is
answered in ``X-Request-Id`` and carried by every log record written while the request is served
(``gateway.log_setup``), so a partner quoting it lets ops find the request. The access line
names method, path (never the query string: searches carry emails and phone numbers), status,
duration and the key id of the caller; never a body. The same request is counted in the
process's HTTP metrics (:mod:`gateway.telemetry`) by method, route template and status.

Every answer also says ``Cache-Control: no-store`` (unless a view chose otherwise) and
``X-Content-Type-Options: nosniff``: answers carry personal data, which no shared cache or proxy
should keep, and a browser must not guess an XML or JSON answer into something it runs.
"""

from __future__ import annotations

import logging
import re
import secrets
import time

from flask import Flask, Response, g, request

from gateway.log_setup import current_request_id
from gateway.telemetry import HTTP_DURATION, HTTP_REQUESTS
from gateway.web.access import current_principal

log = logging.getLogger("gateway.access")

REQUEST_ID_HEADER = "X-Request-Id"
_PLAUSIBLE_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")


def init_app(app: Flask) -> None:
    """Register first, so the id exists before authentication can refuse the request."""

    @app.before_request
    def _begin() -> None:
        given = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = given if _PLAUSIBLE_ID.match(given) else secrets.token_hex(16)
        g.request_id = request_id
        g.request_started = time.perf_counter()
        g.request_id_token = current_request_id.set(request_id)

    @app.after_request
    def _answer(response: Response) -> Response:
        request_id = g.get("request_id")
        if request_id is None:  # a request refused before ours ran
            return response
        response.headers[REQUEST_ID_HEADER] = request_id
        response.headers.setdefault("Cache-Control", "no-store")
        response.headers["X-Content-Type-Options"] = "nosniff"
        principal = current_principal()
        took = time.perf_counter() - g.request_started
        took_ms = took * 1000
        # The route template, never the path itself (ids in paths would be unbounded labels).
        route = request.url_rule.rule if request.url_rule is not None else "unmatched"
        status = str(response.status_code)
        HTTP_REQUESTS.labels(request.method, route, status).inc()
        HTTP_DURATION.labels(request.method, route, status).observe(took)
        log.info("%s %s %d %.1f ms key=%s", request.method, request.path, response.status_code,
                 took_ms, principal.key_id if principal else "-")
        return response

    @app.teardown_request
    def _end(_error: BaseException | None) -> None:
        token = g.pop("request_id_token", None)
        if token is not None:
            current_request_id.reset(token)
