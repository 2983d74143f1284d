"""``POST /cpex/v1/exchange``: the partner exchange over REST (a CPEX envelope in, one out).

The answer to a request that could be read is always an envelope (``application/xml``): an
acknowledgement with one result per record (rejected records carry their errors) or a query
result. A request that cannot be read as a valid envelope gets the gateway's JSON error body
and an HTTP status instead (400 not XML / forbidden construct / bad operation, 413 too large,
422 schema violation with each path, 401/403 credentials, 429 rate limit): there is no record
to acknowledge then, and a caller whose XML is broken is best served by a status and a plain
message.

The partner registry, the exchange service and the rate limiter are built once, when the
blueprint is registered, so a bad partner file stops the app from starting.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from flask import Blueprint, Flask, Response, current_app
from flask.blueprints import BlueprintSetupState

from gateway.errors import PermissionDeniedError
from gateway.exchange import ExchangeService, RateLimiter, Request
from gateway.model.xmlcodec import to_document
from gateway.partners.registry import PartnerRegistry, load_partners, partners_dir
from gateway.partners.spec import PartnerSpec
from gateway.web.access import Access, access, current_principal
from gateway.web.body import read_body
from gateway.web.context import gateway_of

bp = Blueprint("exchange", __name__)

EXTENSION = "cpex.exchange"
XML_MIMETYPE = "application/xml"


@dataclass(frozen=True)
class ExchangeParts:
    """What both exchange surfaces (REST and SOAP) share in one app."""

    partners: PartnerRegistry
    service: ExchangeService
    limiter: RateLimiter


def setup(app: Flask) -> ExchangeParts:
    """Build the shared parts once per app (reading and checking the partner files)."""
    parts: ExchangeParts | None = app.extensions.get(EXTENSION)
    if parts is None:
        gateway = gateway_of(app)
        parts = ExchangeParts(
            partners=load_partners(partners_dir(gateway.settings)),
            service=ExchangeService(gateway),
            limiter=RateLimiter(gateway.engine),
        )
        app.extensions[EXTENSION] = parts
    return parts


def exchange_parts(app: Flask) -> ExchangeParts:
    return setup(app)


def use_partners(app: Flask, registry: PartnerRegistry) -> None:
    """Serve these partners instead of the configured folder's (tests, embedding)."""
    parts = setup(app)
    app.extensions[EXTENSION] = ExchangeParts(registry, parts.service, parts.limiter)


def admit_key_holder(parts: ExchangeParts, partner_id: str | None) -> PartnerSpec:
    """The registered partner of an API key, allowed to use keys and within its rate limit.

    :raises PermissionDeniedError: the partner is not registered or does not use API keys.
    :raises RateLimitedError: over its rate limit.
    """
    partner = parts.partners.require(partner_id)
    if not partner.auth.api_key:
        raise PermissionDeniedError(f"partner '{partner.id}' does not sign in with API keys")
    parts.limiter.admit(partner)
    return partner


def register(state: BlueprintSetupState) -> None:
    """Blueprint hook: build the shared parts when the app registers a blueprint that needs them
    (so a wrong partner file stops the app factory, not the first request)."""
    setup(cast(Flask, state.app))


bp.record_once(register)


@bp.post("/cpex/v1/exchange")
@access(Access.PARTNER)
def exchange() -> Response:
    """A partner's CPEX envelope over REST (upsert, query or erase), answered with one."""
    parts = exchange_parts(current_app)
    principal = current_principal()
    partner = admit_key_holder(parts, principal.partner_id if principal else None)
    root = parts.service.parse_request(read_body())
    answer = parts.service.handle(root, Request(partner, channel="rest"))
    return Response(to_document(answer), mimetype=XML_MIMETYPE)

