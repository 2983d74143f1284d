"""The one place answers to partners are built: acknowledgements and query results.

Every answer has the same header: a new message id, the gateway as sender, the partner's system
as recipient, operation ``ack`` and the request's message id as correlation id. Record errors are
cut to what the exchange schema allows, so an answer always validates.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

from gateway.errors import ValidationIssue
from gateway.model import Profile
from gateway.model.envelope import (
    Acknowledgement,
    Body,
    Envelope,
    Header,
    Operation,
    QueryResult,
    RecordError,
    RecordResult,
    ResultStatus,
)

#: The gateway's system code in envelope headers (the samples' ``Recipient``).
GATEWAY_SENDER = "gateway"
_MAX_MESSAGE = 2000
_MAX_PATH = 512


def new_message_id() -> str:
    return f"gw-{uuid.uuid4().hex}"


def reply(
    request: Header, body: Body, *, now: datetime, message_id: str | None = None
) -> Envelope:
    """The answer envelope to ``request`` carrying ``body`` (``message_id``: chosen beforehand,
    when the audit log must name the answer's id before it is built)."""
    header = Header(
        message_id=message_id or new_message_id(),
        sender=GATEWAY_SENDER,
        recipient=request.sender,
        timestamp=now,
        operation=Operation.ACK,
        correlation_id=request.message_id,
    )
    return Envelope(header, body)


def acknowledgement(results: Iterable[RecordResult]) -> Acknowledgement:
    return Acknowledgement(tuple(results))


def query_result(profiles: Iterable[Profile]) -> QueryResult:
    return QueryResult(tuple(profiles))


def record_result(
    index: int,
    status: ResultStatus,
    *,
    profile_id: str | None = None,
    code: str | None = None,
    issues: Iterable[ValidationIssue] = (),
) -> RecordResult:
    """One record's result; ``code`` and ``issues`` become its errors (a message each)."""
    errors = tuple(
        RecordError(
            code=code or "rejected",
            message=(issue.message or "rejected")[:_MAX_MESSAGE],
            path=issue.path[:_MAX_PATH] if issue.path else None,
            line=issue.line if issue.line and issue.line > 0 else None,
        )
        for issue in issues
    )
    return RecordResult(index=index, status=status, profile_id=profile_id, errors=errors)


def record_error(index: int, status: ResultStatus, code: str, message: str) -> RecordResult:
    """A result with one error that has no place in a document (not found, not entitled)."""
    return record_result(
        index, status, code=code, issues=(ValidationIssue(None, None, None, message),)
    )
