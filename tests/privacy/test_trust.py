"""The partner trust rules as pure functions: identifier screen, trusted consents, contributions.

Driven from outside (REST, SOAP, both databases) in tests/exchange/test_partner_trust.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gateway.model import (
    Consent,
    ConsentStatus,
    DataCategory,
    Email,
    Identifier,
    Person,
    Phone,
    Profile,
    Purpose,
    Recipient,
    to_dict,
)
from gateway.privacy import (
    DisclosurePolicy,
    ForeignIdentifierError,
    ForeignIdentifiers,
    IdentifierTrust,
    disclose,
    disclose_for_any,
)
from gateway.privacy.trust import SourceDocument, evidence_of

NOW = datetime(2025, 6, 1, tzinfo=UTC)
DAY = timedelta(days=1)
TRUSTED = frozenset({"erp", "crm"})


def grant(given: datetime = NOW - 3 * DAY, status: ConsentStatus = ConsentStatus.GRANTED,
          source: str | None = None) -> Consent:
    return Consent(Purpose.CONTACT, Recipient.SAME, status, given=given, source=source)


def record(system: str, profile: Profile, age_days: int = 1) -> SourceDocument:
    return SourceDocument(system, NOW - age_days * DAY, to_dict(profile))


POLICY = DisclosurePolicy(
    partner="acme", recipient=Recipient.SAME, purposes=(Purpose.CONTACT,),
    categories=frozenset({DataCategory.IDENTITY}), identifier_systems=frozenset({"partner:acme"}),
)

ERP = Profile(identifiers=(Identifier("erp", "1"),),
              person=Person(given_name="Victoria", family_name="Quinlan"),
              emails=(Email("v@example.com"),), phones=(Phone("+441225000111"),))
MINE = Profile(identifiers=(Identifier("partner:acme", "a1"),),
               person=Person(given_name="Vicky"), emails=(Email("vicky@example.net"),))
GOLDEN = Profile(id="gp_1", identifiers=ERP.identifiers + MINE.identifiers, person=ERP.person,
                 emails=ERP.emails + MINE.emails, phones=ERP.phones)


# --- identifiers ---------------------------------------------------------------------------------


def test_a_partner_asserts_its_own_namespace_only() -> None:
    trust = IdentifierTrust.for_source("partner:acme")
    assert trust is not None and IdentifierTrust.for_source("erp") is None
    assert trust.screen(MINE).identifiers == MINE.identifiers
    hostile = Profile(identifiers=(Identifier("partner:acme", "a1"), Identifier("erp", "77")),
                      person=Person(given_name="M"))
    with pytest.raises(ForeignIdentifierError) as caught:
        trust.screen(hostile)
    assert caught.value.code == "foreign_identifier"
    assert caught.value.path == "Profile/Identifier[2]" and "77" not in caught.value.message
    other_partner = Profile(identifiers=(Identifier("partner:globex", "g1"),),
                            person=Person(given_name="M"))
    with pytest.raises(ForeignIdentifierError):
        trust.screen(other_partner)


def test_strip_mode_and_trusted_systems() -> None:
    hostile = Profile(identifiers=(Identifier("partner:acme", "a1"), Identifier("erp", "77"),
                                   Identifier("webshop", "w9")),
                      person=Person(given_name="M"), consents=(grant(source="erp"),))
    stripping = IdentifierTrust("partner:acme", frozenset({"webshop"}), ForeignIdentifiers.STRIP)
    screened = stripping.screen(hostile)
    assert screened.identifiers == (Identifier("partner:acme", "a1"), Identifier("webshop", "w9"))
    assert [c.source for c in screened.consents] == ["partner:acme"]  # its claim is not kept


# --- consents ------------------------------------------------------------------------------------


def test_only_trusted_sources_consents_count_whatever_they_claim() -> None:
    claims_erp = grant(given=NOW - DAY, source="erp")  # newer, and says it is the ERP's
    evidence = evidence_of(
        [record("erp", ERP), record("partner:acme", Profile(
            identifiers=MINE.identifiers, person=MINE.person, consents=(claims_erp,)))],
        TRUSTED,
    )
    assert evidence.consents == ()
    revoked = grant(given=NOW - 2 * DAY, status=ConsentStatus.REVOKED)
    evidence = evidence_of(
        [record("erp", Profile(identifiers=ERP.identifiers, person=ERP.person,
                               consents=(grant(),)), age_days=5),
         record("crm", Profile(identifiers=(Identifier("crm", "c"),), person=ERP.person,
                               consents=(revoked,))),
         record("partner:acme", Profile(identifiers=MINE.identifiers, person=MINE.person,
                                        consents=(grant(given=NOW - DAY),)))],
        TRUSTED,
    )
    assert evidence.consents == (revoked,)  # the CRM's, newer than the ERP's; not the partner's


# --- what the partner receives ---------------------------------------------------------------


def test_own_data_goes_back_but_never_another_sources() -> None:
    evidence = evidence_of([record("erp", ERP), record("partner:acme", MINE)], TRUSTED)
    own = disclose_for_any(GOLDEN, POLICY, NOW, evidence)
    assert own.allowed and not own.consented and own.purpose is None
    assert own.profile is not None
    assert own.profile.person == Person(given_name="Vicky")
    assert own.profile.emails == MINE.emails and own.profile.phones == ()
    assert own.profile.identifiers == MINE.identifiers and own.profile.consents == ()
    nobody = evidence_of([record("erp", ERP)], TRUSTED)
    assert not disclose_for_any(GOLDEN, POLICY, NOW, nobody).allowed  # default deny


def test_a_trusted_consent_allows_the_policy_and_own_data_fills_the_rest() -> None:
    consenting = Profile(identifiers=ERP.identifiers, person=ERP.person, emails=ERP.emails,
                         phones=ERP.phones, consents=(grant(),))
    evidence = evidence_of([record("erp", consenting), record("partner:acme", MINE)], TRUSTED)
    result = disclose(GOLDEN, POLICY, Purpose.CONTACT, NOW, evidence)
    assert result.consented and result.profile is not None
    assert result.profile.person == ERP.person  # identity: by the consent
    assert result.profile.emails == MINE.emails  # contact is not in the policy: its own only
    assert result.profile.phones == ()
    assert result.profile.consents == (grant(),)  # the ERP's, which allowed it
