"""The CPEX exchange envelope (``urn:cpex:exchange:1.0``): typed objects and their XML codec.

An :class:`Envelope` is a :class:`Header` plus exactly one body: a :class:`Batch` of profiles to
upsert, a :class:`Query`, an :class:`Erase` request, an :class:`Acknowledgement` (one
:class:`RecordResult` per request record) or a :class:`QueryResult`. The header's operation must
agree with the body (:data:`BODY_OPERATION`); XSD 1.0 cannot say that, so the codec checks it.
Profiles inside are written and read by :mod:`gateway.model.xmlcodec`, with the same tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from gateway.errors import ModelError
from gateway.model.namespaces import (
    CPEX_EXCHANGE_NS,
    CPEX_EXCHANGE_PREFIX,
    CPEX_PROFILE_NS,
    CPEX_PROFILE_PREFIX,
)
from gateway.model.profile import Identifier, Profile
from gateway.model.xmlcodec import (
    DATETIME,
    IDENTIFIER,
    INT,
    PROFILE,
    PROFILE_TAG,
    TEXT,
    Attr,
    Child,
    Choice,
    Element,
    Item,
    Many,
    Record,
    Text,
    element_path,
    enum_scalar,
    to_document,
)

__all__ = [
    "BODY_OPERATION",
    "ENVELOPE_TAG",
    "Acknowledgement",
    "Batch",
    "Body",
    "Envelope",
    "Erase",
    "Header",
    "Operation",
    "ProfileRef",
    "Query",
    "QueryResult",
    "RecordError",
    "RecordResult",
    "ResultStatus",
    "envelope_from_element",
    "envelope_to_bytes",
    "envelope_to_element",
]


class Operation(StrEnum):
    UPSERT = "upsert"
    QUERY = "query"
    ERASE = "erase"
    ACK = "ack"


class ResultStatus(StrEnum):
    """What became of one request record."""

    CREATED = "created"
    UPDATED = "updated"
    MERGED = "merged"
    UNCHANGED = "unchanged"
    REVIEW = "review"
    REJECTED = "rejected"
    ERASED = "erased"
    SKIPPED = "skipped"
    FOUND = "found"
    NOT_FOUND = "not-found"


@dataclass(frozen=True, slots=True)
class Header:
    message_id: str
    sender: str
    recipient: str
    timestamp: datetime
    operation: Operation
    correlation_id: str | None = None  # in an answer: the message id of the request


@dataclass(frozen=True, slots=True)
class Batch:
    """Profiles to create or update (operation upsert)."""

    profiles: tuple[Profile, ...]


@dataclass(frozen=True, slots=True)
class Query:
    """Profiles matching all the given criteria (at least one is required)."""

    profile_id: str | None = None
    identifier: Identifier | None = None
    email: str | None = None
    phone: str | None = None
    family_name: str | None = None
    postal_code: str | None = None
    max_results: int | None = None


@dataclass(frozen=True, slots=True)
class ProfileRef:
    """One profile, by golden id or by a source system's key (exactly one of them)."""

    profile_id: str | None = None
    identifier: Identifier | None = None


@dataclass(frozen=True, slots=True)
class Erase:
    refs: tuple[ProfileRef, ...]


@dataclass(frozen=True, slots=True)
class RecordError:
    """Why a record was rejected or sent to review; ``message`` names fields, never values."""

    code: str
    message: str
    path: str | None = None
    line: int | None = None


@dataclass(frozen=True, slots=True)
class RecordResult:
    index: int  # position of the record in the request, from 1
    status: ResultStatus
    profile_id: str | None = None
    errors: tuple[RecordError, ...] = ()


@dataclass(frozen=True, slots=True)
class Acknowledgement:
    results: tuple[RecordResult, ...]


@dataclass(frozen=True, slots=True)
class QueryResult:
    profiles: tuple[Profile, ...] = ()


Body = Batch | Query | Erase | Acknowledgement | QueryResult


@dataclass(frozen=True, slots=True)
class Envelope:
    header: Header
    body: Body


#: The operation a header must name for each kind of body.
BODY_OPERATION: dict[type, Operation] = {
    Batch: Operation.UPSERT,
    Query: Operation.QUERY,
    Erase: Operation.ERASE,
    Acknowledgement: Operation.ACK,
    QueryResult: Operation.ACK,
}


# --- codec tables --------------------------------------------------------------------------------


def _q(name: str) -> str:
    return f"{{{CPEX_EXCHANGE_NS}}}{name}"


def _children(*fields: tuple[str, str, Item]) -> tuple[Child, ...]:
    return tuple(Child(_q(tag), field, item) for tag, field, item in fields)


ENVELOPE_TAG = _q("Envelope")
NSMAP = {CPEX_EXCHANGE_PREFIX: CPEX_EXCHANGE_NS, CPEX_PROFILE_PREFIX: CPEX_PROFILE_NS}

HEADER = Record(Header, *_children(
    ("MessageId", "message_id", TEXT),
    ("Sender", "sender", TEXT),
    ("Recipient", "recipient", TEXT),
    ("Timestamp", "timestamp", DATETIME),
    ("Operation", "operation", enum_scalar(Operation)),
    ("CorrelationId", "correlation_id", TEXT),
))
BATCH = Record(Batch, Many(PROFILE_TAG, "profiles", PROFILE))
QUERY = Record(Query, *_children(
    ("ProfileId", "profile_id", TEXT),
    ("Identifier", "identifier", IDENTIFIER),
    ("Email", "email", TEXT),
    ("Phone", "phone", TEXT),
    ("FamilyName", "family_name", TEXT),
    ("PostalCode", "postal_code", TEXT),
    ("MaxResults", "max_results", INT),
))
PROFILE_REF = Record(
    ProfileRef,
    *_children(("ProfileId", "profile_id", TEXT), ("Identifier", "identifier", IDENTIFIER)),
    one_of=("profile_id", "identifier"),
)
ERASE = Record(Erase, Many(_q("ProfileRef"), "refs", PROFILE_REF))
RECORD_ERROR = Record(
    RecordError, Attr("code", "code"), Attr("path", "path"), Attr("line", "line", INT),
    Text("message"),
)
RECORD_RESULT = Record(
    RecordResult,
    Attr("index", "index", INT),
    Attr("status", "status", enum_scalar(ResultStatus)),
    Child(_q("ProfileId"), "profile_id"),
    Many(_q("Error"), "errors", RECORD_ERROR),
)
ACKNOWLEDGEMENT = Record(Acknowledgement, Many(_q("Result"), "results", RECORD_RESULT))
QUERY_RESULT = Record(QueryResult, Many(PROFILE_TAG, "profiles", PROFILE))
ENVELOPE = Record(
    Envelope,
    Child(_q("Header"), "header", HEADER),
    Choice("body", {
        _q("Batch"): BATCH,
        _q("Query"): QUERY,
        _q("Erase"): ERASE,
        _q("Acknowledgement"): ACKNOWLEDGEMENT,
        _q("QueryResult"): QUERY_RESULT,
    }, wrapper=_q("Body")),
)

#: Every record of the exchange format (tests check that each covers all its model's fields).
ENVELOPE_RECORDS: tuple[Record[Any], ...] = (
    HEADER, BATCH, QUERY, PROFILE_REF, ERASE, RECORD_ERROR, RECORD_RESULT, ACKNOWLEDGEMENT,
    QUERY_RESULT, ENVELOPE,
)


def envelope_to_element(envelope: Envelope) -> Element:
    """An ``ex:Envelope`` root element (declaring the ``ex`` and ``cpex`` prefixes).

    :raises ModelError: when the header's operation does not fit the body, or a value cannot be
        written.
    """
    root = ENVELOPE.build(ENVELOPE_TAG, envelope, nsmap=NSMAP)
    _check_operation(envelope, root)
    return root


def envelope_from_element(element: Element) -> Envelope:
    """The envelope held by an ``ex:Envelope`` element.

    :raises ModelError: with the element path of the first thing that cannot be converted.
    """
    if element.tag != ENVELOPE_TAG:
        raise ModelError(
            f"expected an Envelope element in namespace {CPEX_EXCHANGE_NS}",
            path=element_path(element),
        )
    envelope = ENVELOPE.take(element)
    _check_operation(envelope, element)
    return envelope


def envelope_to_bytes(envelope: Envelope, *, pretty: bool = False) -> bytes:
    """A UTF-8 document holding the envelope."""
    return to_document(envelope_to_element(envelope), pretty=pretty)


def _check_operation(envelope: Envelope, root: Element) -> None:
    expected = BODY_OPERATION[type(envelope.body)]
    if envelope.header.operation is not expected:
        raise ModelError(
            f"operation '{envelope.header.operation}' does not fit a "
            f"{type(envelope.body).__name__} body (expected '{expected}')",
            path=element_path(root) + "/Header/Operation",
        )
