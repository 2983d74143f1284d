"""The disclosure rule: which part of a golden profile one partner may receive, for one purpose.

Default deny, in this order: the partner must declare the purpose; the person must hold a consent
for that purpose, naming the recipient kind the partner is, that is granted and in force at
``now`` (not denied, revoked, expired or not yet given); then only the fields the partner may see
are kept. No consent recorded means nothing is disclosed. Pure functions: no clock, no database.

What a disclosed profile carries besides the allowed fields, and why:

- ``id`` (the golden id): the partner's handle for later queries and erasure; not personal data.
- identifiers only of the partner's own systems: it knows those keys already.
- the consents that allowed this disclosure: the partner must know their expiry to stop using
  the data in time. Other consents (and the metadata, which names source systems) are left out.

A CPEX profile needs an identifier and a person or organization, so a profile with no identifier
the partner may see gets none disclosed: the golden id is then its only identifier, as
``Identifier(GATEWAY_SYSTEM, id)``. A person whose name is withheld is an empty ``Person``; an
organization whose name is withheld cannot be written at all, so nothing is disclosed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from gateway.model import Consent, Identifier, Organization, Person, Profile, Purpose
from gateway.privacy.policy import IDENTIFIERS, DisclosurePolicy

#: The identifier system of the gateway's own golden ids.
GATEWAY_SYSTEM = "cpex"

#: Top-level parts of a profile that are never disclosed by category (see the module doc).
_NOT_BY_CATEGORY = frozenset({"id", IDENTIFIERS, "consents", "metadata", "person", "organization"})


class Withheld(StrEnum):
    """Why nothing was disclosed (stable codes, for the audit detail and tests)."""

    PURPOSE_NOT_DECLARED = "purpose_not_declared"
    NO_CONSENT = "no_consent"
    ORGANIZATION_NAME = "organization_name_withheld"


@dataclass(frozen=True, slots=True)
class Disclosure:
    """The outcome of the rule for one profile, partner and purpose.

    ``profile`` is None when nothing may be disclosed (``withheld`` says why); otherwise it holds
    only the allowed parts, and ``fields`` lists the dotted paths that carry data in it.
    """

    golden_id: str | None
    partner: str
    purpose: Purpose
    profile: Profile | None
    fields: tuple[str, ...] = ()
    withheld: Withheld | None = None

    @property
    def allowed(self) -> bool:
        return self.profile is not None


def authorising_consents(
    profile: Profile, policy: DisclosurePolicy, purpose: Purpose, now: datetime
) -> tuple[Consent, ...]:
    """The person's consents that allow disclosing to this partner for this purpose at ``now``."""
    return tuple(
        c
        for c in profile.consents
        if c.purpose is purpose and c.recipient is policy.recipient and c.in_force(now)
    )


def disclose(
    profile: Profile, policy: DisclosurePolicy, purpose: Purpose, now: datetime
) -> Disclosure:
    """Apply the rule: the disclosed profile (or none) and the fields it carries."""

    def withheld(reason: Withheld) -> Disclosure:
        return Disclosure(profile.id, policy.partner, purpose, None, withheld=reason)

    if purpose not in policy.purposes:
        return withheld(Withheld.PURPOSE_NOT_DECLARED)
    consents = authorising_consents(profile, policy, purpose, now)
    if not consents:
        return withheld(Withheld.NO_CONSENT)
    organization = _filtered(profile.organization, Organization, "organization", policy)
    if profile.organization is not None and organization is None:
        return withheld(Withheld.ORGANIZATION_NAME)
    person = _filtered(profile.person, Person, "person", policy)
    if profile.person is not None and person is None:
        person = Person()
    kept: dict[str, Any] = {
        f.name: getattr(profile, f.name) if policy.allows_field(f.name) else _empty(f)
        for f in dataclasses.fields(Profile)
        if f.name not in _NOT_BY_CATEGORY
    }
    disclosed = Profile(
        id=profile.id,
        identifiers=_identifiers(profile, policy),
        person=person,
        organization=organization,
        consents=consents,
        **kept,
    )
    return Disclosure(profile.id, policy.partner, purpose, disclosed, _carried_fields(disclosed))


def disclose_for_any(
    profile: Profile, policy: DisclosurePolicy, now: datetime, purposes: Iterable[Purpose] = ()
) -> Disclosure:
    """The first allowed disclosure over ``purposes`` (default: the partner's, in its order).

    Used to answer a partner's query, which names no purpose: the partner's declared purposes are
    tried in the order its file lists them. When none allows it, the last refusal is returned.
    """
    result: Disclosure | None = None
    for purpose in tuple(purposes) or policy.purposes:
        result = disclose(profile, policy, purpose, now)
        if result.allowed:
            return result
    if result is None:
        raise ValueError(f"partner {policy.partner} declares no purpose")
    return result


# --- helpers ----------------------------------------------------------------------------------


def _filtered(value: Any, cls: type, prefix: str, policy: DisclosurePolicy) -> Any:
    """``value`` (a Person or Organization) with the fields the policy does not allow emptied.

    None when nothing allowed is left, or when a required field (one with no default) is not
    allowed: such a part cannot be written without it.
    """
    if value is None:
        return None
    kept: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if policy.allows_field(f"{prefix}.{f.name}"):
            kept[f.name] = getattr(value, f.name)
        elif _has_default(f):
            kept[f.name] = _empty(f)
        else:
            return None
    result = cls(**kept)
    return result if any(v not in (None, ()) for v in kept.values()) else None


def _identifiers(profile: Profile, policy: DisclosurePolicy) -> tuple[Identifier, ...]:
    own = tuple(i for i in profile.identifiers if i.system in policy.identifier_systems)
    if own or profile.id is None:
        return own
    return (Identifier(GATEWAY_SYSTEM, profile.id),)


def _carried_fields(profile: Profile) -> tuple[str, ...]:
    """Dotted paths that carry data in a disclosed profile (what the audit log records)."""
    paths: list[str] = []
    for f in dataclasses.fields(Profile):
        value = getattr(profile, f.name)
        if f.name == "id" or value in (None, ()):
            continue
        if isinstance(value, (Person, Organization)):
            paths += [
                f"{f.name}.{sub.name}"
                for sub in dataclasses.fields(value)
                if getattr(value, sub.name) not in (None, ())
            ]
        else:
            paths.append(f.name)
    return tuple(paths)


def _has_default(f: dataclasses.Field[Any]) -> bool:
    return f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING


def _empty(f: dataclasses.Field[Any]) -> Any:
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return f.default
