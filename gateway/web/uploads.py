"""``POST /cpex/v1/records``: a partner sends what its own platform emits.

A partner whose file says ``[inbound] format = "xml" | "json" | "csv"`` posts its own documents
here with its API key: the body is read in that format (XML by the hardened parser and validated
record by record against the XSD registered for the partner's namespace; JSON against the
partner's JSON Schema when it has one), mapped by the partner's inbound mapping (with its record
operations) and stored as the partner's records (source system ``partner:<id>``), exactly as a
CPEX upsert is. The answer is the pipeline's JSON acknowledgement: counts, one result per record,
the reasons of skips and rejects. An ``X-Message-Id`` header makes a re-sent body idempotent.

CPEX envelopes go to ``/cpex/v1/exchange`` (REST) or the SOAP service, which stays CPEX-only: it
is the CPEX service, described by its WSDL.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request

from gateway.errors import BadRequestError, PermissionDeniedError
from gateway.mapping.errors import MappingFailure
from gateway.partners.samples import json_schema_issue
from gateway.partners.spec import InboundSpec, Operation, PartnerSpec
from gateway.pipeline.runner import Batch, Pipeline
from gateway.web.access import Access, access, current_principal
from gateway.web.body import read_body
from gateway.web.context import gateway_of
from gateway.web.exchange import admit_key_holder, exchange_parts

bp = Blueprint("uploads", __name__)

MESSAGE_ID_HEADER = "X-Message-Id"


@bp.post("/cpex/v1/records")
@access(Access.PARTNER)
def upload() -> Response:
    """The partner's own records (XML, JSON or CSV, as its partner file declares), mapped and
    stored; the answer counts every record's outcome."""
    parts = exchange_parts(current_app)
    principal = current_principal()
    partner = admit_key_holder(parts, principal.partner_id if principal else None)
    inbound = _own_format(partner)
    gateway = gateway_of(current_app)
    body = read_body()
    message_id = request.headers.get(MESSAGE_ID_HEADER)
    if message_id is not None and not 0 < len(message_id.strip()) <= 200:
        raise BadRequestError(
            f"{MESSAGE_ID_HEADER} has 1 to 200 characters", path=MESSAGE_ID_HEADER
        )
    if inbound.json_schema is not None:
        schema = gateway.settings.path("schemas") / "partners" / inbound.json_schema
        try:
            issue = json_schema_issue(schema, body)
        except ValueError as exc:
            raise BadRequestError(f"the body is {exc}") from exc
        if issue is not None:
            raise BadRequestError(
                f"the body does not meet {schema.name}: {issue[1]}", path=issue[0]
            )
    pipeline = Pipeline(
        gateway,
        Batch(
            source_system=partner.system,
            source=f"records from {partner.id}",
            message_id=message_id.strip() if message_id else None,
            mapping=inbound.mapping or "",
            actor=f"partner:{partner.id}",
            partner_id=partner.id,
        ),
    )
    try:
        report = pipeline.run_body(body)
    except MappingFailure as exc:
        raise BadRequestError(
            f"the body is not {inbound.format} as partner '{partner.id}' sends it: {exc.reason}"
        ) from exc
    return jsonify(report.acknowledgement())


def _own_format(partner: PartnerSpec) -> InboundSpec:
    inbound = partner.inbound
    if not partner.allows(Operation.UPSERT) or inbound is None:
        raise PermissionDeniedError(f"partner '{partner.id}' may not send profiles")
    if inbound.format == "cpex" or inbound.mapping is None:
        raise BadRequestError(
            f"partner '{partner.id}' sends CPEX envelopes: post them to /cpex/v1/exchange"
        )
    return inbound
