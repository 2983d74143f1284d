"""``MappingSet``: every file of a folder, reloaded without ever running an invalid edit."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from gateway.errors import NotFoundError
from gateway.mapping import MappingSet
from gateway.xml.schemas import SchemaRegistry
from tests.mapping.conftest import MAPPINGS, WriteMapping

GOOD = """
version: 1
name: people
direction: inbound
source: {format: json}
target: {format: canonical}
fields:
  - {target: person.given_name, source: first, transforms: [%s]}
"""


def test_loads_every_bundled_mapping(schemas: SchemaRegistry) -> None:
    mappings = MappingSet(MAPPINGS, schemas=schemas)
    assert mappings.names == [
        "acme-in", "acme-out", "commerce-customers", "cpex-in", "cpex-out", "crm-contacts",
        "erp-accounts-csv", "erp-accounts-master", "erp-customers-csv", "erp-customers-master",
        "erp-customers-sql", "personalization-json",
    ]
    assert mappings.errors == {}
    assert mappings.get("cpex-in").direction == "inbound"
    assert mappings.get("acme-out").target_format == "xml"


def test_reload_keeps_the_last_good_version(
    write_mapping: WriteMapping, mapping_folder: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write_mapping(GOOD % "{case: upper}", name="people.yaml")
    mappings = MappingSet(mapping_folder)
    assert mappings.get("people").map({"first": "eva"}).person.given_name == "EVA"

    path.write_text((GOOD % "{case: shout}").lstrip())
    with caplog.at_level(logging.WARNING, logger="gateway.mapping.mappingset"):
        failed = mappings.reload()
    assert list(failed) == ["people.yaml"]
    assert "argument 'to' must be one of upper, lower, title" in failed["people.yaml"][0].reason
    assert mappings.errors == failed
    assert "keeping the last good version" in caplog.text
    # the running version is still the good one
    assert mappings.get("people").map({"first": "eva"}).person.given_name == "EVA"
    assert "upper" in mappings.text("people")
    assert mappings.path("people") == path

    assert mappings.reload() == {}  # unchanged text: not compiled again
    path.write_text((GOOD % "{case: lower}").lstrip())
    assert mappings.reload() == {}
    assert mappings.errors == {}
    assert mappings.get("people").map({"first": "EVA"}).person.given_name == "eva"


def test_invalid_new_file_is_not_loaded_and_removed_files_go(
    write_mapping: WriteMapping, mapping_folder: Path
) -> None:
    path = write_mapping(GOOD % "trim", name="people.yaml")
    mappings = MappingSet(mapping_folder)
    write_mapping("version: 1\n", name="broken.yaml")
    failed = mappings.reload()
    assert failed["broken.yaml"][0].reason == "the key 'direction' is required"
    assert mappings.names == ["people"]
    path.unlink()
    mappings.reload()
    assert len(mappings) == 0
    with pytest.raises(NotFoundError, match="mapping 'people' not found"):
        mappings.get("people")
