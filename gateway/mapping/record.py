"""What one record's mapping knows besides the record, and what it says back besides the output.

A mapping may read *run-time values* (``runtime: import_time``): facts of the batch a record
came in, not of the record. It may choose the record's *operation* (upsert, erase, skip or
reject with a reason). A field whose failure policy is ``drop_field`` or ``keep_raw`` leaves a
*warning* instead of failing the record. :class:`MappedRecord` carries all three out of
:meth:`CompiledMapping.apply <gateway.mapping.compiler.CompiledMapping.apply>`.

While a record is mapped, :data:`CURRENT` holds its :class:`RecordState`: the root context and
the context of the field being mapped (for transforms that read another field of the same
record, such as ``phone``'s ``region_from``), the run-time values and the warnings so far. A
context variable rather than an argument: compiled plans are shared by every thread that maps,
and most fields never look at it.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal


class Operation(StrEnum):
    """What a record asks for."""

    UPSERT = "upsert"
    ERASE = "erase"
    SKIP = "skip"
    REJECT = "reject"


FailurePolicy = Literal["reject_record", "drop_field", "keep_raw"]
#: What a warning reports: a field failed under a policy, or an undeclared custom attribute.
WarningKind = Literal["drop_field", "keep_raw", "undeclared"]
FAILURE_POLICIES: tuple[str, ...] = ("reject_record", "drop_field", "keep_raw")

RuntimeName = Literal[
    "import_time", "import_date", "message_id", "source_system", "file_name", "partner_id"
]
RUNTIME_NAMES: tuple[str, ...] = (
    "import_time",
    "import_date",
    "message_id",
    "source_system",
    "file_name",
    "partner_id",
)


@dataclass(frozen=True, slots=True)
class RunValues:
    """The facts of one batch a mapping may read (``runtime: NAME``)."""

    import_time: datetime = field(default_factory=lambda: datetime.now(UTC))
    message_id: str | None = None
    source_system: str | None = None
    file_name: str | None = None
    partner_id: str | None = None

    def get(self, name: str) -> str | None:
        """The value as text (times in ISO 8601 with their offset), or None when not known."""
        if name == "import_time":
            return self.import_time.isoformat()
        if name == "import_date":
            return self.import_time.date().isoformat()
        value: str | None = getattr(self, name)
        return value


@dataclass(frozen=True, slots=True)
class FieldWarning:
    """A field that failed and was dropped or kept as received (no value: names only)."""

    field: str
    source: str | None
    policy: FailurePolicy | WarningKind
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "source": self.source,
            "policy": self.policy,
            "reason": self.reason,
        }

    def __str__(self) -> str:
        done = {"keep_raw": "kept as received", "undeclared": "stored"}.get(self.policy,
                                                                            "left out")
        origin = f" (from {self.source})" if self.source else ""
        return f"{self.field}{origin}: {done}: {self.reason}"


@dataclass(frozen=True, slots=True)
class MappedRecord:
    """One record mapped: the operation, the output (None for skip and reject), the reason of a
    skip or reject (and of an erase when the mapping gives one), and the field warnings."""

    operation: Operation
    output: Any
    reason: str | None = None
    warnings: tuple[FieldWarning, ...] = ()


class RecordState:
    """The record being mapped (see the module doc)."""

    __slots__ = ("item", "lenient", "root", "run", "warnings")

    def __init__(self, root: Any, run: RunValues | None, *, lenient: bool = False) -> None:
        self.root = root
        self.item = root  # the context of the field being mapped (a group's item)
        self.run = run
        self.warnings: list[FieldWarning] = []
        self.lenient = lenient  # every field failure drops the field (an erase record)


CURRENT: ContextVar[RecordState | None] = ContextVar("cpex_mapping_record", default=None)


def current() -> RecordState:
    """The record being mapped.

    :raises RuntimeError: outside a mapping run (a bug: plans are only run by a mapping).
    """
    state = CURRENT.get()
    if state is None:
        raise RuntimeError("no record is being mapped")
    return state
