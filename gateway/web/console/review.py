"""Match review: the two profiles side by side (differing fields marked), why they were paired
(the model's per-field weights as a waterfall against both thresholds, when the item stores
them), claim, approve and reject ("not a match", remembered), with keyboard shortcuts.

Decisions are :class:`gateway.identity.review.ReviewQueue`'s, as for ``/api/v1/review``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, get_args

from flask import Response, current_app, render_template, request
from markupsafe import Markup

from gateway.identity.review import ReviewDecidedError, ReviewItem, ReviewQueue, ReviewStatus
from gateway.model import to_dict
from gateway.web.console.auth import actor, audited, done, page
from gateway.web.console.blueprint import bp
from gateway.web.console.charts import Marker, waterfall
from gateway.web.console.claims import Claims
from gateway.web.context import gateway_of

PAGE = 100


def _queue() -> ReviewQueue:
    return gateway_of(current_app).profiles.reviews


def _claims() -> Claims:
    return Claims(gateway_of(current_app).engine)


@bp.get("/review")
@page
def review_list() -> str:
    """Review items by status (open first), with who holds each."""
    raw = request.args.get("status", "open")
    status: ReviewStatus = raw if raw in get_args(ReviewStatus) else "open"  # type: ignore[assignment]
    items = _queue().list(status, limit=PAGE)
    holders = _claims().holders([i.id for i in items], datetime.now(UTC))
    return render_template(
        "review_list.html",
        items=items,
        holders=holders,
        status=status,
        statuses=get_args(ReviewStatus),
        name_of=_name,
    )


@bp.get("/review/<int:item_id>")
@page
def review_item(item_id: int) -> str:
    """One pair side by side, the weights of the match, and the decision buttons."""
    item = _queue().get(item_id)
    now = datetime.now(UTC)
    holder = _claims().holders([item_id], now).get(item_id)
    rows = list(_side_by_side(item))
    return render_template(
        "review_item.html",
        item=item,
        rows=rows,
        holder=holder,
        differing=sum(1 for r in rows if r[3]),
        weights=_weights_chart(item.details),
        details=_plain_details(item.details),
        name_of=_name,
        next_id=_next_open(item_id),
    )


@bp.post("/review/<int:item_id>/claim")
@page
def review_claim(item_id: int) -> Response:
    _open(item_id)
    claim = _claims().claim(item_id, actor(), datetime.now(UTC))
    audited("review.claim", review_item_id=item_id)
    return done(
        f"/console/review/{item_id}",
        f"item {item_id} is yours until {claim.until.strftime('%H:%M')} UTC",
    )


@bp.post("/review/<int:item_id>/approve")
@page
def review_approve(item_id: int) -> Response:
    _decidable(item_id)
    survivor = _queue().approve(item_id, actor())  # decided meanwhile: ReviewDecidedError, 409
    _claims().release(item_id)
    audited("review.approve", review_item_id=item_id, golden_id=survivor, comment=_comment())
    return done(_after(item_id), f"item {item_id} approved: merged into {survivor}")


@bp.post("/review/<int:item_id>/reject")
@page
def review_reject(item_id: int) -> Response:
    _decidable(item_id)
    _queue().reject(item_id, actor())
    _claims().release(item_id)
    audited("review.reject", review_item_id=item_id, comment=_comment())
    return done(_after(item_id), f"item {item_id} rejected: not a match (remembered)")


def _comment() -> str | None:
    return request.form.get("comment", "").strip()[:500] or None


def _open(item_id: int) -> ReviewItem:
    item = _queue().get(item_id)  # NotFoundError: 404
    if item.status != "open":
        raise ReviewDecidedError(item_id, item.status)
    return item


def _decidable(item_id: int) -> None:
    _open(item_id)
    _claims().check(item_id, actor(), datetime.now(UTC))


def _after(item_id: int) -> str:
    following = _next_open(item_id)
    return f"/console/review/{following}" if following else "/console/review"


def _next_open(item_id: int) -> int | None:
    """The next open item after this one (else the first) that nobody else holds."""
    items = _queue().list("open", limit=PAGE)
    holders = _claims().holders([i.id for i in items], datetime.now(UTC))
    me = actor()
    free = [
        i.id
        for i in items
        if i.id != item_id and (i.id not in holders or holders[i.id].actor == me)
    ]
    later = [i for i in free if i > item_id]
    return later[0] if later else (free[0] if free else None)


def _name(profile: Any) -> str:
    if profile is None:
        return "(gone)"
    person = to_dict(profile).get("person") or {}
    name = " ".join(str(person.get(k, "")) for k in ("given_name", "family_name")).strip()
    return name or "(no name)"


def _side_by_side(item: ReviewItem) -> Iterator[tuple[str, str, str, bool]]:
    """(field path, value in golden, value in candidate, differs) for every field of either."""
    left = dict(flatten(to_dict(item.golden) if item.golden else {}))
    right = dict(flatten(to_dict(item.candidate) if item.candidate else {}))
    for path in sorted(set(left) | set(right), key=_order):
        a, b = left.get(path, ""), right.get(path, "")
        yield path, a, b, a != b


def _order(path: str) -> tuple[int, str]:
    first = ("person", "organization", "emails", "phones", "addresses", "identifiers")
    head = path.split(".")[0].split("[")[0]
    return (first.index(head) if head in first else len(first), path)


def flatten(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, Mapping):
        for key, inner in value.items():
            if key != "id":
                yield from flatten(inner, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        if all(not isinstance(v, Mapping | list) for v in value):
            yield path, ", ".join(str(v) for v in value)
        else:
            for i, inner in enumerate(value):
                yield from flatten(inner, f"{path}[{i}]")
    elif value is not None and value != "":
        yield path, str(value)


def _weights_chart(details: Mapping[str, Any]) -> Markup | None:
    """The waterfall of per-field match weights, when the item stores them (a Fellegi-Sunter
    model's ``prior_weight`` and ``fields``: {name: {level, weight}}), with the thresholds."""
    fields = details.get("fields")
    if not isinstance(fields, Mapping) or not fields:
        return None
    steps = []
    for name, field in fields.items():
        if isinstance(field, Mapping) and isinstance(field.get("weight"), int | float):
            level = f" ({field['level']})" if field.get("level") else ""
            steps.append((f"{name}{level}", float(field["weight"])))
    prior = details.get("prior_weight")
    start = ("prior", float(prior) if isinstance(prior, int | float) else 0.0)
    rules = gateway_of(current_app).profiles.rules
    markers = [
        Marker(f"{label} {p:g}", math.log2(p / (1 - p)))
        for label, p in (
            ("review", getattr(rules, "review_threshold", None)),
            ("merge", getattr(rules, "merge_threshold", None)),
        )
        if isinstance(p, float) and 0 < p < 1
    ]
    return waterfall(
        "Match weight by field (log2 Bayes factors) against the thresholds", start, steps, markers
    )


def _plain_details(details: Mapping[str, Any]) -> list[tuple[str, str]]:
    """What the item stores about the pairing, as label and text (components as a list)."""
    out = []
    for key, value in details.items():
        if key == "fields":
            continue
        if isinstance(value, Mapping):
            value = ", ".join(f"{k} {v}" for k, v in value.items())
        out.append((key.replace("_", " "), str(value)))
    return out
