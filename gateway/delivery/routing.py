"""Who gets what for one outbox event: the routing rule, pure (no clock, no database).

For a profile that exists and is not erased, each partner with an outbound endpoint gets a
``profile`` delivery when a trusted consent allows some purpose it declares (default deny:
:func:`gateway.privacy.disclose_for_any`; the partner's own data alone is never delivered).
A partner that received the person's data before (the disclosure audit) and may no longer
receive it gets one ``optout`` notice, unless it was told since its last disclosure. An erased
person's earlier recipients each get one ``erase`` notice.

Revocation is decided from state, not from the event: any event of a person (an update that
revoked a consent, a ``consent_revoked`` event, an expiry noticed at the next change) compares
who received data with who may receive it now. Sending the same rule again finds nothing new to
say, so it is idempotent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from gateway.model import Profile, Purpose
from gateway.partners.spec import PartnerSpec
from gateway.privacy import Evidence, disclose_for_any


class DeliveryKind(StrEnum):
    PROFILE = "profile"  # the disclosed profile, mapped for the partner
    OPTOUT = "optout"  # the partner may no longer use the person's data (consent gone)
    ERASE = "erase"  # the person was erased: the partner must erase them too


NOTICE_KINDS = (DeliveryKind.OPTOUT, DeliveryKind.ERASE)

#: Outbox event kinds this module adds to the pipeline's (created, updated, merged, unmerged).
CONSENT_REVOKED = "consent_revoked"
ERASED = "erased"


@dataclass(frozen=True, slots=True)
class History:
    """What a person's partners were sent so far: last disclosure and last notice per partner."""

    last_disclosure: Mapping[str, datetime]
    last_notice: Mapping[str, tuple[DeliveryKind, datetime]]

    def told(self, partner: str, kind: DeliveryKind) -> bool:
        """Whether ``partner`` already got a notice of ``kind`` (or an erase, which says more)
        after the last time it received the person's data."""
        notice = self.last_notice.get(partner)
        if notice is None:
            return False
        told_kind, at = notice
        if kind is DeliveryKind.ERASE and told_kind is not DeliveryKind.ERASE:
            return False
        disclosed = self.last_disclosure.get(partner)
        return disclosed is None or at >= disclosed


@dataclass(frozen=True, slots=True)
class Route:
    """One delivery to create. ``unreachable`` names why it cannot be sent (it goes straight to
    the dead letter, visible, instead of being dropped)."""

    partner: str
    kind: DeliveryKind
    purpose: Purpose | None = None
    unreachable: str | None = None


def route_event(
    event_kind: str,
    profile: Profile | None,
    partners: Iterable[PartnerSpec],
    history: History,
    now: datetime,
    *,
    evidence: Evidence,
    exclude: Iterable[str] = (),
) -> list[Route]:
    """The deliveries one event of one person makes (see the module doc).

    ``profile`` is None for an erased person; ``evidence`` is what its source records say
    (:func:`gateway.privacy.load_evidence`); ``exclude`` names partners not to notify (the one
    that asked for the erasure itself).
    """
    skip = set(exclude)
    by_id = {p.id: p for p in partners}
    if profile is None:
        return [
            _notice(by_id.get(partner_id), partner_id, DeliveryKind.ERASE)
            for partner_id in sorted(history.last_disclosure)
            if partner_id not in skip and not history.told(partner_id, DeliveryKind.ERASE)
        ]
    routes: list[Route] = []
    for partner_id in sorted(set(by_id) | set(history.last_disclosure)):
        if partner_id in skip:
            continue
        partner = by_id.get(partner_id)
        disclosure = disclose_for_any(profile, partner.policy, now, evidence) if partner else None
        if disclosure is not None and disclosure.consented:
            announces = event_kind != CONSENT_REVOKED  # a revocation only ever takes away
            if partner is not None and partner.outbound is not None and announces:
                routes.append(Route(partner_id, DeliveryKind.PROFILE, disclosure.purpose))
        elif partner_id in history.last_disclosure and not history.told(
            partner_id, DeliveryKind.OPTOUT
        ):
            routes.append(_notice(partner, partner_id, DeliveryKind.OPTOUT))
    return routes


def _notice(partner: PartnerSpec | None, partner_id: str, kind: DeliveryKind) -> Route:
    if partner is None:
        return Route(partner_id, kind, unreachable="partner is no longer registered")
    if partner.outbound is None:
        return Route(partner_id, kind, unreachable="partner has no [outbound] endpoint")
    return Route(partner_id, kind)
