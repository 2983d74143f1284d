"""What the engine's values are and how they read as text: shared by transforms and targets.

A value flowing through a mapping is nothing (None), a text, a number (int or Decimal), a date,
true/false, or a list of those. Empty texts count as nothing, so that an empty CSV cell and a
missing XML element behave the same.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

#: A compiled source path: context -> one value (or None), or a list for a many-valued field.
Getter = Callable[[Any], Any]


def as_text(value: Any) -> str:
    """The lexical form of a scalar, as XML Schema and JSON consumers expect it.

    :raises ValueError: for a value that has no text form (a list, a mapping).
    """
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (int, float)):
        return str(value)
    raise ValueError(f"expected a single value, got {describe(value)}")


def is_blank(value: Any) -> bool:
    """Nothing, an empty or white-space text, or an empty list."""
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def describe(value: Any) -> str:
    """What kind of value this is, in words, without showing it (errors carry no data)."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float, Decimal)):
        return "a number"
    if isinstance(value, str):
        return "an empty text" if not value.strip() else "a text"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__
