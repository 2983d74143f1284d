"""Source readers: how a path in a mapping file reads values out of one source record.

Each reader compiles a path once (an ``etree.XPath`` object, a column name, a list of JSON
steps) into a getter that returns the first match, or every match as a list for a field whose
target holds a list. A group's path returns the contexts (elements, dicts) its fields read
from. Readers also load sample files for ``mapping preview``.

Reader per format: ``xml`` (XPath 1.0 with the file's namespace prefixes, relative to the record
element; in :mod:`gateway.mapping.xmlsource`), ``csv`` and ``sql`` (a column by its header
name; checked against the declared ``columns``), ``json`` (dotted keys with ``[key=value]``
filters) and ``canonical`` (the same paths over the profile's dict form, checked against the
model).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal, Protocol

from gateway.mapping.canonical import model_field
from gateway.mapping.errors import MappingFailure
from gateway.mapping.spec import Arg, SourceSpec
from gateway.mapping.values import Getter
from gateway.mapping.xmlsource import XmlReader
from gateway.model import Profile, from_dict, to_dict
from gateway.model.xmlcodec import PROFILE_TAG, profile_from_element
from gateway.xml.parser import XMLLimits, parse_file


class SourceReader(Protocol):
    """Compiles source paths; ``scope`` is what a group's path leads to (None: the record)."""

    def value(self, path: Arg, scope: Any, *, many: bool) -> Getter: ...

    def group(self, path: Arg, scope: Any) -> tuple[Getter, Any]: ...

    def batch(self, fields: Sequence[tuple[Any, Getter | None, bool]]
              ) -> tuple[Callable[[Any, dict[Any, Any]], None] | None, tuple[int, ...]]:
        """A function reading several plain fields (key, getter, many) of a context into a
        node at once, and the positions of those it covers; (None, ()) when the reader has no
        faster way than each field's getter."""
        ...

    def prepare(self, record: Any) -> Any: ...

    def read_sample(self, path: Path) -> list[Any]: ...

    def read_bytes(self, data: bytes, limits: XMLLimits | None = None) -> list[Any]:
        """The records of a document in this format (a request body, an uploaded file).

        :raises MappingFailure: the document cannot be read in this format (what and where).
        :raises XMLError: an XML document refused by the hardened parser.
        """
        ...


# --- CSV and SQL rows ----------------------------------------------------------------------------


_QUOTING: dict[str, Literal[0, 1, 2, 3]] = {
    "minimal": csv.QUOTE_MINIMAL, "all": csv.QUOTE_ALL, "nonnumeric": csv.QUOTE_NONNUMERIC,
    "none": csv.QUOTE_NONE,
}


class RowReader:
    """A row (a dict of column name to value) read by column name."""

    def __init__(self, spec: SourceSpec) -> None:
        self.spec = spec
        self.columns = spec.columns

    def value(self, path: Arg, scope: Any, *, many: bool) -> Getter:
        column = path.value
        if self.columns is not None and column not in self.columns:
            raise path.pos.error(
                f"column '{column}' is not in the declared header "
                f"(columns: {', '.join(self.columns)})"
            )
        if many:
            return lambda row: [row.get(column)]
        return lambda row: row.get(column)

    def group(self, path: Arg, scope: Any) -> tuple[Getter, Any]:
        raise path.pos.error(
            "a row has no repeated parts to walk: leave 'source' out of this group "
            "(its fields then read the same row)"
        )

    def batch(self, fields: Sequence[tuple[Any, Getter | None, bool]]
              ) -> tuple[Callable[[Any, dict[Any, Any]], None] | None, tuple[int, ...]]:
        return None, ()

    def prepare(self, record: Any) -> Any:
        if not isinstance(record, dict):
            raise TypeError(f"a {self.spec.format} mapping maps dict rows, not "
                            f"{type(record).__name__}")
        return record

    def read_sample(self, path: Path) -> list[Any]:
        if path.suffix == ".json":  # SQL rows: a JSON list of {column: value}
            return _json_records(path.read_bytes(), None)
        return self.read_bytes(path.read_bytes())

    def read_bytes(self, data: bytes, limits: XMLLimits | None = None) -> list[Any]:
        """CSV text in the declared encoding, delimiter and quoting (SQL rows: a JSON list)."""
        if self.spec.format == "sql":
            return _json_records(data, None)
        try:
            text = data.decode(self.spec.encoding).lstrip("\ufeff")
        except (UnicodeDecodeError, LookupError) as exc:
            raise MappingFailure(f"the CSV is not {self.spec.encoding} text") from exc
        reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=self.spec.delimiter,
                                quotechar=self.spec.quotechar,
                                quoting=_QUOTING[self.spec.quoting])
        try:
            rows = [dict(row) for row in reader]
        except csv.Error as exc:
            raise MappingFailure(f"the CSV cannot be read at line {reader.line_num}: "
                                 f"{exc}") from exc
        header = reader.fieldnames or []
        if self.columns is not None:
            unknown = [c for c in header if c not in self.columns]
            if unknown:
                raise MappingFailure(f"the CSV header has columns the mapping does not declare: "
                                     f"{', '.join(unknown)}")
        return rows


# --- JSON and the canonical profile --------------------------------------------------------------

_STEP = re.compile(
    r"^(?P<name>@?[A-Za-z_][\w-]*)(?:\[(?P<key>@?[A-Za-z_][\w-]*)=(?P<value>[^\]]*)\])?$"
)
#: The step that stays on the current item (to filter it: ``self[@type=Person]``).
SELF = "self"


class JsonReader:
    """Dotted keys (``emails.address``), lists walked through, ``[key=value]`` to filter items.

    ``.`` is the context itself (a group's item); ``self[key=value]`` is the context when it
    passes the filter (``self[@type=Person]``: JSON-LD records of one type). Keys may start with
    ``@`` (``@id``, ``@type``). ``source.record`` names the key path of the records in a sample
    file (``@graph``); without it a sample is a list of records or one record.
    """

    def __init__(self, spec: SourceSpec) -> None:
        self.spec = spec

    def _steps(self, path: Arg, scope: Any) -> tuple[list[tuple[str, str | None, str | None]], Any]:
        if path.value == ".":
            return [], scope
        steps = []
        for part in path.value.split("."):
            match = _STEP.match(part)
            if match is None:
                raise path.pos.error(
                    f"bad path '{path.value}': steps are names with an optional [key=value] "
                    "filter, joined by dots"
                )
            steps.append((match["name"], match["key"], match["value"]))
        return steps, self.check(path, steps, scope)

    def check(self, path: Arg, steps: list[tuple[str, str | None, str | None]], scope: Any) -> Any:
        """Plain JSON has no schema to check paths against; the canonical reader does."""
        return None

    def _getter(self, steps: list[tuple[str, str | None, str | None]]) -> Getter:
        def get(context: Any) -> list[Any]:
            current = [context]
            for name, key, wanted in steps:
                found: list[Any] = []
                for item in current:
                    value = item if name == SELF else item.get(name) if isinstance(item, dict) \
                        else None
                    for v in value if isinstance(value, list) else [value]:
                        if v is None:
                            continue
                        if key is not None and not (
                            isinstance(v, dict) and _lexical(v.get(key)) == wanted
                        ):
                            continue
                        found.append(v)
                current = found
            return current

        return get

    def value(self, path: Arg, scope: Any, *, many: bool) -> Getter:
        steps, _ = self._steps(path, scope)
        get_all = self._getter(steps)
        if many:
            return get_all

        def get_first(context: Any) -> Any:
            found = get_all(context)
            return found[0] if found else None

        return get_first

    def group(self, path: Arg, scope: Any) -> tuple[Getter, Any]:
        steps, inner = self._steps(path, scope)
        return self._getter(steps), inner

    def batch(self, fields: Sequence[tuple[Any, Getter | None, bool]]
              ) -> tuple[Callable[[Any, dict[Any, Any]], None] | None, tuple[int, ...]]:
        return None, ()

    def prepare(self, record: Any) -> Any:
        if not isinstance(record, dict):
            raise TypeError(f"a json mapping maps dicts, not {type(record).__name__}")
        return record

    def read_sample(self, path: Path) -> list[Any]:
        return self.read_bytes(path.read_bytes())

    def read_bytes(self, data: bytes, limits: XMLLimits | None = None) -> list[Any]:
        return _json_records(data, str(self.spec.record.value) if self.spec.record else None)


class CanonicalReader(JsonReader):
    """Paths over a profile's dict form (``to_dict``), checked against the model."""

    def check(self, path: Arg, steps: list[tuple[str, str | None, str | None]], scope: Any) -> Any:
        current: type = scope or Profile
        for index, (name, key, _) in enumerate(steps):
            try:
                found = model_field(current, name)
                if key is not None:
                    if found.record is None:
                        raise KeyError(f"'{name}' holds values, not records to filter")
                    model_field(found.record, key)
            except KeyError as exc:
                raise path.pos.error(
                    f"'{path.value}' is not a field of the canonical profile: {exc.args[0]}"
                ) from exc
            if found.record is None and index < len(steps) - 1:
                raise path.pos.error(f"'{path.value}': '{name}' is a value, not a record")
            if found.record is not None:
                current = found.record
        return current

    def prepare(self, record: Any) -> Any:
        if isinstance(record, Profile):
            return to_dict(record)
        return super().prepare(record)

    def read_sample(self, path: Path) -> list[Any]:
        """A CPEX profile document (or a batch of them), or profiles as JSON."""
        if path.suffix == ".xml":
            root = parse_file(path).getroot()
            elements = [root] if root.tag == PROFILE_TAG else list(root.iter(PROFILE_TAG))
            return [profile_from_element(e) for e in elements]
        return [from_dict(Profile, item) for item in super().read_sample(path)]


def _json_records(data: bytes, record: str | None) -> list[Any]:
    """The records of a JSON document: the list (or the one object) at the dotted key path
    ``record``, or the document itself.

    :raises MappingFailure: not JSON (with the line and column).
    """
    try:
        document = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        where = f" (line {exc.lineno}, column {exc.colno})" \
            if isinstance(exc, json.JSONDecodeError) else ""
        raise MappingFailure(f"not a JSON document{where}") from exc
    if record is not None:
        for key in record.split("."):
            document = document.get(key) if isinstance(document, dict) else None
        if document is None:
            return []
    return document if isinstance(document, list) else [document]


def _lexical(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    return None if value is None else str(value)


READERS: dict[str, Callable[[SourceSpec], SourceReader]] = {
    "xml": XmlReader,
    "csv": RowReader,
    "sql": RowReader,
    "json": JsonReader,
    "canonical": CanonicalReader,
}
