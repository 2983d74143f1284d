"""Consent and field policy: what a partner may receive, and the record of what it received.

:mod:`policy`, :mod:`trust` and :mod:`disclosure` are pure (no clock, no database) so every
channel (query answers, outbound deliveries) applies the same rule; :mod:`evidence` reads what
the source records say (trusted consents, a partner's own contribution); :mod:`audit` writes and
reads the disclosure rows.
"""

from gateway.privacy.audit import (
    DISCLOSURE_ACTION,
    DisclosureRecord,
    disclosures_of,
    partners_disclosed_to,
    record_disclosure,
)
from gateway.privacy.disclosure import (
    GATEWAY_SYSTEM,
    Disclosure,
    Withheld,
    authorising_consents,
    disclose,
    disclose_for_any,
    disclose_own,
)
from gateway.privacy.evidence import load_evidence
from gateway.privacy.policy import DisclosurePolicy, known_field_paths
from gateway.privacy.trust import (
    Evidence,
    ForeignIdentifierError,
    ForeignIdentifiers,
    IdentifierTrust,
    is_partner_system,
)

__all__ = [
    "DISCLOSURE_ACTION",
    "GATEWAY_SYSTEM",
    "Disclosure",
    "DisclosurePolicy",
    "DisclosureRecord",
    "Evidence",
    "ForeignIdentifierError",
    "ForeignIdentifiers",
    "IdentifierTrust",
    "Withheld",
    "authorising_consents",
    "disclose",
    "disclose_for_any",
    "disclose_own",
    "disclosures_of",
    "is_partner_system",
    "known_field_paths",
    "load_evidence",
    "partners_disclosed_to",
    "record_disclosure",
]
