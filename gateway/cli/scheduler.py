"""``cpex-gateway scheduler``, ``cpex-gateway jobs …`` and ``cpex-gateway erp refresh``."""

from __future__ import annotations

import signal
from types import FrameType

import click

from gateway.cli.context import CliState, pass_state
from gateway.cli.exposition import metrics_options, serve_metrics
from gateway.cli.output import echo_json, json_option
from gateway.erp.settings import load_erp_settings
from gateway.mapping_watch import watch_mappings
from gateway.store.migrate import ensure_up_to_date


@click.command("scheduler")
@metrics_options
@pass_state
def scheduler_command(state: CliState, metrics_port: int | None, metrics_host: str) -> None:
    """Run a scheduler process until stopped (SIGTERM or Ctrl+C). Any number may run against one
    PostgreSQL database: each scheduled slot runs once across them."""
    from scheduler import load_jobs
    from scheduler.runner import SchedulerRunner

    gateway = state.use_configured_logging()
    ensure_up_to_date(gateway.engine)
    config = load_jobs(gateway.settings)
    runner = SchedulerRunner(gateway, config)
    watcher = watch_mappings(gateway.mapping_admin)

    def stop(signum: int, _frame: FrameType | None) -> None:
        runner.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    stop_metrics = serve_metrics(metrics_port, metrics_host)
    runner.start()
    enabled = [s.name for s in config.jobs if s.enabled]
    click.echo(f"scheduler {runner.owner} running {len(enabled)} jobs from {config.file}: "
               f"{', '.join(enabled) or 'none'}")
    while not runner.wait(timeout=1.0):
        pass
    runner.shutdown(wait=True)
    watcher.shutdown()
    stop_metrics()
    click.echo("scheduler stopped")


@click.group()
def jobs() -> None:
    """Scheduled jobs: list, history, run, pause, resume."""


@jobs.command("list")
@json_option
@pass_state
def list_command(state: CliState, as_json: bool) -> None:
    """Every configured job with its trigger, state and last run."""
    from scheduler import JobsService

    service = JobsService(state.gateway)
    overview = service.overview()
    if as_json:
        echo_json(overview)
        return
    if not service.config.jobs:
        click.echo(f"no jobs configured: {service.config.file} is missing or declares none "
                   "(see config/README.md)", err=True)
        return
    for item in overview:
        last = item["last_run"]
        flags = "paused" if item["paused"] else ("disabled" if not item["enabled"] else "active")
        click.echo(f"{item['name']:<20} {item['kind']:<16} {item['trigger']:<22} {flags:<8} "
                   f"last: {last['status'] + ' ' + (last['finished_at'] or '') if last else '-'}")


@jobs.command("runs")
@click.argument("name")
@click.option("--limit", type=click.IntRange(1, 1000), default=20)
@pass_state
def runs_command(state: CliState, name: str, limit: int) -> None:
    """The run history of job NAME, newest first."""
    from scheduler import JobsService

    for run in JobsService(state.gateway).runs(name, limit):
        click.echo(
            f"#{run.id} {run.status:<9} attempt {run.attempt} {run.trigger:<8} "
            f"started {run.started_at.isoformat() if run.started_at else '-'} "
            f"{run.describe_rows()}" + (f" error: {run.error}" if run.error else "")
        )


@jobs.command("run")
@click.argument("name")
@click.option("--queue", is_flag=True, help="Queue it for a scheduler process instead.")
@pass_state
def run_command(state: CliState, name: str, queue: bool) -> int:
    """Run job NAME now, in this process (exit 1 if it fails), or queue it."""
    from scheduler import JobsService
    from scheduler.runner import SchedulerRunner

    service = JobsService(state.gateway)
    service.spec(name)
    if queue:
        run = service.queue(name)
        click.echo(f"queued run #{run.id} of {name}")
        return 0
    run_id = SchedulerRunner(state.gateway, service.config).run_now(name)
    run = service.history.run(run_id)
    click.echo(f"run #{run.id} of {name}: {run.status}, {run.describe_rows()}"
               + (f"; error: {run.error}" if run.error else ""))
    return 0 if run.status == "succeeded" else 1


@jobs.command("pause")
@click.argument("name")
@pass_state
def pause_command(state: CliState, name: str) -> None:
    """Stop scheduled runs of NAME (in every scheduler process) until resumed."""
    from scheduler import JobsService

    JobsService(state.gateway).pause(name)
    click.echo(f"job {name} paused")


@jobs.command("resume")
@click.argument("name")
@pass_state
def resume_command(state: CliState, name: str) -> None:
    """Resume scheduled runs of NAME."""
    from scheduler import JobsService

    JobsService(state.gateway).resume(name)
    click.echo(f"job {name} resumed")


@click.group()
def erp() -> None:
    """The ERP snapshot."""


@erp.command("refresh")
@click.option("--full", is_flag=True, help="Read every customer, not only changes.")
@click.option("--reconcile", is_flag=True, help="Only compare keys, to find deleted customers.")
@pass_state
def refresh_command(state: CliState, full: bool, reconcile: bool) -> None:
    """Refresh the ERP snapshot now (incremental unless --full), recorded in the run history
    as a manual run of the configured job of that kind (else ``erp-<mode>``); exit 1 if
    another ERP run is in progress."""
    from scheduler import load_jobs
    from scheduler.kinds import ERP_KINDS, recorded_refresh
    from scheduler.runner import runner_name

    mode = "full" if full else "reconcile" if reconcile else "incremental"
    gateway = state.gateway
    job = next((j.name for j in load_jobs(gateway.settings).jobs if j.kind == ERP_KINDS[mode]),
               f"erp-{mode}")
    run_id, result = recorded_refresh(gateway, mode, job, runner_name())
    if result is None:
        click.echo(f"run #{run_id} of {job}: skipped, another ERP run is in progress", err=True)
        raise SystemExit(1)
    erp = load_erp_settings(gateway.settings)
    click.echo(f"ERP {erp.source_system} {result.describe()} (run #{run_id} of {job})")
