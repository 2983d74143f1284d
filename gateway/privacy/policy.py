"""What one partner may receive: its purposes, the recipient kind it is, and the fields it may see.

A :class:`DisclosurePolicy` is plain data, built from a partner file by :mod:`gateway.partners`
and read by :func:`gateway.privacy.disclosure.disclose`. Kept apart from the partner registry so
that the privacy rules depend on nothing but the canonical model: the outbound dispatcher, the
query answers and the tests all hand the same object to the same pure function.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gateway.model import DataCategory, Purpose, Recipient, field_categories
from gateway.privacy.trust import PARTNER_PREFIX

#: Field paths a policy may name besides the categorised ones: a nested part as a whole.
_PARENTS = frozenset(p.partition(".")[0] for p in field_categories() if "." in p)

#: The golden profile's identifiers are disclosed by system (``identifier_systems``), never by
#: category: another system's key would tell a partner where else the person is a customer.
IDENTIFIERS = "identifiers"


def known_field_paths() -> frozenset[str]:
    """Every path a policy's ``fields`` may name: ``person``, ``person.family_name``, ``emails``."""
    return (frozenset(field_categories()) | _PARENTS) - {IDENTIFIERS}


@dataclass(frozen=True, slots=True)
class DisclosurePolicy:
    """One partner's side of the disclosure rule (the person's consent is the other side).

    ``partner`` names the recipient in the audit log; ``recipient`` is the P3P recipient kind the
    partner is, which a consent must name to cover it; ``categories`` and ``fields`` are the union
    of what it may see; ``identifier_systems`` the systems whose keys it may see (its own, so it
    can match the answer to its record); ``system`` the partner's own system, whose records
    are its own contribution.
    """

    partner: str
    recipient: Recipient
    purposes: tuple[Purpose, ...]
    categories: frozenset[DataCategory] = frozenset()
    fields: frozenset[str] = frozenset()
    identifier_systems: frozenset[str] = field(default_factory=frozenset)
    #: The partner's own system (``partner:<id>``): whose records are its own contribution.
    system: str = ""

    def __post_init__(self) -> None:
        if not self.system:
            object.__setattr__(self, "system", f"{PARTNER_PREFIX}{self.partner}")
        unknown = sorted(self.fields - known_field_paths())
        if unknown:
            raise ValueError(f"unknown field paths in policy of {self.partner}: {unknown}")

    def allows_field(self, path: str) -> bool:
        """True when the field at ``path`` (or a part that contains it) may be disclosed."""
        category = field_categories().get(path)
        if category is not None and category in self.categories:
            return True
        while path:
            if path in self.fields:
                return True
            path = path.rpartition(".")[0]
        return False
