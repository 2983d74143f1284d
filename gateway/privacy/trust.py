"""What a source's records are evidence of: the partner trust rules, pure (no clock, no database).

A partner is a source like any other, and an untrusted one:

- **Identifiers.** A source asserts keys in its own namespace. A partner (system
  ``partner:<id>``) may assert keys of other systems only when its partner file lists them
  (``inbound.trusted_identifiers``); any other identifier in its record is refused with the
  record, or stripped from it (``inbound.foreign_identifiers``), before identity resolution sees
  it, so it is never used to merge. :class:`IdentifierTrust` is that screen.
- **Consents.** A consent is evidence about the relationship of the source that recorded it.
  What a partner may receive is decided by the consents of the sources the gateway trusts for
  that (``[privacy] consent_sources``), never by what a partner wrote itself: :class:`Evidence`
  holds the latest trusted answer per purpose and recipient, taken from the source records (the
  system that sent a record, not the ``source`` text inside the consent).
- **Contributions.** What a partner's own records hold (:meth:`Evidence.contribution`) may go
  back to it whatever the consents say: it sent that data. Nothing else does, so a merge caused
  by its record shows it nothing new.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from gateway.errors import ModelError
from gateway.model import Consent, Profile, from_dict

#: The namespace prefix of partner systems (``partner:acme``).
PARTNER_PREFIX = "partner:"


def is_partner_system(system: str) -> bool:
    return system.startswith(PARTNER_PREFIX)


class ForeignIdentifiers(StrEnum):
    """What becomes of a record that carries an identifier its sender may not assert."""

    REJECT = "reject"  # the record is refused (quarantined) with a clear error
    STRIP = "strip"  # the identifier is dropped, the rest of the record goes on


class ForeignIdentifierError(ModelError):
    """A partner's record asserts a key of a system it is not trusted to assert."""

    code = "foreign_identifier"


@dataclass(frozen=True, slots=True)
class IdentifierTrust:
    """The identifier systems one source may assert: its own, plus ``trusted``."""

    system: str
    trusted: frozenset[str] = frozenset()
    foreign: ForeignIdentifiers = ForeignIdentifiers.REJECT

    @classmethod
    def for_source(cls, system: str) -> IdentifierTrust | None:
        """The default screen of a source: partners assert their own namespace only; other
        sources (the ERP, the CRM, an admin's import) are not screened."""
        return cls(system) if is_partner_system(system) else None

    def allows(self, system: str) -> bool:
        return system == self.system or system in self.trusted

    def screen(self, profile: Profile) -> Profile:
        """``profile`` as this source may assert it: foreign identifiers refused or stripped,
        and every consent marked as this source's own (the ``source`` a partner writes in a
        consent is its claim, not a fact).

        :raises ForeignIdentifierError: an identifier of another system, in reject mode (the
            message names the system and where, never the key).
        """
        foreign = [
            (index, i.system)
            for index, i in enumerate(profile.identifiers, start=1)
            if not self.allows(i.system)
        ]
        if foreign and self.foreign is ForeignIdentifiers.REJECT:
            index, system = foreign[0]
            trusted = ", ".join(sorted(self.trusted)) or "none"
            raise ForeignIdentifierError(
                f"identifier system '{system}' may not be asserted by {self.system} (its own "
                f"namespace only; other systems it is trusted to assert: {trusted})",
                path=f"Profile/Identifier[{index}]",
            )
        identifiers = tuple(i for i in profile.identifiers if self.allows(i.system))
        consents = tuple(dataclasses.replace(c, source=self.system) for c in profile.consents)
        return dataclasses.replace(profile, identifiers=identifiers, consents=consents)


# --- evidence of the source records ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SourceDocument:
    """One source record of a golden profile as the trust rules read it."""

    system: str
    received_at: datetime
    document: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Evidence:
    """What the source records of one golden profile say, by who said it.

    ``consents``: per purpose and recipient, the latest answer recorded by a trusted consent
    source. ``contributions``: per partner system, the profile its own records make (the most
    recent record's value of each field).
    """

    consents: tuple[Consent, ...] = ()
    contributions: Mapping[str, Profile] = field(default_factory=dict)

    def contribution(self, system: str) -> Profile | None:
        return self.contributions.get(system)


def evidence_of(records: Iterable[SourceDocument], consent_sources: frozenset[str]) -> Evidence:
    """The :class:`Evidence` of one golden profile's source records."""
    recent = sorted(records, key=lambda r: r.received_at, reverse=True)
    return Evidence(
        consents=_latest_consents(r for r in recent if r.system in consent_sources),
        contributions=_contributions(r for r in recent if is_partner_system(r.system)),
    )


def _latest_consents(recent: Iterable[SourceDocument]) -> tuple[Consent, ...]:
    latest: dict[tuple[str, str], Consent] = {}
    for record in recent:
        for data in record.document.get("consents") or ():
            consent = from_dict(Consent, data)
            key = (consent.purpose.value, consent.recipient.value)
            if key not in latest or consent.given > latest[key].given:
                latest[key] = consent
    return tuple(latest.values())


def _contributions(recent: Iterable[SourceDocument]) -> dict[str, Profile]:
    """Per partner system, its records folded into one document, newest value first."""
    merged: dict[str, dict[str, Any]] = {}
    for record in recent:
        document = merged.setdefault(record.system, {})
        for name, value in record.document.items():
            if name == "identifiers":
                document.setdefault(name, [])
                document[name] += [i for i in value if i not in document[name]]
            elif value not in (None, "", [], {}):
                document.setdefault(name, value)
    return {system: _profile(document) for system, document in merged.items()}


def _profile(document: dict[str, Any]) -> Profile:
    try:
        return from_dict(Profile, document)
    except ModelError:  # a person and an organization from two records: keep the person
        document.pop("organization", None)
        return from_dict(Profile, document)
