"""Every canonical leaf field has a data category, or is listed here as bookkeeping on purpose.

The consent policy discloses fields by category (default deny), so a personal field without a
category would be invisible to it. Adding a model field makes this test fail until the field is
tagged in ``gateway/model/profile.py`` or, if it holds no personal data, listed below with why.
"""

from __future__ import annotations

import dataclasses
import typing

from gateway.model import DataCategory, Profile, category_of, field_categories

# Leaf paths that are not personal data about the customer, and why.
NOT_CATEGORISED: dict[str, str] = {
    "id": "the gateway's own golden profile id",
    "consents.purpose": "consent records are the policy's input, not data it discloses",
    "consents.recipient": "consent record",
    "consents.status": "consent record",
    "consents.given": "consent record",
    "consents.expires": "consent record",
    "consents.source": "consent record",
    "attributes.name": "a custom attribute's category is its declaration's (settings); the "
                       "policy, knowing no category here, discloses none (default deny)",
    "attributes.value": "as attributes.name",
    "metadata.source": "bookkeeping: which system the record came from",
    "metadata.created": "bookkeeping",
    "metadata.updated": "bookkeeping",
    "metadata.version": "bookkeeping",
}


def leaf_paths(cls: type, prefix: str = "") -> list[str]:
    """Dotted paths of every non-dataclass field under ``cls`` (tuples of records walked into)."""
    hints = typing.get_type_hints(cls)
    paths = []
    for field in dataclasses.fields(cls):
        nested = _dataclass_in(hints[field.name])
        path = f"{prefix}{field.name}"
        paths.extend(leaf_paths(nested, path + ".") if nested else [path])
    return paths


def _dataclass_in(hint: object) -> type | None:
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return hint
    return next(filter(None, map(_dataclass_in, typing.get_args(hint))), None)


def test_every_leaf_is_categorised_or_listed() -> None:
    uncategorised = {p for p in leaf_paths(Profile) if category_of(p) is None}
    assert uncategorised == set(NOT_CATEGORISED)


def test_listed_fields_really_have_no_category() -> None:
    assert not any(category_of(p) for p in NOT_CATEGORISED)


def test_categories_are_data_categories_on_real_paths() -> None:
    leaves = leaf_paths(Profile)
    for path, category in field_categories().items():
        assert isinstance(category, DataCategory)
        assert any(leaf == path or leaf.startswith(path + ".") for leaf in leaves), path


def test_walk_reaches_nested_records() -> None:
    leaves = set(leaf_paths(Profile))
    assert {"person.given_name", "financial.balance", "preferences.channels.opted_in"} <= leaves
    assert category_of("preferences.channels.opted_in") is DataCategory.PREFERENCE
    assert category_of("person.birth_date") is DataCategory.DEMOGRAPHIC
