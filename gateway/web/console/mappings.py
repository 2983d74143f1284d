"""Mappings: list; an editor with line numbers that checks as you type (errors at line:col);
preview of the edited text against a bundled sample, an uploaded file or a stored profile, with
the per-field trace; diff against the running version; save with a comment; history; rollback.

Checking, saving and rolling back are :class:`gateway.mapping_admin.MappingAdmin`'s, as for
``/api/v1/mappings``: a text that does not check is refused with every error and never reaches
the running gateway. Preview and diff compile the edited text without saving anything.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

from flask import Response, current_app, render_template, request

from gateway.errors import BadRequestError
from gateway.mapping import CompiledMapping, MappingError, MappingFileInvalid
from gateway.mapping.check import check_mapping, load_mapping
from gateway.mapping_admin import MappingAdmin
from gateway.web.console.auth import actor, audited, done, page
from gateway.web.console.blueprint import bp
from gateway.web.context import gateway_of
from gateway.web.mappings import preview_report, sample_records

MAX_TEXT = 512 * 1024


def _admin() -> MappingAdmin:
    return gateway_of(current_app).mapping_admin


def _samples() -> list[str]:
    folder = _admin().mappings.folder / "samples"
    return sorted(p.name for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []


@bp.get("/mappings")
@page
def mappings() -> str:
    """The loaded mapping files, their direction and latest version, and files that fail."""
    admin = _admin()
    items = [
        (m, admin.history.latest(m.name), admin.mappings.path(m.name).name) for m in admin.mappings
    ]
    return render_template("mappings.html", items=items, broken=admin.mappings.errors)


@bp.get("/mappings/<name>")
@page
def mapping(name: str) -> str:
    """The editor with the running text."""
    admin = _admin()
    text = admin.mappings.text(name)  # NotFoundError for an unknown mapping
    return _editor(name, text)


@bp.post("/mappings/<name>/check")
@page
def mapping_check(name: str) -> str:
    """The errors of the edited text (an htmx fragment, or the editor page)."""
    text = _text()
    errors = _check(name, text)
    if request.headers.get("HX-Request"):
        return render_template("_problems.html", errors=errors, checked=True)
    return _editor(name, text, errors=errors, checked=True)


@bp.post("/mappings/<name>/preview")
@page
def mapping_preview(name: str) -> str | tuple[str, int]:
    """Map a sample with the edited text (nothing saved, nothing stored)."""
    text = _text()
    try:
        compiled = load_mapping(
            _admin().path_for(name), schemas=_admin().mappings.schemas, text=text,
            attributes=_admin().mappings.attributes,
        )
    except MappingFileInvalid as exc:
        return _editor(name, text, errors=exc.errors, checked=True), 422
    records, label = _preview_records(compiled)
    results = [preview_report(compiled, compiled.preview(r)) for r in records[:20]]
    return _editor(name, text, preview=results, preview_of=label, checked=True)


@bp.post("/mappings/<name>/diff")
@page
def mapping_diff(name: str) -> str:
    """The edited text against the running one."""
    text = _text()
    running = _admin().mappings.text(name)
    diff = "".join(
        difflib.unified_diff(
            running.splitlines(keepends=True),
            text.splitlines(keepends=True),
            fromfile=f"{name} (running)",
            tofile=f"{name} (edited)",
        )
    )
    return _editor(name, text, diff=diff or None, diffed=True)


@bp.post("/mappings/<name>/save")
@page
def mapping_save(name: str) -> Response | tuple[str, int]:
    """Check and save; a text that does not check is shown again with its errors, unsaved."""
    text = _text()
    comment = request.form.get("comment", "").strip()[:500] or None
    try:
        version = _admin().save(name, text, author=actor(), comment=comment)
    except MappingFileInvalid as exc:
        return _editor(name, text, errors=exc.errors, checked=True, refused=True), 422
    audited("mapping.save", mapping=name, version=version.version, comment=comment)
    return done(
        f"/console/mappings/{name}", f"{name} saved as version {version.version}; it is running now"
    )


@bp.get("/mappings/<name>/history/<int:version>")
@page
def mapping_version(name: str, version: int) -> str:
    """One saved version and its diff to the one before."""
    saved = _admin().history.get(name, version)
    return render_template("mapping_version.html", name=name, version=saved)


@bp.post("/mappings/<name>/rollback/<int:version>")
@page
def mapping_rollback(name: str, version: int) -> Response:
    saved = _admin().rollback(name, version, author=actor())
    audited("mapping.rollback", mapping=name, to=version, version=saved.version)
    return done(
        f"/console/mappings/{name}",
        f"{name} rolled back to version {version} (saved as version {saved.version})",
    )


def _text() -> str:
    text = request.form.get("text")
    if text is None:
        raise BadRequestError("the form has no mapping text", path="text")
    if len(text) > MAX_TEXT:
        raise BadRequestError(f"a mapping text has at most {MAX_TEXT} characters", path="text")
    return text.replace("\r\n", "\n")


def _check(name: str, text: str) -> list[MappingError]:
    admin = _admin()
    return check_mapping(admin.path_for(name), schemas=admin.mappings.schemas, text=text,
                         attributes=admin.mappings.attributes)


def _preview_records(compiled: CompiledMapping) -> tuple[list[Any], str]:
    """The records to preview: an uploaded file, a stored profile (outbound), or a sample."""
    upload = request.files.get("upload")
    if upload is not None and upload.filename:
        body = upload.read(MAX_TEXT * 8 + 1)
        if len(body) > MAX_TEXT * 8:
            raise BadRequestError("the uploaded sample is too large", path="upload")
        return sample_records(
            compiled, body, Path(upload.filename).suffix or None
        ), f"uploaded file {upload.filename}"
    profile_id = request.form.get("profile_id", "").strip()
    if profile_id:
        return [gateway_of(current_app).profiles.get(profile_id)], f"profile {profile_id}"
    sample = request.form.get("sample", "")
    if sample not in _samples():
        raise BadRequestError(
            "choose a bundled sample, upload a file or give a profile id", path="sample"
        )
    path = _admin().mappings.folder / "samples" / sample
    return compiled.read_sample(path), f"sample {sample}"


def _editor(name: str, text: str, **shown: Any) -> str:
    admin = _admin()
    compiled = admin.mappings.get(name) if name in admin.mappings else None
    return render_template(
        "mapping.html",
        name=name,
        text=text,
        compiled=compiled,
        versions=admin.history.list(name),
        samples=_samples(),
        errors=shown.pop("errors", []),
        **shown,
    )
