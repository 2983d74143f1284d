"""Transform results kept per distinct value (FieldPlan's memo): same results as without it."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.mapping import load_mapping
from gateway.mapping.errors import MappingFailure

MAPPING = """
version: 1
name: memo
direction: inbound
source: {format: csv, columns: [code, key, at]}
target: {format: canonical}
code_lists:
  credit: {values: {OK: good}, unknown: error}
fields:
  - target: identifiers
    fields:
      - {target: system, value: erp}
      - {target: key, source: key, transforms: [{hash: {salt_env: CPEX_MEMO_SALT}}]}
  - target: financial
    fields:
      - {target: credit_status, source: code, transforms: [trim, {code: credit}]}
      - {target: as_of, value: '2024-01-01T00:00:00+00:00'}
"""


def _mapping(tmp_path: Path) -> object:
    path = tmp_path / "memo.yaml"
    path.write_text(MAPPING, encoding="utf-8")
    return load_mapping(path)


def test_a_value_seen_before_maps_the_same_and_a_failure_fails_every_time(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CPEX_MEMO_SALT", "pepper-one")
    mapping = _mapping(tmp_path)
    first = mapping.map({"code": " OK ", "key": "k1"})  # type: ignore[attr-defined]
    again = mapping.map({"code": " OK ", "key": "k1"})  # type: ignore[attr-defined]
    assert first.financial.credit_status == again.financial.credit_status
    assert first.financial.credit_status.value == "good"
    for _ in range(2):
        with pytest.raises(MappingFailure, match=r"credit_status"):
            mapping.map({"code": "ZZ", "key": "k1"})  # type: ignore[attr-defined]


def test_a_transform_that_reads_the_environment_is_not_kept(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CPEX_MEMO_SALT", "pepper-one")
    mapping = _mapping(tmp_path)
    one = mapping.map({"code": "OK", "key": "k1"})  # type: ignore[attr-defined]
    monkeypatch.setenv("CPEX_MEMO_SALT", "pepper-two")  # a salt rotated while running
    two = mapping.map({"code": "OK", "key": "k1"})  # type: ignore[attr-defined]
    assert one.identifiers[0].key != two.identifiers[0].key
