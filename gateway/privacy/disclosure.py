"""The disclosure rule: which part of a golden profile one partner may receive, for one purpose.

Default deny, in this order: the partner must declare the purpose; a consent for that purpose,
naming the recipient kind the partner is, granted and in force at ``now`` (not denied, revoked,
expired or not yet given) must have been recorded by a source the gateway trusts for consents
(:class:`~gateway.privacy.trust.Evidence`: a partner's own consent never counts); then only the
fields the partner may see are kept. No trusted consent means nothing is disclosed. Besides, what
the partner's own records hold goes back to it (it sent that data): it fills the fields the
consent does not cover, and alone it makes an answer that discloses nothing (``purpose`` None).
Pure functions: no clock, no database.

What a disclosed profile carries besides the allowed fields, and why:

- ``id`` (the golden id): the partner's handle for later queries and erasure; not personal data.
- identifiers only of the partner's own systems: it knows those keys already.
- the trusted consents that allowed this disclosure: the partner must know their expiry to stop
  using the data in time; and the consents the partner itself sent (its own data). Other
  consents (and the metadata, which names source systems) are left out.

A CPEX profile needs an identifier and a person or organization, so a profile with no identifier
the partner may see gets none disclosed: the golden id is then its only identifier, as
``Identifier(GATEWAY_SYSTEM, id)``. A person whose name is withheld is an empty ``Person``; an
organization whose name is withheld cannot be written at all, so nothing is disclosed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from gateway.model import Consent, Identifier, Organization, Person, Profile, Purpose
from gateway.privacy.policy import IDENTIFIERS, DisclosurePolicy
from gateway.privacy.trust import Evidence

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

    ``profile`` is None when nothing may be sent (``withheld`` says why); otherwise it holds
    only the allowed parts, and ``fields`` lists the dotted paths that carry data in it.
    ``purpose`` is None for an answer that carries only the partner's own data: nothing is
    disclosed by it (it is not written to the disclosure audit, and no delivery is made of it).
    """

    golden_id: str | None
    partner: str
    purpose: Purpose | None
    profile: Profile | None
    fields: tuple[str, ...] = ()
    withheld: Withheld | None = None

    @property
    def allowed(self) -> bool:
        return self.profile is not None

    @property
    def consented(self) -> bool:
        """Allowed by a trusted consent for ``purpose`` (not only the partner's own data)."""
        return self.profile is not None and self.purpose is not None


def authorising_consents(
    consents: Iterable[Consent], policy: DisclosurePolicy, purpose: Purpose, now: datetime
) -> tuple[Consent, ...]:
    """The trusted consents that allow disclosing to this partner for this purpose at ``now``."""
    return tuple(
        c
        for c in consents
        if c.purpose is purpose and c.recipient is policy.recipient and c.in_force(now)
    )


def disclose(
    profile: Profile,
    policy: DisclosurePolicy,
    purpose: Purpose,
    now: datetime,
    evidence: Evidence,
) -> Disclosure:
    """Apply the rule for ``purpose``: the disclosed profile (or none) and the fields it carries.

    ``evidence`` is what the person's source records say (:func:`~gateway.privacy.trust.
    evidence_of`): the trusted consents, and the partner's own contribution.
    """

    def withheld(reason: Withheld) -> Disclosure:
        return Disclosure(profile.id, policy.partner, purpose, None, withheld=reason)

    if purpose not in policy.purposes:
        return withheld(Withheld.PURPOSE_NOT_DECLARED)
    consents = authorising_consents(evidence.consents, policy, purpose, now)
    if not consents:
        return withheld(Withheld.NO_CONSENT)
    own = evidence.contribution(policy.system)
    disclosed = _view(profile, own, policy, policy.allows_field, consents)
    if profile.organization is not None and disclosed.organization is None:
        return withheld(Withheld.ORGANIZATION_NAME)
    return Disclosure(profile.id, policy.partner, purpose, disclosed, _carried_fields(disclosed))


def disclose_own(profile: Profile, policy: DisclosurePolicy, evidence: Evidence) -> Disclosure:
    """Only what the partner's own records hold (nothing if it has no record of the person)."""
    own = evidence.contribution(policy.system)
    if own is None or (own.person is None and own.organization is None):
        return Disclosure(profile.id, policy.partner, None, None, withheld=Withheld.NO_CONSENT)
    shown = _view(profile, own, policy, lambda path: False, ())
    return Disclosure(profile.id, policy.partner, None, shown, _carried_fields(shown))


def disclose_for_any(
    profile: Profile,
    policy: DisclosurePolicy,
    now: datetime,
    evidence: Evidence,
    purposes: Iterable[Purpose] = (),
) -> Disclosure:
    """The first disclosure a trusted consent allows over ``purposes`` (default: the
    partner's, in its order); failing that, the partner's own data (:func:`disclose_own`);
    failing that, the last refusal.

    Used to answer a partner's query, which names no purpose.
    """
    result: Disclosure | None = None
    for purpose in tuple(purposes) or policy.purposes:
        result = disclose(profile, policy, purpose, now, evidence)
        if result.allowed:
            return result
    if result is None:
        raise ValueError(f"partner {policy.partner} declares no purpose")
    own = disclose_own(profile, policy, evidence)
    return own if own.allowed else result


# --- helpers ----------------------------------------------------------------------------------


def _view(
    profile: Profile,
    own: Profile | None,
    policy: DisclosurePolicy,
    allows: Callable[[str], bool],
    consents: tuple[Consent, ...],
) -> Profile:
    """The golden profile's fields that ``allows`` lets through, the gaps filled from the
    partner's own contribution ``own``."""
    person = _part(profile, own, "person", Person, allows)
    if person is None and profile.person is not None:
        person = Person()
    kept: dict[str, Any] = {}
    for f in dataclasses.fields(Profile):
        if f.name in _NOT_BY_CATEGORY:
            continue
        value = getattr(profile, f.name) if allows(f.name) else _empty(f)
        if value in (None, ()) and own is not None:
            value = getattr(own, f.name)
        kept[f.name] = value
    mine = own.consents if own is not None else ()
    return Profile(
        id=profile.id,
        identifiers=_identifiers(profile, own, policy),
        person=person,
        organization=_part(profile, own, "organization", Organization, allows),
        consents=tuple(dict.fromkeys(consents + mine)),
        **kept,
    )


def _part(
    profile: Profile, own: Profile | None, name: str, cls: type, allows: Callable[[str], bool]
) -> Any:
    """The ``person`` or ``organization`` of ``profile`` with the fields ``allows`` refuses
    taken from ``own`` (the partner's contribution) or emptied.

    None when nothing is left, or when a required field (one with no default) has no value
    that may be shown: such a part cannot be written without it.
    """
    value = getattr(profile, name)
    mine = getattr(own, name) if own is not None else None
    if value is None and mine is None:
        return None
    kept: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        shown = value is not None and allows(f"{name}.{f.name}")
        chosen = getattr(value, f.name) if shown else None
        if chosen in (None, ()) and mine is not None:
            chosen = getattr(mine, f.name)
        if chosen in (None, ()):
            if not _has_default(f):
                return None
            chosen = _empty(f)
        kept[f.name] = chosen
    return cls(**kept) if any(v not in (None, ()) for v in kept.values()) else None


def _identifiers(
    profile: Profile, own: Profile | None, policy: DisclosurePolicy
) -> tuple[Identifier, ...]:
    known = profile.identifiers + (own.identifiers if own is not None else ())
    shown = tuple(dict.fromkeys(i for i in known if i.system in policy.identifier_systems))
    if shown or profile.id is None:
        return shown
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
