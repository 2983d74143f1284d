"""Compile a mapping spec once into plans of closures; map records without re-reading the file.

Compiling resolves every source path (XPath objects, columns), every target path (model fields,
XSD steps), every transform (checked arguments, built closures) and every code list. Whatever is
wrong is collected as a :class:`MappingError` with file, line and column: the same code serves
``mapping check`` and loading, so the two can never disagree.

Mapping a record then walks the plans: each field plan reads its source, applies its steps and
puts the value at its key in a nested dict, which the target writer finishes. ``map`` is the
fast path (the first failure raises :class:`MappingFailure`); ``preview`` runs the same plans
with a tracer that records every field and collects failures instead of stopping.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from gateway.errors import GatewayError, ModelError
from gateway.mapping.codes import CodeList, load_code_list
from gateway.mapping.errors import MappingError, MappingFailure
from gateway.mapping.record import (
    CURRENT,
    FailurePolicy,
    FieldWarning,
    MappedRecord,
    Operation,
    RecordState,
    RunValues,
    current,
)
from gateway.mapping.sources import READERS, SourceReader
from gateway.mapping.spec import Arg, FieldSpec, MappingSpec, OperationRule
from gateway.mapping.targets import WRITERS, TargetWriter
from gateway.mapping.trace import FieldTrace, PreviewIssue, PreviewResult
from gateway.mapping.transforms import (
    OPERATORS,
    PRESENCE_OPERATORS,
    REGISTRY,
    ArgumentError,
    BuildContext,
    Step,
    condition,
    reads_record,
)
from gateway.mapping.values import Getter, is_blank
from gateway.model.profile import AttributeDeclaration
from gateway.xml.schemas import SchemaRegistry


class _Tracer:
    """Collects traces and failures during a preview."""

    def __init__(self) -> None:
        self.traces: list[FieldTrace] = []
        self.errors: list[PreviewIssue] = []

    def failed(self, failure: MappingFailure, trace: FieldTrace) -> None:
        self.traces.append(trace)
        self.errors.append(PreviewIssue("mapping", failure.message, field=failure.field))


# Results of a field's transforms kept per distinct text value, at most this many per field.
_MEMO_SIZE = 4096
# What a kept result may be: values nothing downstream can change in place.
_FROZEN = frozenset((str, int, float, bool, Decimal, date, datetime, type(None)))
_MISS = object()


class FieldPlan:
    """One target field: read, transform, put.

    ``run`` is the hot path (no trace); ``run_traced`` does the same and records each step.

    Transforms are pure functions of the value (their arguments and code lists are fixed when
    the mapping is compiled; a field with one that is not, ``hash``, keeps nothing), so ``run``
    keeps what they made of a text value it has seen,
    for up to ``_MEMO_SIZE`` distinct values per field: a column of codes or currencies is
    transformed once per code, not once per record. Only results nothing downstream can
    change in place are kept (text, numbers, dates, ``None``; never a list); a value whose
    transforms fail is never kept, so it fails the same way every time.
    """

    __slots__ = ("constant", "get", "key", "label", "last", "many", "mapping", "memo", "names",
                 "on_error", "parents", "plain", "quality_key", "raw_key", "reads", "source",
                 "steps")

    def __init__(
        self, *, mapping: str, label: str, key: tuple[Any, ...], many: bool,
        getters: tuple[Getter, ...], constant: Any, source: str | None,
        steps: tuple[tuple[str, Step], ...], on_error: FailurePolicy = "reject_record",
        raw_key: tuple[Any, ...] | None = None, quality_key: tuple[Any, ...] | None = None,
    ) -> None:
        self.mapping, self.label, self.many, self.source = mapping, label, many, source
        self.key, self.parents, self.last = key, key[:-1], key[-1]
        self.constant = constant
        self.get: Getter | None = None
        # read by Block: one source, no transforms, a key of its own level
        self.plain = len(getters) == 1 and not steps and not self.parents
        if len(getters) == 1:
            self.get = getters[0]
        elif getters:  # several sources: one value each, as a list
            self.get = lambda context: [get(context) for get in getters]
        self.names = tuple(name for name, _ in steps)
        self.steps = tuple(step for _, step in steps)
        self.reads = any(reads_record(step) for step in self.steps)
        pure = all(REGISTRY[name].pure for name in self.names if name in REGISTRY) and \
            not self.reads
        self.memo: dict[str, Any] | None = {} if self.steps and pure else None
        # what a failure does (reject_record: the record fails; see :meth:`failed`)
        self.on_error, self.raw_key, self.quality_key = on_error, raw_key, quality_key

    def run(self, context: Any, node: dict[Any, Any], tracer: _Tracer | None, prefix: str) -> None:
        if tracer is not None:
            self.run_traced(context, node, tracer, prefix)
            return
        try:
            if self.reads:  # steps that read other fields, relative to this field's context
                current().item = context
            value = self.constant if self.get is None else self.get(context)
            memo = self.memo
            if memo is not None and value.__class__ is str:
                seen = memo.get(value, _MISS)
                if seen is _MISS:
                    raw = value
                    for step in self.steps:
                        value = step(value)
                    if value.__class__ in _FROZEN and len(memo) < _MEMO_SIZE:
                        memo[raw] = value
                else:
                    value = seen
            else:
                for step in self.steps:
                    value = step(value)
            if value.__class__ is str and not self.many:  # the common case, settled inline
                if not value or value.isspace():
                    return
            else:
                value = self.settle(value)
                if value is None:
                    return
        except ValueError as exc:
            self.failed(exc, prefix, context, node)
            return
        if self.parents or self.last in node:  # a list at the same key is joined, as put does
            put(node, self.key, value)
        else:
            node[self.last] = value

    def run_traced(self, context: Any, node: dict[Any, Any], tracer: _Tracer,
                   prefix: str) -> None:
        raw = value = None
        applied: list[tuple[str, Any]] = []
        try:
            if self.reads:
                current().item = context
            raw = value = self.constant if self.get is None else self.get(context)
            for name, step in zip(self.names, self.steps, strict=True):
                value = step(value)
                applied.append((name, value))
            value = self.settle(value)
        except ValueError as exc:
            trace = FieldTrace(prefix + self.label, self.source, raw, tuple(applied), None,
                               str(exc))
            if self.on_error == "reject_record":
                tracer.failed(self.failure(exc, prefix), trace)
            else:
                tracer.traces.append(trace)
                self.failed(exc, prefix, context, node)
            return
        tracer.traces.append(FieldTrace(prefix + self.label, self.source, raw, tuple(applied),
                                        value))
        if value is not None:
            put(node, self.key, value)

    def failure(self, exc: ValueError, prefix: str) -> MappingFailure:
        return MappingFailure(str(exc), mapping=self.mapping, field=prefix + self.label,
                              source=self.source)

    def failed(self, exc: ValueError, prefix: str, context: Any, node: dict[Any, Any]) -> None:
        """A failure by the field's policy: ``reject_record`` raises (the record fails; an
        erase record drops the field instead), ``drop_field`` leaves the field out and
        ``keep_raw`` keeps the source's text (beside the field when its record has a ``raw``
        field, flagging ``quality`` invalid); either way with a warning.

        :raises MappingFailure: for ``reject_record``.
        """
        state = CURRENT.get()
        if self.on_error == "reject_record":
            if state is None or not state.lenient:
                raise self.failure(exc, prefix) from exc
            return
        assert state is not None  # apply() and preview() always set it
        state.warnings.append(FieldWarning(prefix + self.label, self.source, self.on_error,
                                           str(exc)))
        if self.on_error != "keep_raw" or self.get is None:
            return
        raw = self.get(context)
        items = [r for r in (raw if isinstance(raw, list) else [raw]) if not is_blank(r)]
        if not items:
            return
        assert self.raw_key is not None
        text = [str(r).strip() for r in items]
        put(node, self.raw_key, text if self.many else text[0])
        if self.quality_key is not None and self.quality_key[-1] not in node:
            put(node, self.quality_key, "invalid")

    def settle(self, value: Any) -> Any:
        """Blanks dropped; a list for a many-valued target, else one value (or None)."""
        if value.__class__ is str:
            if not value.strip():
                return None
            return [value] if self.many else value
        if isinstance(value, list):
            items = [v for v in _flat(value) if not is_blank(v)]
            if self.many:
                return items or None
            if len(items) > 1:
                raise ValueError(f"gives {len(items)} values, but the target holds one "
                                 "(use coalesce or concat, or a list target)")
            return items[0] if items else None
        if value is None:
            return None
        return [value] if self.many else value


def _flat(values: list[Any]) -> list[Any]:
    """One level of nesting removed (``split`` applied to each of several values)."""
    if not any(isinstance(v, list) for v in values):
        return values
    return [item for v in values for item in (v if isinstance(v, list) else [v])]


class GroupPlan:
    """A group: one item per context its source finds (or one from the current context).

    An item found by the source is kept even when empty (an empty ``<Person/>`` is a person);
    a source-less item (fields of the same row) is dropped when none of its fields has a value.
    Items lacking a ``require``d field are dropped.
    """

    __slots__ = ("block", "iterate", "key", "label", "many", "require")

    def __init__(
        self, *, label: str, key: tuple[Any, ...], many: bool, iterate: Getter | None,
        block: Block, require: tuple[Any, ...],
    ) -> None:
        self.label, self.key, self.many, self.iterate = label, key, many, iterate
        self.block, self.require = block, require

    def run(self, context: Any, node: dict[Any, Any], tracer: _Tracer | None, prefix: str) -> None:
        if tracer is not None:
            self.run_traced(context, node, tracer, prefix)
            return
        if self.iterate is None:
            found, contexts = False, (context,)
        else:
            found, contexts = True, self.iterate(context)
            if not contexts:
                return
        batch, rest, require = self.block.batch, self.block.rest, self.require
        items: list[dict[Any, Any]] = []
        state = CURRENT.get()
        warnings = state.warnings if state is not None else []
        for item_context in contexts:
            item: dict[Any, Any] = {}
            seen = len(warnings)
            try:  # Block.fill, inlined
                if batch is not None:
                    batch(item_context, item)
                for plan in rest:
                    plan.run(item_context, item, None, "")
            except MappingFailure as exc:
                raise self.failure(exc, len(items)) from exc
            if len(warnings) > seen:  # a field of this item failed under its policy
                index = f"[{len(items)}]" if self.many else ""
                warnings[seen:] = [dataclasses.replace(w, field=f"{self.label}{index}.{w.field}")
                                   for w in warnings[seen:]]
            if (item or found) and (not require or all(k in item for k in require)):
                items.append(item)
        if items:
            key = self.key
            if len(key) == 1 and key[0] not in node:  # put(), the common case inlined
                node[key[0]] = items if self.many else items[0]
            else:
                put(node, key, items if self.many else items[0])

    def run_traced(self, context: Any, node: dict[Any, Any], tracer: _Tracer,
                   prefix: str) -> None:
        """``run`` with every field traced, in file order."""
        found = self.iterate is not None
        contexts = self.iterate(context) if self.iterate is not None else [context]
        items: list[dict[Any, Any]] = []
        for item_context in contexts:
            item: dict[Any, Any] = {}
            index = f"[{len(items)}]" if self.many else ""
            inner = f"{prefix}{self.label}{index}."
            try:
                for child in self.block.plans:
                    child.run(item_context, item, tracer, inner)
            except MappingFailure as exc:
                raise self.failure(exc, len(items)) from exc
            if (item or found) and (not self.require or all(k in item for k in self.require)):
                items.append(item)
        if items:
            put(node, self.key, items if self.many else items[0])

    def failure(self, exc: MappingFailure, position: int) -> MappingFailure:
        """A failure inside item ``position``, with the field path from this group."""
        index = f"[{position}]" if self.many else ""
        return MappingFailure(exc.reason, mapping=exc.mapping, source=exc.source,
                              field=f"{self.label}{index}.{exc.field}")


class Block:
    """The plans of one record or group item, ready to run.

    ``fill`` is the hot path. The plain fields (one source, no transforms, a key no other plan
    of the block writes) that the reader can read together (:meth:`XmlReader.batch`) go first,
    in one call; the other plans follow in file order. Plain fields cannot fail and write keys
    of their own, so the node and the first failure are those of running every plan in file
    order, which is what a traced run (``plans``) does.
    """

    __slots__ = ("batch", "plans", "rest")

    def __init__(self, plans: tuple[Plan, ...], reader: SourceReader) -> None:
        self.plans = plans
        heads = [plan.key[0] for plan in plans]
        plain = [plan for plan in plans if isinstance(plan, FieldPlan) and plan.plain
                 and plan.constant is None and heads.count(plan.last) == 1]
        batch, covered = reader.batch([(plan.last, plan.get, plan.many) for plan in plain])
        batched = {id(plain[position]) for position in covered}
        self.batch = batch
        self.rest = tuple(plan for plan in plans if id(plan) not in batched)

    def fill(self, context: Any, node: dict[Any, Any]) -> None:
        if self.batch is not None:
            self.batch(context, node)
        for plan in self.rest:
            plan.run(context, node, None, "")


Plan = FieldPlan | GroupPlan


def put(node: dict[Any, Any], key: tuple[Any, ...], value: Any) -> None:
    """Set ``value`` at a key path, creating nested dicts; lists at the same key are joined
    (two groups may each add addresses)."""
    for step in key[:-1]:
        node = node.setdefault(step, {})
    last = key[-1]
    existing = node.get(last)
    if isinstance(existing, list) and isinstance(value, list):
        existing.extend(value)
    else:
        node[last] = value


@dataclass(frozen=True, slots=True)
class CompiledMapping:
    """A mapping file, compiled. ``map`` is the fast path; ``preview`` traces every field."""

    name: str
    direction: str
    source_format: str
    target_format: str
    file: str
    spec: MappingSpec
    reader: SourceReader
    writer: TargetWriter
    body: Block
    rules: tuple[RulePlan, ...] = ()
    warnings: tuple[MappingError, ...] = ()  # what ``mapping check`` warns about

    @property
    def plans(self) -> tuple[Plan, ...]:
        return self.body.plans

    def operation(self, context: Any) -> tuple[Operation, str | None]:
        """The operation of a prepared record: the first rule that matches, else upsert."""
        for rule in self.rules:
            if rule.matches(context):
                return rule.do, rule.reason
        return Operation.UPSERT, None

    def apply(self, record: Any, run: RunValues | None = None) -> MappedRecord:
        """Map one source record (an lxml element, a row dict, a JSON dict, a Profile): its
        operation, output and field warnings. A skipped or rejected record is not mapped; an
        erase record is mapped leniently (a failing field is left out: only its identifiers
        matter).

        :raises MappingFailure: naming the field and source path that failed.
        """
        context = self.reader.prepare(record)
        operation, reason = self.operation(context) if self.rules else (Operation.UPSERT, None)
        if operation is Operation.SKIP or operation is Operation.REJECT:
            return MappedRecord(operation, None, reason)
        state = RecordState(context, run, lenient=operation is Operation.ERASE)
        token = CURRENT.set(state)
        try:
            node: dict[Any, Any] = {}
            self.body.fill(context, node)
        finally:
            CURRENT.reset(token)
        try:
            output = self.writer.finish(node)
        except ModelError as exc:
            raise MappingFailure(exc.reason, mapping=self.name, field=exc.path) from exc
        state.warnings.extend(_undeclared(self.writer.undeclared(output)))
        return MappedRecord(operation, output, reason, tuple(state.warnings))

    def map(self, record: Any, run: RunValues | None = None) -> Any:
        """The output of a record that is upserted (see :meth:`apply`).

        :raises MappingFailure: a field failed, or the record asks for another operation.
        """
        mapped = self.apply(record, run)
        if mapped.operation is not Operation.UPSERT:
            reason = f": {mapped.reason}" if mapped.reason else ""
            raise MappingFailure(f"the record asks to {mapped.operation}{reason}",
                                 mapping=self.name)
        return mapped.output

    def preview(self, record: Any, run: RunValues | None = None) -> PreviewResult:
        """Map one record with a full trace, collecting every problem; nothing is stored."""
        tracer = _Tracer()
        try:
            context = self.reader.prepare(record)
        except TypeError as exc:
            return PreviewResult(None, [], [PreviewIssue("mapping", str(exc))])
        operation, reason = self.operation(context)
        state = RecordState(context, run or RunValues(),
                            lenient=operation is Operation.ERASE)
        node: dict[Any, Any] = {}
        token = CURRENT.set(state)
        try:
            for plan in self.body.plans:
                plan.run(context, node, tracer, "")
        finally:
            CURRENT.reset(token)
        result = PreviewResult(None, tracer.traces, tracer.errors, operation=operation.value,
                               reason=reason, warnings=list(state.warnings))
        if operation is Operation.SKIP or operation is Operation.REJECT:
            return result
        try:
            result.output = self.writer.finish(node)
            result.warnings.extend(_undeclared(self.writer.undeclared(result.output)))
        except GatewayError as exc:
            field = exc.path if isinstance(exc, ModelError) else None
            result.errors.append(PreviewIssue("model", str(exc), field=field))
            return result
        if operation is Operation.ERASE:  # only its identifiers matter: no schema to meet
            return result
        for issue in self.writer.issues(result.output):
            result.errors.append(
                PreviewIssue("schema", issue.message, field=issue.path, line=issue.line,
                             column=issue.column)
            )
        return result

    def read_sample(self, path: str | Path) -> list[Any]:
        """The records of a sample file in this mapping's source format."""
        return self.reader.read_sample(Path(path))


# --- compiling -----------------------------------------------------------------------------------


def compile_spec(
    spec: MappingSpec, schemas: SchemaRegistry | None,
    attributes: Mapping[str, AttributeDeclaration] | None = None,
) -> tuple[CompiledMapping | None, list[MappingError]]:
    """Compile a spec: the mapping, or None and every error found. ``attributes`` are the
    deployment's declared custom attributes (None: not known, nothing is checked)."""
    errors: list[MappingError] = []
    _check_direction(spec, errors)
    code_lists: dict[str, CodeList] = {}
    for name, code_spec in spec.code_lists.items():
        try:
            code_lists[name] = load_code_list(code_spec, spec.folder)
        except MappingError as exc:
            errors.append(exc)
    reader = _collect(errors, lambda: READERS[spec.source.format](spec.source))
    writer = _collect(errors, lambda: WRITERS[spec.target.format](spec.target, schemas,
                                                                  attributes))
    if reader is None or writer is None:
        return None, errors
    compiler = _Compiler(spec.name, reader, writer, code_lists, errors)
    rules = tuple(r for r in (_collect(errors, lambda r=r: compiler.rule(r))  # type: ignore[misc]
                              for r in spec.operations) if r is not None)
    plans = compiler.fields(spec.fields, None, writer.root_scope)
    if errors:
        return None, errors
    compiled = CompiledMapping(
        name=spec.name, direction=spec.direction, source_format=spec.source.format,
        target_format=spec.target.format, file=spec.file, spec=spec, reader=reader,
        writer=writer, body=Block(plans, reader), rules=rules,
        warnings=tuple(compiler.warnings),
    )
    return compiled, []


class RulePlan:
    """One rule of ``operations``: a condition on a source path of the record and what to do."""

    __slots__ = ("do", "get", "reason", "test")

    def __init__(self, do: Operation, reason: str | None, get: Getter | None,
                 test: Callable[[Any], bool] | None) -> None:
        self.do, self.reason, self.get, self.test = do, reason, get, test

    def matches(self, context: Any) -> bool:
        if self.get is None or self.test is None:
            return True
        value = self.get(context)
        return self.test(value)


def _collect(errors: list[MappingError], build: Callable[[], Any]) -> Any:
    try:
        return build()
    except MappingError as exc:
        errors.append(exc)
        return None


def _undeclared(names: list[str]) -> list[FieldWarning]:
    return [FieldWarning(f"attributes.{name}", None, "undeclared",
                         "not declared in the settings: stored without type or data category")
            for name in names]


def _runtime_getter(name: str) -> Getter:
    def get(context: Any) -> str | None:
        run = current().run
        return None if run is None else run.get(name)

    return get


class _Reported(Exception):
    """A part of a field failed and its errors are already recorded: skip the field."""


def _check_direction(spec: MappingSpec, errors: list[MappingError]) -> None:
    if spec.direction == "inbound" and spec.target.format != "canonical":
        errors.append(spec.target.pos.error(
            "an inbound mapping writes the canonical profile: the target format must be "
            "'canonical'"))
    if spec.direction == "outbound" and spec.source.format != "canonical":
        errors.append(spec.source.pos.error(
            "an outbound mapping reads the canonical profile: the source format must be "
            "'canonical'"))


class _Compiler:
    def __init__(self, mapping: str, reader: SourceReader, writer: TargetWriter,
                 code_lists: dict[str, CodeList], errors: list[MappingError]) -> None:
        self.mapping, self.reader, self.writer = mapping, reader, writer
        self.code_lists, self.errors = code_lists, errors
        self.warnings: list[MappingError] = []

    def rule(self, rule: OperationRule) -> RulePlan:
        if rule.source is None or rule.op is None:
            return RulePlan(rule.do, rule.reason, None, None)
        get = self.reader.value(rule.source, None, many=False)
        op = rule.op.value
        if op not in OPERATORS:
            raise rule.op.pos.error(f"expected one of {', '.join(OPERATORS)}, got {op!r}")
        values = rule.values.value if rule.values is not None else None
        if values is not None and not (isinstance(values, list)
                                       and all(isinstance(v, str) for v in values)):
            raise rule.values.pos.error("expected a list of texts")  # type: ignore[union-attr]
        try:
            compare = condition(op, rule.value.value if rule.value else None, values)
        except ArgumentError as exc:
            raise rule.op.pos.error(exc.reason) from exc
        if op in PRESENCE_OPERATORS:
            return RulePlan(rule.do, rule.reason, get, compare)
        # a missing value matches no comparison (as in ``when``)
        return RulePlan(rule.do, rule.reason, get, lambda v: not is_blank(v) and compare(v))

    def fields(self, specs: tuple[FieldSpec, ...], rscope: Any, wscope: Any) -> tuple[Plan, ...]:
        plans = []
        for spec in specs:
            plan = self.attempt(spec, rscope, wscope)
            if plan is not None:
                plans.append(plan)
        return tuple(plans)

    def attempt(self, spec: FieldSpec, rscope: Any, wscope: Any) -> Plan | None:
        """The field's plan, or None once its errors are recorded."""
        try:
            return self.field(spec, rscope, wscope)
        except MappingError as exc:
            self.errors.append(exc)
        except _Reported:
            pass
        return None

    def field(self, spec: FieldSpec, rscope: Any, wscope: Any) -> Plan:
        target = Arg(spec.target, spec.pos)
        slot = self.writer.resolve(target, wscope, group=spec.is_group) if spec.is_group \
            else _collect(self.errors, lambda: self.writer.resolve(target, wscope, group=False))
        many = slot.many if slot is not None else False
        if spec.many is not None:
            if self.writer.root_scope is not None and spec.many.value != slot.many:
                raise spec.many.pos.error(
                    f"the target '{spec.target}' holds {'a list' if slot.many else 'one value'}"
                    f": 'many: {str(spec.many.value).lower()}' contradicts it"
                )
            many = spec.many.value
        if spec.fields is not None:
            return self.group(spec, slot.key, many, slot.scope, rscope)
        if not spec.sources and spec.value is None and spec.runtime is None:
            raise spec.pos.error(f"the field '{spec.target}' needs a 'source', a 'value' or a "
                                 "'runtime' value")
        gathers = any(REGISTRY[t.name].gathers for t in spec.transforms if t.name in REGISTRY)
        # source, target and transforms are checked apart, so that all their errors show
        getters = [
            _collect(self.errors, lambda s=s: self.reader.value(  # type: ignore[misc]
                s, rscope, many=(many or gathers) and not spec.multi_source))
            for s in spec.sources
        ]
        source = ", ".join(s.value for s in spec.sources) or None
        if spec.runtime is not None:
            getters, source = [_runtime_getter(spec.runtime.value)], f"runtime {spec.runtime.value}"
        steps = [(t.name, _collect(self.errors, lambda t=t: self.transform(t, rscope)))  # type: ignore[misc]
                 for t in spec.transforms]
        if slot is not None and slot.check is not None:
            steps.append(("(declared type)", slot.check))
        if slot is not None and slot.warning is not None:
            self.warnings.append(spec.pos.error(slot.warning))
        for t in spec.transforms:
            if t.name == "when" and "otherwise" in t.args and "on_missing" not in t.args \
                    and t.args.get("op", Arg(None, t.pos)).value not in PRESENCE_OPERATORS:
                self.warnings.append(t.pos.error(
                    "'otherwise' is no longer used for a missing value (it stays missing); add "
                    "'on_missing: <value>' if a missing value should become one"))
        policy: FailurePolicy = spec.on_error.value if spec.on_error else "reject_record"
        raw_key = quality_key = None
        if policy == "keep_raw" and slot is not None:
            raw_slot, quality_key = self.writer.raw_slot(Arg(spec.target, spec.on_error.pos),  # type: ignore[union-attr]
                                                         wscope)
            raw_key = raw_slot.key
        if slot is None or None in getters or any(step is None for _, step in steps):
            raise _Reported()
        return FieldPlan(
            mapping=self.mapping, label=spec.target, key=slot.key, many=many,
            getters=tuple(getters), constant=spec.value.value if spec.value else None,
            source=source, steps=tuple(steps), on_error=policy, raw_key=raw_key,
            quality_key=quality_key,
        )

    def group(self, spec: FieldSpec, key: tuple[Any, ...], many: bool, wscope: Any,
              rscope: Any) -> GroupPlan:
        if spec.value is not None or spec.transforms or spec.multi_source:
            raise spec.pos.error("a group has 'fields' (and at most one 'source'); move values "
                                 "and transforms to its fields")
        iterate = None
        inner_rscope = rscope
        if spec.sources:
            iterate, inner_rscope = self.reader.group(spec.sources[0], rscope)
        assert spec.fields is not None
        compiled = [(f, self.attempt(f, inner_rscope, wscope)) for f in spec.fields]
        children = tuple(plan for _, plan in compiled if plan is not None)
        targets = {f.target: plan for f, plan in compiled}
        require = []
        for name in spec.require:
            if name.value not in targets:
                raise name.pos.error(f"'{name.value}' is not a target of this group's fields")
            plan = targets[name.value]
            if plan is not None:
                require.append(plan.key[0])
        return GroupPlan(label=spec.target, key=key, many=many, iterate=iterate,
                         block=Block(children, self.reader), require=tuple(require))

    def transform(self, spec: Any, rscope: Any = None) -> Step:
        found = REGISTRY.get(spec.name)
        if found is None:
            raise spec.pos.error(
                f"unknown transform '{spec.name}' (known: {', '.join(sorted(REGISTRY))})"
            )
        def record_getter(path: str) -> Getter:
            arg = spec.args.get("region_from") or spec.args.get("source")
            return self.reader.value(Arg(path, arg.pos if arg else spec.pos), rscope, many=False)

        ctx = BuildContext(self.code_lists, record_getter)
        try:
            return found.bind(
                {k: a.value for k, a in spec.args.items()},
                spec.shorthand.value if spec.shorthand else None, ctx,
            )
        except ArgumentError as exc:
            arg = spec.args.get(exc.param) if exc.param else None
            pos = arg.pos if arg else (spec.shorthand.pos if spec.shorthand else spec.pos)
            raise pos.error(f"transform '{spec.name}': {exc.reason}") from exc
