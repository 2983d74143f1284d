"""The pure parts: normal forms, match keys, scores and the decision, without a database."""

from __future__ import annotations

from datetime import date

import pytest

from gateway.errors import ConfigError
from gateway.identity import IdentityRules
from gateway.identity import normalize as n
from gateway.identity.blocking import match_keys
from gateway.identity.decision import Candidate, decide
from gateway.identity.features import MatchFeatures, features
from gateway.identity.scoring import birth_date_score, score
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


def test_swapped_and_typoed_names_score_high_and_twins_do_not() -> None:
    base = feats("Jonathan", "Smith", birth=date(1980, 5, 17), postcode="SW1Y 4JH", street="1 Road")
    swapped = feats(
        "Smith", "Jonathan", birth=date(1980, 5, 17), postcode="SW1Y 4JH", street="1 Road"
    )
    typo = feats("Jonathon", "Smyth", birth=date(1980, 5, 17), postcode="SW1Y 4JH", street="1 Road")
    twin = feats("Jennifer", "Smith", birth=date(1980, 5, 17), postcode="SW1Y 4JH", street="1 Road")
    assert score(base, swapped).components["name"] == 1.0
    assert score(base, typo).total >= 0.9 and score(base, typo).corroborated
    assert score(base, twin).total < 0.9


def test_birth_dates_with_transposed_digits_or_day_and_month_count_partly() -> None:
    assert birth_date_score(date(1980, 5, 17), date(1980, 5, 17)) == 1.0
    assert birth_date_score(date(1980, 5, 17), date(1908, 5, 17)) == 0.7  # 80 -> 08
    assert birth_date_score(date(1980, 5, 12), date(1980, 12, 5)) == 0.7
    assert birth_date_score(date(1980, 5, 17), date(1975, 2, 3)) == 0.0


def test_a_name_alone_never_corroborates_a_merge() -> None:
    found = score(feats("John", "Smith"), feats("John", "Smith"))
    assert found.total == 1.0 and not found.corroborated


def test_another_email_domain_counts_as_agreement() -> None:
    a = feats("John", "Smith", email="john.smith@work.example")
    b = feats("Jon", "Smith", email="john.smith@home.example")
    assert score(a, b).components["email"] == pytest.approx(0.9)
    assert score(a, b).corroborated


def test_decision_prefers_identifier_then_contact_then_fuzzy(rules: IdentityRules) -> None:
    me = feats("John", "Smith", email="j@x.org")
    same = Candidate("gp_b", feats("John", "Smith"), frozenset({"e"}))
    other = Candidate("gp_c", feats("Mary", "Jones"), frozenset({"e"}))
    assert decide(me, ["gp_a"], {}, rules).via == "identifier"
    found = decide(me, [], {"gp_b": same, "gp_c": other}, rules)
    assert (found.target, found.via) == ("gp_b", "email")
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
