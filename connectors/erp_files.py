"""A file-drop inbox: CSV, XML or JSON files dropped into a folder, each taken once, whole.

A file is taken only when it is complete, in one of two ways the dropping system chooses:

- ``marker``: the file is complete when ``<name>.done`` exists beside it (the ERP writes the
  extract, then the empty marker);
- ``rename``: the ERP writes under a temporary name (``.name``, ``name.tmp``, ``name.part``)
  and renames into place when done; a rename is atomic within one file system, so any file not
  under a temporary name is complete.

After processing, the file goes to ``archive/`` (or ``failed/``) with a JSON report beside it
(``<stamped name>.report.json``); the marker is removed. Moving is a rename inside the inbox's
file system, so a crash leaves the file either in the inbox (processed again; the gateway's
ledger of name + content hash stops a second import) or already moved. This connector only moves
files; it never writes into the ERP.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from connectors.base import ConnectorError, DroppedFile

MARKER_SUFFIX = ".done"
TEMPORARY_SUFFIXES = (".tmp", ".part", ".partial")
ACCEPTED_SUFFIXES = (".csv", ".xml", ".json")

Completion = Literal["marker", "rename"]


class FileDropInbox:
    """A :class:`connectors.base.FileInbox` on a local folder."""

    def __init__(self, name: str, folder: Path, *, complete: Completion = "marker") -> None:
        self.name = name
        self.folder = folder
        self.complete = complete
        self.archive_dir = folder / "archive"
        self.failed_dir = folder / "failed"

    def ready(self) -> Iterator[DroppedFile]:
        """Complete CSV, XML and JSON files in the inbox, oldest first."""
        try:
            entries = [p for p in self.folder.iterdir() if p.is_file()]
        except FileNotFoundError:
            raise ConnectorError(self.name, f"inbox folder {self.folder} does not exist") from None
        except OSError as exc:
            raise ConnectorError(self.name, f"cannot list {self.folder}: {exc.strerror}") from exc
        candidates = [p for p in entries if self._is_complete(p)]
        candidates.sort(key=lambda p: (p.stat().st_mtime, p.name))
        for path in candidates:
            digest, size = _hash(path)
            yield DroppedFile(path=path, name=path.name, content_hash=digest, size=size)

    def archive(self, dropped: DroppedFile, report: Mapping[str, Any]) -> Path:
        return self._move(dropped, self.archive_dir, report)

    def fail(self, dropped: DroppedFile, report: Mapping[str, Any]) -> Path:
        return self._move(dropped, self.failed_dir, report)

    def _is_complete(self, path: Path) -> bool:
        name = path.name
        if name.startswith(".") or name.endswith((*TEMPORARY_SUFFIXES, MARKER_SUFFIX)):
            return False
        if not name.lower().endswith(ACCEPTED_SUFFIXES):
            return False
        if self.complete == "marker":
            return path.with_name(name + MARKER_SUFFIX).exists()
        return True

    def _move(self, dropped: DroppedFile, target: Path, report: Mapping[str, Any]) -> Path:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        try:
            target.mkdir(parents=True, exist_ok=True)
            moved = target / f"{stamp}_{dropped.name}"
            report_path = moved.with_name(moved.name + ".report.json")
            tmp = report_path.with_name("." + report_path.name)
            tmp.write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")
            os.replace(tmp, report_path)
            os.replace(dropped.path, moved)
            dropped.path.with_name(dropped.name + MARKER_SUFFIX).unlink(missing_ok=True)
        except OSError as exc:
            raise ConnectorError(self.name, f"cannot move {dropped.name} to {target.name}/: "
                                 f"{exc.strerror}") from exc
        return moved


def _hash(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size
