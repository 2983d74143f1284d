"""Survivorship: each golden field chosen by its strategy, empties never winning, lineage."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from gateway.identity import IdentityRules
from gateway.identity.survivorship import LinkedRecord, build_golden

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def record(system: str, minutes: int, **document: Any) -> LinkedRecord:
    return LinkedRecord(system, f"{system}-1", T0 + timedelta(minutes=minutes), document)


ERP = record(
    "erp",
    0,
    person={"given_name": "Ada", "family_name": "Lovelace", "birth_date": "1815-12-10"},
    emails=[{"address": "ada@erp.example", "type": "work", "primary": False}],
    financial={"as_of": "2025-01-01T00:00:00+00:00", "credit_status": "good"},
)
CRM = record(
    "crm",
    10,
    person={"given_name": "Augusta", "family_name": "", "suffix": "PhD"},
    emails=[{"address": "ada@crm.example", "type": "personal", "primary": True}],
    addresses=[{"type": "home", "lines": ["12 St James's Square", "Flat 2"], "city": "London"}],
)
WEB = record(
    "web",
    20,
    person={"given_name": "Ada"},
    addresses=[{"type": "home", "city": "London"}],
    financial={"as_of": "2025-02-01T00:00:00+00:00", "credit_status": "hold"},
)


def test_most_recent_by_default_and_an_empty_value_never_overwrites() -> None:
    document, lineage = build_golden([ERP, CRM, WEB], IdentityRules())
    assert document["person"] == {
        "given_name": "Ada",  # web, the newest
        "family_name": "Lovelace",  # crm's newer "" is empty: erp's survives
        "birth_date": "1815-12-10",
        "suffix": "PhD",
    }
    assert lineage["person.given_name"] == ["web", "web-1"]
    assert lineage["person.family_name"] == ["erp", "erp-1"]
    assert document["addresses"] == WEB.document["addresses"]


def test_priority_takes_the_first_listed_source_that_has_a_value() -> None:
    rules = IdentityRules(
        source_priority=("erp", "crm"),
        field_strategy={"financial": "priority", "person.given_name": "priority"},
    )
    document, lineage = build_golden([ERP, CRM, WEB], rules)
    assert document["financial"]["credit_status"] == "good"
    assert lineage["financial"] == ["erp", "erp-1"]
    assert document["person"]["given_name"] == "Ada"
    assert lineage["person.given_name"] == ["erp", "erp-1"]


def test_most_complete_takes_the_fullest_value() -> None:
    rules = IdentityRules(field_strategy={"addresses": "most_complete"})
    document, lineage = build_golden([ERP, CRM, WEB], rules)
    assert document["addresses"] == CRM.document["addresses"]
    assert lineage["addresses"] == ["crm", "crm-1"]


def test_union_keeps_every_distinct_item_newest_first() -> None:
    again = record("crm", 30, emails=CRM.document["emails"])
    document, _ = build_golden([ERP, CRM, again], IdentityRules(field_strategy={"emails": "union"}))
    assert [e["address"] for e in document["emails"]] == ["ada@crm.example", "ada@erp.example"]


def test_identifiers_are_the_union_and_consents_the_latest_answer_per_purpose() -> None:
    def consent(status: str, day: int) -> dict[str, str]:
        return {
            "purpose": "contact",
            "recipient": "ours",
            "status": status,
            "given": f"2025-01-{day:02d}T00:00:00+00:00",
        }

    old = record(
        "crm", 50, identifiers=[{"system": "crm", "key": "1"}], consents=[consent("revoked", 9)]
    )
    new = record(
        "web", 40, identifiers=[{"system": "web", "key": "w"}], consents=[consent("granted", 2)]
    )
    document, lineage = build_golden([old, new], IdentityRules())
    assert document["identifiers"] == [{"system": "crm", "key": "1"}, {"system": "web", "key": "w"}]
    # The web record arrived later but its answer is older: the revocation stands.
    assert [c["status"] for c in document["consents"]] == ["revoked"]
    assert lineage["consents"] == ["crm", "crm-1"]


def test_one_record_gives_back_its_own_document() -> None:
    document, _ = build_golden([CRM], IdentityRules())
    assert document == {k: v for k, v in CRM.document.items()} | {
        "person": {"given_name": "Augusta", "suffix": "PhD"}
    }
