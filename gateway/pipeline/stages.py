"""The per-record stages before the store: validate, map, and prepare for identity resolution.

A :class:`RecordDecoder` turns one record (an XML element out of the streaming parser, or a
JSON object) into an :class:`~gateway.store.profiles.IncomingRecord`, or into a
:class:`Refusal` naming the stage that failed and the errors. It does no I/O: the runner
decides what is stored, and the quarantine re-runs refused records through a fresh decoder
(the *current* mapping).

The raw record is kept as text (the element serialised, or the JSON object) because that is
what the source record and the quarantine store, and what a retry parses again.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, cast

from lxml import etree

from gateway.errors import GatewayError, ModelError, SchemaValidationError, ValidationIssue
from gateway.mapping.compiler import CompiledMapping
from gateway.mapping.record import FieldWarning, MappedRecord, Operation, RunValues
from gateway.model import Profile, from_dict
from gateway.model.xmlcodec import profile_from_element, profile_to_element
from gateway.pipeline.outcome import Stage
from gateway.privacy.trust import IdentifierTrust
from gateway.store.profiles import IncomingRecord, prepare_record
from gateway.xml.schemas import Validator

#: "json": a canonical profile; "row": a CSV or SQL row (mapped), kept as a JSON object.
RecordFormat = Literal["xml", "json", "row"]


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a record cannot go further."""

    stage: Stage
    code: str
    errors: tuple[ValidationIssue, ...]

    @classmethod
    def of(cls, stage: Stage, exc: GatewayError, line: int | None) -> Refusal:
        if isinstance(exc, SchemaValidationError):
            return cls(stage, exc.code, tuple(exc.issues))
        path = getattr(exc, "path", None) or getattr(exc, "field", None)
        return cls(stage, exc.code, (ValidationIssue(line, None, path, exc.message),))


@dataclass(frozen=True, slots=True)
class Decoded:
    """One record after the stages: ``incoming`` to store, or ``refusal``; or, when the
    mapping chose so, a record to skip or one whose person to erase (``erase_key``: its key in
    the batch's source system)."""

    index: int
    line: int | None
    raw: str
    format: RecordFormat
    incoming: IncomingRecord | None = None
    refusal: Refusal | None = None
    operation: Operation = Operation.UPSERT
    reason: str | None = None
    warnings: tuple[FieldWarning, ...] = ()
    erase_key: str | None = None


REJECTED_BY_MAPPING = "record_rejected"


class RecordDecoder:
    """Validate, map and prepare the records of one source system.

    :param validator: the record schema's validator; None when no schema is registered for the
        record's namespace (a partner format validated elsewhere).
    :param identifier_trust: the identifier screen of the source's records (a partner asserts
        its own namespace only): applied to every mapped profile before it is prepared for
        identity resolution, so a foreign key never reaches matching. None: not screened.
    :param mapping: the inbound mapping for XML records (``cpex-in`` for CPEX); None decodes CPEX
        with the model's codec (:func:`~gateway.model.xmlcodec.profile_from_element`). JSON
        records are canonical profiles, validated as CPEX after decoding.
    """

    def __init__(
        self,
        *,
        source_system: str,
        actor: str,
        mapping: CompiledMapping | None,
        validator: Validator | None,
        profile_validator: Validator,
        received_at: datetime | None = None,
        run: RunValues | None = None,
        identifier_trust: IdentifierTrust | None = None,
    ) -> None:
        self.source_system = source_system
        self.identifier_trust = identifier_trust
        self.actor = actor
        self.mapping = mapping
        self.validator = validator
        self.profile_validator = profile_validator
        self.received_at = received_at
        self.run = run or RunValues(source_system=source_system)

    def element(self, element: etree._Element, index: int) -> Decoded:
        """An XML record: validate against its schema, then map it."""
        line = cast("int | None", element.sourceline)  # the stubs leave it untyped
        raw = etree.tostring(element, encoding="unicode")
        if self.validator is not None:
            issues = self.validator.issues(element)
            if issues:
                return Decoded(index, line, raw, "xml", refusal=_schema_refusal(issues))
        try:
            if self.mapping is None:
                mapped = MappedRecord(Operation.UPSERT, profile_from_element(element))
            else:
                mapped = self.mapping.apply(element, self.run)
        except GatewayError as exc:
            return Decoded(index, line, raw, "xml", refusal=Refusal.of("map", exc, line))
        if mapped.operation is not Operation.UPSERT:
            return self._operation(mapped, index, line, raw, "xml")
        return self._prepared(mapped.output, index, line, raw, "xml", mapped.warnings)

    def document(self, data: Any, index: int) -> Decoded:
        """A JSON record (a canonical profile): decode it, then validate it as CPEX XML, so
        JSON and XML senders are held to the same rules."""
        raw = json.dumps(data, ensure_ascii=False, sort_keys=True, default=str)
        try:
            profile = from_dict(Profile, data)
        except GatewayError as exc:
            return Decoded(index, None, raw, "json", refusal=Refusal.of("map", exc, None))
        return self._checked(profile, index, None, raw, "json")

    def row(self, data: Mapping[str, Any], index: int, line: int | None = None) -> Decoded:
        """A CSV or SQL row: map it with the batch's mapping, then validate the profile as CPEX
        XML (rows have no schema of their own). Kept raw as JSON for the quarantine."""
        raw = json.dumps(data, ensure_ascii=False, sort_keys=True, default=str)
        if self.mapping is None:
            exc = ModelError("rows need a mapping (a CSV or SQL mapping file)")
            return Decoded(index, line, raw, "row", refusal=Refusal.of("map", exc, line))
        if not isinstance(data, Mapping):
            exc = ModelError(f"record {index} is not an object of named fields")
            return Decoded(index, line, raw, "row", refusal=Refusal.of("map", exc, line))
        try:
            mapped = self.mapping.apply(dict(data), self.run)
        except GatewayError as exc:
            return Decoded(index, line, raw, "row", refusal=Refusal.of("map", exc, line))
        if mapped.operation is not Operation.UPSERT:
            return self._operation(mapped, index, line, raw, "row")
        return self._checked(mapped.output, index, line, raw, "row", mapped.warnings)

    def _operation(
        self, mapped: MappedRecord, index: int, line: int | None, raw: str, fmt: RecordFormat
    ) -> Decoded:
        """A record the mapping skips, rejects or erases."""
        if mapped.operation is Operation.REJECT:
            issue = ValidationIssue(line, None, None, f"rejected by the mapping: {mapped.reason}")
            refusal = Refusal("map", REJECTED_BY_MAPPING, (issue,))
            return Decoded(index, line, raw, fmt, refusal=refusal, operation=Operation.REJECT,
                           reason=mapped.reason)
        if mapped.operation is Operation.SKIP:
            return Decoded(index, line, raw, fmt, operation=Operation.SKIP, reason=mapped.reason)
        profile: Profile = mapped.output
        keys = [i.key for i in profile.identifiers if i.system == self.source_system]
        if not keys:
            exc = ModelError(f"an erase record needs its identifier for source system "
                             f"'{self.source_system}'", path="Profile.identifiers")
            return Decoded(index, line, raw, fmt, refusal=Refusal.of("map", exc, line))
        return Decoded(index, line, raw, fmt, operation=Operation.ERASE, reason=mapped.reason,
                       warnings=mapped.warnings, erase_key=keys[0])

    def _checked(
        self, profile: Profile, index: int, line: int | None, raw: str, fmt: RecordFormat,
        warnings: tuple[FieldWarning, ...] = (),
    ) -> Decoded:
        """A profile decoded from a record without a schema of its own (JSON, rows), validated
        as CPEX XML: every sender is held to the same rules."""
        try:
            issues = self.profile_validator.issues(profile_to_element(profile))
        except GatewayError as exc:
            return Decoded(index, line, raw, fmt, refusal=Refusal.of("validate", exc, line))
        if issues:
            return Decoded(index, line, raw, fmt, refusal=_schema_refusal(issues))
        return self._prepared(profile, index, line, raw, fmt, warnings)

    def _prepared(
        self, profile: Profile, index: int, line: int | None, raw: str, fmt: RecordFormat,
        warnings: tuple[FieldWarning, ...] = (),
    ) -> Decoded:
        if self.identifier_trust is not None:
            try:
                profile = self.identifier_trust.screen(profile)
            except GatewayError as exc:
                return Decoded(index, line, raw, fmt, refusal=Refusal.of("validate", exc, line))
        try:
            incoming = prepare_record(
                profile, self.source_system, raw, self.received_at, self.actor
            )
        except GatewayError as exc:
            return Decoded(index, line, raw, fmt, refusal=Refusal.of("map", exc, line))
        return Decoded(index, line, raw, fmt, incoming=incoming, warnings=warnings)


def _schema_refusal(issues: list[ValidationIssue]) -> Refusal:
    return Refusal("validate", SchemaValidationError.code, tuple(issues))
