"""``/api/v1/profiles``: submit, read, correct, search, trace and unmerge golden profiles.

All endpoints need an ADMIN key: in this product integrators (the people who wire ERP, CRM and
web systems to the gateway) are given admin keys; partners use the partner exchange
(``/cpex/v1/exchange``, SOAP) with their own keys and policies instead.

``POST`` runs the body through the ingest pipeline (the same path as file imports) and answers
with the acknowledgement, one result per record; a body whose message id was processed before
gets the stored acknowledgement back and changes nothing. Reads carry an ``ETag`` made from the
golden id and version; ``PUT``/``PATCH`` need it in ``If-Match`` (428 without, 412 when stale,
nothing changed then).

Reads carry the customer's ERP figures from the CRM base's snapshot, never from the ERP (which
may be down or gone): the profile's ``financial`` section is the latest extraction, and ``erp``
says when it was taken (``as_of``), since when the ERP is known to have it (``confirmed_at``: the
last successful refresh, even if nothing changed), when it last changed (``changed_at``) and how
old the confirmation is (``age_seconds``; also the ``CPEX-ERP-Age`` header of a single read, for
XML clients). ``erp`` is ``null`` for a customer the ERP has never
delivered. The ETag follows the golden profile's version, not the ERP figures: they are not the
client's to write.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from lxml import etree

from gateway.erp.snapshot import ErpSnapshot, erp_snapshot_for, erp_snapshots_for
from gateway.errors import BadRequestError, PreconditionRequiredError, SchemaValidationError
from gateway.model import Profile, from_dict, to_dict
from gateway.model.namespaces import CPEX_EXCHANGE_NS, CPEX_PROFILE_NS
from gateway.model.xmlcodec import profile_from_element, profile_to_bytes, profile_to_element
from gateway.pipeline.outcome import BatchReport
from gateway.pipeline.runner import DEFAULT_MAPPING, Batch, Pipeline, record_tag
from gateway.runtime import Gateway
from gateway.store.profiles import ProfileStore, ProfileSummary, VersionConflictError
from gateway.web.access import Access, access
from gateway.web.body import read_body
from gateway.web.context import gateway_of
from gateway.web.requests import (
    actor,
    is_xml_body,
    json_body,
    paging,
    query,
    wants_xml,
)
from gateway.xml.parser import parse_bytes

bp = Blueprint("profiles", __name__, url_prefix="/api/v1/profiles")

_EX = f"{{{CPEX_EXCHANGE_NS}}}"
_SEARCH = ("email", "phone", "name", "postcode")
_READ_ONLY = ("id", "version", "erp")  # in a read's JSON, ignored when written back
ERP_AGE_HEADER = "CPEX-ERP-Age"


def _gateway() -> Gateway:
    return gateway_of(current_app)


def _store() -> ProfileStore:
    return _gateway().profiles


# --- reading -------------------------------------------------------------------------------


@bp.get("")
@access(Access.ADMIN)
def list_profiles() -> Response:
    """A page of golden profiles; with ``email``, ``phone``, ``name`` or ``postcode``, those
    matching all the criteria given."""
    limit, offset = paging()
    criteria = {k: v for k in _SEARCH if (v := (query(k) or "").strip())}
    store = _store()
    if criteria:
        total, found = store.search(**criteria, limit=limit, offset=offset)
    else:
        total, found = store.count(), store.list_summaries(limit=limit, offset=offset)
    figures = erp_snapshots_for(_gateway().engine, (s.id for s in found))
    items = [_summary(s, figures.get(s.id)) for s in found]
    return jsonify({"total": total, "limit": limit, "offset": offset, "items": items})


@bp.get("/<golden_id>")
@access(Access.ADMIN)
def get_profile(golden_id: str) -> Response:
    """The golden profile (an alias answers with its survivor), JSON or CPEX XML by Accept."""
    return _profile_response(golden_id, xml=wants_xml())


@bp.get("/<golden_id>/lineage")
@access(Access.ADMIN)
def lineage(golden_id: str) -> Response:
    """Where each golden field came from, and the linked source records (for unmerge), each
    with how it was matched (model version, probability, per-field levels and weights)."""
    store = _store()
    current, version = store.version_of(golden_id)
    matches = store.matches(current)
    fields = {
        path: {
            "source_system": source.source_system,
            "source_key": source.source_key,
            "received_at": source.received_at.isoformat(),
        }
        for path, source in store.lineage(current).items()
    }
    records = [
        {
            "id": r.id,
            "source_system": r.source_system,
            "source_key": r.source_key,
            "received_at": r.received_at.isoformat(),
            "match": matches.get((r.source_system, r.source_key)),
        }
        for r in store.source_records(current)
    ]
    return jsonify({"id": current, "version": version, "fields": fields, "source_records": records})


# --- writing -------------------------------------------------------------------------------


@bp.post("")
@access(Access.ADMIN)
def submit_profiles() -> Response:
    """Run a CPEX envelope (XML) or a JSON batch through the pipeline; one result per record.

    JSON: ``{"message_id": "...", "source": "crm", "profiles": [{canonical profile}, ...]}``.
    The source system is ``?source=``, else the envelope's Sender / the JSON ``source``.
    """
    gateway = _gateway()
    if is_xml_body():
        report = _submit_xml(gateway, read_body())
    else:
        report = _submit_json(gateway, json_body())
    body = {**report.acknowledgement(), "replayed": report.replayed}
    return jsonify(body)


@bp.put("/<golden_id>")
@access(Access.ADMIN)
def replace_profile(golden_id: str) -> Response:
    """An admin's correction: the whole profile (JSON, or CPEX XML), folded in by survivorship
    as the admin's own source record."""
    expected = _if_match(golden_id)
    if is_xml_body():
        tree = parse_bytes(read_body(), source="request body", limits=_gateway().xml_limits)
        profile = _validated(profile_from_element(tree.getroot()))
    else:
        profile = _profile_from_json(json_body())
    return _saved(golden_id, profile, expected)


@bp.patch("/<golden_id>")
@access(Access.ADMIN)
def patch_profile(golden_id: str) -> Response:
    """A JSON merge patch (RFC 7396) of the current golden profile; ``null`` removes a field."""
    expected = _if_match(golden_id)
    patch = json_body()
    if not isinstance(patch, dict):
        raise BadRequestError("a merge patch is a JSON object", path="body")
    current = to_dict(_store().get(golden_id))
    current.pop("id", None)
    profile = _profile_from_json(_merge_patch(current, patch))
    return _saved(golden_id, profile, expected)


@bp.post("/<golden_id>/unmerge")
@access(Access.ADMIN)
def unmerge(golden_id: str) -> Response:
    """Detach a source record (``{"source_record_id": n}``) into a golden profile of its own."""
    body = json_body()
    record_id = body.get("source_record_id") if isinstance(body, dict) else None
    if not isinstance(record_id, int) or isinstance(record_id, bool):
        raise BadRequestError("an integer is required", path="source_record_id")
    new_id = _store().unmerge(golden_id, record_id, actor=actor())
    return jsonify({"id": _store().resolve_id(golden_id), "new_id": new_id})


# --- helpers -------------------------------------------------------------------------------


def _summary(s: ProfileSummary, figures: ErpSnapshot | None) -> dict[str, Any]:
    return {
        "id": s.id,
        "name": s.display_name,
        "version": s.version,
        "updated": s.updated_at.isoformat(),
        "href": f"/api/v1/profiles/{s.id}",
        "erp": _erp(figures, with_figures=True),
    }


def _profile_response(golden_id: str, *, xml: bool = False) -> Response:
    """The golden profile with its ERP figures from the snapshot, JSON or CPEX XML, and ETag."""
    store = _store()
    current, version = store.version_of(golden_id)
    profile = store.get(current)
    figures = erp_snapshot_for(_gateway().engine, current)
    if figures is not None:
        profile = replace(profile, financial=figures.summary)
    if xml:
        response = Response(profile_to_bytes(profile), mimetype="application/xml")
    else:
        body = {"id": current, "version": version, **to_dict(profile)}
        response = jsonify({**body, "erp": _erp(figures, with_figures=False)})
    if figures is not None:
        response.headers[ERP_AGE_HEADER] = str(_seconds(figures))
    response.headers["ETag"] = _etag(current, version)
    if current != golden_id:  # an alias: say where the survivor lives
        response.headers["Content-Location"] = f"/api/v1/profiles/{current}"
    return response


def _erp(figures: ErpSnapshot | None, *, with_figures: bool) -> dict[str, Any] | None:
    """When the ERP figures were extracted and their age (and the figures, in search results,
    where the profile's own ``financial`` section is not shown)."""
    if figures is None:
        return None
    shown = to_dict(figures.summary) if with_figures else {}
    return {**shown, "as_of": _iso(figures.summary.as_of),
            "confirmed_at": _iso(figures.confirmed_at), "changed_at": _iso(figures.changed_at),
            "age_seconds": _seconds(figures)}


def _iso(at: datetime | None) -> str | None:
    return at.astimezone(UTC).isoformat() if at is not None else None


def _seconds(figures: ErpSnapshot) -> int:
    return int(figures.age.total_seconds())


def _etag(golden_id: str, version: int) -> str:
    return f'"{golden_id}.v{version}"'


def _if_match(golden_id: str) -> int:
    """The version the client read, from ``If-Match``, if it is the current one.

    Checked before the body is read, as HTTP evaluates preconditions first; the store checks it
    again inside the write transaction.
    """
    header = request.headers.get("If-Match")
    if not header:
        raise PreconditionRequiredError(
            "send the profile's ETag in If-Match (read it with GET first)"
        )
    current, version = _store().version_of(golden_id)
    tags = {t.strip() for t in header.split(",")}  # a weak W/"..." never matches (RFC 9110)
    if "*" in tags or _etag(current, version) in tags:
        return version
    raise VersionConflictError(current, -1, version)


def _saved(golden_id: str, profile: Profile, expected: int) -> Response:
    result = _store().edit(golden_id, profile, expected_version=expected, actor=actor())
    return _profile_response(result.golden_id)


def _profile_from_json(data: Any) -> Profile:
    if not isinstance(data, dict):
        raise BadRequestError("a profile is a JSON object", path="body")
    data = {k: v for k, v in data.items() if k not in _READ_ONLY}
    return _validated(from_dict(Profile, data))


def _validated(profile: Profile) -> Profile:
    """The profile, if it is valid CPEX (JSON and XML writers are held to the same schema)."""
    validator = _gateway().schemas.validator(CPEX_PROFILE_NS)
    issues = validator.issues(profile_to_element(profile))
    if issues:
        raise SchemaValidationError(issues, source="request body")
    return profile


def _merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = _merge_patch(result.get(key), value)
    return result


def _submit_xml(gateway: Gateway, body: bytes) -> BatchReport:
    root = parse_bytes(body, source="request body", limits=gateway.xml_limits).getroot()
    message_id = _clean(root.findtext(f"{_EX}Header/{_EX}MessageId"))
    sender = _clean(root.findtext(f"{_EX}Header/{_EX}Sender"))
    pipeline = _pipeline(gateway, sender, message_id)
    mapping = pipeline.decoder.mapping
    tag = record_tag(mapping) if mapping is not None else ""
    records: list[etree._Element] = [root] if root.tag == tag else list(root.iter(tag))
    return pipeline.run_elements(records)


def _submit_json(gateway: Gateway, body: Any) -> BatchReport:
    if not isinstance(body, dict) or not isinstance(body.get("profiles"), list):
        raise BadRequestError("expected an object with a 'profiles' list", path="profiles")
    message_id = body.get("message_id")
    if message_id is not None and not isinstance(message_id, str):
        raise BadRequestError("a message id is a string", path="message_id")
    source = body.get("source")
    pipeline = _pipeline(gateway, source if isinstance(source, str) else None, message_id)
    mapping = pipeline.decoder.mapping
    if mapping is not None and mapping.source_format in ("json", "csv", "sql"):
        return pipeline.run_mapped(body["profiles"])  # the sender's own records, mapped
    return pipeline.run_documents(body["profiles"])  # canonical profiles


def _pipeline(gateway: Gateway, sender: str | None, message_id: str | None) -> Pipeline:
    source = query("source") or sender
    if not source:
        raise BadRequestError(
            "no source system: give ?source=NAME, a Sender header or a 'source' member",
            path="source",
        )
    if message_id is not None and len(message_id) > 200:
        raise BadRequestError("a message id has at most 200 characters", path="message_id")
    mapping = query("mapping") or DEFAULT_MAPPING
    label = f"message {message_id}" if message_id else "POST /api/v1/profiles"
    return Pipeline(gateway, Batch(source, label, message_id, mapping, actor()))


def _clean(value: str | None) -> str | None:
    return (value.strip() or None) if value else None
