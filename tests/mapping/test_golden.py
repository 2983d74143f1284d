"""Golden pairs: every ``cases/<mapping>/in_*`` mapped by ``mappings/<mapping>.yaml`` gives
``out_*`` (JSON for canonical and JSON targets, XML for XML targets)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway.mapping import load_mapping
from gateway.xml.schemas import SchemaRegistry
from tests.mapping.conftest import CASES, MAPPINGS

BUNDLED = (
    "acme-in", "acme-out", "commerce-customers", "cpex-in", "cpex-out", "crm-contacts",
    "erp-accounts-csv", "erp-accounts-master", "erp-customers-csv", "erp-customers-master",
    "erp-customers-sql", "personalization-json",
)


def _cases() -> list[Path]:
    return sorted(CASES.glob("*/in_*"))


def test_every_bundled_mapping_has_golden_cases() -> None:
    """A missing or empty case folder fails here instead of passing silently."""
    found = {path.parent.name for path in _cases()}
    assert found == set(BUNDLED)
    assert len(_cases()) == 18
    assert {p.stem for p in MAPPINGS.glob("*.yaml")} == set(BUNDLED)


@pytest.mark.parametrize("case", _cases(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_golden_case(case: Path, schemas: SchemaRegistry, salt: str) -> None:
    mapping = load_mapping(MAPPINGS / f"{case.parent.name}.yaml", schemas=schemas)
    outputs = [mapping.map(record) for record in mapping.read_sample(case)]
    stem = case.stem.removeprefix("in_")
    if mapping.target_format == "xml":
        expected = (case.parent / f"out_{stem}.xml").read_text(encoding="utf-8")
        assert [mapping.writer.render(o) + "\n" for o in outputs] == [expected]
        assert mapping.writer.issues(outputs[0]) == []
    else:
        expected_json = json.loads((case.parent / f"out_{stem}.json").read_text("utf-8"))
        assert [mapping.writer.jsonable(o) for o in outputs] == expected_json
