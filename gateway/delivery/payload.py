"""What goes on the wire for one delivery: built from the profile as it is when it is sent.

Profile deliveries carry the *disclosed* profile (consent and field policy applied by the
caller), mapped with the partner's outbound mapping when it has one and validated against the
partner's target schema before anything leaves. Where the result is a CPEX profile it travels in
a CPEX exchange envelope (``upsert`` with a Batch), so REST and SOAP partners get the documents
the gateway itself accepts. Notices are CPEX envelopes too: an opt-out is an ``upsert`` of the
person's identifying key with the consents as they now stand (revoked, expired); an erasure is an
``erase`` naming the person by that key. JSON endpoints (webhook, REST ``format = "json"``) get a
small JSON document with the same message id and the mapped or canonical profile.

Every profile we send carries ``Identifier(<sender>, <golden id>)``: our key for the person, so
a later notice can name them (and a receiving CPEX gateway can key its source record on it).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lxml import etree

from gateway.delivery.errors import DeliveryError
from gateway.delivery.routing import DeliveryKind
from gateway.errors import GatewayError
from gateway.mapping import MappingSet
from gateway.model import Consent, Identifier, Person, Profile, to_dict
from gateway.model.envelope import (
    Batch,
    Envelope,
    Erase,
    Header,
    Operation,
    ProfileRef,
    envelope_to_element,
)
from gateway.model.namespaces import CPEX_EXCHANGE_NS
from gateway.model.xmlcodec import PROFILE_TAG, profile_to_element, to_document
from gateway.partners.spec import PartnerSpec, RestEndpoint, SoapEndpoint
from gateway.privacy import GATEWAY_SYSTEM
from gateway.xml.schemas import SchemaRegistry

XML = "application/xml"
JSON = "application/json"

#: The CPEX SOAP operation that carries each notice (the profile operation is the partner's).
NOTICE_SOAP_OPERATION = {DeliveryKind.OPTOUT: "SubmitProfiles", DeliveryKind.ERASE: "EraseProfile"}


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message ready for a transport. ``envelope`` is set for CPEX XML (SOAP needs it)."""

    partner: str
    message_id: str
    kind: DeliveryKind
    body: bytes
    content_type: str
    envelope: etree._Element | None = None
    soap_operation: str | None = None


@dataclass(frozen=True)
class PayloadBuilder:
    """Builds :class:`Outgoing` messages; holds the schemas and mappings, no state per message."""

    schemas: SchemaRegistry
    mappings: MappingSet
    sender: str

    def profile(
        self, partner: PartnerSpec, disclosed: Profile, message_id: str, now: datetime
    ) -> Outgoing:
        """The disclosed profile for ``partner``.

        :raises DeliveryError: (not retryable) the mapping fails, the result does not validate
            against the partner's schema, or it does not fit the endpoint kind.
        """
        outbound = _outbound(partner)
        document = self._keyed(disclosed)
        try:
            mapped = self._map(partner, document)
        except GatewayError as exc:
            raise DeliveryError(f"cannot build the payload: {exc.message}", partner=partner.id,
                                retryable=False) from exc
        if _json_endpoint(partner):
            content = mapped if isinstance(mapped, dict) else {**to_dict(document),
                                                               "id": document.id}
            return self._json(partner, message_id, DeliveryKind.PROFILE, now, profile=content)
        if isinstance(mapped, dict):
            raise DeliveryError(
                f"mapping '{outbound.mapping}' makes JSON but the endpoint takes XML",
                partner=partner.id, retryable=False,
            )
        if mapped.tag != PROFILE_TAG:
            if isinstance(outbound.endpoint, SoapEndpoint):
                raise DeliveryError("a SOAP endpoint takes CPEX profiles; the mapping makes "
                                    f"{etree.QName(mapped).localname}", partner=partner.id,
                                    retryable=False)
            return Outgoing(partner.id, message_id, DeliveryKind.PROFILE, to_document(mapped), XML)
        header = self._header(partner, message_id, Operation.UPSERT, now)
        envelope = envelope_to_element(Envelope(header, Batch(())))
        batch = envelope.find(f"{{{CPEX_EXCHANGE_NS}}}Body/{{{CPEX_EXCHANGE_NS}}}Batch")
        if batch is None:  # envelope_to_element always writes it; guard for the type checker
            raise RuntimeError("the upsert envelope has no Batch")
        batch.append(mapped)
        return self._xml(partner, message_id, DeliveryKind.PROFILE, envelope,
                         _soap_operation(partner))

    def optout(
        self, partner: PartnerSpec, profile: Profile, message_id: str, now: datetime, *,
        trusted: Iterable[Consent],
    ) -> Outgoing:
        """The person's key and their consents for the partner's purposes, as they now stand:
        ``trusted``, the consents of the sources trusted for consents (the golden profile's may
        include other partners' own, which are not this partner's business)."""
        policy = partner.policy
        consents = tuple(
            c for c in trusted
            if c.purpose in policy.purposes and c.recipient is policy.recipient
        )
        if _json_endpoint(partner):
            return self._json(partner, message_id, DeliveryKind.OPTOUT, now,
                              profile_id=profile.id, consents=[to_dict(c) for c in consents])
        notice = Profile(id=profile.id, identifiers=(self._key(profile.id),), person=Person(),
                         consents=consents)
        header = self._header(partner, message_id, Operation.UPSERT, now)
        envelope = envelope_to_element(Envelope(header, Batch((notice,))))
        return self._xml(partner, message_id, DeliveryKind.OPTOUT, envelope,
                         NOTICE_SOAP_OPERATION[DeliveryKind.OPTOUT])

    def erase(self, partner: PartnerSpec, golden_id: str, message_id: str,
              now: datetime) -> Outgoing:
        """Erase the person named by our key."""
        if _json_endpoint(partner):
            return self._json(partner, message_id, DeliveryKind.ERASE, now, profile_id=golden_id)
        header = self._header(partner, message_id, Operation.ERASE, now)
        envelope = envelope_to_element(
            Envelope(header, Erase((ProfileRef(identifier=self._key(golden_id)),)))
        )
        return self._xml(partner, message_id, DeliveryKind.ERASE, envelope,
                         NOTICE_SOAP_OPERATION[DeliveryKind.ERASE])

    # --- helpers -------------------------------------------------------------------------------

    def _key(self, golden_id: str | None) -> Identifier:
        if golden_id is None:
            raise ValueError("a delivered profile must have its golden id")
        return Identifier(self.sender, golden_id)

    def _keyed(self, profile: Profile) -> Profile:
        """The profile with our key in place of the disclosure rule's generic one."""
        others = tuple(
            i for i in profile.identifiers if i.system not in (GATEWAY_SYSTEM, self.sender)
        )
        return dataclasses.replace(profile, identifiers=(self._key(profile.id), *others))

    def _map(self, partner: PartnerSpec, profile: Profile) -> Any:
        outbound = _outbound(partner)
        if outbound.mapping is None:
            mapped: Any = profile_to_element(profile)
        else:
            mapped = self.mappings.get(outbound.mapping).map(profile)
        if not isinstance(mapped, dict):
            namespace = outbound.schema_namespace
            self.schemas.validate(mapped, source=f"delivery to {partner.id}", namespace=namespace)
        return mapped

    def _header(self, partner: PartnerSpec, message_id: str, operation: Operation,
                now: datetime) -> Header:
        return Header(message_id=message_id, sender=self.sender, recipient=partner.system,
                      timestamp=now, operation=operation)

    def _xml(self, partner: PartnerSpec, message_id: str, kind: DeliveryKind,
             envelope: etree._Element, soap_operation: str | None) -> Outgoing:
        try:
            self.schemas.validate(envelope, source=f"delivery to {partner.id}",
                                  namespace=CPEX_EXCHANGE_NS)
        except GatewayError as exc:
            raise DeliveryError(f"the envelope does not validate: {exc.message}",
                                partner=partner.id, retryable=False) from exc
        return Outgoing(partner.id, message_id, kind, to_document(envelope), XML, envelope,
                        soap_operation)

    def _json(self, partner: PartnerSpec, message_id: str, kind: DeliveryKind, now: datetime,
              **content: Any) -> Outgoing:
        document = {"message_id": message_id, "sender": self.sender, "event": kind.value,
                    "timestamp": now.isoformat(), **content}
        body = json.dumps(document, ensure_ascii=False, default=str).encode("utf-8")
        return Outgoing(partner.id, message_id, kind, body, JSON)


def _outbound(partner: PartnerSpec) -> Any:
    if partner.outbound is None:
        raise DeliveryError("partner has no [outbound] section", partner=partner.id,
                            retryable=False)
    return partner.outbound


def _json_endpoint(partner: PartnerSpec) -> bool:
    endpoint = _outbound(partner).endpoint
    return endpoint.kind == "webhook" or (isinstance(endpoint, RestEndpoint)
                                          and endpoint.format == "json")


def _soap_operation(partner: PartnerSpec) -> str | None:
    endpoint = _outbound(partner).endpoint
    return endpoint.operation if isinstance(endpoint, SoapEndpoint) else None

