"""The mapping file as typed objects, read from YAML with the position of every key.

ruamel.yaml's round-trip loader keeps each key's line and column, so every error found here or
later (by the compiler) points at the exact spot in the file. Unknown keys are rejected: a typo
such as ``tranforms`` must not silently switch a step off. Errors are collected, not raised one
at a time, so ``mapping check`` shows an admin everything wrong in one run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from gateway.mapping.errors import MappingError
from gateway.mapping.record import FAILURE_POLICIES, RUNTIME_NAMES, Operation
from gateway.mapping.values import describe

SPEC_VERSION = 1

SourceFormat = Literal["xml", "csv", "sql", "json", "canonical"]
TargetFormat = Literal["canonical", "xml", "json"]
Direction = Literal["inbound", "outbound"]
Unknown = Literal["error", "keep", "default"]

SOURCE_FORMATS: tuple[str, ...] = ("xml", "csv", "sql", "json", "canonical")
TARGET_FORMATS: tuple[str, ...] = ("canonical", "xml", "json")
QUOTING: tuple[str, ...] = ("minimal", "all", "none", "nonnumeric")


@dataclass(frozen=True, slots=True)
class Pos:
    """A place in a mapping file: 1-based line and column, and the dotted key that is there."""

    file: str
    line: int
    column: int
    key: str

    def error(self, reason: str) -> MappingError:
        return MappingError(
            reason, file=self.file, line=self.line, column=self.column, key=self.key
        )

    def child(self, key: str, line: int, column: int) -> Pos:
        joined = f"{self.key}{key}" if key.startswith("[") or not self.key else f"{self.key}.{key}"
        return Pos(self.file, line, column, joined)


@dataclass(frozen=True, slots=True)
class Arg:
    """One argument of a transform as written: its value and where it stands."""

    value: Any
    pos: Pos


@dataclass(frozen=True, slots=True)
class TransformSpec:
    """``- trim`` or ``- case: upper`` or ``- date: {from: '%d.%m.%Y'}``."""

    name: str
    args: dict[str, Arg]
    shorthand: Arg | None  # ``case: upper``: one value given without an argument name
    pos: Pos


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One target field, or a group (``fields`` given) that builds a list or object of them."""

    target: str
    pos: Pos  # of the ``target`` value
    sources: tuple[Arg, ...] = ()
    multi_source: bool = False  # ``source: [a, b]``: one value per path, as a list
    value: Arg | None = None  # a constant instead of a source
    transforms: tuple[TransformSpec, ...] = ()
    fields: tuple[FieldSpec, ...] | None = None
    many: Arg | None = None
    require: tuple[Arg, ...] = ()
    runtime: Arg | None = None  # a run-time value (``import_time``) instead of a source
    on_error: Arg | None = None  # reject_record (default) | drop_field | keep_raw

    @property
    def is_group(self) -> bool:
        return self.fields is not None


@dataclass(frozen=True, slots=True)
class SourceSpec:
    format: SourceFormat
    pos: Pos
    namespaces: dict[str, str] = field(default_factory=dict)
    record: Arg | None = None  # xml: the record element (``c:Profile``) in a sample document
    columns: tuple[str, ...] | None = None  # csv/sql: the declared header
    columns_pos: dict[str, Pos] = field(default_factory=dict)
    delimiter: str = ","
    quotechar: str = '"'
    quoting: str = "minimal"
    encoding: str = "utf-8"


@dataclass(frozen=True, slots=True)
class TargetSpec:
    format: TargetFormat
    pos: Pos
    namespaces: dict[str, str] = field(default_factory=dict)
    root: Arg | None = None  # xml: the root element (``acme:customer``)
    schema: Arg | None = None  # xml: the target namespace whose XSD the output must satisfy


@dataclass(frozen=True, slots=True)
class CodeListSpec:
    name: str
    pos: Pos
    values: dict[str, str] | None = None
    file: Arg | None = None
    from_column: str = "code"
    to_column: str = "value"
    unknown: Unknown = "error"
    default: str | None = None


@dataclass(frozen=True, slots=True)
class OperationRule:
    """``- if: {source: "@mode", op: eq, value: delete}`` / ``do: erase`` / ``reason: ...``."""

    do: Operation
    pos: Pos  # of the rule
    source: Arg | None = None  # None: the rule always applies (a last, catch-all rule)
    op: Arg | None = None
    value: Arg | None = None
    values: Arg | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class MappingSpec:
    """A whole mapping file, checked for shape (not yet for meaning: that is the compiler's)."""

    file: str
    version: int
    name: str
    direction: Direction
    source: SourceSpec
    target: TargetSpec
    fields: tuple[FieldSpec, ...]
    code_lists: dict[str, CodeListSpec] = field(default_factory=dict)
    description: str | None = None
    operations: tuple[OperationRule, ...] = ()

    @property
    def folder(self) -> Path:
        return Path(self.file).parent


# --- reading -------------------------------------------------------------------------------------


def read_spec(
    path: str | Path, text: str | None = None
) -> tuple[MappingSpec | None, list[MappingError]]:
    """Read a mapping file (or ``text`` given for it): the spec, or None and every error found."""
    file = str(path)
    if text is None:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            return None, [MappingError(f"cannot read the file: {exc.strerror}", file=file)]
    try:
        data = YAML(typ="rt").load(text)
    except RecursionError:  # ruamel's composer recurses once per level of nesting
        return None, [MappingError("not valid YAML: nested too deeply", file=file)]
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (None, None)
        reason = f"not valid YAML: {exc.problem or exc.context}"
        return None, [MappingError(reason, file=file, line=line, column=column)]
    reader = _Reader(file)
    spec = reader.spec(data)
    return (spec if not reader.errors else None), reader.errors


class _Invalid(Exception):
    """Unwinds out of one entry after its error was recorded; the reader carries on."""


class _Reader:
    def __init__(self, file: str) -> None:
        self.file = file
        self.errors: list[MappingError] = []

    # positions and shapes

    def fail(self, pos: Pos, reason: str) -> _Invalid:
        self.errors.append(pos.error(reason))
        return _Invalid()

    def table(
        self, node: Any, pos: Pos, *, allowed: tuple[str, ...], required: tuple[str, ...] = ()
    ) -> dict[str, tuple[Any, Pos]]:
        """A YAML mapping with known keys only: key -> (value, position of the value)."""
        if not isinstance(node, CommentedMap):
            raise self.fail(pos, f"expected a mapping with keys {', '.join(allowed)}")
        out: dict[str, tuple[Any, Pos]] = {}
        bad = False
        for key, value in node.items():
            kline, kcol = node.lc.key(key)
            if not isinstance(key, str) or key not in allowed:
                self.fail(
                    pos.child(str(key), kline + 1, kcol + 1),
                    f"unknown key '{key}' (allowed here: {', '.join(allowed)})",
                )
                bad = True
                continue
            vline, vcol = node.lc.value(key)
            if isinstance(value, (CommentedMap, CommentedSeq)) and value:
                vline, vcol = _first_position(value)
            out[key] = (value, pos.child(key, vline + 1, vcol + 1))
        for key in required:
            if key not in out and not bad:
                self.fail(pos, f"the key '{key}' is required")
                bad = True
        if bad:
            raise _Invalid()
        return out

    def items(self, node: Any, pos: Pos) -> list[tuple[Any, Pos]]:
        if not isinstance(node, CommentedSeq):
            raise self.fail(pos, "expected a list")
        out = []
        for index, item in enumerate(node):
            line, col = node.lc.item(index)
            out.append((item, pos.child(f"[{index}]", line + 1, col + 1)))
        return out

    def text(self, value: Any, pos: Pos, what: str = "a text") -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(pos, f"expected {what}, got {describe(value)}")
        return value

    def choice(self, value: Any, pos: Pos, choices: tuple[str, ...]) -> str:
        if value not in choices:
            raise self.fail(pos, f"expected one of {', '.join(choices)}, got {value!r}")
        return cast(str, value)

    def text_map(self, value: Any, pos: Pos) -> dict[str, str]:
        if not isinstance(value, CommentedMap):
            raise self.fail(pos, "expected a mapping of texts")
        out = {}
        for key, item in value.items():
            line, col = value.lc.value(key)
            if not isinstance(item, (str, int)) or isinstance(item, bool):
                raise self.fail(pos.child(str(key), line + 1, col + 1),
                                f"expected a text, got {describe(item)}")
            out[str(key)] = str(item)
        return out

    def guarded(self, build: Callable[[], Any]) -> Any:
        try:
            return build()
        except _Invalid:
            return None

    # the file

    def spec(self, data: Any) -> MappingSpec | None:
        top = Pos(self.file, 1, 1, "")
        try:
            keys = self.table(
                data, top,
                allowed=("version", "name", "description", "direction", "source", "target",
                         "code_lists", "operations", "fields"),
                required=("version", "direction", "source", "target", "fields"),
            )
        except _Invalid:
            return None
        version, vpos = keys["version"]
        if version != SPEC_VERSION:
            self.fail(vpos, f"unsupported mapping file version {version!r} (this gateway reads "
                            f"version {SPEC_VERSION})")
        name = self.guarded(lambda: self.text(*keys["name"])) if "name" in keys else None
        description = keys["description"][0] if "description" in keys else None
        direction = self.guarded(lambda: self.choice(*keys["direction"], ("inbound", "outbound")))
        source = self.guarded(lambda: self.source(*keys["source"]))
        target = self.guarded(lambda: self.target(*keys["target"]))
        code_lists = self.guarded(lambda: self.code_lists(*keys["code_lists"])) \
            if "code_lists" in keys else {}
        operations = self.guarded(lambda: self.operations(*keys["operations"])) \
            if "operations" in keys else ()
        fields = self.guarded(lambda: self.fields(*keys["fields"]))
        if self.errors or None in (direction, source, target, code_lists, operations, fields):
            return None
        return MappingSpec(
            file=self.file, version=SPEC_VERSION, name=name or Path(self.file).stem,
            direction=direction, source=source, target=target, fields=fields,
            code_lists=code_lists, description=str(description) if description else None,
            operations=operations,
        )

    def operations(self, node: Any, pos: Pos) -> tuple[OperationRule, ...]:
        built = [self.guarded(lambda: self.operation(*item)) for item in self.items(node, pos)]  # noqa: B023
        if any(b is None for b in built):
            raise _Invalid()
        return tuple(built)

    def operation(self, node: Any, pos: Pos) -> OperationRule:
        keys = self.table(node, pos, allowed=("if", "do", "reason", "note"), required=("do",))
        do = Operation(self.choice(*keys["do"], tuple(Operation)))
        extra: dict[str, Any] = {}
        if "reason" in keys:
            extra["reason"] = self.text(*keys["reason"], what="a reason (text)")
        elif do in (Operation.SKIP, Operation.REJECT):
            raise self.fail(keys["do"][1], f"'do: {do}' needs a 'reason' (it is reported with "
                                           "every record it applies to)")
        if "if" in keys:
            cond = self.table(*keys["if"], allowed=("source", "op", "value", "values"),
                              required=("source", "op"))
            extra["source"] = Arg(self.text(*cond["source"], what="a source path"),
                                  cond["source"][1])
            extra["op"] = Arg(self.text(*cond["op"], what="an operator"), cond["op"][1])
            for key in ("value", "values"):
                if key in cond:
                    extra[key] = Arg(_plain(cond[key][0]), cond[key][1])
        return OperationRule(do=do, pos=pos, **extra)

    def source(self, node: Any, pos: Pos) -> SourceSpec:
        keys = self.table(
            node, pos,
            allowed=("format", "namespaces", "record", "columns", "delimiter", "quotechar",
                     "quoting", "encoding"),
            required=("format",),
        )
        fmt = self.choice(*keys["format"], SOURCE_FORMATS)
        extra: dict[str, Any] = {}
        if "namespaces" in keys:
            extra["namespaces"] = self.text_map(*keys["namespaces"])
        if "record" in keys:
            extra["record"] = Arg(self.text(*keys["record"]), keys["record"][1])
        if "columns" in keys:
            columns = [
                (self.text(v, p, "a column name"), p) for v, p in self.items(*keys["columns"])
            ]
            extra["columns"] = tuple(c for c, _ in columns)
            extra["columns_pos"] = dict(columns)
        for key in ("delimiter", "quotechar"):
            if key in keys:
                value, vpos = keys[key]
                if not isinstance(value, str) or len(value) != 1:
                    self.fail(vpos, f"expected one character, got {describe(value)}")
                else:
                    extra[key] = value
        if "quoting" in keys:
            extra["quoting"] = self.choice(*keys["quoting"], QUOTING)
        if "encoding" in keys:
            extra["encoding"] = self.text(*keys["encoding"])
        return SourceSpec(format=cast(SourceFormat, fmt), pos=keys["format"][1], **extra)

    def target(self, node: Any, pos: Pos) -> TargetSpec:
        keys = self.table(
            node, pos, allowed=("format", "namespaces", "root", "schema"), required=("format",)
        )
        fmt = self.choice(*keys["format"], TARGET_FORMATS)
        extra: dict[str, Any] = {}
        if "namespaces" in keys:
            extra["namespaces"] = self.text_map(*keys["namespaces"])
        for key in ("root", "schema"):
            if key in keys:
                extra[key] = Arg(self.text(*keys[key]), keys[key][1])
        if fmt == "xml" and ("root" not in extra or "schema" not in extra):
            raise self.fail(keys["format"][1], "an xml target needs 'root' and 'schema'")
        return TargetSpec(format=cast(TargetFormat, fmt), pos=keys["format"][1], **extra)

    def code_lists(self, node: Any, pos: Pos) -> dict[str, CodeListSpec]:
        if not isinstance(node, CommentedMap):
            raise self.fail(pos, "expected a mapping of code list names to code lists")
        out = {}
        for name, body in node.items():
            line, col = node.lc.key(name)
            where = pos.child(str(name), line + 1, col + 1)
            built = self.guarded(lambda: self.code_list(str(name), body, where))  # noqa: B023
            if built is not None:
                out[str(name)] = built
        return out

    def code_list(self, name: str, node: Any, pos: Pos) -> CodeListSpec:
        keys = self.table(
            node, pos, allowed=("values", "file", "from", "to", "unknown", "default")
        )
        if ("values" in keys) == ("file" in keys):
            raise self.fail(pos, "a code list needs exactly one of 'values' or 'file'")
        extra: dict[str, Any] = {}
        if "values" in keys:
            extra["values"] = self.text_map(*keys["values"])
        if "file" in keys:
            extra["file"] = Arg(self.text(*keys["file"]), keys["file"][1])
        if "from" in keys:
            extra["from_column"] = self.text(*keys["from"])
        if "to" in keys:
            extra["to_column"] = self.text(*keys["to"])
        if "unknown" in keys:
            extra["unknown"] = self.choice(*keys["unknown"], ("error", "keep", "default"))
        if "default" in keys:
            extra["default"] = str(keys["default"][0])
        if extra.get("unknown") == "default" and "default" not in extra:
            raise self.fail(keys["unknown"][1], "unknown: default needs a 'default' value")
        return CodeListSpec(name=name, pos=pos, **extra)

    def fields(self, node: Any, pos: Pos) -> tuple[FieldSpec, ...]:
        built = [self.guarded(lambda: self.field(*item)) for item in self.items(node, pos)]  # noqa: B023
        if any(b is None for b in built):
            raise _Invalid()
        return tuple(built)

    def field(self, node: Any, pos: Pos) -> FieldSpec:
        keys = self.table(
            node, pos,
            allowed=("target", "source", "value", "runtime", "transforms", "fields", "many",
                     "require", "on_error", "note"),
            required=("target",),
        )
        target = self.text(*keys["target"], what="a target field")
        tpos = keys["target"][1]
        extra: dict[str, Any] = {}
        given = [k for k in ("source", "value", "runtime") if k in keys]
        if len(given) > 1:
            raise self.fail(keys[given[1]][1], "give one of 'source', 'value' or 'runtime', "
                                               f"not {' and '.join(given)}")
        if "runtime" in keys:
            extra["runtime"] = Arg(self.choice(*keys["runtime"], RUNTIME_NAMES),
                                   keys["runtime"][1])
        if "on_error" in keys:
            if "fields" in keys:
                raise self.fail(keys["on_error"][1], "'on_error' belongs to a field, not a group")
            extra["on_error"] = Arg(self.choice(*keys["on_error"], FAILURE_POLICIES),
                                    keys["on_error"][1])
        if "source" in keys:
            value, spos = keys["source"]
            if isinstance(value, CommentedSeq):
                extra["sources"] = tuple(
                    Arg(self.text(v, p, "a source path"), p) for v, p in self.items(value, spos)
                )
                extra["multi_source"] = True
            else:
                extra["sources"] = (Arg(self.text(value, spos, "a source path"), spos),)
        if "value" in keys:
            value, vpos = keys["value"]
            if isinstance(value, (CommentedMap, CommentedSeq)):
                raise self.fail(vpos, "a constant value must be a text, number or true/false")
            extra["value"] = Arg(value, vpos)
        if "transforms" in keys:
            extra["transforms"] = tuple(
                self.transform(v, p) for v, p in self.items(*keys["transforms"])
            )
        if "fields" in keys:
            extra["fields"] = self.fields(*keys["fields"])
        if "many" in keys:
            value, mpos = keys["many"]
            if not isinstance(value, bool):
                raise self.fail(mpos, f"expected true or false, got {describe(value)}")
            extra["many"] = Arg(value, mpos)
        if "require" in keys:
            if "fields" not in keys:
                raise self.fail(keys["require"][1], "'require' belongs to a group (with 'fields')")
            extra["require"] = tuple(
                Arg(self.text(v, p, "a field name"), p) for v, p in self.items(*keys["require"])
            )
        return FieldSpec(target=target, pos=tpos, **extra)

    def transform(self, node: Any, pos: Pos) -> TransformSpec:
        if isinstance(node, str):
            return TransformSpec(name=node, args={}, shorthand=None, pos=pos)
        if not isinstance(node, CommentedMap) or len(node) != 1:
            raise self.fail(pos, "a transform is a name, or one name with its arguments "
                                 "(e.g. '- trim' or '- case: upper')")
        ((name, body),) = node.items()
        line, col = node.lc.key(name)
        npos = pos.child(str(name), line + 1, col + 1)
        vline, vcol = node.lc.value(name)
        if isinstance(body, CommentedMap):
            args = {}
            for key, value in body.items():
                aline, acol = body.lc.value(key)
                arg = _key(key)
                args[arg] = Arg(_plain(value), npos.child(arg, aline + 1, acol + 1))
            return TransformSpec(name=str(name), args=args, shorthand=None, pos=npos)
        shorthand = None if body is None else Arg(
            _plain(body), npos.child("", vline + 1, vcol + 1)
        )
        return TransformSpec(name=str(name), args={}, shorthand=shorthand, pos=npos)


def _first_position(node: CommentedMap | CommentedSeq) -> tuple[int, int]:
    """Where a block mapping or list really starts (for a key's value, ruamel gives the end of
    the key's line)."""
    return node.lc.line, node.lc.col


def _key(key: Any) -> str:
    """A mapping key as written: YAML reads ``true:`` as a boolean, the file meant the word."""
    if isinstance(key, bool):
        return "true" if key else "false"
    return str(key)


def _plain(value: Any) -> Any:
    """Round-trip YAML types (CommentedMap, ScalarFloat...) as plain Python values."""
    if isinstance(value, CommentedMap):
        return {_key(k): _plain(v) for k, v in value.items()}
    if isinstance(value, CommentedSeq):
        return [_plain(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return str(value)

