"""What became of each inbound record, and of a whole batch.

A batch report keeps the counts of every outcome and the rejected records; it keeps the full
list of outcomes only when asked (``keep_outcomes``): a million-record file must not hold a
million result objects in memory.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

from gateway.errors import ValidationIssue
from gateway.mapping.record import FieldWarning

Status = Literal["created", "updated", "merged", "unchanged", "review", "rejected", "skipped",
                 "erased"]
Stage = Literal["parse", "validate", "map", "store"]
STATUSES: tuple[Status, ...] = ("created", "updated", "merged", "unchanged", "review", "rejected",
                                "skipped", "erased")

# Results kept in a stored acknowledgement of a big file: beyond this, only rejected and review
# results (and the counts) are kept, so the ledger row stays small.
MAX_STORED_RESULTS = 10_000


@dataclass(frozen=True, slots=True)
class RecordOutcome:
    """One input record's fate. ``index`` is its 1-based position in the batch."""

    index: int
    status: Status
    golden_id: str | None = None
    line: int | None = None
    errors: tuple[ValidationIssue, ...] = ()
    code: str | None = None  # GatewayError.code of the refusal, for a rejected record
    stage: Stage | None = None  # the stage that refused it
    quarantine_id: int | None = None
    review_ids: tuple[int, ...] = ()
    reason: str | None = None  # why the mapping skipped, rejected or erased the record
    warnings: tuple[FieldWarning, ...] = ()  # fields dropped or kept raw by their policy

    def to_dict(self) -> dict[str, Any]:
        """The JSON result of the record (no personal data: ids, codes, paths, messages)."""
        out: dict[str, Any] = {"index": self.index, "status": self.status}
        if self.golden_id is not None:
            out["id"] = self.golden_id
        if self.status == "rejected":
            out.update(code=self.code, stage=self.stage, quarantine_id=self.quarantine_id)
            out["errors"] = [issue.to_dict() for issue in self.errors]
        if self.review_ids:
            out["review_ids"] = list(self.review_ids)
        if self.reason is not None:
            out["reason"] = self.reason
        if self.warnings:
            out["warnings"] = [w.to_dict() for w in self.warnings]
        return out


@dataclass
class BatchReport:
    """A batch's outcome. ``replayed`` is true when its message id was processed before and
    this is the stored acknowledgement (nothing was changed this time)."""

    source: str
    message_id: str | None = None
    keep_outcomes: bool = True
    outcomes: list[RecordOutcome] = field(default_factory=list)
    rejected: list[RecordOutcome] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    # skipped and rejected records by the mapping's reason (``operations``), for the report
    reasons: Counter[str] = field(default_factory=Counter)
    replayed: bool = False
    stored: dict[str, Any] | None = None  # the stored acknowledgement of a replay

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def add(self, outcome: RecordOutcome) -> None:
        self.counts[outcome.status] += 1
        if outcome.reason is not None and outcome.status in ("skipped", "rejected"):
            self.reasons[f"{outcome.status}: {outcome.reason}"] += 1
        if outcome.status == "rejected":
            self.rejected.append(outcome)
        if self.keep_outcomes:
            self.outcomes.append(outcome)

    def acknowledgement(self) -> dict[str, Any]:
        """The answer to the sender: counts and one result per record (or, past
        :data:`MAX_STORED_RESULTS` or without kept outcomes, the rejected and review ones)."""
        if self.stored is not None:
            return self.stored
        complete = self.keep_outcomes and len(self.outcomes) <= MAX_STORED_RESULTS
        results = (
            self.outcomes
            if complete
            else [o for o in (self.outcomes or self.rejected) if o.status in ("rejected", "review")]
        )
        answer: dict[str, Any] = {
            "message_id": self.message_id,
            "records": self.total,
            "counts": {status: self.counts[status] for status in STATUSES},
            "complete": complete,
            "results": [o.to_dict() for o in results],
        }
        if self.reasons:
            answer["reasons"] = dict(sorted(self.reasons.items()))
        return answer
