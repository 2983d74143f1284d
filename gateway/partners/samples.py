"""``partners check`` for a partner's own format: its sample files through schema and mapping.

A partner that sends its own documents (``[inbound] format = "xml" | "json" | "csv"``) declares
sample files of them. Each sample must meet the partner's schema (the XSD registered for its
namespace, or its JSON Schema), must hold records its mapping's record path finds, and every
record must map without a refusal (a failing field, an invalid profile, a ``reject`` rule) and
without an undeclared custom attribute. A mapping that could never apply to what the partner
sends is so found before the first real message.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from gateway.errors import ConfigError, GatewayError
from gateway.mapping import MappingSet
from gateway.partners.registry import PartnerRegistry
from gateway.partners.spec import PartnerSpec
from gateway.xml.parser import parse_bytes
from gateway.xml.schemas import SchemaRegistry


def check_samples(
    registry: PartnerRegistry, schemas: SchemaRegistry, mappings: MappingSet
) -> list[ConfigError]:
    """Every problem the partners' samples show (empty: all good)."""
    problems: list[ConfigError] = []
    for partner in registry:
        problems += _partner(
            partner, str(registry.folder / f"{partner.id}.toml"), schemas, mappings
        )
    return problems


def _partner(
    partner: PartnerSpec, file: str, schemas: SchemaRegistry, mappings: MappingSet
) -> list[ConfigError]:
    inbound = partner.inbound
    if inbound is None or inbound.format == "cpex" or inbound.mapping is None:
        return []
    if inbound.mapping not in mappings:
        return []  # check_references names the missing file
    mapping = mappings.get(inbound.mapping)
    if mapping.source_format != inbound.format:
        return [
            ConfigError(
                f"the mapping {mapping.name} reads {mapping.source_format}, but the "
                f"partner sends {inbound.format}",
                file=file,
                key="inbound.mapping",
            )
        ]
    if not inbound.samples:
        return [
            ConfigError(
                "a partner that sends its own format needs samples to check its mapping against",
                file=file,
                key="inbound.samples",
            )
        ]
    problems = []
    for index, name in enumerate(inbound.samples):
        key = f"inbound.samples[{index}]"
        path = mappings.folder / name
        if not path.resolve().is_relative_to(mappings.folder.resolve()) or not path.is_file():
            problems.append(
                ConfigError(f"no sample file '{name}' in {mappings.folder}", file=file, key=key)
            )
            continue
        data = path.read_bytes()
        try:
            _schema_problem(inbound.format, inbound.json_schema, data, schemas)
            records = mapping.reader.read_bytes(data)
        except (GatewayError, ValueError) as exc:
            problems.append(ConfigError(f"sample {name}: {exc}", file=file, key=key))
            continue
        if not records:
            problems.append(
                ConfigError(
                    f"sample {name}: the mapping's record path finds no record in it",
                    file=file,
                    key=key,
                )
            )
        for number, record in enumerate(records, 1):
            result = mapping.preview(record)
            issues = [str(e) for e in result.errors]
            if result.operation == "reject":
                issues.append(f"rejected by the mapping: {result.reason}")
            issues += [str(w) for w in result.warnings if w.policy == "undeclared"]
            problems += [
                ConfigError(f"sample {name}, record {number}: {issue}", file=file, key=key)
                for issue in issues
            ]
    return problems


def _schema_problem(
    fmt: str, json_schema: str | None, data: bytes, schemas: SchemaRegistry
) -> None:
    """Validate a sample against the partner's schema.

    :raises GatewayError: an XML sample breaks its XSD (every issue).
    :raises ValueError: a JSON sample breaks its JSON Schema (the first issue, with its path).
    """
    if fmt == "xml":
        schemas.validate(parse_bytes(data, source="sample"), source="sample")
    elif fmt == "json" and json_schema is not None:
        issue = json_schema_issue(schemas.schemas_dir / "partners" / json_schema, data)
        if issue is not None:
            raise ValueError(f"does not meet {json_schema} at {issue[0]}: {issue[1]}")


def json_schema_issue(schema_path: Path, data: bytes) -> tuple[str, str] | None:
    """The most telling way a JSON document breaks a partner's JSON Schema (the path in the
    document and the message), or None when it meets it.

    :raises ValueError: the document is not JSON.
    """
    try:
        document = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError("not a JSON document") from exc
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    error = jsonschema.exceptions.best_match(
        jsonschema.Draft202012Validator(schema).iter_errors(document)
    )
    if error is None:
        return None
    return "/".join(str(p) for p in error.absolute_path) or "(the document)", error.message
