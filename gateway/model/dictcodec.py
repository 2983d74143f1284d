"""Canonical objects to and from plain JSON-ready dicts.

Used by the store (profiles are kept as JSON beside their indexed columns) and the REST API.
Driven by the dataclasses' type hints, so a new model field needs no codec change. Dates and
datetimes are ISO 8601 strings, decimals are strings (no float rounding), enums their values;
empty values are left out so that the JSON stays small and stable.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import Enum
from functools import cache
from typing import Any, TypeVar

from gateway.errors import ModelError

T = TypeVar("T")


def to_dict(obj: Any) -> dict[str, Any]:
    """A dataclass instance as a JSON-ready dict (``None`` and empty tuples left out)."""
    out = _encode(obj)
    assert isinstance(out, dict)
    return out


def _encode(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {}
        for f in dataclasses.fields(value):
            item = getattr(value, f.name)
            if item is None or item == ():
                continue
            out[f.name] = _encode(item)
        return out
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, tuple):
        return [_encode(v) for v in value]
    return value


def from_dict(cls: type[T], data: Any, path: str = "") -> T:
    """Build ``cls`` from a dict made by :func:`to_dict` (or by hand, e.g. a JSON request).

    :raises ModelError: with the dotted path of the first bad or unknown key.
    """
    return _decode(cls, data, path or cls.__name__)  # type: ignore[no-any-return]


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _decode(hint: Any, data: Any, path: str) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if data is None:
            return None
        return _decode(args[0], data, path)
    if origin is tuple:
        if not isinstance(data, (list, tuple)):
            raise ModelError(f"expected a list, got {type(data).__name__}", path=path)
        (item_hint, _) = typing.get_args(hint)
        return tuple(_decode(item_hint, v, f"{path}[{i}]") for i, v in enumerate(data))
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _decode_dataclass(hint, data, path)
    return _decode_scalar(hint, data, path)


def _decode_dataclass(cls: type, data: Any, path: str) -> Any:
    if not isinstance(data, dict):
        raise ModelError(f"expected an object, got {type(data).__name__}", path=path)
    hints = _hints(cls)
    names = {f.name: f for f in dataclasses.fields(cls)}
    unknown = set(data) - set(names)
    if unknown:
        raise ModelError(f"unknown key '{sorted(unknown)[0]}'", path=path)
    kwargs = {}
    for name, value in data.items():
        kwargs[name] = _decode(hints[name], value, f"{path}.{name}")
    missing = [
        n
        for n, f in names.items()
        if n not in kwargs
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise ModelError("required key is missing", path=f"{path}.{missing[0]}")
    return cls(**kwargs)


def _decode_scalar(hint: Any, data: Any, path: str) -> Any:
    try:
        if isinstance(hint, type) and issubclass(hint, Enum):
            return hint(data)
        if hint is datetime:
            value = datetime.fromisoformat(data)
            if value.tzinfo is None:
                raise ValueError("a time zone is required")
            return value
        if hint is date:
            return date.fromisoformat(data)
        if hint is Decimal:
            if isinstance(data, float):
                data = repr(data)
            return Decimal(data)
        if hint is bool:
            if not isinstance(data, bool):
                raise TypeError("expected true or false")
            return data
        if hint is int:
            if isinstance(data, bool) or not isinstance(data, int):
                raise TypeError("expected an integer")
            return data
        if hint is str:
            if not isinstance(data, str):
                raise TypeError("expected a string")
            return data
    except (ValueError, TypeError, InvalidOperation) as exc:
        # never the value itself (personal data): its kind and length, and the reason without it
        reason = str(exc).replace(repr(data), "[value]").replace(str(data), "[value]")
        shown = f"{type(data).__name__}, {len(str(data))} chars"
        raise ModelError(f"bad value ({shown}): {reason}", path=path) from exc
    raise ModelError(f"unsupported type {hint!r}", path=path)
