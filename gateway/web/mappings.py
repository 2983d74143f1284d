"""``/api/v1/mappings``: list, read, save, check, preview, history and rollback (admins only).

Saving goes through :class:`~gateway.mapping_admin.MappingAdmin`: an invalid text is answered
422 with every error (file, line, column, key) and never reaches the running gateway.
"""

from __future__ import annotations

import csv
import tempfile
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from gateway.errors import BadRequestError, XMLError, XMLSyntaxError
from gateway.mapping import CompiledMapping, PreviewResult
from gateway.mapping_admin import MappingAdmin
from gateway.store.mapping_versions import MappingVersion
from gateway.store.profiles import ProfileStore
from gateway.web.access import Access, access, current_principal
from gateway.web.body import read_body
from gateway.web.context import gateway_of
from gateway.web.requests import query

bp = Blueprint("mappings", __name__, url_prefix="/api/v1/mappings")

_BODY = "sample body"

# Sample bodies are read by the mapping's own sample reader, which knows them by file suffix.
_SUFFIX = {
    "application/xml": ".xml",
    "text/xml": ".xml",
    "text/csv": ".csv",
    "application/json": ".json",
}


def _admin() -> MappingAdmin:
    return gateway_of(current_app).mapping_admin


def _author() -> str:
    principal = current_principal()
    return principal.name if principal else "api"


def _version_summary(v: MappingVersion) -> dict[str, Any]:
    return {
        "version": v.version,
        "author": v.author,
        "created": v.created_at.isoformat(),
        "comment": v.comment,
    }


@bp.get("")
@access(Access.ADMIN)
def list_mappings() -> Response:
    """Loaded mapping files with their status and latest saved version."""
    admin = _admin()
    items = []
    for compiled in admin.mappings:
        latest = admin.history.latest(compiled.name)
        items.append(
            {
                "name": compiled.name,
                "file": admin.mappings.path(compiled.name).name,
                "direction": compiled.direction,
                "source": compiled.source_format,
                "target": compiled.target_format,
                "version": latest.version if latest else None,
            }
        )
    named = admin.named_errors(admin.mappings.errors)
    errors = {file: [e.to_dict() for e in errs] for file, errs in named.items()}
    return jsonify({"items": items, "errors": errors})


@bp.get("/<name>")
@access(Access.ADMIN)
def get_mapping(name: str) -> Response:
    """One mapping file's text and its check result."""
    admin = _admin()
    text = admin.mappings.text(name)
    latest = admin.history.latest(name)
    return jsonify({"name": name, "text": text, "version": latest.version if latest else None})


@bp.put("/<name>")
@access(Access.ADMIN)
def save_mapping(name: str) -> Response:
    """Save a new text (422 with every error if it does not check; nothing written then)."""
    try:
        text = read_body().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequestError(f"a mapping text is UTF-8 (byte {exc.start})", path="body") from exc
    version = _admin().save(name, text, author=_author(), comment=query("comment"))
    return jsonify({"name": name, **_version_summary(version), "diff": version.diff})


@bp.post("/reload")
@access(Access.ADMIN)
def reload_mappings() -> Response:
    """Re-read the mapping files now (invalid ones keep their last good version)."""
    report = _admin().sync_from_disk()
    return jsonify(
        {
            "recorded": [{"name": v.name, **_version_summary(v)} for v in report.recorded],
            "errors": {
                f: [e.to_dict() for e in errs]
                for f, errs in _admin().named_errors(report.errors).items()
            },
        }
    )


@bp.post("/<name>/preview")
@access(Access.ADMIN)
def preview_mapping(name: str) -> Response:
    """Map a sample body (or, for an outbound mapping, a stored profile) — nothing is stored."""
    gateway = gateway_of(current_app)
    compiled = gateway.mappings.get(name)
    profile_id = query("profile_id")
    if profile_id:
        records: list[Any] = [ProfileStore(gateway.engine).get(profile_id)]
    else:
        suffix = _SUFFIX.get(request.mimetype or "")
        records = sample_records(compiled, read_body(), suffix)
    results = [preview_report(compiled, compiled.preview(record)) for record in records]
    return jsonify({"mapping": name, "records": results})


@bp.get("/<name>/history")
@access(Access.ADMIN)
def mapping_history(name: str) -> Response:
    """Saved versions of a mapping, newest first."""
    versions = _admin().history.list(name)
    return jsonify({"name": name, "versions": [_version_summary(v) for v in versions]})


@bp.get("/<name>/history/<int:version>")
@access(Access.ADMIN)
def mapping_version(name: str, version: int) -> Response:
    """One saved version of a mapping, with its diff to the one before."""
    v = _admin().history.get(name, version)
    return jsonify({"name": name, **_version_summary(v), "text": v.text, "diff": v.diff})


@bp.post("/<name>/rollback/<int:version>")
@access(Access.ADMIN)
def rollback_mapping(name: str, version: int) -> Response:
    """Save an old version's text again (422 if it no longer checks, e.g. a code list gone)."""
    saved = _admin().rollback(name, version, author=_author())
    return jsonify({"name": name, **_version_summary(saved), "diff": saved.diff})


def sample_records(compiled: CompiledMapping, body: bytes, suffix: str | None) -> list[Any]:
    """The records of a sample file's bytes, read by the mapping's own reader (``suffix``, e.g.
    ``.csv``, says the file's kind; by default the mapping's source format). The reader reads
    files, so the bytes go through a temporary one, which no error names; an empty or
    unreadable sample is a :class:`BadRequestError` (or the XML error) naming the sample."""
    if not body.strip():
        raise BadRequestError(
            "no sample: send sample records in the body (or ?profile_id= for an outbound mapping)",
            path="body",
        )
    suffix = suffix or (".xml" if compiled.source_format == "xml" else ".json")
    with tempfile.TemporaryDirectory(prefix="cpex-preview-") as folder:
        sample = Path(folder) / f"sample{suffix}"
        sample.write_bytes(body)
        try:
            return compiled.read_sample(sample)
        except XMLError as exc:
            raise XMLSyntaxError(
                exc.reason.replace(str(sample), _BODY),
                source=_BODY,
                line=exc.line,
                column=exc.column,
            ) from None
        except (ValueError, csv.Error, RecursionError) as exc:  # JSON, UTF-8, CSV
            reason = str(exc).replace(str(sample), _BODY) or type(exc).__name__
            raise BadRequestError(
                f"the sample is not {suffix.lstrip('.').upper()} this mapping reads: {reason}",
                path="body",
            ) from None


def preview_report(compiled: CompiledMapping, result: PreviewResult) -> dict[str, Any]:
    """A preview as JSON: the output, every error and warning, the per-field trace."""
    return result.to_dict(compiled.writer.jsonable)
