"""SOAP 1.1 framing of the exchange (``schemas/cpex/cpex-exchange-1.0.wsdl``): no I/O, lxml only.

Reading takes a parsed SOAP envelope apart into the operation (the wrapper element's name), the
CPEX envelope inside it and a WS-Security UsernameToken if one was sent. Writing wraps an answer,
or renders any error as the one SOAP 1.1 Fault form: a stable ``faultcode`` (``Client.*`` for
what the caller must fix, ``Server.*`` for ours), the error's message as ``faultstring`` and an
``s:Error`` detail with the gateway's error code (and every schema issue with its path).
Internal errors say only "internal error": the cause goes to the log, not to the caller.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from lxml import etree

from gateway.errors import (
    AuthenticationError,
    GatewayError,
    ModelError,
    NotFoundError,
    PermissionDeniedError,
    SchemaValidationError,
    StoreError,
    XMLError,
    XMLLimitError,
)
from gateway.exchange.errors import BadRequestError, RateLimitedError
from gateway.model.envelope import ENVELOPE_TAG
from gateway.model.namespaces import CPEX_EXCHANGE_NS

Element = etree._Element

SOAP_ENV_NS = "http://schemas.xmlsoap.org/soap/envelope/"
CPEX_SOAP_NS = "urn:cpex:soap:1.0"
WSSE_NS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
PASSWORD_TEXT = (
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0"
    "#PasswordText"
)
CONTENT_TYPE = "text/xml; charset=utf-8"


class SoapOperation(StrEnum):
    """The WSDL's operations, and the exchange operation each one carries."""

    SUBMIT_PROFILES = "SubmitProfiles"
    GET_PROFILE = "GetProfile"
    QUERY_PROFILES = "QueryProfiles"
    ERASE_PROFILE = "EraseProfile"

    @property
    def exchange_operation(self) -> str:
        return _CARRIES[self]


_CARRIES = {
    SoapOperation.SUBMIT_PROFILES: "upsert",
    SoapOperation.GET_PROFILE: "query",
    SoapOperation.QUERY_PROFILES: "query",
    SoapOperation.ERASE_PROFILE: "erase",
}


class FaultCode(StrEnum):
    VERSION_MISMATCH = "VersionMismatch"
    MUST_UNDERSTAND = "MustUnderstand"
    INVALID_XML = "Client.InvalidXML"
    SCHEMA_VIOLATION = "Client.SchemaViolation"
    INVALID_REQUEST = "Client.InvalidRequest"
    UNKNOWN_PROFILE = "Client.UnknownProfile"
    NOT_AUTHORISED = "Client.NotAuthorised"
    TOO_LARGE = "Client.TooLarge"
    RATE_LIMITED = "Client.RateLimited"
    UNAVAILABLE = "Server.Unavailable"
    INTERNAL = "Server.Internal"


class SoapRequestError(BadRequestError):
    """The SOAP framing is wrong: not a SOAP 1.1 envelope, no or an unknown operation wrapper."""

    code = "soap_request"


class SoapVersionMismatchError(SoapRequestError):
    """An envelope of another SOAP version (1.2): Fault ``VersionMismatch``."""

    code = "soap_version_mismatch"


class SoapMustUnderstandError(SoapRequestError):
    """A header entry marked ``mustUnderstand="1"`` the gateway does not understand."""

    code = "soap_must_understand"


# First match wins: subclasses before their parents.
_FAULT_CODES: list[tuple[type[GatewayError], FaultCode]] = [
    (SoapVersionMismatchError, FaultCode.VERSION_MISMATCH),
    (SoapMustUnderstandError, FaultCode.MUST_UNDERSTAND),
    (AuthenticationError, FaultCode.NOT_AUTHORISED),
    (PermissionDeniedError, FaultCode.NOT_AUTHORISED),
    (NotFoundError, FaultCode.UNKNOWN_PROFILE),
    (XMLLimitError, FaultCode.TOO_LARGE),
    (SchemaValidationError, FaultCode.SCHEMA_VIOLATION),
    (XMLError, FaultCode.INVALID_XML),
    (ModelError, FaultCode.INVALID_REQUEST),
    (BadRequestError, FaultCode.INVALID_REQUEST),
    (RateLimitedError, FaultCode.RATE_LIMITED),
    (StoreError, FaultCode.UNAVAILABLE),
]


@dataclass(frozen=True, slots=True)
class UsernameToken:
    username: str
    password: str


@dataclass(frozen=True, slots=True)
class SoapRequest:
    operation: SoapOperation
    envelope: Element  # the ex:Envelope inside the wrapper
    token: UsernameToken | None


def _q(ns: str, name: str) -> str:
    return f"{{{ns}}}{name}"


def read_request(root: Element) -> SoapRequest:
    """Take a SOAP 1.1 request apart.

    :raises SoapRequestError: for wrong framing; :raises AuthenticationError: for a
        UsernameToken that is not plain text.
    """
    if root.tag != _q(SOAP_ENV_NS, "Envelope"):
        name = etree.QName(root)
        if name.localname == "Envelope" and name.namespace:
            raise SoapVersionMismatchError(
                f"an Envelope in {name.namespace} is not served: this endpoint speaks SOAP 1.1 "
                f"({SOAP_ENV_NS})"
            )
        raise SoapRequestError(f"expected a SOAP 1.1 Envelope ({SOAP_ENV_NS})")
    _check_must_understand(root)
    body = root.find(_q(SOAP_ENV_NS, "Body"))
    children = [c for c in body if isinstance(c.tag, str)] if body is not None else []
    if len(children) != 1:
        raise SoapRequestError("the SOAP Body must hold exactly one operation element")
    wrapper = children[0]
    name = etree.QName(wrapper)
    try:
        if name.namespace != CPEX_SOAP_NS:
            raise ValueError
        operation = SoapOperation(name.localname)
    except ValueError:
        raise SoapRequestError(
            f"unknown operation {{{name.namespace}}}{name.localname}: expected one of "
            + ", ".join(op.value for op in SoapOperation)
            + f" in {CPEX_SOAP_NS}"
        ) from None
    inner = [c for c in wrapper if isinstance(c.tag, str)]
    if len(inner) != 1 or inner[0].tag != ENVELOPE_TAG:
        raise SoapRequestError(
            f"{operation} must hold exactly one Envelope element in {CPEX_EXCHANGE_NS}"
        )
    return SoapRequest(operation, inner[0], _username_token(root))


#: Header entries the gateway understands (so may be marked mustUnderstand).
_UNDERSTOOD = frozenset({_q(WSSE_NS, "Security")})


def _check_must_understand(root: Element) -> None:
    header = root.find(_q(SOAP_ENV_NS, "Header"))
    for entry in header if header is not None else ():
        if not isinstance(entry.tag, str) or entry.tag in _UNDERSTOOD:
            continue
        if entry.get(_q(SOAP_ENV_NS, "mustUnderstand"), "0").strip() in ("1", "true"):
            name = etree.QName(entry)
            raise SoapMustUnderstandError(
                f"header {{{name.namespace}}}{name.localname} is marked mustUnderstand and is "
                "not understood here (understood: WS-Security)"
            )


def check_action(operation: SoapOperation, soap_action: str | None) -> None:
    """The HTTP ``SOAPAction``, when a client sends one (not empty), must name the operation
    in the Body (the WSDL's ``urn:cpex:soap:1.0#<Operation>``).

    :raises SoapRequestError: it names another.
    """
    action = (soap_action or "").strip().strip('"').strip()
    expected = f"{CPEX_SOAP_NS}#{operation}"
    if action and action != expected:
        raise SoapRequestError(
            f"SOAPAction '{action[:200]}' does not match the operation in the Body "
            f"({operation}: '{expected}')"
        )


def _username_token(root: Element) -> UsernameToken | None:
    token = root.find(
        f"{_q(SOAP_ENV_NS, 'Header')}/{_q(WSSE_NS, 'Security')}/{_q(WSSE_NS, 'UsernameToken')}"
    )
    if token is None:
        return None
    password = token.find(_q(WSSE_NS, "Password"))
    if password is not None and password.get("Type", PASSWORD_TEXT) != PASSWORD_TEXT:
        raise AuthenticationError("only PasswordText UsernameTokens are accepted (over HTTPS)")
    return UsernameToken(
        username=(token.findtext(_q(WSSE_NS, "Username")) or "").strip(),
        password=(password.text or "") if password is not None else "",
    )


def render_response(operation: SoapOperation, answer: Element) -> bytes:
    """The SOAP response: ``<OperationResponse>`` holding the answer envelope."""
    envelope, body = _skeleton()
    wrapper = etree.SubElement(body, _q(CPEX_SOAP_NS, f"{operation}Response"))
    wrapper.append(answer)
    return etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")


def fault_code(error: BaseException) -> FaultCode:
    if isinstance(error, GatewayError):
        for kind, code in _FAULT_CODES:
            if isinstance(error, kind):
                return code
        return FaultCode.INVALID_REQUEST
    return FaultCode.INTERNAL


def render_fault(error: BaseException) -> bytes:
    """The one SOAP 1.1 Fault rendering of any error (see the module doc)."""
    code = fault_code(error)
    gateway_error = error if isinstance(error, GatewayError) else None
    envelope, body = _skeleton()
    fault = etree.SubElement(body, _q(SOAP_ENV_NS, "Fault"))
    etree.SubElement(fault, "faultcode").text = f"soap:{code}"  # e.g. soap:Client.InvalidXML
    etree.SubElement(fault, "faultstring").text = (
        gateway_error.message if gateway_error is not None else "internal error"
    )
    detail = etree.SubElement(fault, "detail")
    error_element = etree.SubElement(
        detail,
        _q(CPEX_SOAP_NS, "Error"),
        nsmap={"s": CPEX_SOAP_NS},
        code=gateway_error.code if gateway_error is not None else "internal",
    )
    if isinstance(error, SchemaValidationError):
        for issue in error.issues:
            item = etree.SubElement(error_element, _q(CPEX_SOAP_NS, "Issue"))
            item.text = issue.message
            if issue.path:
                item.set("path", issue.path)
            if issue.line:
                item.set("line", str(issue.line))
    return etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")


def _skeleton() -> tuple[Element, Element]:
    envelope = etree.Element(_q(SOAP_ENV_NS, "Envelope"), nsmap={"soap": SOAP_ENV_NS})
    return envelope, etree.SubElement(envelope, _q(SOAP_ENV_NS, "Body"))
