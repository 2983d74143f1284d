"""``cpex-gateway mapping check|preview``: make editing mapping files safe.

``check`` runs the same check as loading does (one line per error, ``file:line:col: ...``).
``preview`` maps a sample with a mapping and shows the output, its validation errors against
the target schema and the per-field trace; nothing is stored or sent.
"""

from __future__ import annotations

import getpass
import json
from pathlib import Path

import click

from gateway.cli.context import CliState, pass_state
from gateway.mapping import load_mapping
from gateway.mapping.check import lint_mapping
from gateway.mapping.compiler import CompiledMapping
from gateway.mapping.trace import PreviewResult
from gateway.store.migrate import ensure_up_to_date


@click.group()
def mapping() -> None:
    """Check and preview mapping files."""


@mapping.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@pass_state
def check(state: CliState, files: tuple[str, ...]) -> int:
    """Check mapping FILES; one line per error or warning. Exit 1 if any file has errors
    (warnings alone do not fail)."""
    failed = 0
    for file in files:
        errors, warnings = lint_mapping(file, schemas=state.gateway.schemas,
                                        attributes=state.gateway.settings.attribute_declarations)
        for error in errors:
            click.echo(str(error))
        for warning in warnings:
            click.echo(f"warning: {warning}")
        if errors:
            failed += 1
        else:
            click.echo(f"ok    {file}")
    return 1 if failed else 0


@mapping.command()
@click.argument("mapping_ref", metavar="MAPPING")
@click.argument("sample", type=click.Path(exists=True, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="One JSON report on stdout.")
@pass_state
def preview(state: CliState, mapping_ref: str, sample: str, as_json: bool) -> int:
    """Map SAMPLE with MAPPING (a file, or a name in the mappings folder) and show the output,
    its validation errors and the trace. Exit 1 if any record has errors."""
    compiled = load_mapping(_mapping_file(state, mapping_ref), schemas=state.gateway.schemas,
                            attributes=state.gateway.settings.attribute_declarations)
    results = [compiled.preview(record) for record in compiled.read_sample(sample)]
    if as_json:
        click.echo(json.dumps([_report(compiled, r) for r in results], indent=2,
                              ensure_ascii=False))
    else:
        for index, result in enumerate(results, 1):
            _print(compiled, index, result)
    return 1 if any(r.errors for r in results) else 0


def _mapping_file(state: CliState, ref: str) -> Path:
    path = Path(ref)
    if path.is_file():
        return path
    named = state.gateway.settings.path("mappings") / f"{ref}.yaml"
    if named.is_file():
        return named
    raise click.BadParameter(f"no mapping file '{ref}' (nor {named})", param_hint="MAPPING")


def _report(compiled: CompiledMapping, result: PreviewResult) -> dict[str, object]:
    return {"mapping": compiled.name, **result.to_dict(compiled.writer.jsonable)}


def _print(compiled: CompiledMapping, index: int, result: PreviewResult) -> None:
    click.echo(f"== record {index} ({compiled.name}: {compiled.source_format} -> "
               f"{compiled.target_format})")
    if result.operation != "upsert":
        reason = f": {result.reason}" if result.reason else ""
        click.echo(f"-- operation {result.operation}{reason}")
    click.echo("-- output")
    click.echo("(none)" if result.output is None else compiled.writer.render(result.output))
    click.echo(f"-- errors ({len(result.errors)})")
    for error in result.errors:
        click.echo(f"   {error}")
    if result.warnings:
        click.echo(f"-- warnings ({len(result.warnings)})")
        for warning in result.warnings:
            click.echo(f"   {warning}")
    click.echo("-- trace")
    for trace in result.trace:
        click.echo(f"   {trace}")


# --- history, save and rollback (the same service as the API) -------------------------------


def _cli_author() -> str:
    return f"cli:{getpass.getuser()}"


@mapping.command("history")
@click.argument("name")
@pass_state
def history_command(state: CliState, name: str) -> None:
    """List the saved versions of mapping NAME, newest first."""
    ensure_up_to_date(state.gateway.engine)
    for v in state.gateway.mapping_admin.history.list(name):
        click.echo(f"v{v.version:<4} {v.created_at:%Y-%m-%d %H:%M:%S}  {v.author:<16} "
                   f"{v.comment or ''}")


@mapping.command("show")
@click.argument("name")
@click.argument("version", type=int)
@click.option("--diff", "as_diff", is_flag=True, help="Show the diff with the previous version.")
@pass_state
def show_command(state: CliState, name: str, version: int, as_diff: bool) -> None:
    """Print version VERSION of mapping NAME (or its diff)."""
    ensure_up_to_date(state.gateway.engine)
    v = state.gateway.mapping_admin.history.get(name, version)
    click.echo(v.diff if as_diff else v.text, nl=False)


@mapping.command("save")
@click.argument("name")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--comment", default=None)
@pass_state
def save_command(state: CliState, name: str, file: str, comment: str | None) -> None:
    """Check FILE and, if valid, make it the running version of mapping NAME."""
    ensure_up_to_date(state.gateway.engine)
    text = Path(file).read_text(encoding="utf-8")
    v = state.gateway.mapping_admin.save(name, text, author=_cli_author(), comment=comment)
    click.echo(f"{name}: saved as v{v.version}")


@mapping.command("rollback")
@click.argument("name")
@click.argument("version", type=int)
@pass_state
def rollback_command(state: CliState, name: str, version: int) -> None:
    """Make version VERSION of mapping NAME the running one again (as a new version)."""
    ensure_up_to_date(state.gateway.engine)
    v = state.gateway.mapping_admin.rollback(name, version, author=_cli_author())
    click.echo(f"{name}: v{version} restored as v{v.version}")
