"""The fixed transform library: a registry of names to small, typed, documented functions.

A mapping file can only *name* a transform from this table and pass it checked arguments; it
can never supply code (no eval, exec, import or attribute lookup of anything named in a file),
so an admin's edit cannot run arbitrary Python in the gateway. Each transform is built once, at
compile time, into a closure: argument checks, regex compilation, time zone and code list
lookups happen then, and mapping a record only calls the closures.

Values are texts unless a transform makes something else (``number`` makes a decimal or an
integer, ``boolean`` true/false, ``split`` a list). A transform marked ``each`` is applied to
every item of a list and passes "nothing" (None) through; ``whole`` transforms see the list.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers

from gateway.mapping.codes import CodeList
from gateway.mapping.countries import DEFAULT_LANGUAGES, country_table, normalise_name
from gateway.mapping.record import current
from gateway.mapping.values import Getter, as_text, describe, is_blank

Step = Callable[[Any], Any]
Kind = Literal["text", "integer", "boolean", "texts", "scalar"]


class TransformFailed(ValueError):
    """A value cannot be transformed; the message names the problem, never the value."""


class ArgumentError(ValueError):
    """An argument is wrong at compile time; ``param`` names it (None: the transform itself)."""

    def __init__(self, reason: str, param: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.param = param


@dataclass(frozen=True, slots=True)
class Param:
    """One argument: its type, whether it is required, its default and allowed values."""

    name: str
    kind: Kind = "text"
    required: bool = False
    default: Any = None
    choices: tuple[str, ...] | None = None

    def check(self, value: Any) -> Any:
        """The value if it has the declared type, else :class:`ArgumentError`."""
        ok = {
            "text": isinstance(value, str),
            "integer": isinstance(value, int) and not isinstance(value, bool),
            "boolean": isinstance(value, bool),
            "texts": isinstance(value, list) and all(isinstance(v, str) for v in value),
            "scalar": value is None or isinstance(value, (str, int, float, bool)),
        }[self.kind]
        if not ok:
            raise ArgumentError(
                f"argument '{self.name}' must be {_KIND_WORDS[self.kind]}, got {describe(value)}",
                self.name,
            )
        if self.choices is not None and value not in self.choices:
            raise ArgumentError(
                f"argument '{self.name}' must be one of {', '.join(self.choices)}, "
                f"got {value!r}",
                self.name,
            )
        return value


_KIND_WORDS = {
    "text": "a text", "integer": "an integer", "boolean": "true or false",
    "texts": "a list of texts", "scalar": "a text, number or true/false",
}


def _no_source(path: str) -> Getter:
    raise ArgumentError("this mapping cannot read other fields of the record here")


@dataclass(frozen=True, slots=True)
class BuildContext:
    """What a transform may look up while it is built: the mapping's code lists, and ``source``
    which compiles a path of the record (relative to the field, as its own source is) into a
    getter of the record being mapped (:func:`record_value`)."""

    code_lists: Mapping[str, CodeList]
    source: Callable[[str], Getter] = _no_source


def record_value(get: Getter) -> Any:
    """What ``get`` (made by :attr:`BuildContext.source`) reads from the record being mapped,
    in the context of the field being mapped."""
    return get(current().item)


Builder = Callable[[dict[str, Any], BuildContext], Step]


@dataclass(frozen=True, slots=True)
class Transform:
    """A library entry: ``build(args, ctx)`` returns the step that maps one value."""

    name: str
    summary: str
    example: str
    params: tuple[Param, ...]
    build: Builder
    shorthand: str | None = None  # the parameter that ``name: value`` sets
    on_list: Literal["each", "whole"] = "each"
    sees_nothing: bool = False  # called with None too (default, when)
    # the same value always gives the same result (arguments and code lists are fixed when
    # compiled): the compiler may keep results per value. Not so for one that reads the
    # environment when called (hash: its salt).
    pure: bool = True
    # reads every match of its source, not only the first (count, sum, join, ...)
    gathers: bool = False

    def bind(self, args: dict[str, Any], shorthand: Any, ctx: BuildContext) -> Step:
        """Check arguments and build the step.

        :raises ArgumentError: naming the argument at fault.
        """
        given = dict(args)
        if shorthand is not None:
            if self.shorthand is None:
                raise ArgumentError(
                    "takes named arguments "
                    f"({', '.join(p.name for p in self.params) or 'none'})"
                )
            given[self.shorthand] = shorthand
        known = {p.name: p for p in self.params}
        for key in given:
            if key not in known:
                takes = ", ".join(known) or "no arguments"
                raise ArgumentError(
                    f"no argument '{key}' (it takes: {takes})", key
                )
        checked = {}
        for param in self.params:
            if param.name in given:
                checked[param.name] = param.check(given[param.name])
            elif param.required:
                raise ArgumentError(f"the argument '{param.name}' is required")
            else:
                checked[param.name] = param.default
        step = self.build(checked, ctx)
        if self.on_list == "whole":
            return step
        wrapped = _each(step, self.sees_nothing)
        if getattr(step, "reads_record", False):
            wrapped.reads_record = True  # type: ignore[attr-defined]
        return wrapped


def reads_record(step: Step) -> bool:
    """Whether a built step reads other fields of the record (its result is then not a pure
    function of its value, and must not be kept per value)."""
    return bool(getattr(step, "reads_record", False))


def _each(step: Step, sees_nothing: bool) -> Step:
    def run(value: Any) -> Any:
        if isinstance(value, list):
            return [run(v) for v in value]
        if not sees_nothing and is_blank(value):
            return None  # empty cells and missing elements alike: nothing to transform
        return step(value)

    return run


REGISTRY: dict[str, Transform] = {}


def transform(
    name: str, summary: str, example: str, *params: Param, shorthand: str | None = None,
    on_list: Literal["each", "whole"] = "each", sees_nothing: bool = False, pure: bool = True,
    gathers: bool = False,
) -> Callable[[Builder], Builder]:
    """Register a builder under ``name`` (import time only; the table is fixed)."""

    def register(build: Builder) -> Builder:
        REGISTRY[name] = Transform(
            name, summary, example, params, build, shorthand, on_list, sees_nothing, pure,
            gathers,
        )
        return build

    return register


def _text(value: Any) -> str:
    try:
        return as_text(value)
    except ValueError as exc:
        raise TransformFailed(str(exc)) from exc


# --- text ----------------------------------------------------------------------------------------


@transform("trim", "Remove white space (or the given characters) at both ends.",
           "- trim            # '  Anna ' -> 'Anna'", Param("chars"), shorthand="chars")
def _trim(args: dict[str, Any], ctx: BuildContext) -> Step:
    chars = args["chars"]
    return lambda v: _text(v).strip(chars)


_CASES: dict[str, Callable[[str], str]] = {
    "upper": str.upper, "lower": str.lower, "title": str.title,
}


@transform("case", "Change letter case: upper, lower or title.",
           "- case: title     # 'ANNA MARIA' -> 'Anna Maria'",
           Param("to", required=True, choices=tuple(_CASES)), shorthand="to")
def _case(args: dict[str, Any], ctx: BuildContext) -> Step:
    change = _CASES[args["to"]]
    return lambda v: change(_text(v))


def _regex(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ArgumentError(f"argument 'pattern' is not a valid regular expression: {exc}",
                            "pattern") from exc


@transform("regex_replace", "Replace every match of a regular expression (Python syntax; "
           "\\1 in 'with' refers to a group).",
           "- regex_replace: {pattern: '[^0-9]', with: ''}   # 'DE-104 35' -> '10435'",
           Param("pattern", required=True), Param("with", default=""),
           Param("count", "integer", default=0))
def _regex_replace(args: dict[str, Any], ctx: BuildContext) -> Step:
    rx, repl, count = _regex(args["pattern"]), args["with"], args["count"]
    return lambda v: rx.sub(repl, _text(v), count=count)


@transform("regex_extract", "Keep the given group (number or name) of the first match; "
           "nothing when there is no match.",
           "- regex_extract: {pattern: '^(\\d{5})'}   # '10435 Berlin' -> '10435'",
           Param("pattern", required=True), Param("group", "scalar", default=1),
           shorthand="pattern")
def _regex_extract(args: dict[str, Any], ctx: BuildContext) -> Step:
    rx, group = _regex(args["pattern"]), args["group"]
    valid = group in rx.groupindex if isinstance(group, str) else (
        isinstance(group, int) and 0 <= group <= rx.groups
    )
    if not valid:
        raise ArgumentError(f"argument 'group' names no group of the pattern: {group!r}", "group")

    def extract(v: Any) -> str | None:
        found = rx.search(_text(v))
        return found.group(group) if found else None

    return extract


@transform("concat", "Join the parts of a list (several sources) that are not empty.",
           "- concat: {separator: ' '}   # ['Anna', None, 'Berg'] -> 'Anna Berg'",
           Param("separator", default=" "), shorthand="separator", on_list="whole")
def _concat(args: dict[str, Any], ctx: BuildContext) -> Step:
    sep = args["separator"]

    def concat(v: Any) -> str | None:
        parts = [_text(p) for p in (v if isinstance(v, list) else [v]) if not is_blank(p)]
        return sep.join(parts) if parts else None

    return concat


@transform("split", "Cut a text into a list at a separator (items trimmed, empty ones dropped).",
           "- split: ','      # 'vip, newsletter' -> ['vip', 'newsletter']",
           Param("separator", default=","), Param("trim", "boolean", default=True),
           shorthand="separator")
def _split(args: dict[str, Any], ctx: BuildContext) -> Step:
    sep, trim = args["separator"], args["trim"]

    def split(v: Any) -> list[str]:
        items = _text(v).split(sep)
        return [i.strip() if trim else i for i in items if i.strip()]

    return split


# --- presence ------------------------------------------------------------------------------------


@transform("default", "Use this value when there is nothing (missing or empty).",
           "- default: unknown   # None -> 'unknown'",
           Param("value", "scalar", required=True), shorthand="value", sees_nothing=True)
def _default(args: dict[str, Any], ctx: BuildContext) -> Step:
    fallback = args["value"]
    return lambda v: fallback if is_blank(v) else v


@transform("coalesce", "The first item of a list (several sources) that is not empty.",
           "- coalesce        # [None, '', 'b@example.org'] -> 'b@example.org'",
           on_list="whole")
def _coalesce(args: dict[str, Any], ctx: BuildContext) -> Step:
    def coalesce(v: Any) -> Any:
        for item in v if isinstance(v, list) else [v]:
            if not is_blank(item):
                return item
        return None

    return coalesce


def _number(v: Any) -> Decimal:
    try:
        return v if isinstance(v, Decimal) else Decimal(_text(v).strip())
    except InvalidOperation as exc:
        raise TransformFailed("not a number") from exc


_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda v, x: v == x or (v is not None and _text(v) == _text(x)),
    "ne": lambda v, x: not _OPERATORS["eq"](v, x),
    "in": lambda v, x: v is not None and _text(v) in [_text(i) for i in x],
    "not_in": lambda v, x: not _OPERATORS["in"](v, x),
    "empty": lambda v, x: is_blank(v),
    "not_empty": lambda v, x: not is_blank(v),
    "matches": lambda v, x: v is not None and x.search(_text(v)) is not None,
    "gt": lambda v, x: v is not None and _number(v) > x,
    "ge": lambda v, x: v is not None and _number(v) >= x,
    "lt": lambda v, x: v is not None and _number(v) < x,
    "le": lambda v, x: v is not None and _number(v) <= x,
}


def condition(op: str, value: Any, values: list[str] | None, param: str = "op"
              ) -> Callable[[Any], bool]:
    """One comparison of a value (the ``when`` operators), checked and compiled.

    :raises ArgumentError: the operator lacks its operand, or the operand does not fit it.
    """
    compare = _OPERATORS[op]
    if op in ("in", "not_in"):
        if values is None:
            raise ArgumentError(f"operator '{op}' needs 'values' (a list of texts)", param)
        operand: Any = values
    elif op in ("empty", "not_empty"):
        operand = None
    elif value is None:
        raise ArgumentError(f"operator '{op}' needs 'value'", param)
    elif op == "matches":
        operand = _regex(_text(value))
    elif op in ("gt", "ge", "lt", "le"):
        try:
            operand = Decimal(_text(value))
        except InvalidOperation as exc:
            raise ArgumentError(f"operator '{op}' compares numbers: 'value' must be one",
                                "value") from exc
    else:
        operand = value
    return lambda v: compare(v, operand)


#: Every comparison operator (``when``, and the conditions of ``operations``).
OPERATORS: tuple[str, ...] = tuple(_OPERATORS)

#: Operators that ask about presence itself, and so are answered for a missing value too.
PRESENCE_OPERATORS = ("empty", "not_empty")


@transform("when", "Choose a value by one comparison of the current value (operators: "
           "eq, ne, in, not_in, empty, not_empty, matches, gt, ge, lt, le). Without 'then' "
           "the value is kept; without 'otherwise' a value that does not match gives nothing. "
           "A missing value stays missing (neither 'then' nor 'otherwise' is used) unless "
           "'on_missing' gives one; only 'empty' and 'not_empty' compare a missing value.",
           "- when: {op: eq, value: granted, then: true, otherwise: false}",
           Param("op", required=True, choices=tuple(_OPERATORS)), Param("value", "scalar"),
           Param("values", "texts"), Param("then", "scalar"), Param("otherwise", "scalar"),
           Param("on_missing", "scalar"), sees_nothing=True)
def _when(args: dict[str, Any], ctx: BuildContext) -> Step:
    op = args["op"]
    test = condition(op, args["value"], args["values"])
    keep = args["then"] is None
    then, otherwise, on_missing = args["then"], args["otherwise"], args["on_missing"]
    presence = op in PRESENCE_OPERATORS

    def choose(v: Any) -> Any:
        if not presence and is_blank(v):
            return on_missing
        return (v if keep else then) if test(v) else otherwise

    return choose


# --- aggregates over repeated children -----------------------------------------------------------


def _items(v: Any) -> list[Any]:
    """The values of a list (or of one value) that are not empty."""
    return [item for item in (v if isinstance(v, list) else [v]) if not is_blank(item)]


@transform("count", "How many times the source matches (repeated children, list items); 0 when "
           "it matches nothing.",
           "- count           # <order/><order/><order/> -> 3",
           on_list="whole", sees_nothing=True, gathers=True)
def _count(args: dict[str, Any], ctx: BuildContext) -> Step:
    def count(v: Any) -> int:
        if isinstance(v, list):
            return len(v)
        return 0 if is_blank(v) else 1

    return count


@transform("sum", "The sum of every match, read as numbers ('.' decimals); nothing when none.",
           "- sum             # ['12.50', '7.50'] -> 20.00",
           on_list="whole", gathers=True)
def _sum(args: dict[str, Any], ctx: BuildContext) -> Step:
    def total(v: Any) -> Decimal | None:
        items = _items(v)
        return sum((_number(i) for i in items), Decimal(0)) if items else None

    return total


def _extreme(pick: Callable[..., Any]) -> Builder:
    def build(args: dict[str, Any], ctx: BuildContext) -> Step:
        def extreme(v: Any) -> Any:
            items = _items(v)
            if not items:
                return None
            try:
                return pick(_number(i) for i in items)
            except TransformFailed:  # not all numbers: compare as texts (ISO dates sort so)
                return pick(_text(i) for i in items)

        return extreme

    return build


transform("min", "The smallest match: as numbers when every match is one, else as texts "
          "(ISO dates compare right).", "- min             # ['2024-03-01', '2023-11-30'] -> "
          "'2023-11-30'", on_list="whole", gathers=True)(_extreme(min))
transform("max", "The largest match: as numbers when every match is one, else as texts.",
          "- max             # ['3', '12'] -> 12", on_list="whole", gathers=True)(_extreme(max))


@transform("first", "The first match that is not empty.",
           "- first           # [None, 'a', 'b'] -> 'a'", on_list="whole", gathers=True)
def _first(args: dict[str, Any], ctx: BuildContext) -> Step:
    return lambda v: next(iter(_items(v)), None)


@transform("last", "The last match that is not empty.",
           "- last            # ['a', 'b', None] -> 'b'", on_list="whole", gathers=True)
def _last(args: dict[str, Any], ctx: BuildContext) -> Step:
    def last(v: Any) -> Any:
        items = _items(v)
        return items[-1] if items else None

    return last


@transform("join", "Every match that is not empty, joined by a separator.",
           "- join: ', '      # <tag>vip</tag><tag>b2b</tag> -> 'vip, b2b'",
           Param("separator", default=", "), shorthand="separator", on_list="whole",
           gathers=True)
def _join(args: dict[str, Any], ctx: BuildContext) -> Step:
    sep = args["separator"]

    def join(v: Any) -> str | None:
        items = [_text(i) for i in _items(v)]
        return sep.join(items) if items else None

    return join


# --- dates and numbers ---------------------------------------------------------------------------


def _zone(name: str | None, param: str) -> ZoneInfo | None:
    if name is None:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ArgumentError(f"argument '{param}': unknown time zone {name!r}", param) from exc


def _check_format(fmt: str, param: str) -> str:
    if fmt != "iso" and "%" not in fmt:
        raise ArgumentError(
            f"argument '{param}' must be 'iso' or a strftime format such as '%d.%m.%Y'", param
        )
    return fmt


@transform("date", "Read a date in one format and write it in another ('iso' = YYYY-MM-DD; "
           "otherwise Python strftime codes: %d day, %m month, %Y year).",
           "- date: {from: '%d.%m.%Y'}          # '23.04.1979' -> '1979-04-23'",
           Param("from", default="iso"), Param("to", default="iso"))
def _date(args: dict[str, Any], ctx: BuildContext) -> Step:
    src, dst = _check_format(args["from"], "from"), _check_format(args["to"], "to")

    def convert(v: Any) -> str:
        text = _text(v).strip()
        try:
            day = date.fromisoformat(text) if src == "iso" else datetime.strptime(text, src).date()
        except ValueError as exc:
            raise TransformFailed(f"not a date in the format {src}") from exc
        return day.isoformat() if dst == "iso" else day.strftime(dst)

    return convert


@transform("datetime", "Read a date and time in one format and write it in another, with time "
           "zones: 'zone' is the zone of input without an offset, 'to_zone' converts the result.",
           "- datetime: {from: '%d.%m.%Y %H:%M', zone: Europe/Berlin, to_zone: UTC}\n"
           "    # '14.05.2023 09:12' -> '2023-05-14T07:12:00+00:00'",
           Param("from", default="iso"), Param("to", default="iso"), Param("zone"),
           Param("to_zone"))
def _datetime(args: dict[str, Any], ctx: BuildContext) -> Step:
    src, dst = _check_format(args["from"], "from"), _check_format(args["to"], "to")
    zone, to_zone = _zone(args["zone"], "zone"), _zone(args["to_zone"], "to_zone")

    def convert(v: Any) -> str:
        text = _text(v).strip()
        try:
            moment = datetime.fromisoformat(text) if src == "iso" else datetime.strptime(text, src)
        except ValueError as exc:
            raise TransformFailed(f"not a date and time in the format {src}") from exc
        if moment.tzinfo is None:
            if zone is None:
                raise TransformFailed("the value has no time zone and the transform names no "
                                      "'zone'")
            moment = moment.replace(tzinfo=zone)
        if to_zone is not None:
            moment = moment.astimezone(to_zone)
        return moment.isoformat() if dst == "iso" else moment.strftime(dst)

    return convert


@transform("number", "Read a number written with the given decimal (and thousands) separator, "
           "as a decimal or an integer.",
           "- number: {decimal_separator: ',', thousands_separator: '.'}   # '1.234,50' -> 1234.50",
           Param("decimal_separator", default=".", choices=(".", ",")),
           Param("thousands_separator"), Param("type", default="decimal",
                                               choices=("decimal", "integer")))
def _number_parse(args: dict[str, Any], ctx: BuildContext) -> Step:
    dec, thousands, as_int = args["decimal_separator"], args["thousands_separator"], \
        args["type"] == "integer"
    if thousands == dec:
        raise ArgumentError("the thousands and decimal separators must differ",
                            "thousands_separator")

    def parse(v: Any) -> Decimal | int:
        if isinstance(v, (int, Decimal)) and not isinstance(v, bool):
            number = Decimal(v)
        else:
            text = _text(v).strip().replace(" ", "")
            if thousands:
                text = text.replace(thousands, "")
            number = _number(text.replace(dec, ".") if dec != "." else text)
        if not number.is_finite():
            raise TransformFailed("not a finite number")
        if as_int:
            if number != number.to_integral_value():
                raise TransformFailed("not a whole number")
            return int(number)
        return number

    return parse


@transform("boolean", "Read yes/no answers as true or false (lists of accepted words; case is "
           "ignored). Anything else fails.",
           "- boolean: {true: [Y, J], false: [N, '']}   # 'y' -> true",
           Param("true", "texts", default=["true", "yes", "y", "1"]),
           Param("false", "texts", default=["false", "no", "n", "0"]))
def _boolean(args: dict[str, Any], ctx: BuildContext) -> Step:
    table = {w.strip().lower(): False for w in args["false"]}
    table.update({w.strip().lower(): True for w in args["true"]})

    def parse(v: Any) -> bool:
        if isinstance(v, bool):
            return v
        found = table.get(_text(v).strip().lower())
        if found is None:
            raise TransformFailed("not one of the accepted yes/no words")
        return found

    return parse


# --- codes and identities ------------------------------------------------------------------------


@transform("code", "Look a code up in a code list of the mapping (inline or a CSV file); "
           "'reverse' reads the list from value to code (for outbound mappings). What happens "
           "to a code not in the list is declared by the list (error, keep, default).",
           "- code: gender    # 'F' -> 'female' with code_lists: {gender: {values: {F: female}}}",
           Param("list", required=True), Param("reverse", "boolean", default=False),
           shorthand="list")
def _code(args: dict[str, Any], ctx: BuildContext) -> Step:
    found = ctx.code_lists.get(args["list"])
    if found is None:
        names = ", ".join(sorted(ctx.code_lists)) or "none are declared"
        raise ArgumentError(f"code list '{args['list']}' does not exist (code lists: {names})",
                            "list")
    table = found.reversed() if args["reverse"] else found
    return lambda v: table.lookup(_text(v).strip())


PhoneQuality = Literal["valid", "possible", "invalid"]


def _phone_reader(args: dict[str, Any], ctx: BuildContext
                  ) -> tuple[Callable[[Any], tuple[phonenumbers.PhoneNumber | None, str]], bool]:
    """A function reading a phone number (and its quality) for the region of the record, and
    whether it reads the record (``region_from``)."""
    fallback = args["region"].upper() if args["region"] else None
    if fallback is not None and fallback not in phonenumbers.SUPPORTED_REGIONS:
        raise ArgumentError(f"argument 'region': unknown phone region {args['region']!r}",
                            "region")
    region_from = args["region_from"]
    if region_from is None and fallback is None:
        raise ArgumentError("give 'region' (the region of numbers without a country code), "
                            "'region_from' (a field of the record holding it), or both",
                            "region")
    get_region = ctx.source(region_from) if region_from is not None else None
    countries = country_table()

    def region() -> str | None:
        if get_region is None:
            return fallback
        found = record_value(get_region)
        if isinstance(found, list):
            found = next(iter(_items(found)), None)
        if is_blank(found):
            return fallback
        code = countries.find(_text(found))
        return code if code in phonenumbers.SUPPORTED_REGIONS else fallback

    def read(v: Any) -> tuple[phonenumbers.PhoneNumber | None, str]:
        try:
            number = phonenumbers.parse(_text(v), region())
        except phonenumbers.NumberParseException:
            return None, "invalid"
        if phonenumbers.is_valid_number(number):
            return number, "valid"
        if phonenumbers.is_possible_number(number):
            return number, "possible"
        return number, "invalid"

    return read, get_region is not None


_PHONE_REGION_PARAMS = (
    Param("region"), Param("region_from"),
)


@transform("phone", "Write a phone number in E.164 (+4930123456). Numbers without a country "
           "code are read for a region (ISO 3166 alpha-2): the one in the field 'region_from' "
           "names (a path of the record, relative to the field as its source is; a code or a "
           "country name), else 'region'. 'accept: valid' also refuses numbers that have a "
           "possible length but no valid prefix.",
           "- phone: DE       # '030 1234 56' -> '+4930123456'\n"
           "- phone: {region_from: acme:address/acme:country, region: DE, accept: valid}",
           *_PHONE_REGION_PARAMS, Param("accept", default="possible",
                                        choices=("possible", "valid")),
           shorthand="region")
def _phone(args: dict[str, Any], ctx: BuildContext) -> Step:
    read, from_record = _phone_reader(args, ctx)
    accepted = ("valid",) if args["accept"] == "valid" else ("valid", "possible")

    def e164(v: Any) -> str:
        number, quality = read(v)
        if number is None:
            raise TransformFailed("not a phone number")
        if quality not in accepted:
            raise TransformFailed(f"not a {args['accept']} phone number")
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)

    e164.reads_record = from_record  # type: ignore[attr-defined]
    return e164


@transform("phone_quality", "How good a phone number is: 'valid' (a known number plan), "
           "'possible' (a possible length only) or 'invalid'; never fails. Same region "
           "arguments as 'phone'.",
           "- phone_quality: DE   # '030 1234 56' -> 'valid', '12' -> 'invalid'",
           *_PHONE_REGION_PARAMS, shorthand="region")
def _phone_quality(args: dict[str, Any], ctx: BuildContext) -> Step:
    read, from_record = _phone_reader(args, ctx)

    def quality(v: Any) -> str:
        return read(v)[1]

    quality.reads_record = from_record  # type: ignore[attr-defined]
    return quality


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")


@transform("email", "Normalise an e-mail address: trimmed, lower case, and checked for the "
           "shape name@domain.tld.",
           "- email           # ' Anna.Berg@Example.ORG ' -> 'anna.berg@example.org'")
def _email(args: dict[str, Any], ctx: BuildContext) -> Step:
    def normalise(v: Any) -> str:
        text = _text(v).strip().lower()
        if not _EMAIL.match(text):
            raise TransformFailed("not an e-mail address")
        return text

    return normalise


_COUNTRY_FORMS = ("alpha2", "alpha3", "name", "any")


@transform("country", "Convert an ISO 3166-1 country between alpha-2, alpha-3 and names. "
           "'from: name' knows the ISO names, the CLDR names in 'languages' (default English, "
           "French, German: 'Germany', 'Allemagne', 'Deutschland') and usual short forms ('UK', "
           "'USA', 'Great Britain'), compared without case, accents or punctuation; 'from: any' "
           "takes codes and names. A code list named by 'list' is asked first (overrides). "
           "'to: name' writes the ISO English name.",
           "- country: {from: alpha3, to: alpha2}   # 'CZE' -> 'CZ'\n"
           "- country: {from: name, to: alpha2}     # 'Vereinigtes Königreich' -> 'GB'",
           Param("from", required=True, choices=_COUNTRY_FORMS),
           Param("to", required=True, choices=_COUNTRY_FORMS[:3]),
           Param("languages", "texts", default=list(DEFAULT_LANGUAGES)), Param("list"))
def _country(args: dict[str, Any], ctx: BuildContext) -> Step:
    src, dst = args["from"], args["to"]
    try:
        table = country_table(tuple(args["languages"]))
    except ValueError as exc:
        raise ArgumentError(f"argument 'languages': {exc}", "languages") from exc
    override: dict[str, str] = {}
    if args["list"] is not None:
        found = ctx.code_lists.get(args["list"])
        if found is None:
            raise ArgumentError(f"code list '{args['list']}' does not exist", "list")
        override = {normalise_name(k): v for k, v in found.table.items()}
    codes, names = src in ("alpha2", "alpha3", "any"), src in ("name", "any")

    def convert(v: Any) -> str:
        text = _text(v).strip()
        alpha2 = override.get(normalise_name(text)) if override else None
        if alpha2 is not None:
            alpha2 = table.find(alpha2, names=False)  # the list may give alpha-3 codes
        elif src == "alpha2":
            alpha2 = table.by_alpha2.get(text.upper())
        elif src == "alpha3":
            alpha2 = table.by_alpha3.get(text.upper())
        else:
            alpha2 = table.find(text, codes=codes, names=names)
        if alpha2 is None:
            raise TransformFailed(f"not an ISO 3166 country ({src})")
        return table.render(alpha2, dst)

    return convert


_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")


@transform("hash", "A pseudonymous id: the SHA-256 hex digest of salt + value. The salt is read "
           "from the environment variable named by 'salt_env' (never written in the file); "
           "'length' shortens the digest.",
           "- hash: {salt_env: CPEX_PSEUDONYM_SALT, length: 32}   # 'gp-1' -> '9f2c...'",
           Param("salt_env", required=True), Param("length", "integer", default=64),
           shorthand="salt_env", pure=False)
def _hash(args: dict[str, Any], ctx: BuildContext) -> Step:
    name, length = args["salt_env"], args["length"]
    if not _ENV_NAME.match(name):
        raise ArgumentError("argument 'salt_env' must be the NAME of an environment variable "
                            "(A-Z, 0-9, _), not the salt itself", "salt_env")
    if not 8 <= length <= 64:
        raise ArgumentError("argument 'length' must be between 8 and 64", "length")

    def digest(v: Any) -> str:
        salt = os.environ.get(name)
        if not salt:
            raise TransformFailed(f"the environment variable {name} (the salt) is not set")
        return hashlib.sha256((salt + _text(v)).encode("utf-8")).hexdigest()[:length]

    return digest

