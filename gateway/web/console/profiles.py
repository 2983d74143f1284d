"""Profiles: search; one golden profile with each field's source, the source records (unmerge),
identifiers, consents, disclosures, ERP figures with their age, and history.

Reads and unmerge are :class:`gateway.store.profiles.ProfileStore`'s, the figures the ERP
snapshot's, the history and disclosures the audit log's: what ``/api/v1/profiles`` answers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Response, current_app, render_template, request

from gateway.erp.snapshot import erp_snapshot_for, erp_snapshots_for
from gateway.errors import BadRequestError
from gateway.model import to_dict
from gateway.privacy import disclosures_of
from gateway.store.profiles import FieldSource
from gateway.web.console.auth import actor, audited, done, page
from gateway.web.console.blueprint import bp
from gateway.web.console.review import flatten
from gateway.web.context import gateway_of
from gateway.web.history import profile_history

PAGE = 50
SEARCH = ("name", "email", "phone", "postcode")
_APART = ("identifiers", "consents", "financial")  # shown in sections of their own


@bp.get("/profiles")
@page
def profiles() -> str:
    """Golden profiles, or those matching every criterion given."""
    gateway = gateway_of(current_app)
    store = gateway.profiles
    criteria = {k: v for k in SEARCH if (v := request.args.get(k, "").strip())}
    offset = request.args.get("offset", "0")
    start = int(offset) if offset.isdigit() else 0
    if criteria:
        total, found = store.search(**criteria, limit=PAGE, offset=start)
    else:
        total, found = store.count(), store.list_summaries(limit=PAGE, offset=start)
    figures = erp_snapshots_for(gateway.engine, (s.id for s in found))
    return render_template(
        "profiles.html",
        found=found,
        total=total,
        figures=figures,
        criteria=criteria,
        fields=SEARCH,
        offset=start,
        page=PAGE,
    )


@bp.get("/profiles/<golden_id>")
@page
def profile(golden_id: str) -> str:
    """One golden profile and everything known about where it came from."""
    gateway = gateway_of(current_app)
    store = gateway.profiles
    current, version = store.version_of(golden_id)  # NotFoundError for an unknown id
    golden = store.get(current)
    document = to_dict(golden)
    lineage = store.lineage(current)
    rows = [
        (path, value, _source(path, lineage))
        for path, value in flatten({k: v for k, v in document.items() if k not in _APART})
    ]
    _, merged, history = profile_history(gateway.engine, current, limit=200)
    erp = erp_snapshot_for(gateway.engine, current)
    erp_rows = (
        []
        if erp is None
        else [
            (k.replace("_", " "), v)
            for k, v in to_dict(erp.summary).items()
            if k != "as_of" and v is not None
        ]
    )
    return render_template(
        "profile.html",
        id=current,
        asked=golden_id,
        version=version,
        rows=rows,
        identifiers=document.get("identifiers", []),
        consents=document.get("consents", []),
        records=store.source_records(current),
        merged=merged,
        history=history,
        erp=erp,
        erp_rows=erp_rows,
        disclosures=disclosures_of(gateway.engine, current),
    )


@bp.post("/profiles/<golden_id>/unmerge")
@page
def profile_unmerge(golden_id: str) -> Response:
    raw = request.form.get("source_record_id", "")
    if not raw.isdigit():
        raise BadRequestError("choose a source record", path="source_record_id")
    new_id = gateway_of(current_app).profiles.unmerge(golden_id, int(raw), actor=actor())
    audited("profile.unmerge", golden_id=golden_id, source_record_id=int(raw), new_id=new_id)
    return done(
        f"/console/profiles/{golden_id}",
        f"source record {raw} now has a golden profile of its own: {new_id}",
    )


def _source(path: str, lineage: Mapping[str, FieldSource]) -> FieldSource | None:
    """The lineage entry of a field: its own, else its nearest parent's (``emails`` for
    ``emails[0].address``)."""
    probe = path
    while probe:
        if probe in lineage:
            return lineage[probe]
        cut = max(probe.rfind("."), probe.rfind("["))
        probe = probe[:cut] if cut > 0 else ""
    return None


@bp.app_template_filter("plain")
def _plain(value: Any) -> str:
    """A nested value (a consent, an identifier) as one readable line."""
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {v}" for k, v in value.items() if v not in (None, "", []))
    return str(value)
