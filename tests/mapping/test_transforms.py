"""The transform library: each transform does what its documented example says."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from gateway.mapping.codes import CodeList, UnknownCode
from gateway.mapping.transforms import (
    REGISTRY,
    ArgumentError,
    BuildContext,
    TransformFailed,
)
from tests.mapping.conftest import REPO

CTX = BuildContext({
    "gender": CodeList("gender", {"F": "female", "M": "male"}),
    "tier": CodeList("tier", {"G": "gold"}, unknown="default", default="basic"),
    "kept": CodeList("kept", {"G": "gold"}, unknown="keep"),
    "countries": CodeList("countries", {"Bundesrepublik": "DEU"}, unknown="keep"),
})


def run(name: str, raw: Any, shorthand: Any = None, /, **args: Any) -> Any:
    return REGISTRY[name].bind(args, shorthand, CTX)(raw)


@pytest.mark.parametrize(
    ("name", "value", "shorthand", "args", "expected"),
    [
        ("trim", "  Anna ", None, {}, "Anna"),
        ("trim", "--x--", "-", {}, "x"),
        ("case", "ANNA MARIA", "title", {}, "Anna Maria"),
        ("case", "anna", None, {"to": "upper"}, "ANNA"),
        ("regex_replace", "DE-104 35", None, {"pattern": "[^0-9]", "with": ""}, "10435"),
        ("regex_replace", "a-b-c", None, {"pattern": "-", "with": "+", "count": 1}, "a+b-c"),
        ("regex_extract", "10435 Berlin", r"^(\d{5})", {}, "10435"),
        ("regex_extract", "Berlin", r"^(\d{5})", {}, None),
        ("regex_extract", "id=42", None, {"pattern": r"id=(?P<n>\d+)", "group": "n"}, "42"),
        ("concat", ["Anna", None, "", "Berg"], None, {}, "Anna Berg"),
        ("concat", ["a", "b"], "-", {}, "a-b"),
        ("concat", [None, ""], None, {}, None),
        ("split", "vip, newsletter,,", ",", {}, ["vip", "newsletter"]),
        ("default", None, "unknown", {}, "unknown"),
        ("default", "  ", "unknown", {}, "unknown"),
        ("default", "x", "unknown", {}, "x"),
        ("coalesce", [None, "", "b@example.org", "c"], None, {}, "b@example.org"),
        ("when", "granted", None, {"op": "eq", "value": "granted", "then": True,
                                   "otherwise": False}, True),
        # a missing value stays missing: 'otherwise' is for values that do not match
        ("when", None, None, {"op": "eq", "value": "granted", "then": True,
                              "otherwise": False}, None),
        ("when", " ", None, {"op": "ne", "value": "granted", "then": "other"}, None),
        ("when", None, None, {"op": "eq", "value": "granted", "then": True,
                              "otherwise": False, "on_missing": False}, False),
        ("when", "x", None, {"op": "eq", "value": "granted", "then": True,
                             "otherwise": False, "on_missing": None}, False),
        ("when", None, None, {"op": "empty", "then": "none", "otherwise": "some"}, "none"),
        ("when", "x", None, {"op": "in", "values": ["x", "y"]}, "x"),
        ("when", "z", None, {"op": "not_in", "values": ["x"], "then": "other"}, "other"),
        ("when", "", None, {"op": "empty", "then": "none"}, "none"),
        ("when", "abc", None, {"op": "matches", "value": "^a", "then": 1}, 1),
        ("when", "4870.25", None, {"op": "ge", "value": 1000, "then": "high",
                                   "otherwise": "standard"}, "high"),
        ("when", "999", None, {"op": "gt", "value": 1000, "then": "high",
                               "otherwise": "standard"}, "standard"),
        ("date", "23.04.1979", None, {"from": "%d.%m.%Y"}, "1979-04-23"),
        ("date", "1979-04-23", None, {"to": "%d.%m.%Y"}, "23.04.1979"),
        ("datetime", "14.05.2023 09:12", None,
         {"from": "%d.%m.%Y %H:%M", "zone": "Europe/Berlin", "to_zone": "UTC"},
         "2023-05-14T07:12:00+00:00"),
        ("datetime", "2024-11-01T02:00:05Z", None, {"to": "%d.%m.%Y", "to_zone": "Europe/Prague"},
         "01.11.2024"),
        ("number", "1.234,50", None, {"decimal_separator": ",", "thousands_separator": "."},
         Decimal("1234.50")),
        ("number", "-120.50", None, {}, Decimal("-120.50")),
        ("number", "37", None, {"type": "integer"}, 37),
        ("boolean", "y", None, {}, True),
        ("boolean", "N", None, {"true": ["J"], "false": ["N"]}, False),
        ("code", "F", "gender", {}, "female"),
        ("code", "female", None, {"list": "gender", "reverse": True}, "F"),
        ("code", "X", "tier", {}, "basic"),
        ("code", "X", "kept", {}, "X"),
        ("phone", "030 1234 56", "DE", {}, "+4930123456"),
        ("phone", "+420 603 123 456", "DE", {}, "+420603123456"),
        ("email", " Anna.Berg@Example.ORG ", None, {}, "anna.berg@example.org"),
        ("country", "CZE", None, {"from": "alpha3", "to": "alpha2"}, "CZ"),
        ("country", "de", None, {"from": "alpha2", "to": "alpha3"}, "DEU"),
        ("country", "Germany", None, {"from": "name", "to": "alpha2"}, "DE"),
        ("phone", "0176 12345678", None, {"region": "DE", "accept": "valid"}, "+4917612345678"),
        ("phone_quality", "030 1234 56", "DE", {}, "valid"),
        ("phone_quality", "+49 11 12345678", "DE", {}, "possible"),
        ("phone", "+49 11 12345678", "DE", {}, "+491112345678"),  # possible is accepted
        ("phone_quality", "12345678901234567", "DE", {}, "invalid"),
        ("phone_quality", "no number", "DE", {}, "invalid"),
        ("country", "UK", None, {"from": "name", "to": "alpha2"}, "GB"),
        ("country", "U.S.A.", None, {"from": "name", "to": "alpha2"}, "US"),
        ("country", "Great Britain", None, {"from": "name", "to": "alpha3"}, "GBR"),
        ("country", "Venezuela", None, {"from": "name", "to": "alpha2"}, "VE"),
        ("country", "Allemagne", None, {"from": "name", "to": "alpha2"}, "DE"),
        ("country", "Vereinigtes Königreich", None, {"from": "name", "to": "alpha2"}, "GB"),
        ("country", "cote d'ivoire", None, {"from": "name", "to": "alpha2"}, "CI"),
        ("country", "Österreich", None, {"from": "name", "to": "alpha2"}, "AT"),
        ("country", "Tschechien", None, {"from": "any", "to": "alpha2"}, "CZ"),
        ("country", "cze", None, {"from": "any", "to": "alpha2"}, "CZ"),
        ("country", "Espagne", None, {"from": "name", "to": "name"}, "Spain"),
        ("country", "Bundesrepublik", None, {"from": "name", "to": "alpha2",
                                             "list": "countries"}, "DE"),
        ("country", "Schweiz", None, {"from": "name", "to": "alpha2",
                                      "list": "countries"}, "CH"),
        ("count", ["a", None, "c"], None, {}, 3),
        ("count", None, None, {}, 0),
        ("count", "x", None, {}, 1),
        ("sum", ["12.50", "7.50", ""], None, {}, Decimal("20.00")),
        ("sum", [], None, {}, None),
        ("min", ["3", "12"], None, {}, Decimal(3)),
        ("max", ["3", "12"], None, {}, Decimal(12)),
        ("min", ["2024-03-01", "2023-11-30"], None, {}, "2023-11-30"),
        ("max", ["2024-03-01", "2023-11-30", None], None, {}, "2024-03-01"),
        ("first", [None, "a", "b"], None, {}, "a"),
        ("last", ["a", "b", " "], None, {}, "b"),
        ("last", [], None, {}, None),
        ("join", ["vip", None, "b2b"], None, {}, "vip, b2b"),
        ("join", ["vip", "b2b"], "|", {}, "vip|b2b"),
        ("join", [None], "|", {}, None),
        ("trim", [" a", "b "], None, {}, ["a", "b"]),  # each item of a list
        ("case", None, "upper", {}, None),  # nothing passes through
    ],
)
def test_transform(name: str, value: Any, shorthand: Any, args: dict[str, Any],
                   expected: Any) -> None:
    assert run(name, value, shorthand, **args) == expected


def test_hash_uses_the_salt_from_the_named_environment_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    step = REGISTRY["hash"].bind({"salt_env": "TEST_SALT", "length": 32}, None, CTX)
    monkeypatch.delenv("TEST_SALT", raising=False)
    with pytest.raises(TransformFailed, match=r"TEST_SALT \(the salt\) is not set"):
        step("gp-1")
    monkeypatch.setenv("TEST_SALT", "one")
    first = step("gp-1")
    assert len(first) == 32 and first == step("gp-1")
    monkeypatch.setenv("TEST_SALT", "two")
    assert step("gp-1") != first


@pytest.mark.parametrize(
    ("name", "value", "shorthand", "args", "message"),
    [
        ("date", "1979-04-23", None, {"from": "%d.%m.%Y"}, "not a date in the format %d.%m.%Y"),
        ("datetime", "14.05.2023", None, {"from": "%d.%m.%Y"}, "has no time zone"),
        ("number", "12a", None, {}, "not a number"),
        ("number", "1.5", None, {"type": "integer"}, "not a whole number"),
        ("boolean", "maybe", None, {}, "not one of the accepted yes/no words"),
        ("phone", "1", "DE", {}, "not a (possible )?phone number"),
        ("email", "anna@", None, {}, "not an e-mail address"),
        ("country", "XXX", None, {"from": "alpha3", "to": "alpha2"}, "not an ISO 3166 country"),
        ("concat", [["nested"]], None, {}, "expected a single value, got a list"),
    ],
)
def test_transform_failures_name_the_problem_not_the_value(
    name: str, value: Any, shorthand: Any, args: dict[str, Any], message: str
) -> None:
    with pytest.raises(TransformFailed, match=message) as caught:
        run(name, value, shorthand, **args)
    assert str(value) not in str(caught.value) or message.startswith("expected")


def test_unknown_code_with_policy_error() -> None:
    with pytest.raises(UnknownCode, match="code is not in code list 'gender'"):
        run("code", "X", "gender")


@pytest.mark.parametrize(
    ("name", "shorthand", "args", "param", "message"),
    [
        ("case", None, {}, None, "the argument 'to' is required"),
        ("trim", None, {"chars": 3}, "chars", "argument 'chars' must be a text, got a number"),
        ("email", "x", {}, None, "takes named arguments (none)"),
        ("regex_replace", None, {"pattern": "("}, "pattern", "not a valid regular expression"),
        ("regex_extract", "(a)", {"group": 2}, "group", "names no group of the pattern"),
        ("datetime", None, {"zone": "Mars/Olympus"}, "zone", "unknown time zone"),
        ("date", None, {"from": "dd.MM.yyyy"}, "from", "must be 'iso' or a strftime format"),
        ("phone", "XX", {}, "region", "unknown phone region"),
        ("when", None, {"op": "gt", "value": "big"}, "value", "compares numbers"),
        ("when", None, {"op": "in"}, "op", "needs 'values'"),
        ("number", None, {"decimal_separator": ",", "thousands_separator": ","},
         "thousands_separator", "must differ"),
        ("hash", None, {"salt_env": "CPEX_SALT", "length": 4}, "length", "between 8 and 64"),
        ("code", "nope", {}, "list", "code list 'nope' does not exist"),
    ],
)
def test_bad_arguments_name_the_argument(
    name: str, shorthand: Any, args: dict[str, Any], param: str | None, message: str
) -> None:
    with pytest.raises(ArgumentError, match=message.replace("(", r"\(").replace(")", r"\)")) \
            as caught:
        REGISTRY[name].bind(args, shorthand, CTX)
    assert caught.value.param == param


def test_every_transform_is_documented_with_an_example() -> None:
    page = (REPO / "docs" / "mapping-transforms.md").read_text(encoding="utf-8")
    assert len(REGISTRY) == 26
    for name, entry in REGISTRY.items():
        assert entry.summary and entry.example.lstrip().startswith(f"- {name}")
        assert f"### `{name}`" in page, name
