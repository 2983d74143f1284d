"""The examples of docs/mapping-transforms.md are tests: each ``<!-- example: NAME -->`` is
followed by a mapping (yaml), an input sample (csv, xml or json) and the expected results (json):
per record its operation, and where given its reason, the names of the fields with warnings
and its output (the canonical profile as a dict)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from gateway.mapping import load_mapping
from gateway.mapping.record import RunValues
from gateway.model import to_dict
from gateway.xml.schemas import SchemaRegistry
from tests.mapping.conftest import REPO

PAGE = REPO / "docs" / "mapping-transforms.md"
_EXAMPLE = re.compile(r"<!-- example: (?P<name>[\w-]+) -->\n(?P<body>.*?)(?=\n#|\n<!--|\Z)", re.S)
_BLOCK = re.compile(r"```(?P<kind>\w+)\n(?P<text>.*?)```", re.S)
RUN = RunValues(
    import_time=datetime(2026, 3, 1, 8, 30, tzinfo=UTC),
    message_id="m-1",
    source_system="shop",
    file_name="customers.csv",
    partner_id="acme",
)


def examples() -> list[tuple[str, list[tuple[str, str]]]]:
    page = PAGE.read_text(encoding="utf-8")
    return [
        (m["name"], [(b["kind"], b["text"]) for b in _BLOCK.finditer(m["body"])])
        for m in _EXAMPLE.finditer(page)
    ]


def test_the_page_has_its_examples() -> None:
    assert [name for name, _ in examples()] == [
        "operations",
        "runtime",
        "on_error",
        "phone",
        "aggregates",
    ]


@pytest.mark.parametrize(("name", "blocks"), examples(), ids=[n for n, _ in examples()])
def test_doc_example(
    name: str, blocks: list[tuple[str, str]], tmp_path: Path, schemas: SchemaRegistry
) -> None:
    (mapping_kind, mapping_text), (input_kind, input_text), (expected_kind, expected) = blocks
    assert (mapping_kind, expected_kind) == ("yaml", "json")
    folder = tmp_path / "mappings"
    folder.mkdir()
    path = folder / f"{name}.yaml"
    path.write_text(mapping_text, encoding="utf-8")
    mapping = load_mapping(path, schemas=schemas)
    sample = tmp_path / f"sample.{input_kind}"
    sample.write_text(input_text, encoding="utf-8")
    results = [mapping.apply(record, RUN) for record in mapping.read_sample(sample)]
    assert [
        _result(r, want) for r, want in zip(results, json.loads(expected), strict=True)
    ] == json.loads(expected)


def _result(mapped: Any, want: dict[str, Any]) -> dict[str, Any]:
    """What the page states of a record, from the mapped record."""
    out: dict[str, Any] = {"operation": mapped.operation.value}
    if "reason" in want:
        out["reason"] = mapped.reason
    if "warnings" in want:
        out["warnings"] = [w.field for w in mapped.warnings]
    if "output" in want:
        out["output"] = _trimmed(to_dict(mapped.output))
    return out


def _trimmed(value: Any) -> Any:
    """The dict form without empty values and defaults the page leaves out."""
    if isinstance(value, dict):
        kept = {k: _trimmed(v) for k, v in value.items()}
        return {
            k: v
            for k, v in kept.items()
            if v not in (None, [], {}, ()) and not (k in _DEFAULTS and v == _DEFAULTS[k])
        }
    if isinstance(value, list):
        return [_trimmed(v) for v in value]
    return value


_DEFAULTS: dict[str, Any] = {"primary": False, "type": "mobile", "credit_status": "unknown"}
