"""Code lists: tables that translate one system's codes into another's (``M`` -> ``male``).

A code list is written inline in a mapping file or kept as a CSV file under the mappings folder
(``codes/*.csv``) when several mappings share it. Each declares what happens to a code that is
not in the table, because that is a business decision, not a technical one: ``error`` (the
record fails and goes to quarantine), ``keep`` (the code passes unchanged) or ``default`` (a
declared value replaces it).
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from gateway.mapping.spec import CodeListSpec, Pos, Unknown


class UnknownCode(ValueError):
    """A code is not in a code list whose policy is ``error``."""


@dataclass(frozen=True, slots=True)
class CodeList:
    """A compiled code list: one dict lookup per value."""

    name: str
    table: Mapping[str, str]
    unknown: Unknown = "error"
    default: str | None = None

    def lookup(self, code: str) -> str:
        found = self.table.get(code)
        if found is not None:
            return found
        if self.unknown == "keep":
            return code
        if self.unknown == "default" and self.default is not None:
            return self.default
        raise UnknownCode(f"code is not in code list '{self.name}'")

    def reversed(self) -> CodeList:
        """The same list read the other way (for outbound mappings); the first code wins."""
        table: dict[str, str] = {}
        for code, value in self.table.items():
            table.setdefault(value, code)
        return CodeList(self.name, table, self.unknown, self.default)


def load_code_list(spec: CodeListSpec, folder: Path) -> CodeList:
    """Build a code list from its spec; a CSV file is read relative to the mapping's folder.

    :raises MappingError: at the ``file`` key when the file is missing, outside the mappings
        folder, or lacks the named columns.
    """
    if spec.values is not None:
        return CodeList(spec.name, dict(spec.values), spec.unknown, spec.default)
    assert spec.file is not None
    pos = spec.file.pos
    path = (folder / spec.file.value).resolve()
    if not path.is_relative_to(folder.resolve()):
        raise pos.error(f"code list file '{spec.file.value}' is outside the mappings folder")
    if not path.is_file():
        raise pos.error(f"code list file '{spec.file.value}' does not exist")
    return CodeList(spec.name, _read_csv(path, spec, pos), spec.unknown, spec.default)


def _read_csv(path: Path, spec: CodeListSpec, pos: Pos) -> dict[str, str]:
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        header = reader.fieldnames or []
        for column in (spec.from_column, spec.to_column):
            if column not in header:
                raise pos.error(f"code list file '{path.name}' has no column '{column}' "
                                  f"(it has: {', '.join(header)})")
        return {row[spec.from_column]: row[spec.to_column] for row in reader}

