"""``cpex-gateway mapping check`` and ``mapping preview`` through the real entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway.cli import main
from tests.mapping.conftest import MAPPINGS, REPO, WriteMapping

pytestmark = pytest.mark.usefixtures("cli_env")


def test_check_bundled_files_ok(capsys: pytest.CaptureFixture[str]) -> None:
    files = [str(p) for p in sorted(MAPPINGS.glob("*.yaml"))]
    assert main(["mapping", "check", *files]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [f"ok    {f}" for f in files]


def test_check_prints_one_line_per_error_and_exits_1(
    write_mapping: WriteMapping, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = write_mapping("""
        version: 1
        direction: inbound
        source: {format: csv, columns: [A]}
        target: {format: canonical}
        fields:
          - {target: person.given_name, source: B, transforms: [shout]}
        """)
    good = MAPPINGS / "cpex-in.yaml"
    assert main(["mapping", "check", str(bad), str(good)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == (
        f"{bad}:6:41: fields[0].source: column 'B' is not in the declared header (columns: A)"
    )
    assert lines[1].startswith(f"{bad}:6:57: fields[0].transforms[0]: unknown transform 'shout'")
    assert lines[2] == f"ok    {good}"


def test_preview_by_name_prints_output_errors_and_trace(
    capsys: pytest.CaptureFixture[str],
) -> None:
    sample = REPO / "mappings" / "samples" / "acme-customer.xml"
    assert main(["mapping", "preview", "acme-in", str(sample)]) == 0
    out = capsys.readouterr().out
    assert "== record 1 (acme-in: xml -> canonical)" in out
    assert '"family_name": "Nováková"' in out
    assert "-- errors (0)" in out
    assert ("   person.birth_date <- acme:born = '23.04.1979' | date -> '1979-04-23' => "
            "'1979-04-23'") in out


def test_preview_json_of_an_outbound_xml_mapping(capsys: pytest.CaptureFixture[str]) -> None:
    sample = REPO / "tests" / "mapping" / "cases" / "acme-out" / "in_customer.json"
    assert main(["mapping", "preview", str(MAPPINGS / "acme-out.yaml"), str(sample),
                 "--json"]) == 0
    (report,) = json.loads(capsys.readouterr().out)
    assert report["mapping"] == "acme-out" and report["errors"] == []
    assert report["output"].startswith('<acme:customer xmlns:acme="urn:acme:crm:2"')
    sex = next(t for t in report["trace"] if t["target"] == "acme:sex")
    assert sex == {"target": "acme:sex", "source": "person.gender", "raw": "female",
                   "steps": [{"transform": "code", "value": "F"}], "value": "F",
                   "error": None}


def test_preview_exits_1_when_a_record_has_errors(
    write_mapping: WriteMapping, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_mapping("""
        version: 1
        direction: inbound
        source: {format: json}
        target: {format: canonical}
        fields:
          - {target: person.birth_date, source: born, transforms: [{date: {from: "%d.%m.%Y"}}]}
        """)
    sample = tmp_path / "sample.json"
    sample.write_text('[{"born": "1999-12-31"}]')
    assert main(["mapping", "preview", str(path), str(sample)]) == 1
    out = capsys.readouterr().out
    assert ("mapping: mapping 'test', field person.birth_date, from born: not a date in the "
            "format %d.%m.%Y") in out


def test_preview_of_an_invalid_mapping_is_one_error_line(
    write_mapping: WriteMapping, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_mapping("version: 1\n")
    sample = tmp_path / "s.json"
    sample.write_text("{}")
    assert main(["mapping", "preview", str(path), str(sample)]) == 2
    assert capsys.readouterr().err == f"error: {path}:1:1: the key 'direction' is required\n"


def test_check_warns_on_the_old_otherwise_pattern_without_failing(
    write_mapping: WriteMapping, capsys: pytest.CaptureFixture[str]
) -> None:
    old = write_mapping("""
        version: 1
        direction: inbound
        source: {format: csv, columns: [NO, NEWS]}
        target: {format: canonical}
        fields:
          - target: identifiers
            fields:
              - {target: system, value: shop}
              - {target: key, source: NO}
          - target: preferences.channels
            fields:
              - {target: channel, value: email}
              - target: opted_in
                source: NEWS
                transforms: [{when: {op: eq, value: Y, then: true, otherwise: false}}]
        """)
    assert main(["mapping", "check", str(old)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        f"warning: {old}:15:23: fields[1].fields[1].transforms[0].when: 'otherwise' is no "
        "longer used for a missing value (it stays missing); add 'on_missing: <value>' if a "
        "missing value should become one",
        f"ok    {old}",
    ]


def test_preview_json_reports_operation_reason_and_warnings(
    write_mapping: WriteMapping, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mapping = write_mapping("""
        version: 1
        direction: inbound
        source: {format: csv, columns: [NO, MODE, BORN]}
        target: {format: canonical}
        operations:
          - {if: {source: MODE, op: eq, value: X}, do: skip, reason: closed account}
        fields:
          - target: identifiers
            fields:
              - {target: system, value: shop}
              - {target: key, source: NO}
          - {target: person.family_name, value: Berg}
          - target: person.birth_date
            source: BORN
            transforms: [{date: {from: '%d.%m.%Y'}}]
            on_error: drop_field
        """)
    sample = tmp_path / "rows.csv"
    sample.write_text("NO,MODE,BORN\n1,,99.99.1999\n2,X,\n", encoding="utf-8")
    assert main(["mapping", "preview", str(mapping), str(sample), "--json"]) == 0
    first, second = json.loads(capsys.readouterr().out)
    assert (first["operation"], first["errors"]) == ("upsert", [])
    assert [w["field"] for w in first["warnings"]] == ["person.birth_date"]
    assert "99.99" not in json.dumps(first["warnings"])
    assert (second["operation"], second["reason"]) == ("skip", "closed account")
