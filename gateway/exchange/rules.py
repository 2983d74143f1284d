"""Rules of the exchange format that XSD 1.0 cannot say, checked right after the schema.

A Query needs at least one criterion. XSD 1.0 can only express "at least one of these, in this
order" as a choice of sequences that repeat the same element names, and SOAP toolkits that bind
schemas to objects build the wrong branch of such a choice (zeep always filled the first one, so
a query by Email or FamilyName failed in the client with "Missing element ProfileId"). The
exchange XSD therefore declares every criterion optional, and the rule lives here; a violation
is reported as a schema violation (same code, same path, same HTTP status and SOAP fault as
when the XSD said it), so partners see no difference.
"""

from __future__ import annotations

from lxml import etree

from gateway.errors import ValidationIssue
from gateway.model.namespaces import CPEX_EXCHANGE_NS

#: The criteria of a Query, in schema order (MaxResults is not one).
QUERY_CRITERIA = ("ProfileId", "Identifier", "Email", "Phone", "FamilyName", "PostalCode")

_QUERY_PATH = f"{{{CPEX_EXCHANGE_NS}}}Body/{{{CPEX_EXCHANGE_NS}}}Query"
_CRITERIA_TAGS = frozenset(f"{{{CPEX_EXCHANGE_NS}}}{name}" for name in QUERY_CRITERIA)

QUERY_WITHOUT_CRITERIA = (
    "a Query needs at least one criterion: " + ", ".join(QUERY_CRITERIA)
    + " (MaxResults alone is not one)"
)


def envelope_rule_issues(envelope: etree._Element) -> list[ValidationIssue]:
    """The problems an ``ex:Envelope`` that is valid against the XSD may still have."""
    query = envelope.find(_QUERY_PATH)
    if query is None or any(child.tag in _CRITERIA_TAGS for child in query):
        return []
    line = query.sourceline if isinstance(query.sourceline, int) else None
    return [ValidationIssue(line, None, "/Envelope/Body/Query", QUERY_WITHOUT_CRITERIA)]
