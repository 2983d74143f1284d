"""The pure parts: normal forms, match keys, scores and the decision, without a database."""

from __future__ import annotations

from datetime import date

import pytest

from gateway.errors import ConfigError
from gateway.identity import IdentityRules
from gateway.identity import normalize as n
from gateway.identity.blocking import match_keys
from gateway.identity.comparisons import date_level, name_level
from gateway.identity.decision import Candidate, decide
from gateway.identity.features import MatchFeatures, features
from gateway.identity.model import score
from gateway.model import to_dict
from tests.identity.conftest import person


def feats(*args: object, **kwargs: object) -> MatchFeatures:
    return features(to_dict(person("crm", "1", *args, **kwargs)), "GB")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("  Ada.Lovelace@Example.ORG ", "ada.lovelace@example.org"),
        ("a.d.a@gmail.com", "a.d.a@gmail.com"),  # no provider tricks
        ("no-at-sign", None),
        ("two@@signs", None),
    ],
)
def test_email_is_trimmed_and_lower_cased_only(raw: str, normal: str | None) -> None:
    assert n.email(raw) == normal


@pytest.mark.parametrize(
    "raw", ["+44 20 7123 4567", "020 7123 4567", "(020) 7123-4567", "+44 (0)20 7123 4567"]
)
def test_phone_formats_become_one_e164(raw: str) -> None:
    assert n.phone(raw, "GB") == "+442071234567"


def test_phone_that_is_not_a_number_is_dropped() -> None:
    assert n.phone("call me", "GB") is None
    assert n.phone("123", "GB") is None


def test_names_fold_case_accents_and_punctuation() -> None:
    assert n.name_tokens("José-María", None, "  O'Neil ") == ("jose", "maria", "o", "neil")
    assert n.postcode("sw1y 4jh") == "SW1Y4JH"


def test_swapped_name_parts_share_a_block_with_the_original() -> None:
    original = feats("John", "Smith", postcode="SW1Y 4JH", birth=date(1980, 5, 17))
    swapped = feats("Smith", "John", postcode="SW1Y4JH", birth=date(1980, 5, 17))
    assert set(match_keys(original)) & set(match_keys(swapped))
    assert "pc:SW1Y4JH:s" in match_keys(swapped) and "bd:1980-05-17:j" in match_keys(swapped)


def test_match_keys_hold_email_phone_and_long_local_parts_only() -> None:
    keys = match_keys(feats("A", "B", email="Info@x.org", phone="020 7123 4567"))
    assert keys[:2] == ["e:info@x.org", "p:+442071234567"]
    assert not any(k.startswith("el:") for k in keys)  # "info" says nothing
    assert "el:johnsmith" in match_keys(feats("A", "B", email="john.smith@x.org"))


def test_swapped_and_typoed_names_merge_and_twins_are_vetoed(rules: IdentityRules) -> None:
    base = feats("Jonathan", "Smith", birth=date(1980, 5, 17), postcode="SW1Y 4JH", street="1 Road")
    swapped = feats(
        "Smith", "Jonathan", birth=date(1980, 5, 17), postcode="SW1Y 4JH", street="1 Road"
    )
    typo = feats("Jonathon", "Smyth", birth=date(1980, 5, 17), postcode="SW1Y 4JH", street="1 Road")
    twin = feats("Jennifer", "Smith", birth=date(1980, 5, 17), postcode="SW1Y 4JH", street="1 Road")
    found = score(rules.model, base, swapped)
    assert found.swapped_names and found.level("given_name") == "exact"
    assert score(rules.model, base, typo).total >= rules.merge_threshold
    # A twin scores high on everything but the given name: never merged automatically.
    household = feats("Jennifer", "Smith", postcode="SW1Y 4JH", street="1 Road")
    assert score(rules.model, base, household).vetoed_by == (
        "given_name.different & birth_date.missing"
    )
    assert score(rules.model, base, twin).level("given_name") == "different"


@pytest.mark.parametrize(
    ("a", "b", "level"),
    [
        (date(1980, 5, 17), date(1980, 5, 17), "exact"),
        (date(1980, 5, 17), date(1908, 5, 17), "transposed"),  # 80 -> 08
        (date(1980, 5, 12), date(1980, 12, 5), "day_month_swapped"),
        (date(1980, 5, 17), date(1980, 5, 18), "one_digit"),
        (date(1980, 5, 17), date(1975, 2, 3), "different"),
    ],
)
def test_birth_date_levels(a: date, b: date, level: str) -> None:
    assert date_level(a, b) == level


@pytest.mark.parametrize(
    ("a", "b", "level"),
    [
        ("robert", "robert", "exact"),
        ("robert", "bob", "nickname"),
        ("jonathan", "jonathon", "jw92"),
        ("j", "john", "initial"),
        ("mary", "susan", "different"),
    ],
)
def test_given_name_levels(rules: IdentityRules, a: str, b: str, level: str) -> None:
    assert name_level(a, b, rules.model.nicknames) == level


def test_a_missing_field_is_no_evidence(rules: IdentityRules) -> None:
    found = score(
        rules.model, feats("John", "Smith"), feats("John", "Smith", birth=date(1980, 1, 1))
    )
    assert set(found.fields) == {"given_name", "family_name"}
    expected = rules.model.prior_weight + sum(f.weight for f in found.fields.values())
    assert found.match_weight == pytest.approx(expected)


def test_a_name_alone_never_merges(rules: IdentityRules) -> None:
    found = score(rules.model, feats("John", "Smith"), feats("John", "Smith"))
    assert found.total < rules.merge_threshold


def test_a_rare_surname_weighs_more_than_a_common_one(rules: IdentityRules) -> None:
    from dataclasses import replace

    model = replace(rules.model, term_frequencies={"family_name": {"smith": 0.05, "": 0.0001}})
    common = score(model, feats("John", "Smith"), feats("John", "Smith"))
    rare = score(model, feats("John", "Featherstonehaugh"), feats("John", "Featherstonehaugh"))
    assert rare.fields["family_name"].weight > common.fields["family_name"].weight


def test_shared_phone_with_another_given_name_is_review_not_merge(rules: IdentityRules) -> None:
    me = feats("John", "Smith", phone="020 7123 4567", postcode="SW1Y 4JH", street="1 Road")
    wife = Candidate(
        "gp_b",
        feats("Mary", "Smith", phone="020 7123 4567", postcode="SW1Y 4JH", street="1 Road"),
        frozenset({"p"}),
    )
    found = decide(me, [], {"gp_b": wife}, rules)
    assert found.target is None
    assert [p.candidate_id for p in found.proposals] == ["gp_b"]


def test_decision_prefers_identifier_then_model(rules: IdentityRules) -> None:
    me = feats("John", "Smith", email="j@x.org", birth=date(1980, 5, 17))
    same = Candidate("gp_b", feats("John", "Smith", birth=date(1980, 5, 17)), frozenset({"e"}))
    other = Candidate("gp_c", feats("Mary", "Jones"), frozenset({"e"}))
    assert decide(me, ["gp_a"], {}, rules).via == "identifier"
    found = decide(me, [], {"gp_b": same, "gp_c": other}, rules)
    assert (found.target, found.via) == ("gp_b", "model")
    assert found.match_detail()["model"] == "default"  # type: ignore[index]
    # A shared inbox with a clearly different name is not trusted alone.
    vetoed = decide(me, [], {"gp_c": other}, rules)
    assert vetoed.target is None and vetoed.proposals == ()


def test_rules_are_checked_with_the_key_named() -> None:
    with pytest.raises(ConfigError, match=r"identity\.review_threshold"):
        IdentityRules(merge_threshold=0.7, review_threshold=0.8)
    with pytest.raises(ConfigError, match=r"identity\.field_strategy\.nickname"):
        IdentityRules(field_strategy={"nickname": "priority"})
    with pytest.raises(ConfigError, match="'union' needs a list field"):
        IdentityRules(field_strategy={"person.given_name": "union"})
    assert IdentityRules(field_strategy={"person": "priority"}).strategy("person.suffix") == (
        "priority"
    )


def org(
    key: str,
    name: str,
    *,
    registration: str | None = None,
    postcode: str | None = None,
    phone: str | None = None,
) -> MatchFeatures:
    from gateway.model import Identifier, Organization, Phone, PostalAddress, Profile

    profile = Profile(
        identifiers=(Identifier("erp", key),),
        organization=Organization(name=name, registration_number=registration),
        addresses=(PostalAddress(postal_code=postcode, city="Leeds"),) if postcode else (),
        phones=(Phone(phone),) if phone else (),
    )
    return features(to_dict(profile), "GB")


def test_organizations_match_on_registration_then_name_and_postcode(
    rules: IdentityRules,
) -> None:
    acme = org("1", "ACME Ltd", registration="01234567", postcode="LS1 4AP")
    renamed = Candidate("gp_a", org("2", "Acme Holdings", registration="01234567"))
    assert decide(acme, [], {"gp_a": renamed}, rules).via == "organization"
    same_place = Candidate("gp_b", org("3", "acme ltd", postcode="ls14ap"))
    found = decide(org("4", "ACME Ltd", postcode="LS1 4AP"), [], {"gp_b": same_place}, rules)
    assert (found.target, found.via) == ("gp_b", "organization")
    # Two registration numbers that differ are two companies, whatever the name.
    other = Candidate("gp_c", org("5", "ACME Ltd", registration="7654321", postcode="LS1 4AP"))
    assert decide(acme, [], {"gp_c": other}, rules).target is None


def test_a_person_is_never_matched_with_an_organization(rules: IdentityRules) -> None:
    company = Candidate("gp_o", org("1", "Smith", postcode="LS1 4AP", phone="0113 496 0000"))
    me = feats("John", "Smith", postcode="LS1 4AP", phone="0113 496 0000")
    found = decide(me, [], {"gp_o": company}, rules)
    assert found.target is None and found.proposals == ()


def test_two_people_of_one_company_are_not_merged(rules: IdentityRules) -> None:
    office = {"postcode": "LS1 4AP", "street": "1 Park Row", "phone": "0113 496 0000"}
    me = feats("John", "Smith", email="john.smith@acme.example", **office)
    colleague = Candidate(
        "gp_c", feats("Amir", "Smith", email="amir.smith@acme.example", **office), frozenset({"p"})
    )
    found = decide(me, [], {"gp_c": colleague}, rules)
    assert found.target is None
