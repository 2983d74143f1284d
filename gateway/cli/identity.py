"""``cpex-gateway identity train | model | explain | rescore | blocking-report``: the match
model (Fellegi-Sunter) against the base."""

from __future__ import annotations

import json
from pathlib import Path

import click

from gateway.cli.context import CliState, pass_state
from gateway.errors import ConfigError
from gateway.identity.model import MatchScore
from gateway.resolution import models
from gateway.resolution.blocking_report import blocking_report
from gateway.store.migrate import ensure_up_to_date
from gateway.store.profiles import ProfileStore


def _store(state: CliState) -> ProfileStore:
    ensure_up_to_date(state.gateway.engine)
    return state.gateway.profiles


@click.group("identity")
def identity() -> None:
    """The match model: train it on the base, show it, explain a pair, re-score reviews."""


@identity.command("train")
@click.option(
    "--sample",
    type=click.IntRange(2, 10_000_000),
    default=models.TRAINING_SAMPLE,
    show_default=True,
    help="source records read at most (a random sample beyond)",
)
@pass_state
def train_command(state: CliState, sample: int) -> None:
    """Learn m (EM over blocked pairs), u (random pairs), the prior and term frequencies from
    the source records; store them as the newest model version."""
    version, trained = models.train_model(_store(state), actor="cli", sample=sample)
    figures = trained.figures()
    click.echo(
        f"model v{version}: {figures['records']} records, {figures['blocked_pairs']} blocked "
        f"pairs, {figures['random_pairs']} random pairs, EM "
        f"{'converged' if trained.converged else 'stopped'} after {trained.iterations} rounds; "
        f"prior {trained.model.prior:.3g}"
    )


@identity.command("model")
@click.argument("version", type=int, required=False)
@click.option("--json", "as_json", is_flag=True, help="the stored version as JSON")
@pass_state
def model_command(state: CliState, version: int | None, as_json: bool) -> None:
    """A stored model version (default: the newest): when, from what, its m and u."""
    stored = models.model_version(_store(state), version)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "version": stored.version,
                    "created_at": stored.created_at.isoformat(),
                    "actor": stored.actor,
                    "records": stored.records,
                    "figures": stored.figures,
                    "parameters": stored.parameters,
                    "term_frequencies": {c: len(t) for c, t in stored.term_frequencies.items()},
                },
                indent=2,
            )
        )
        return
    click.echo(
        f"model v{stored.version}, trained {stored.created_at:%Y-%m-%d %H:%M} UTC by "
        f"{stored.actor} on {stored.records} records"
    )
    click.echo("  " + ", ".join(f"{k} {v}" for k, v in stored.figures.items()))
    click.echo(f"  prior {stored.parameters['prior']:.4g}")
    for comparison, levels in stored.parameters["levels"].items():
        click.echo(f"  {comparison}:")
        for level, p in levels.items():
            click.echo(f"    {level:18s} m {p['m']:.4f}  u {p['u']:.6f}")
    for comparison, table in stored.term_frequencies.items():
        click.echo(f"  term frequencies of {comparison}: {len(table)} values")


@identity.command("explain")
@click.argument("golden_a")
@click.argument("golden_b")
@pass_state
def explain_command(state: CliState, golden_a: str, golden_b: str) -> None:
    """Per-field levels and weights of two golden profiles (a waterfall), and the probability."""
    found = models.explain(_store(state), golden_a, golden_b)
    click.echo(waterfall(found))


def waterfall(found: MatchScore) -> str:
    """The match weight field by field, as a text waterfall."""
    lines = [f"model {found.model}"]
    running = found.prior_weight
    lines.append(f"  {'prior':14s} {'':18s} {found.prior_weight:+7.2f}  {running:+7.2f}")
    for name, field in found.fields.items():
        running += field.weight
        bar = ("+" if field.weight >= 0 else "-") * min(30, round(abs(field.weight)))
        lines.append(f"  {name:14s} {field.level:18s} {field.weight:+7.2f}  {running:+7.2f}  {bar}")
    lines.append(
        f"  match weight {found.match_weight:+.2f}, probability {found.total:.6f}"
        + (" (names swapped)" if found.swapped_names else "")
    )
    if found.vetoed_by:
        lines.append(f"  never merged automatically: {found.vetoed_by}")
    return "\n".join(lines)


@identity.command("rescore")
@pass_state
def rescore_command(state: CliState) -> None:
    """Score the open review items with the model in force: merge those now above the merge
    band, close those below the review band (each audited)."""
    done = models.rescore(_store(state))
    click.echo(
        f"review items: {done.merged} merged, {done.closed} closed as distinct, "
        f"{done.kept} left open"
    )


@identity.command("blocking-report")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--truth",
    type=click.Path(dir_okay=False, path_type=Path),
    help="JSON: record key -> person (or {'person_of': {...}})",
)
@pass_state
def blocking_report_command(state: CliState, file: Path, truth: Path | None) -> None:
    """Pairs each blocking rule makes of a CPEX batch; with --truth, the true pairs kept."""
    rules = state.gateway.profiles.rules
    known = None
    if truth is not None:
        try:
            data = json.loads(truth.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read the truth file: {exc}", file=str(truth)) from exc
        data = data.get("person_of", data) if isinstance(data, dict) else None
        if not isinstance(data, dict):
            raise ConfigError("the truth file must map record keys to persons", file=str(truth))
        known = {str(k): str(v) for k, v in data.items()}
    report = blocking_report(file, rules, state.gateway.xml_limits, known)
    click.echo(f"{report.records} records")
    for figures in (*report.rules, report.all_rules):
        line = f"  {figures.rule:28s} {figures.pairs:10d} pairs"
        if figures.true_pairs_kept is not None and report.true_pairs:
            line += (
                f"  {figures.true_pairs_kept}/{report.true_pairs} true pairs "
                f"({figures.true_pairs_kept / report.true_pairs:.1%})"
            )
        click.echo(line)
