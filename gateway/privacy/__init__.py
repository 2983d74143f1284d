"""Consent and field policy: what a partner may receive, and the record of what it received.

:mod:`policy` and :mod:`disclosure` are pure (no clock, no database) so every channel (query
answers now, outbound deliveries later) applies the same rule; :mod:`audit` writes and reads the
disclosure rows.
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
)
from gateway.privacy.policy import DisclosurePolicy, known_field_paths

__all__ = [
    "DISCLOSURE_ACTION",
    "GATEWAY_SYSTEM",
    "Disclosure",
    "DisclosurePolicy",
    "DisclosureRecord",
    "Withheld",
    "authorising_consents",
    "disclose",
    "disclose_for_any",
    "disclosures_of",
    "known_field_paths",
    "partners_disclosed_to",
    "record_disclosure",
]
