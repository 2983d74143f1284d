"""Quarantine: refused records by status, source and error; one record with its errors in place;
retry (one, or every open one matching the filter) and discard, through
:class:`gateway.pipeline.quarantine.Quarantine` as ``/api/v1/quarantine`` does."""

from __future__ import annotations

import json
from typing import Any, get_args
from urllib.parse import urlencode

from flask import Response, current_app, render_template, request

from gateway.errors import BadRequestError
from gateway.pipeline.quarantine import Quarantine, QuarantineDecidedError, QuarantineStatus
from gateway.web.console.auth import actor, audited, done, page
from gateway.web.console.blueprint import bp
from gateway.web.console.placing import place_errors
from gateway.web.context import gateway_of
from gateway.web.mappings import preview_report
from gateway.xml.parser import parse_bytes

PAGE = 100
RETRY_ALL_LIMIT = 500  # one click retries at most this many (the rest on the next click)


def _quarantine() -> Quarantine:
    return Quarantine(gateway_of(current_app))


def _filter() -> tuple[QuarantineStatus | None, str | None, str | None]:
    raw = request.values.get("status", "open")
    status = raw if raw in get_args(QuarantineStatus) else None  # "all" or anything else
    source = request.values.get("source", "").strip() or None
    code = request.values.get("code", "").strip() or None
    return status, source, code  # type: ignore[return-value]


@bp.get("/quarantine")
@page
def quarantine_list() -> str:
    """Refused records matching the filter, oldest first."""
    status, source, code = _filter()
    offset = request.args.get("offset", "0")
    start = int(offset) if offset.isdigit() else 0
    quarantine = _quarantine()
    entries = quarantine.list(status, limit=PAGE, offset=start, source_system=source, code=code)
    total = quarantine.count(status, source_system=source, code=code)
    return render_template(
        "quarantine_list.html",
        entries=entries,
        total=total,
        offset=start,
        page=PAGE,
        status=status or "all",
        source=source or "",
        code=code or "",
        statuses=["all", *get_args(QuarantineStatus)],
        query=urlencode({"status": status or "all", "source": source or "", "code": code or ""}),
    )


@bp.get("/quarantine/<int:entry_id>")
@page
def quarantine_entry(entry_id: int) -> str:
    """One refused record as received, each error under the line it is about."""
    entry = _quarantine().get(entry_id)
    placed = place_errors(entry.raw or "", entry.format, entry.errors)
    return render_template("quarantine_entry.html", entry=entry, placed=placed)


@bp.get("/quarantine/<int:entry_id>/preview")
@page
def quarantine_preview(entry_id: int) -> str:
    """The record mapped by its mapping as it is now (after a fix), with the trace; nothing is
    stored and the entry stays as it is."""
    gateway = gateway_of(current_app)
    entry = _quarantine().get(entry_id)
    if entry.mapping is None:
        raise BadRequestError(
            f"entry {entry_id} came as canonical JSON: there is no mapping to preview",
            path="mapping",
        )
    compiled = gateway.mappings.get(entry.mapping)
    placed = place_errors(entry.raw or "", entry.format, entry.errors)
    report = preview_report(compiled, compiled.preview(_record(entry.raw or "", entry.format)))
    return render_template(
        "quarantine_entry.html",
        entry=entry,
        placed=placed,
        preview=[report],
        preview_of=f"entry {entry_id} with mapping {entry.mapping} as it runs now",
    )


def _record(raw: str, fmt: str) -> Any:
    """The stored record as its mapping reads it: a parsed element, or the row's JSON."""
    if fmt == "xml":
        return parse_bytes(raw.encode("utf-8"), source="quarantined record").getroot()
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise BadRequestError("the stored record is not readable JSON", path="raw") from exc


@bp.post("/quarantine/<int:entry_id>/retry")
@page
def quarantine_retry(entry_id: int) -> Response:
    outcome = _quarantine().retry(entry_id, actor=actor())
    audited("quarantine.retry", entry=entry_id, result=outcome.status)
    if outcome.status == "rejected":
        return done(
            f"/console/quarantine/{entry_id}", f"entry {entry_id} was refused again: see its errors"
        )
    return done(
        f"/console/quarantine/{entry_id}",
        f"entry {entry_id} retried: {outcome.status} {outcome.golden_id or ''}".strip(),
    )


@bp.post("/quarantine/<int:entry_id>/discard")
@page
def quarantine_discard(entry_id: int) -> Response:
    _quarantine().discard(entry_id, actor=actor())
    audited("quarantine.discard", entry=entry_id)
    return done(f"/console/quarantine/{entry_id}", f"entry {entry_id} discarded")


@bp.post("/quarantine/retry")
@page
def quarantine_retry_matching() -> Response:
    """Retry every open entry matching the filter (after a mapping fix)."""
    _, source, code = _filter()
    quarantine = _quarantine()
    entries = quarantine.list("open", limit=RETRY_ALL_LIMIT, source_system=source, code=code)
    stored = refused = 0
    for entry in entries:
        try:
            outcome = quarantine.retry(entry.id, actor=actor())
        except QuarantineDecidedError:  # decided meanwhile by someone else
            continue
        if outcome.status == "rejected":
            refused += 1
        else:
            stored += 1
    audited("quarantine.retry_matching", source=source, code=code, stored=stored, refused=refused)
    query = urlencode({"status": "open", "source": source or "", "code": code or ""})
    return done(
        f"/console/quarantine?{query}",
        f"retried {stored + refused}: {stored} stored, {refused} refused again",
    )
