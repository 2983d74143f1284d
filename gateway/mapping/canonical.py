"""The canonical model as the mapping engine sees it: field paths, and a compiled builder.

Paths (``person.given_name``, ``addresses``, ``lines``) are checked against the dataclasses'
type hints, so a typo in a target field is a check error with its line and column rather than a
quarantined record later.

The builder turns the nested dict a mapping produces into :class:`~gateway.model.Profile`. It
follows :func:`gateway.model.from_dict`'s rules (and raises the same :class:`ModelError` with a
dotted path) but is compiled once per class into per-field converters: ``from_dict`` inspects
type hints for every value (about 260 µs for a full profile), which alone would exceed the
mapping budget of 50 µs a record. It also accepts the canonical text forms (``"true"``,
``"42"``) that CSV and XML sources deliver, since those have no types of their own.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import Enum
from functools import cache
from typing import Any

from gateway.errors import ModelError
from gateway.mapping.values import as_text
from gateway.model.profile import Profile

Convert = Callable[[Any], Any]  # value -> model value; raises ModelError (relative path)


@dataclass(frozen=True, slots=True)
class ModelField:
    """What a path names: a record (dataclass) or a scalar, one or many."""

    name: str
    many: bool
    record: type | None  # the dataclass, when the field holds records
    scalar: Any  # the scalar type hint otherwise


def model_field(cls: type, name: str) -> ModelField:
    """The field ``name`` of dataclass ``cls``.

    :raises KeyError: with the message to show when there is no such field.
    """
    hints = _hints(cls)
    if name not in hints:
        fields = ", ".join(f.name for f in dataclasses.fields(cls))
        raise KeyError(f"{cls.__name__} has no field '{name}' (it has: {fields})")
    hint = _unwrap_optional(hints[name])
    many = typing.get_origin(hint) is tuple
    if many:
        hint = typing.get_args(hint)[0]
    record = hint if isinstance(hint, type) and dataclasses.is_dataclass(hint) else None
    return ModelField(name, many, record, None if record else hint)


def resolve_path(cls: type, path: str) -> tuple[tuple[str, ...], ModelField]:
    """Walk a dotted path from ``cls``; every step but the last must be a single record.

    :raises KeyError: naming the step that does not exist or cannot be walked into.
    """
    steps = tuple(path.split("."))
    current = cls
    found: ModelField | None = None
    for index, step in enumerate(steps):
        found = model_field(current, step)
        if index < len(steps) - 1:
            if found.record is None:
                raise KeyError(f"'{step}' is a value, not a record with fields")
            if found.many:
                raise KeyError(f"'{step}' is a list of records: map it with a group "
                               f"(target: {'.'.join(steps[: index + 1])}, fields: [...])")
            current = found.record
    assert found is not None
    return steps, found


@cache
def builder(cls: type) -> Callable[[dict[str, Any]], Any]:
    """A function that builds ``cls`` from a dict of its fields (compiled once per class).

    Paths and messages are only built when something fails: a nested failure's path is
    prefixed with the field name on its way out, so the happy path formats no strings. A text
    field given a text (most values) is taken as it is, without a call. The object is made as
    the dataclass's ``__init__`` would make it, slot by slot (see :func:`_slot_setters`).
    """
    fields = dataclasses.fields(cls)
    slots: dict[str, tuple[int, Convert | None]] = {}  # name -> position, converter (None: text)
    expected: dict[str, str] = {}
    for position, f in enumerate(fields):
        spec = model_field(cls, f.name)
        one, expected[f.name] = (_nested(builder(spec.record)), "a record") if spec.record \
            else _scalar(spec.scalar)
        convert = _many(one, expected[f.name]) if spec.many else None if one is _to_str else one
        slots[f.name] = (position, convert)
    required = tuple(
        (position, f.name) for position, f in enumerate(fields)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    )
    setters = _slot_setters(cls)

    def build(data: dict[str, Any]) -> Any:
        values = defaults.copy()
        name = ""
        try:
            for name, value in data.items():
                position, convert = slots[name]
                if convert is None:
                    values[position] = value if value.__class__ is str else _to_str(value)
                else:
                    values[position] = convert(value)
        except (ModelError, *_CONVERSION_ERRORS) as exc:
            raise _located(exc, expected[name], name) from exc
        for position, name in required:
            if values[position] is _MISSING:
                raise ModelError("required field has no value", path=name)
        if setters is None:
            return cls(**{f.name: v for f, v in zip(fields, values, strict=True)
                          if v is not _MISSING})
        made: Any = _new(cls)
        for put, value in zip(setters, values, strict=True):
            put(made, value)
        return made

    defaults = [_MISSING if f.default is dataclasses.MISSING else f.default for f in fields]
    return build


_MISSING = object()  # a required field no value was given for
_new = object.__new__


def _slot_setters(cls: type) -> tuple[Callable[[Any, Any], None], ...] | None:
    """The slot setters of a plain frozen slotted dataclass, in field order; None for any
    other class (built by calling it).

    Setting the slots of a new object is what the generated ``__init__`` of such a class does
    (``object.__setattr__`` field by field, past the frozen guard), a third faster: nothing
    else may happen in it, so classes with ``__post_init__``, default factories or fields
    outside ``__init__`` are called as usual.
    """
    fields = dataclasses.fields(cls)
    if hasattr(cls, "__post_init__") or any(
        f.default_factory is not dataclasses.MISSING or not f.init for f in fields
    ):
        return None
    descriptors = [cls.__dict__.get(f.name) for f in fields]
    if not all(isinstance(d, types.MemberDescriptorType) for d in descriptors):
        return None
    return tuple(d.__set__ for d in descriptors)  # type: ignore[union-attr]


def _located(exc: Exception, expected: str, name: str) -> ModelError:
    """A failed conversion as a ModelError whose path starts at ``name``."""
    if isinstance(exc, ModelError):
        return ModelError(exc.reason, path=_join(name, exc.path))
    return ModelError(f"expected {expected}", path=name)


_CONVERSION_ERRORS = (ValueError, TypeError, KeyError, InvalidOperation)


def build_profile(data: dict[str, Any]) -> Profile:
    """The profile for a mapped dict; errors carry the path from ``Profile``."""
    try:
        profile: Profile = builder(Profile)(data)
        return profile
    except ModelError as exc:
        raise ModelError(exc.reason, path=_join("Profile", exc.path)) from exc


def _join(name: str, path: str | None) -> str:
    if not path:
        return name
    return f"{name}{path}" if path.startswith("[") else f"{name}.{path}"


def _nested(build: Callable[[dict[str, Any]], Any]) -> Convert:
    def convert(value: Any) -> Any:
        if value.__class__ is not dict and not isinstance(value, dict):
            raise ModelError("expected a record of fields")
        return build(value)

    return convert


def _many(one: Convert, expected: str) -> Convert:
    def convert(value: Any) -> tuple[Any, ...]:
        items = value if isinstance(value, list) else [value]
        try:
            return tuple(map(one, items))
        except (ModelError, *_CONVERSION_ERRORS):
            pass
        for index, item in enumerate(items):  # again, one by one, to say which failed
            try:
                one(item)
            except (ModelError, *_CONVERSION_ERRORS) as exc:
                raise _located(exc, expected, f"[{index}]") from exc
        raise AssertionError("a conversion failed once but not again")  # pragma: no cover

    return convert


def _scalar(hint: Any) -> tuple[Convert, str]:
    """The converter for a scalar type and what it expects, in words for errors."""
    if isinstance(hint, type) and issubclass(hint, Enum):
        members = {str(m.value): m for m in hint}
        return (lambda v: members[v if v.__class__ is str else as_text(v)]), \
            f"one of {', '.join(members)}"
    table: dict[Any, tuple[Convert, str]] = {
        str: (_to_str, "a text"),
        int: (_to_int, "an integer"),
        bool: (_to_bool, "true or false"),
        Decimal: (_to_decimal, "a decimal number"),
        date: (_to_date, "a date YYYY-MM-DD"),
        datetime: (_to_datetime, "a date and time with a time zone"),
    }
    if hint not in table:
        raise TypeError(f"unsupported model type {hint!r}")
    return table[hint]


def _to_str(value: Any) -> str:
    return value if value.__class__ is str else as_text(value)


def _to_int(value: Any) -> int:
    if value.__class__ is str:
        return int(value.strip())
    if isinstance(value, bool):
        raise TypeError("not an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    return int(as_text(value).strip())


_BOOLEANS = {"true": True, "1": True, "false": False, "0": False}


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if not isinstance(value, str):
        raise TypeError("not true or false")
    return _BOOLEANS[value.strip().lower()]


def _to_decimal(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(as_text(value).strip())


def _to_date(value: Any) -> date:
    if type(value) is date:
        return value
    return date.fromisoformat((value if value.__class__ is str else as_text(value)).strip())


def _to_datetime(value: Any) -> datetime:
    if value.__class__ is str:
        result = datetime.fromisoformat(value.strip())
    elif isinstance(value, datetime):
        result = value
    else:
        result = datetime.fromisoformat(as_text(value).strip())
    if result.tzinfo is None:
        raise ValueError("a time zone is required")
    return result


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _unwrap_optional(hint: Any) -> Any:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        return args[0]
    return hint
