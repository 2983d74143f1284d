"""What the REST blueprints of the CRM base share: reading the query string, the path and JSON
bodies so that nothing a client sends reaches the store unchecked, and the actor.

Everything a client sends through the URL is checked once for every endpoint
(:func:`init_app`): path segments and query values are bounded in length and hold no control
characters or lone surrogates (PostgreSQL refuses a NUL in text, SQLite refuses a LIKE pattern
over 50,000 characters: each would be a 503 from deep inside the store); integer path segments
fit the database's 64-bit ids (``<int:...>`` rules use :class:`DatabaseId`), so an id past them is
simply not found. JSON bodies are held to the same rules (:func:`json_body`).
"""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Flask, request
from werkzeug.routing import IntegerConverter

from gateway.errors import BadRequestError
from gateway.web.access import current_principal
from gateway.web.body import read_body
from gateway.web.openapi import QUERY

MAX_PAGE = 500
MAX_ID = 2**63 - 1  # the largest value of a BIGINT / SQLite INTEGER
MAX_PATH_SEGMENT = 200
MAX_QUERY_VALUE = 1000
MAX_JSON_DEPTH = 64
_DIGITS = re.compile(r"[0-9]{1,18}")
# C0 and C1 controls (tab, CR and LF included: no name, id or term holds them) and lone
# surrogates, which cannot be encoded to UTF-8 for the database.
_UNSAFE_IN_URL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_UNSAFE_IN_JSON = re.compile(r"[\x00\ud800-\udfff]")


class DatabaseId(IntegerConverter):
    """``<int:...>`` in every rule: a non-negative integer that fits a database id. A longer
    number matches no rule (404), as an id nobody has."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def init_app(app: Flask) -> None:
    """Bound integer path segments (before any rule is added) and check every URL's text."""
    app.url_map.converters["int"] = DatabaseId

    @app.before_request
    def _check_url() -> None:
        for name, value in (request.view_args or {}).items():
            if isinstance(value, str):
                _check_text(name, value, MAX_PATH_SEGMENT, "path segment")
        for name, value in request.args.items(multi=True):
            _check_text(name, value, MAX_QUERY_VALUE, "query parameter")


def _check_text(name: str, value: str, limit: int, kind: str) -> None:
    if len(value) > limit:
        raise BadRequestError(f"{kind} '{name}' is longer than {limit} characters", path=name)
    if _UNSAFE_IN_URL.search(value):
        raise BadRequestError(f"{kind} '{name}' holds a control character", path=name)


def query(name: str, default: str | None = None) -> str | None:
    """The query parameter ``name``, which the endpoint must declare in
    :data:`gateway.web.openapi.QUERY` (so the description lists every parameter read)."""
    declared = {p["name"] for p in QUERY.get(request.endpoint or "", ())}
    if name not in declared:
        raise LookupError(
            f"{request.endpoint} reads query parameter '{name}', not declared in openapi.QUERY"
        )
    return request.args.get(name, default)


def int_arg(name: str, default: int, low: int, high: int) -> int:
    """An integer query parameter: ASCII digits only (``int()`` also takes "²" and "٣")."""
    raw = query(name)
    if raw is None:
        return default
    if not _DIGITS.fullmatch(raw) or not low <= int(raw) <= high:
        raise BadRequestError(
            f"query parameter '{name}' must be an integer from {low} to {high}", path=name
        )
    return int(raw)


def paging() -> tuple[int, int]:
    """(limit, offset) from the query string."""
    return int_arg("limit", 50, 1, MAX_PAGE), int_arg("offset", 0, 0, 10**9)


def json_body() -> Any:
    """The request body as JSON (read with the size limit), checked by :func:`checked_json`."""
    body = read_body()
    try:
        data = json.loads(body or b"null")
    except RecursionError:
        raise BadRequestError(
            f"the body is nested more than {MAX_JSON_DEPTH} levels deep", path="body"
        ) from None
    except ValueError as exc:  # UnicodeDecodeError included
        raise BadRequestError(f"the body is not JSON ({exc})", path="body") from exc
    return checked_json(data)


def checked_json(data: Any) -> Any:
    """``data`` if it nests at most :data:`MAX_JSON_DEPTH` levels, its strings (keys too) hold
    no NUL or lone surrogate, and its integers fit 64 bits; else :class:`BadRequestError`
    naming the place (``profiles[0].person.given_name``)."""
    stack: list[tuple[Any, str, int]] = [(data, "", 0)]
    while stack:
        value, path, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise BadRequestError(
                f"nested more than {MAX_JSON_DEPTH} levels deep", path=path or "body"
            )
        if isinstance(value, str):
            _check_json_text(value, path)
        elif isinstance(value, bool):
            continue
        elif isinstance(value, int) and not -MAX_ID - 1 <= value <= MAX_ID:
            raise BadRequestError("integer out of range (64 bits)", path=path or "body")
        elif isinstance(value, dict):
            for key, item in value.items():
                place = f"{path}.{key}" if path else str(key)
                _check_json_text(key, place)
                stack.append((item, place, depth + 1))
        elif isinstance(value, list):
            stack.extend((item, f"{path}[{i}]", depth + 1) for i, item in enumerate(value))
    return data


def _check_json_text(value: str, path: str) -> None:
    if _UNSAFE_IN_JSON.search(value):
        raise BadRequestError("a NUL or a lone surrogate is not text", path=path or "body")


def actor() -> str:
    """Who is acting, for audit rows and decisions: the key's name."""
    principal = current_principal()
    return f"api:{principal.name}" if principal else "api"


def wants_xml() -> bool:
    """Whether the client prefers CPEX XML to JSON (``Accept``)."""
    best = request.accept_mimetypes.best_match(
        ["application/json", "application/xml", "text/xml"], default="application/json"
    )
    return best in ("application/xml", "text/xml")


def is_xml_body() -> bool:
    return (request.mimetype or "") in ("application/xml", "text/xml")
