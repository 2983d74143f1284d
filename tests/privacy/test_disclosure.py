"""The disclosure rule: consent matrix, purposes, recipient kinds, category and field filtering."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gateway.model import (
    Consent,
    ConsentStatus,
    DataCategory,
    Email,
    FinancialSummary,
    Identifier,
    Organization,
    Person,
    PostalAddress,
    Preferences,
    Profile,
    Purpose,
    Recipient,
    WebPresence,
)
from gateway.privacy import (
    GATEWAY_SYSTEM,
    Disclosure,
    DisclosurePolicy,
    Evidence,
    Withheld,
)
from gateway.privacy import disclose as disclose_with
from gateway.privacy import disclose_for_any as disclose_for_any_with

NOW = datetime(2025, 6, 1, tzinfo=UTC)
DAY = timedelta(days=1)


def policy(**changes: object) -> DisclosurePolicy:
    values: dict[str, object] = {
        "partner": "acme",
        "recipient": Recipient.SAME,
        "purposes": (Purpose.CONTACT, Purpose.CURRENT),
        "categories": frozenset({DataCategory.IDENTITY, DataCategory.CONTACT}),
        "identifier_systems": frozenset({"partner:acme"}),
    }
    values.update(changes)
    return DisclosurePolicy(**values)  # type: ignore[arg-type]


def profile(*consents: Consent) -> Profile:
    return Profile(
        id="gp_1",
        identifiers=(Identifier("partner:acme", "A1"), Identifier("erp", "E1")),
        person=Person(given_name="Ada", family_name="Lovelace", language="en"),
        addresses=(PostalAddress(city="London"),),
        emails=(Email("ada@example.org"),),
        web=(WebPresence("https://example.org"),),
        preferences=Preferences(interests=("engines",)),
        financial=FinancialSummary(as_of=NOW),
        segments=("vip",),
        consents=consents,
    )


def disclose(p: Profile, pol: DisclosurePolicy, purpose: Purpose, now: datetime) -> Disclosure:
    """The rule with the profile's consents recorded by a trusted source (the trust rules
    themselves are tested in test_trust.py)."""
    return disclose_with(p, pol, purpose, now, Evidence(consents=p.consents))


def disclose_for_any(p: Profile, pol: DisclosurePolicy, now: datetime) -> Disclosure:
    return disclose_for_any_with(p, pol, now, Evidence(consents=p.consents))


def consent(
    status: ConsentStatus = ConsentStatus.GRANTED,
    purpose: Purpose = Purpose.CONTACT,
    recipient: Recipient = Recipient.SAME,
    given: datetime = NOW - DAY,
    expires: datetime | None = None,
) -> Consent:
    return Consent(purpose, recipient, status, given=given, expires=expires)


# --- the consent matrix -------------------------------------------------------------------------

CASES = {
    "granted": (consent(), True),
    "granted, expires later": (consent(expires=NOW + DAY), True),
    "denied": (consent(ConsentStatus.DENIED), False),
    "revoked": (consent(ConsentStatus.REVOKED), False),
    "expired": (consent(expires=NOW - timedelta(seconds=1)), False),
    "expires exactly now": (consent(expires=NOW), False),
    "given in the future": (consent(given=NOW + DAY), False),
    "another purpose": (consent(purpose=Purpose.TELEMARKETING), False),
    "another recipient kind": (consent(recipient=Recipient.UNRELATED), False),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_consent_matrix(case: str) -> None:
    given, allowed = CASES[case]
    result = disclose(profile(given), policy(), Purpose.CONTACT, NOW)
    assert result.allowed is allowed
    if not allowed:
        assert result.profile is None and result.fields == ()
        assert result.withheld is Withheld.NO_CONSENT


def test_no_consent_recorded_means_nothing() -> None:
    result = disclose(profile(), policy(), Purpose.CONTACT, NOW)
    assert result.profile is None and result.withheld is Withheld.NO_CONSENT


@pytest.mark.parametrize("purpose", list(Purpose))
def test_only_declared_purposes_with_consent(purpose: Purpose) -> None:
    """A consent for every purpose: only the partner's declared ones are disclosed."""
    everything = profile(*(consent(purpose=p) for p in Purpose))
    result = disclose(everything, policy(), purpose, NOW)
    declared = purpose in (Purpose.CONTACT, Purpose.CURRENT)
    assert result.allowed is declared
    if not declared:
        assert result.withheld is Withheld.PURPOSE_NOT_DECLARED


def test_revoked_wins_over_nothing_but_another_granted_consent_still_counts() -> None:
    """Consents are per purpose and recipient: a revoked one does not cancel another grant."""
    both = profile(consent(ConsentStatus.REVOKED), consent(purpose=Purpose.CURRENT))
    assert not disclose(both, policy(), Purpose.CONTACT, NOW).allowed
    assert disclose(both, policy(), Purpose.CURRENT, NOW).allowed


# --- what is disclosed ----------------------------------------------------------------------------


def test_categories_filter_fields_and_fields_are_listed() -> None:
    result = disclose(profile(consent()), policy(), Purpose.CONTACT, NOW)
    shown = result.profile
    assert shown is not None
    assert shown.person == Person(given_name="Ada", family_name="Lovelace")  # language: demographic
    assert shown.emails and shown.addresses  # contact
    assert shown.web == () and shown.preferences is None and shown.financial is None
    assert shown.segments == ()
    assert shown.identifiers == (Identifier("partner:acme", "A1"),)  # never erp's key
    assert shown.consents == (consent(),)  # only the one that allowed it
    assert shown.metadata is None and shown.id == "gp_1"
    assert result.fields == (
        "identifiers", "person.given_name", "person.family_name", "addresses", "emails",
        "consents",
    )


def test_single_fields_add_to_categories() -> None:
    narrow = policy(
        categories=frozenset(), fields=frozenset({"person.family_name", "financial", "web"})
    )
    shown = disclose(profile(consent()), narrow, Purpose.CONTACT, NOW).profile
    assert shown is not None
    assert shown.person == Person(family_name="Lovelace")
    assert shown.financial is not None and shown.web and shown.emails == ()


def test_nothing_allowed_still_gives_a_valid_minimal_profile() -> None:
    bare = policy(categories=frozenset(), identifier_systems=frozenset())
    result = disclose(profile(consent()), bare, Purpose.CONTACT, NOW)
    assert result.profile is not None
    assert result.profile.person == Person()
    assert result.profile.identifiers == (Identifier(GATEWAY_SYSTEM, "gp_1"),)
    assert result.fields == ("identifiers", "consents")


def test_organization_without_its_name_is_withheld() -> None:
    org = Profile(
        id="gp_2", identifiers=(Identifier("partner:acme", "O1"),),
        organization=Organization(name="Globex Ltd"), consents=(consent(),),
    )
    contact_only = policy(categories=frozenset({DataCategory.CONTACT}))
    assert disclose(org, contact_only, Purpose.CONTACT, NOW).withheld is (
        Withheld.ORGANIZATION_NAME
    )
    assert disclose(org, policy(), Purpose.CONTACT, NOW).allowed


def test_disclose_for_any_takes_the_first_allowed_purpose() -> None:
    result = disclose_for_any(profile(consent(purpose=Purpose.CURRENT)), policy(), NOW)
    assert result.allowed and result.purpose is Purpose.CURRENT
    refused = disclose_for_any(profile(), policy(), NOW)
    assert not refused.allowed


def test_unknown_field_paths_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown field paths"):
        policy(fields=frozenset({"person.shoe_size"}))
