"""Saving, versioning and rolling back the mapping files of a running gateway.

Admins change mappings in two ways: through the API (author = their key's name) or by editing a
file on disk (author ``file``). Either way a text is checked before it can run: an invalid text
is refused with every error (file, line, column) and never replaces the last good version. A
valid text is written atomically (temp file + rename), recorded in the history with its diff,
and swapped into the running :class:`~gateway.mapping.MappingSet`. Rollback saves an old text
again as a new version, so history only ever grows.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from gateway.errors import GatewayError
from gateway.mapping import MappingError, MappingFileInvalid, MappingSet, load_mapping
from gateway.store.mapping_versions import FILE_AUTHOR, MappingHistory, MappingVersion

log = logging.getLogger(__name__)

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}")


class MappingNameMismatchError(GatewayError):
    code = "mapping_name_mismatch"


@dataclass(frozen=True, slots=True)
class SyncReport:
    recorded: list[MappingVersion]
    errors: dict[str, list[MappingError]]


class MappingAdmin:
    def __init__(self, mappings: MappingSet, history: MappingHistory) -> None:
        self.mappings = mappings
        self.history = history

    def path_for(self, name: str) -> Path:
        """The file that holds mapping ``name`` (``<name>.yaml`` for a new one)."""
        if name in self.mappings:
            return self.mappings.path(name)
        if not _NAME.fullmatch(name):
            raise MappingNameMismatchError(
                f"'{name}' is not a valid mapping name (letters, digits, '-' and '_')"
            )
        return self.mappings.folder / f"{name}.yaml"

    def save(
        self, name: str, text: str, *, author: str, comment: str | None = None
    ) -> MappingVersion:
        """Check ``text``; if valid, write it, record a version and run it.

        :raises MappingFileInvalid: with every error; nothing is written.
        """
        path = self.path_for(name)
        try:
            compiled = load_mapping(
                path, schemas=self.mappings.schemas, text=text, attributes=self.mappings.attributes
            )
        except MappingFileInvalid as exc:  # named in the mappings folder: not the server's
            raise MappingFileInvalid([self._named(e, path) for e in exc.errors]) from None
        if compiled.name != name:
            raise MappingNameMismatchError(
                f"{path.name}: the text names mapping '{compiled.name}', not '{name}'"
            )
        if name in self.mappings and self.history.latest(name) is None:
            # The text on disk before the first save through the API is version 1.
            self.history.record(
                name, self.mappings.text(name), author=FILE_AUTHOR, comment="as found on disk"
            )
        _write_atomically(path, text)
        version, _ = self.history.record(name, text, author=author, comment=comment)
        self.mappings.reload()
        log.info("mapping %s saved as v%s by %s", name, version.version, author)
        return version

    def rollback(self, name: str, version: int, *, author: str) -> MappingVersion:
        old = self.history.get(name, version)
        return self.save(name, old.text, author=author, comment=f"rollback to v{version}")

    def named_errors(
        self, errors: Mapping[str, list[MappingError]]
    ) -> dict[str, list[MappingError]]:
        """``errors`` by file (as :attr:`MappingSet.errors` and :class:`SyncReport` hold them),
        each naming its file within the mappings folder, never by the server's path."""
        return {
            file: [self._named(e, self.mappings.folder / file) for e in errs]
            for file, errs in errors.items()
        }

    def _named(self, error: MappingError, path: Path) -> MappingError:
        """``error`` naming the mapping file (or its code list) within the mappings folder."""
        named = Path(error.file) if error.file else path
        folder = self.mappings.folder.resolve()
        shown = (
            str(named.resolve().relative_to(folder))
            if named.resolve().is_relative_to(folder)
            else named.name
        )
        return MappingError(
            error.reason, file=shown, line=error.line, column=error.column, key=error.key
        )

    def sync_from_disk(self) -> SyncReport:
        """Reload changed files; record each valid text not yet in the history as author ``file``.

        Invalid edits are not recorded (the history holds texts that ran); their errors are
        returned and stay in ``mappings.errors`` until the file is fixed.
        """
        errors = self.mappings.reload()
        recorded = []
        for compiled in self.mappings:
            version, new = self.history.record(
                compiled.name,
                self.mappings.text(compiled.name),
                author=FILE_AUTHOR,
                comment="edited on disk",
            )
            if new:
                recorded.append(version)
        return SyncReport(recorded, errors)


def _write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` by ``text`` at once. The file keeps its mode; a new one gets the
    umask's, as any file the admin makes (not the 0600 of ``mkstemp``)."""
    tmp = path.parent / f".{path.name}.{secrets.token_hex(8)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask applies
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        if path.exists():
            os.chmod(tmp, stat.S_IMODE(path.stat().st_mode))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


__all__ = ["MappingAdmin", "MappingFileInvalid", "MappingNameMismatchError", "SyncReport"]
