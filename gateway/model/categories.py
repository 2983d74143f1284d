"""Which data category each canonical field belongs to, read from the model's field metadata."""

from __future__ import annotations

import dataclasses
import typing
from functools import cache

from gateway.model.profile import DataCategory, Profile


@cache
def field_categories() -> dict[str, DataCategory]:
    """Dotted field path -> data category, for every categorised field of :class:`Profile`.

    A field tagged itself wins; a nested dataclass field without a tag (``person``) is walked.
    """
    result: dict[str, DataCategory] = {}
    _walk(Profile, "", result)
    return result


def _walk(cls: type, prefix: str, out: dict[str, DataCategory]) -> None:
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        path = f"{prefix}{f.name}"
        category = f.metadata.get("category")
        if category is not None:
            out[path] = category
            continue
        nested = _dataclass_in(hints[f.name])
        if nested is not None:
            _walk(nested, path + ".", out)


def _dataclass_in(hint: object) -> type | None:
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return hint
    for arg in typing.get_args(hint):
        found = _dataclass_in(arg)
        if found is not None:
            return found
    return None


def category_of(path: str) -> DataCategory | None:
    """The category of a dotted path, or of its nearest categorised parent."""
    table = field_categories()
    while path:
        if path in table:
            return table[path]
        path = path.rpartition(".")[0]
    return None
