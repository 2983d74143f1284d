"""Import a CPEX batch file into the CRM base, one record at a time.

The batch is streamed (``iter_records``), so a large file costs constant memory. Each Profile
record is validated on its own against the profile schema, turned into a canonical profile and
stored in its own transaction: valid records are stored even when others are rejected, and a
rejected record is reported with its index, line and errors.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from lxml import etree

from gateway.errors import GatewayError, SchemaValidationError, ValidationIssue
from gateway.model.namespaces import CPEX_EXCHANGE_NS, CPEX_PROFILE_NS
from gateway.model.xmlcodec import profile_from_element
from gateway.runtime import Gateway
from gateway.store.profiles import ProfileStore
from gateway.xml.parser import iter_records
from gateway.xml.schemas import Validator

PROFILE_TAG = f"{{{CPEX_PROFILE_NS}}}Profile"
HEADER_TAG = f"{{{CPEX_EXCHANGE_NS}}}Header"
SENDER_TAG = f"{{{CPEX_EXCHANGE_NS}}}Sender"


class ImportSourceError(GatewayError):
    code = "no_source_system"

    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__(
            f"{path}: no source system: the envelope header has no Sender; pass --source NAME"
        )


@dataclass(frozen=True, slots=True)
class RecordOutcome:
    index: int  # 1-based position of the record in the batch
    status: str  # created | updated | unchanged | rejected
    golden_id: str | None = None
    line: int | None = None
    errors: tuple[ValidationIssue, ...] = ()
    code: str | None = None  # of the error that rejected the record (GatewayError.code)


@dataclass
class ImportReport:
    source: str
    outcomes: list[RecordOutcome] = field(default_factory=list)

    @property
    def counts(self) -> Counter[str]:
        return Counter(o.status for o in self.outcomes)

    @property
    def rejected(self) -> list[RecordOutcome]:
        return [o for o in self.outcomes if o.status == "rejected"]


def read_sender(gateway: Gateway, path: str | os.PathLike[str]) -> str | None:
    """The ``Sender`` of a batch file's envelope header (read without loading the batch)."""
    for header in iter_records(path, HEADER_TAG, limits=gateway.xml_limits):
        sender = header.findtext(SENDER_TAG)
        return sender.strip() if sender else None
    return None


def import_batch(
    gateway: Gateway,
    path: str | os.PathLike[str],
    *,
    source_system: str | None = None,
    on_record: Callable[[RecordOutcome], None] | None = None,
) -> ImportReport:
    """Store the valid profiles of a CPEX batch file; report every record's outcome.

    ``source_system`` defaults to the envelope header's ``Sender``. Each record's key in that
    system is its identifier whose ``system`` is the source system.
    """
    source_system = source_system or read_sender(gateway, path)
    if not source_system:
        raise ImportSourceError(path)
    store = ProfileStore(gateway.engine)
    validator = gateway.schemas.validator(CPEX_PROFILE_NS)
    report = ImportReport(source=str(path))
    for index, element in _numbered(iter_records(path, PROFILE_TAG, limits=gateway.xml_limits)):
        outcome = import_record(store, validator, element, index, source_system, str(path))
        report.outcomes.append(outcome)
        if on_record is not None:
            on_record(outcome)
    return report


def _numbered(records: Iterator[etree._Element]) -> Iterator[tuple[int, etree._Element]]:
    return enumerate(records, start=1)


def import_record(
    store: ProfileStore,
    validator: Validator,
    element: etree._Element,
    index: int,
    source_system: str,
    source: str,
    *,
    actor: str = "import",
) -> RecordOutcome:
    """Validate, decode and store one Profile record; every failure becomes a rejected outcome.

    Shared by file imports and the partner exchange (SubmitProfiles, REST upsert), so both
    accept and reject records by the same rules. ``actor`` is written to the audit log.
    """
    line = element.sourceline
    issues = validator.issues(element)
    try:
        if issues:
            raise SchemaValidationError(issues, source=source)
        profile = profile_from_element(element)
        raw = etree.tostring(element, encoding="unicode")
        saved = store.save_source_profile(
            profile, source_system=source_system, raw=raw, actor=actor
        )
    except SchemaValidationError as exc:
        return RecordOutcome(
            index, "rejected", line=line, errors=tuple(exc.issues), code=exc.code
        )
    except GatewayError as exc:
        path = getattr(exc, "path", None)
        issue = ValidationIssue(line=line, column=None, path=path, message=str(exc))
        return RecordOutcome(index, "rejected", line=line, errors=(issue,), code=exc.code)
    return RecordOutcome(index, saved.outcome, golden_id=saved.golden_id, line=line)
