"""The inbound partner exchange, the same for REST and SOAP: upsert, query, erase.

The web layers hand over the request body (or the envelope element out of a SOAP body) and the
partner the credentials belong to; they get back the answer envelope, already validated against
the exchange schema. In between:

1. parse with the hardened parser and validate the request against the exchange XSD;
2. authorise: the envelope's ``Sender`` is the partner's system and the partner may do the
   operation (else :class:`~gateway.errors.PermissionDeniedError`);
3. do it: upsert through the ingest pipeline like every other inbound source (the partner's
   ``inbound.mapping``, quarantine for a bad record while the others are stored, outbox events,
   and the message id: a batch sent again gets the stored answer and changes nothing), its
   identifiers screened first (:class:`~gateway.privacy.IdentifierTrust`: a partner asserts
   its own namespace only); query and erase in one transaction each, in which every
   disclosure and erasure writes its audit row. What a query shows is decided by trusted
   consents plus the partner's own records (:mod:`gateway.privacy.disclosure`); an erase
   removes the partner's own contribution (:mod:`gateway.delivery.partner_erasure`); a person the
   partner may not see and one who does not exist get the same answer;
4. build the answer (:mod:`gateway.exchange.replies`) and validate it before it leaves; for
   queries this happens inside the transaction, so an answer that cannot be sent leaves no
   disclosure recorded.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from lxml import etree
from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError

from gateway.delivery.partner_erasure import contributed, erase_contribution, erased_by
from gateway.errors import (
    ModelError,
    NotFoundError,
    PermissionDeniedError,
    SchemaValidationError,
    ValidationIssue,
)
from gateway.exchange.errors import BadRequestError
from gateway.exchange.finder import find_profiles, resolve_ref, shows_match
from gateway.exchange.replies import (
    acknowledgement,
    new_message_id,
    query_result,
    record_error,
    record_result,
    reply,
)
from gateway.exchange.rules import envelope_rule_issues
from gateway.model.envelope import (
    ENVELOPE_TAG,
    HEADER,
    Acknowledgement,
    Envelope,
    Erase,
    Header,
    Operation,
    ProfileRef,
    Query,
    RecordResult,
    ResultStatus,
    envelope_from_element,
    envelope_to_element,
)
from gateway.model.namespaces import CPEX_EXCHANGE_NS
from gateway.model.xmlcodec import PROFILE_TAG, element_path
from gateway.partners.spec import Operation as PartnerOperation
from gateway.partners.spec import PartnerSpec
from gateway.pipeline.runner import DEFAULT_MAPPING, Batch, Pipeline
from gateway.privacy import disclose_for_any, load_evidence, record_disclosure
from gateway.privacy.audit import record_refusal
from gateway.runtime import Gateway
from gateway.store.engine import store_error, write_transaction
from gateway.xml.parser import parse_bytes

log = logging.getLogger(__name__)

Element = etree._Element

_HEADER_TAG = f"{{{CPEX_EXCHANGE_NS}}}Header"
_BATCH_PATH = f"{{{CPEX_EXCHANGE_NS}}}Body/{{{CPEX_EXCHANGE_NS}}}Batch"

#: Which partner permission each request operation needs (``ack`` is an answer, never asked).
_NEEDS: dict[Operation, PartnerOperation] = {
    Operation.UPSERT: PartnerOperation.UPSERT,
    Operation.QUERY: PartnerOperation.QUERY,
    Operation.ERASE: PartnerOperation.ERASE,
}


@dataclass(frozen=True, slots=True)
class Request:
    """Who asks, through which channel (``rest``, ``soap.GetProfile``: written to the audit)."""

    partner: PartnerSpec
    channel: str
    expect_one: bool = False  # GetProfile: exactly one profile, else "unknown profile"


class ExchangeService:
    """Answers partner envelopes. One per app; holds no state between requests."""

    def __init__(self, gateway: Gateway) -> None:
        self._gateway = gateway

    # --- entry points -------------------------------------------------------------------

    def parse_request(self, body: bytes) -> Element:
        """The request envelope element, parsed (hardened) and valid against the exchange XSD.

        :raises XMLError: not well-formed, forbidden construct, too large, or a schema violation
            (:class:`SchemaValidationError`, with the path of each problem).
        """
        tree = parse_bytes(body, source="request body", limits=self._gateway.xml_limits)
        root = tree.getroot()
        self.validate_envelope(root, source="request body")
        return root

    def validate_envelope(self, element: Element, *, source: str) -> None:
        """Check that ``element`` is an ``ex:Envelope`` valid against the exchange XSD and the
        rules XSD 1.0 cannot state (:mod:`gateway.exchange.rules`: a Query needs a criterion).

        :raises SchemaValidationError: with the path (and line) of each problem.
        """
        if element.tag != ENVELOPE_TAG:
            raise ModelError(
                f"expected an Envelope element in namespace {CPEX_EXCHANGE_NS}",
                path=element_path(element),
            )
        entry = self._gateway.schemas.validate(
            element, source=source, namespace=CPEX_EXCHANGE_NS
        )
        issues = envelope_rule_issues(element)
        if issues:
            raise SchemaValidationError(issues, source=source, schema=entry.path.name)

    def handle(self, root: Element, request: Request, *, now: datetime | None = None) -> Element:
        """The validated answer (an ``ex:Envelope`` element) to a validated request envelope."""
        now = now or datetime.now(UTC)
        header_element = root.find(_HEADER_TAG)
        if header_element is None:  # the XSD requires it; guard for callers that skipped it
            raise ModelError("the envelope has no Header", path="/Envelope")
        header = HEADER.take(header_element)
        self._authorise(header, request.partner)
        batch = root.find(_BATCH_PATH)
        if batch is not None:
            if header.operation is not Operation.UPSERT:
                raise ModelError(
                    f"operation '{header.operation}' does not fit a Batch body (expected "
                    "'upsert')",
                    path="/Envelope/Header/Operation",
                )
            return self._seal(reply(header, self._upsert(batch, header, request), now=now))
        envelope = envelope_from_element(root)
        if isinstance(envelope.body, Query):
            return self._query(envelope.header, envelope.body, request, now)
        if isinstance(envelope.body, Erase):
            return self._seal(reply(header, self._erase(envelope.body, header, request, now),
                                    now=now))
        raise BadRequestError(
            f"operation '{header.operation}' is an answer, not a request: send upsert, query "
            "or erase"
        )

    # --- authorisation ------------------------------------------------------------------

    def _authorise(self, header: Header, partner: PartnerSpec) -> None:
        if header.sender != partner.system:
            raise PermissionDeniedError(
                f"envelope Sender '{header.sender}' is not the system of the credential's "
                f"partner ('{partner.system}')"
            )
        needed = _NEEDS.get(header.operation)
        if needed is not None and not partner.allows(needed):
            raise PermissionDeniedError(
                f"partner '{partner.id}' may not {needed} (allowed: "
                f"{', '.join(partner.operations) or 'nothing'})"
            )

    # --- operations ---------------------------------------------------------------------

    def _upsert(self, batch: Element, header: Header, request: Request) -> Acknowledgement:
        partner = request.partner
        mapping = partner.inbound.mapping if partner.inbound is not None else None
        pipeline = Pipeline(self._gateway, Batch(
            source_system=partner.system,
            source=f"message {header.message_id}",
            message_id=header.message_id,
            mapping=mapping or DEFAULT_MAPPING,
            actor=f"partner:{partner.id}",
            partner_id=partner.id,
            identifier_trust=partner.identifier_trust,
        ))
        report = pipeline.run_elements(batch.iterchildren(PROFILE_TAG))
        # The same answer whether the batch ran now or was answered from the message ledger.
        results = [_partner_result(r) for r in report.acknowledgement()["results"]]
        log.info("upsert %s from %s: %d records%s", header.message_id, partner.id, len(results),
                 " (sent before: stored answer)" if report.replayed else "")
        return acknowledgement(results)

    def _query(self, header: Header, query: Query, request: Request, now: datetime) -> Element:
        if request.expect_one and query.profile_id is None and query.identifier is None:
            raise BadRequestError("GetProfile needs a ProfileId or an Identifier")
        partner = request.partner
        message_id = new_message_id()
        sealed: Element | None = None
        try:
            with write_transaction(self._gateway.engine) as conn:
                found = find_profiles(conn, query)
                evidence = load_evidence(
                    conn, [p.id for p in found if p.id], self._consent_sources
                )
                shown = [
                    d for p in found
                    if (d := disclose_for_any(p, partner.policy, now, evidence[p.id or ""]))
                    .profile is not None and shows_match(d.profile, query)
                ]
                for disclosure in shown:
                    if disclosure.consented:
                        record_disclosure(
                            conn, disclosure, message_id=message_id, channel=request.channel,
                            at=now,
                        )
                if not shown:
                    # Absent and not visible get one answer; the operators count them apart.
                    record_refusal(
                        conn, partner.id, "query", reason="not_visible" if found else "absent",
                        message_id=header.message_id, at=now,
                    )
                if shown or not request.expect_one:
                    answer = query_result(d.profile for d in shown if d.profile is not None)
                    sealed = self._seal(reply(header, answer, now=now, message_id=message_id))
        except SQLAlchemyError as exc:
            raise store_error(f"answering query {header.message_id}", exc) from exc
        log.info(
            "query %s from %s: %d found, %d answered",
            header.message_id, partner.id, len(found), len(shown),
        )
        if sealed is None:
            # Withheld and absent look the same: a partner learns nothing of a person it may
            # not see, not even that the gateway knows them.
            raise NotFoundError("profile", _ref_label(query))
        return sealed

    def _erase(
        self, erase: Erase, header: Header, request: Request, now: datetime
    ) -> Acknowledgement:
        partner = request.partner
        results: list[RecordResult] = []
        try:
            with write_transaction(self._gateway.engine) as conn:
                for index, ref in enumerate(erase.refs, start=1):
                    results.append(self._erase_one(conn, index, ref, header, partner, now))
        except SQLAlchemyError as exc:
            raise store_error(f"erasing for message {header.message_id}", exc) from exc
        return acknowledgement(results)

    def _erase_one(
        self,
        conn: Connection,
        index: int,
        ref: ProfileRef,
        header: Header,
        partner: PartnerSpec,
        now: datetime,
    ) -> RecordResult:
        """Erase the partner's contribution to one person (:mod:`gateway.delivery.partner_erasure`).

        A person the partner has no record of gets the answer of a person who does not exist
        (no existence oracle); a repeated erase of a profile the partner erased answers
        ``erased`` again.
        """
        golden_id = resolve_ref(conn, ref)
        if golden_id is not None and contributed(conn, golden_id, partner.system):
            erase_contribution(
                conn, golden_id, partner=partner.id, system=partner.system,
                rules=self._gateway.profiles.rules,
                rest=self._gateway.settings.privacy.partner_erasure,
                message_id=header.message_id, now=now,
            )
            return record_result(index, ResultStatus.ERASED, profile_id=golden_id)
        if golden_id is not None and erased_by(conn, golden_id, partner.id):
            return record_result(index, ResultStatus.ERASED, profile_id=golden_id)
        record_refusal(
            conn, partner.id, "erase", reason="not_visible" if golden_id else "absent",
            message_id=header.message_id, golden_id=golden_id, at=now,
        )
        return record_error(index, ResultStatus.NOT_FOUND, "not_found", "no such profile")

    @property
    def _consent_sources(self) -> frozenset[str]:
        return self._gateway.settings.privacy.trusted_consent_sources

    # --- answers ------------------------------------------------------------------------

    def _seal(self, envelope: Envelope) -> Element:
        """The answer as an element, validated: an invalid answer is our bug, never sent."""
        element = envelope_to_element(envelope)
        try:
            self._gateway.schemas.validate(element, source="answer", namespace=CPEX_EXCHANGE_NS)
        except SchemaValidationError as exc:
            raise RuntimeError(
                f"answer {envelope.header.message_id} does not validate: {exc.message}"
            ) from exc
        return element


def _ref_label(query: Query) -> str:
    if query.profile_id is not None:
        return query.profile_id
    assert query.identifier is not None
    return f"{query.identifier.system}/{query.identifier.key}"


#: What a partner is told of its record: a new record of its own is "created" whether identity
#: resolution linked it to a person the gateway knew ("merged") or opened a review for a near
#: match ("review"); saying so would tell the partner that someone else holds that person.
_PARTNER_STATUS = {
    ResultStatus.MERGED: ResultStatus.CREATED,
    ResultStatus.REVIEW: ResultStatus.CREATED,
}


def _partner_result(result: Mapping[str, Any]) -> RecordResult:
    """One result of a pipeline acknowledgement (:meth:`RecordOutcome.to_dict`) as the exchange
    answers it to the partner."""
    status = ResultStatus(result["status"])
    if status in _PARTNER_STATUS:
        return record_result(result["index"], _PARTNER_STATUS[status], profile_id=result.get("id"))
    issues = [
        ValidationIssue(e.get("line"), e.get("column"), e.get("path"), e.get("message", ""))
        for e in result.get("errors", ())
    ]
    return record_result(result["index"], status, profile_id=result.get("id"),
                         code=result.get("code"), issues=issues)
