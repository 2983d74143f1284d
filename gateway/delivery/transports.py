"""Sending a built message: HTTP POST (REST and webhook) and SOAP 1.1 through zeep.

Every request carries the delivery's message id twice: ``Idempotency-Key`` (the common HTTP
convention) and ``X-Message-Id``; CPEX envelopes carry it in ``Header/MessageId`` as well. A
partner that sees a message id again can drop the repeat: delivery is at-least-once (a crash
between the partner's answer and our commit sends it again), the key makes it once in effect.

Failures become :class:`~gateway.delivery.errors.DeliveryError` with ``retryable`` set: network
errors, timeouts, 408/425/429 and 5xx are worth retrying; other 4xx mean the partner refuses the
document and will refuse it again. Nothing of the payload or of the partner's answer body is
put in the error (either may hold personal data): status codes and error class names only.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

import requests
from lxml import etree
from zeep import Client
from zeep import Settings as ZeepSettings
from zeep.exceptions import Error as ZeepError
from zeep.exceptions import Fault, TransportError
from zeep.transports import Transport as ZeepTransport
from zeep.wsse.username import UsernameToken

from gateway.delivery.errors import DeliveryError
from gateway.delivery.payload import Outgoing
from gateway.delivery.settings import BearerAuth, DeliverySettings, WsSecurityAuth
from gateway.delivery.signing import SIGNATURE_HEADER, sign
from gateway.model.envelope import ENVELOPE_TAG
from gateway.partners.spec import PartnerSpec, SoapEndpoint

log = logging.getLogger(__name__)

RETRYABLE_STATUS = frozenset({408, 425, 429})


class Transport(Protocol):
    def send(self, partner: PartnerSpec, outgoing: Outgoing) -> None:
        """Deliver ``outgoing`` to ``partner``; return only when the partner accepted it.

        :raises DeliveryError: the partner did not accept it (``retryable`` says if it may).
        """


def retryable_status(status: int) -> bool:
    return status >= 500 or status in RETRYABLE_STATUS


class HttpTransport:
    """REST and webhook: one POST to the endpoint URL; any 2xx is acceptance."""

    def __init__(self, settings: DeliverySettings, environ: Mapping[str, str] | None = None
                 ) -> None:
        self._settings = settings
        self._environ = os.environ if environ is None else environ
        self._session = requests.Session()

    def send(self, partner: PartnerSpec, outgoing: Outgoing) -> None:
        reach = self._settings.partner(partner.id)
        url = reach.address or _endpoint(partner).url
        headers = {"Content-Type": outgoing.content_type, "Idempotency-Key": outgoing.message_id,
                   "X-Message-Id": outgoing.message_id}
        auth = reach.auth
        basic: tuple[str, str] | None = None
        if isinstance(auth, WsSecurityAuth):
            raise DeliveryError("ws_security authentication is for SOAP endpoints only "
                                f"(delivery.toml partners.{partner.id}.auth)",
                                partner=partner.id, retryable=False)
        if isinstance(auth, BearerAuth):
            headers.update(auth.headers(self._environ))
        elif auth is not None:
            basic = auth.credentials(self._environ)
        secret = reach.signing_secret(self._environ)
        if secret is not None:
            headers[SIGNATURE_HEADER] = sign(secret, outgoing.body, int(time.time()))
        timeout = self._settings.timeout_seconds
        try:
            answer = self._session.post(url, data=outgoing.body, headers=headers, auth=basic,
                                        timeout=(timeout, timeout), allow_redirects=False)
        except requests.Timeout as exc:
            raise DeliveryError(f"no answer within {timeout:g} s ({type(exc).__name__})",
                                partner=partner.id, retryable=True) from exc
        except requests.RequestException as exc:
            raise DeliveryError(f"cannot reach the endpoint ({type(exc).__name__})",
                                partner=partner.id, retryable=True) from exc
        if not 200 <= answer.status_code < 300:
            raise DeliveryError("the partner did not accept the message", partner=partner.id,
                                retryable=retryable_status(answer.status_code),
                                status_code=answer.status_code)

    def close(self) -> None:
        self._session.close()


class SoapTransport:
    """SOAP 1.1 with zeep: a local WSDL (under ``schemas/``) or a URL, DTDs forbidden, timeouts.

    One zeep client per partner, built on first use and kept: loading a WSDL parses its XSDs.
    The service address is the ``address`` of ``delivery.toml`` when given (a local WSDL names
    no partner host), else the WSDL's own.
    """

    def __init__(self, settings: DeliverySettings, schemas_dir: Path,
                 environ: Mapping[str, str] | None = None) -> None:
        self._settings = settings
        self._schemas_dir = schemas_dir
        self._environ = os.environ if environ is None else environ
        self._clients: dict[str, tuple[Client, Any]] = {}
        self._lock = threading.Lock()

    def send(self, partner: PartnerSpec, outgoing: Outgoing) -> None:
        if outgoing.envelope is None or outgoing.soap_operation is None:
            raise DeliveryError("a SOAP endpoint needs a CPEX envelope", partner=partner.id,
                                retryable=False)
        client, service = self._client(partner)
        try:
            element = client.get_element(ENVELOPE_TAG)  # type: ignore[no-untyped-call]
            value = element.parse(outgoing.envelope, client.wsdl.types)
            answer = getattr(service, outgoing.soap_operation)(Envelope=value)
        except Fault as exc:
            code = str(exc.code or "")
            raise DeliveryError(f"SOAP Fault {code}", partner=partner.id,
                                retryable="Server" in code or "RateLimited" in code) from exc
        except TransportError as exc:
            raise DeliveryError("SOAP transport error", partner=partner.id,
                                retryable=retryable_status(exc.status_code),
                                status_code=exc.status_code) from exc
        except requests.Timeout as exc:
            raise DeliveryError(
                f"no answer within {self._settings.timeout_seconds:g} s ({type(exc).__name__})",
                partner=partner.id, retryable=True) from exc
        except requests.RequestException as exc:
            raise DeliveryError(f"cannot reach the endpoint ({type(exc).__name__})",
                                partner=partner.id, retryable=True) from exc
        except (ZeepError, AttributeError) as exc:
            raise DeliveryError(f"SOAP call failed ({type(exc).__name__})", partner=partner.id,
                                retryable=False) from exc
        _check_acknowledgement(partner, answer)

    def _client(self, partner: PartnerSpec) -> tuple[Client, Any]:
        with self._lock:
            found = self._clients.get(partner.id)
            if found is None:
                found = self._clients[partner.id] = self._build(partner)
            return found

    def _build(self, partner: PartnerSpec) -> tuple[Client, Any]:
        endpoint = _endpoint(partner)
        assert isinstance(endpoint, SoapEndpoint)
        wsdl = self._settings.partner(partner.id).wsdl or endpoint.wsdl
        if "://" not in wsdl:
            wsdl = str((self._schemas_dir / wsdl).resolve())
        session = requests.Session()
        auth = self._settings.partner(partner.id).auth
        wsse: UsernameToken | None = None
        if isinstance(auth, BearerAuth):
            session.headers.update(auth.headers(self._environ))
        elif isinstance(auth, WsSecurityAuth):
            wsse = UsernameToken(*auth.credentials(self._environ))  # type: ignore[no-untyped-call]
        elif auth is not None:
            session.auth = auth.credentials(self._environ)
        timeout = self._settings.timeout_seconds
        transport = ZeepTransport(  # type: ignore[no-untyped-call]
            session=session, timeout=timeout, operation_timeout=timeout)
        try:
            client = Client(wsdl, transport=transport, wsse=wsse,  # type: ignore[no-untyped-call]
                            settings=ZeepSettings(forbid_dtd=True, forbid_entities=True,
                                                  xml_huge_tree=False))
        except (ZeepError, OSError, requests.RequestException, etree.LxmlError) as exc:
            raise DeliveryError(f"cannot load the WSDL ({type(exc).__name__})",
                                partner=partner.id, retryable=True) from exc
        address = self._settings.partner(partner.id).address
        if address is None:
            return client, client.service
        binding = next(iter(client.wsdl.bindings))
        return client, client.create_service(binding, address)  # type: ignore[no-untyped-call]


def _endpoint(partner: PartnerSpec) -> Any:
    if partner.outbound is None:
        raise DeliveryError("partner has no [outbound] section", partner=partner.id,
                            retryable=False)
    return partner.outbound.endpoint


def _check_acknowledgement(partner: PartnerSpec, answer: Any) -> None:
    """A CPEX acknowledgement that rejects the record is a refusal, not an acceptance."""
    body = getattr(answer, "Body", None)
    ack = getattr(body, "Acknowledgement", None) if body is not None else None
    for result in getattr(ack, "Result", None) or ():
        status = getattr(result, "status", None)
        if status in ("rejected", "not-found"):
            errors = getattr(result, "Error", None) or ()
            codes = ", ".join(sorted({str(getattr(e, "code", "?")) for e in errors})) or status
            raise DeliveryError(f"the partner answered {status} ({codes})", partner=partner.id,
                                retryable=False)


class Transports:
    """The transport for each endpoint kind (``rest``, ``soap``, ``webhook``)."""

    def __init__(self, settings: DeliverySettings, schemas_dir: Path,
                 environ: Mapping[str, str] | None = None) -> None:
        http = HttpTransport(settings, environ)
        self._http = http
        self._by_kind: dict[str, Transport] = {
            "rest": http, "webhook": http, "soap": SoapTransport(settings, schemas_dir, environ),
        }

    def send(self, partner: PartnerSpec, outgoing: Outgoing) -> None:
        self._by_kind[_endpoint(partner).kind].send(partner, outgoing)

    def close(self) -> None:
        self._http.close()
