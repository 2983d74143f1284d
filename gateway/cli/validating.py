"""``cpex-gateway validate FILE...``: check XML documents against the registered schemas."""

from __future__ import annotations

import json

import click

from gateway.cli.context import CliState, pass_state
from gateway.errors import SchemaValidationError, ValidationIssue, XMLError
from gateway.xml.parser import parse_file


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="One JSON report on stdout.")
@pass_state
def validate(state: CliState, files: tuple[str, ...], as_json: bool) -> int:
    """Validate XML FILES (schema chosen by the root element's namespace). Exit 1 if any fails."""
    gateway = state.gateway
    results = []
    for file in files:
        result: dict[str, object] = {"file": file, "valid": True, "schema": None, "errors": []}
        try:
            tree = parse_file(file, limits=gateway.xml_limits)
            entry = gateway.schemas.validate(tree, source=file)
            result["schema"] = entry.label
        except SchemaValidationError as exc:
            result.update(valid=False, schema=exc.schema, errors=[i.to_dict() for i in exc.issues])
        except XMLError as exc:
            issue = ValidationIssue(exc.line, exc.column, None, f"{exc.code}: {exc.reason}")
            result.update(valid=False, errors=[issue.to_dict()])
        results.append(result)
    if as_json:
        click.echo(json.dumps(results, indent=2))
    else:
        for result in results:
            _print_result(result)
    return 0 if all(r["valid"] for r in results) else 1


def _print_result(result: dict[str, object]) -> None:
    if result["valid"]:
        click.echo(f"ok    {result['file']}  [{result['schema']}]")
        return
    click.echo(f"FAIL  {result['file']}")
    for error in result["errors"]:  # type: ignore[attr-defined]
        issue = ValidationIssue(**error)
        click.echo(f"      {result['file']}:{issue}")
