"""The partner exchange over SOAP 1.1: ``/soap/v1/exchange`` (WSDL on GET, calls on POST).

Flask serves a static document/literal wrapped WSDL (``schemas/cpex/cpex-exchange-1.0.wsdl``,
its address set from ``server.public_url``) and the two XSDs it imports; POSTed envelopes
are read with the hardened parser and handled by the same :class:`ExchangeService` as REST, so
request and answer validate against the same exchange XSD.

Access. At the Flask level the endpoint is PUBLIC; its check is inside, because a SOAP client
expects every failure as a Fault and would not understand a JSON 401/403. Credentials, in this
order: ``Authorization: Bearer <key>`` (or ``X-API-Key``), HTTP Basic, a WS-Security
UsernameToken; none or wrong → Fault ``Client.NotAuthorised``. Credentials in headers are
checked before the body is read; only a caller without them has its envelope parsed (hardened)
to find a UsernameToken. Every Fault is sent with HTTP 500,
as SOAP 1.1 prescribes, including an over-large body (``Client.TooLarge``; nothing is stored).
"""

from __future__ import annotations

import base64
import binascii
import logging
from pathlib import Path

from flask import Blueprint, Flask, Response, current_app, request
from lxml import etree

from gateway.errors import AuthenticationError, GatewayError, PermissionDeniedError
from gateway.exchange import Request
from gateway.exchange.errors import BadRequestError, RateLimitedError
from gateway.exchange.ratelimit import LoginThrottle
from gateway.exchange.soap11 import (
    CONTENT_TYPE,
    SoapOperation,
    SoapRequest,
    check_action,
    read_request,
    render_fault,
    render_response,
)
from gateway.model.namespaces import CPEX_EXCHANGE_NS
from gateway.partners.auth import LoginKind, authenticate_password
from gateway.partners.spec import PartnerSpec
from gateway.security.credentials import CredentialStore, Role
from gateway.web.access import Access, access
from gateway.web.body import read_body
from gateway.web.context import gateway_of
from gateway.web.exchange import ExchangeParts, admit_key_holder, exchange_parts, register
from gateway.xml.parser import parse_bytes, parse_file

log = logging.getLogger(__name__)

bp = Blueprint("soap", __name__, url_prefix="/soap/v1")
bp.record_once(register)

WSDL_FILE = "cpex/cpex-exchange-1.0.wsdl"
WSDL_SOAP_NS = "http://schemas.xmlsoap.org/wsdl/soap/"
_OPERATION_PATH = f"{{{CPEX_EXCHANGE_NS}}}Header/{{{CPEX_EXCHANGE_NS}}}Operation"


@bp.get("/exchange")
@access(Access.PUBLIC)
def wsdl() -> Response:
    """The WSDL, with the configured service address (``server.public_url``; never the Host
    header a caller sent)."""
    app = current_app
    path = gateway_of(app).settings.path("schemas") / WSDL_FILE
    tree = parse_file(path, limits=gateway_of(app).xml_limits)
    location = f"{gateway_of(app).settings.server.base_url}{bp.url_prefix}/exchange"
    for address in tree.iter(f"{{{WSDL_SOAP_NS}}}address"):
        address.set("location", location)
    body = etree.tostring(tree, xml_declaration=True, encoding="UTF-8")
    return Response(body, mimetype="text/xml")


@bp.get("/cpex-exchange-1.0.xsd")
@bp.get("/cpex-profile-1.0.xsd")
@bp.get("/cpex-profile-1.1.xsd")
@access(Access.PUBLIC)
def schema() -> Response:
    """An XSD the WSDL imports (so a client can load the WSDL from its URL alone). One route per
    file, so nothing but these can ever be asked for."""
    name = request.path.rpartition("/")[2]
    path: Path = gateway_of(current_app).settings.path("schemas") / "cpex" / name
    return Response(path.read_bytes(), mimetype="text/xml")


@bp.post("/exchange")
@access(Access.PUBLIC)  # checked inside: failures must be Faults (module doc)
def call() -> Response:
    """A SOAP 1.1 call of the exchange (SubmitProfiles, GetProfile, QueryProfiles, EraseProfile)."""
    try:
        return _call()
    except GatewayError as error:
        log.info("SOAP fault %s: %s", error.code, error.message)
        return _fault(error)
    except Exception as error:
        log.exception("SOAP call failed")
        return _fault(error)


@bp.errorhandler(GatewayError)
def _refused_before_the_call(error: GatewayError) -> Response:
    """An error raised before the view (the app's bounded body read): a Fault all the same."""
    log.info("SOAP fault %s: %s", error.code, error.message)
    return _fault(error)


def _call() -> Response:
    app = current_app
    parts = exchange_parts(app)
    partner = _authenticate_by_header(app, parts)  # before the body is read or parsed
    body = read_body()
    tree = parse_bytes(body, source="SOAP request", limits=gateway_of(app).xml_limits)
    soap = read_request(tree.getroot())
    check_action(soap.operation, request.headers.get("SOAPAction"))
    if partner is None:
        partner = _authenticate_by_token(parts, soap)
    parts.service.validate_envelope(soap.envelope, source=f"SOAP {soap.operation}")
    asked = (soap.envelope.findtext(_OPERATION_PATH) or "").strip()
    if asked != soap.operation.exchange_operation:
        raise BadRequestError(
            f"{soap.operation} carries operation '{soap.operation.exchange_operation}', "
            f"not '{asked}'"
        )
    answer = parts.service.handle(
        soap.envelope,
        Request(
            partner,
            channel=f"soap.{soap.operation}",
            expect_one=soap.operation is SoapOperation.GET_PROFILE,
        ),
    )
    return Response(render_response(soap.operation, answer), content_type=CONTENT_TYPE)


def _authenticate_by_header(app: Flask, parts: ExchangeParts) -> PartnerSpec | None:
    """The calling partner from HTTP credentials (key or Basic), or None if none were sent:
    then the envelope's UsernameToken decides, after the hardened parse (module doc)."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    token = value.strip() if scheme.lower() == "bearer" else request.headers.get("X-API-Key")
    if token:
        principal = CredentialStore(gateway_of(app).engine).verify(token.strip())
        if principal is None:
            raise AuthenticationError("the key is not valid (unknown, revoked or malformed)")
        if principal.role is not Role.PARTNER:
            raise PermissionDeniedError(
                f"the SOAP exchange needs a partner credential; key '{principal.key_id}' is a "
                f"{principal.role} key"
            )
        return admit_key_holder(parts, principal.partner_id)
    if scheme.lower() != "basic":
        return None
    username, password = _basic(value)
    return _password_login(parts, "basic", username, password)


def _authenticate_by_token(parts: ExchangeParts, soap: SoapRequest) -> PartnerSpec:
    """The calling partner from the envelope's WS-Security UsernameToken."""
    if soap.token is None:
        raise AuthenticationError(
            "credentials required: 'Authorization: Bearer <key>', HTTP Basic or a WS-Security "
            "UsernameToken"
        )
    return _password_login(parts, "ws_security", soap.token.username, soap.token.password)


def _password_login(
    parts: ExchangeParts, kind: LoginKind, username: str, password: str
) -> PartnerSpec:
    """A password login, throttled: past too many failures for the name or from the caller's
    address it is refused (with Retry-After) before the password is checked."""
    throttle = LoginThrottle(parts.limiter)
    address = request.remote_addr
    throttle.check(username, address)
    try:
        partner = authenticate_password(parts.partners, kind, username, password)
    except AuthenticationError:
        throttle.failed(username, address)
        raise
    parts.limiter.admit(partner)
    return partner


def _basic(value: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise AuthenticationError("HTTP Basic credentials are not valid base64 UTF-8") from None
    username, _, password = decoded.partition(":")
    return username, password


def _fault(error: BaseException) -> Response:
    response = Response(render_fault(error), status=500, content_type=CONTENT_TYPE)
    if isinstance(error, RateLimitedError):
        response.headers["Retry-After"] = str(error.retry_after)
    return response
