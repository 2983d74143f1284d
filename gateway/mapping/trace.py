"""What ``preview`` reports: the per-field trace and the problems found, nothing stored or sent.

The trace shows an admin, field by field, where a value came from (the source path or column),
which transforms it went through with the value after each, and what was written. It holds
record values by design: it is shown to the admin who supplied the sample, and never logged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gateway.mapping.record import FieldWarning


@dataclass(frozen=True, slots=True)
class FieldTrace:
    """One target field of one record: ``addresses[1].city <- c:City | trim -> 'Berlin'``."""

    target: str
    source: str | None  # the path or column; None for a constant
    raw: Any  # what the source gave (or the constant)
    steps: tuple[tuple[str, Any], ...] = ()  # (transform, value after it)
    value: Any = None  # what was written (None: nothing, the field is left out)
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "source": self.source,
            "raw": _plain(self.raw),
            "steps": [{"transform": name, "value": _plain(v)} for name, v in self.steps],
            "value": _plain(self.value),
            "error": self.error,
        }

    def __str__(self) -> str:
        chain = "".join(f" | {name} -> {_plain(v)!r}" for name, v in self.steps)
        origin = self.source if self.source is not None else "(value)"
        result = f"ERROR {self.error}" if self.error else repr(_plain(self.value))
        return f"{self.target} <- {origin} = {_plain(self.raw)!r}{chain} => {result}"


@dataclass(frozen=True, slots=True)
class PreviewIssue:
    """A problem found by a preview: ``mapping`` (a field failed), ``model`` (the result is
    not a valid canonical profile) or ``schema`` (the output breaks the target XSD)."""

    kind: str
    message: str
    field: str | None = None
    line: int | None = None
    column: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "message": self.message, "field": self.field,
                "line": self.line, "column": self.column}

    def __str__(self) -> str:
        where = f" (line {self.line})" if self.line else ""
        return f"{self.kind}: {self.message}{where}"


@dataclass(slots=True)
class PreviewResult:
    """A previewed record: its output, trace and problems, the operation the mapping chose
    (``upsert``, ``erase``, ``skip``, ``reject``) with its reason, and the warnings of fields
    that failed under ``drop_field`` or ``keep_raw``."""

    output: Any
    trace: list[FieldTrace] = field(default_factory=list)
    errors: list[PreviewIssue] = field(default_factory=list)
    operation: str = "upsert"
    reason: str | None = None
    warnings: list[FieldWarning] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_dict(self, jsonable: Callable[[Any], Any]) -> dict[str, Any]:
        """The report as JSON shows it; ``jsonable`` makes the output JSON-ready (the
        mapping's writer knows how)."""
        return {
            "operation": self.operation,
            "reason": self.reason,
            "output": None if self.output is None else jsonable(self.output),
            "errors": [e.to_dict() for e in self.errors],
            "warnings": [w.to_dict() for w in self.warnings],
            "trace": [t.to_dict() for t in self.trace],
        }


def _plain(value: Any) -> Any:
    """Values as JSON shows them (decimals and dates as texts)."""
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    return str(value)
