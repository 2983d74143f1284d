"""What ops do with jobs, shared by the REST API and the CLI: list, history, run, pause, resume.

Nothing here runs a job: a run asked for through the API is queued and a scheduler process takes
it (web workers never run jobs; docs/architecture.md). The CLI can also run one in its own
process (:meth:`scheduler.runner.SchedulerRunner.run_now`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from gateway.errors import NotFoundError
from gateway.runtime import Gateway
from scheduler.config import CronSpec, IntervalSpec, JobsConfig, JobSpec, load_jobs
from scheduler.history import JobHistory, JobRun
from scheduler.runner import latest_fire_time


class JobsService:
    def __init__(self, gateway: Gateway, config: JobsConfig | None = None) -> None:
        self.gateway = gateway
        self.config = config if config is not None else load_jobs(gateway.settings)
        self.history = JobHistory(gateway.engine)

    def spec(self, name: str) -> JobSpec:
        """:raises NotFoundError: no job of that name is configured."""
        try:
            return self.config.job(name)
        except LookupError:
            raise NotFoundError("job", name) from None

    def overview(self) -> list[dict[str, Any]]:
        """Every configured job with its trigger, paused flag, next run and last run."""
        states = self.history.states()
        last = self.history.last_runs()
        items = []
        for spec in self.config.jobs:
            state = states.get(spec.name)
            run = last.get(spec.name)
            items.append({
                "name": spec.name, "kind": spec.kind, "trigger": describe_trigger(spec),
                "enabled": spec.enabled, "paused": bool(state and state.paused),
                "retries": spec.retries, "misfire_grace_minutes": spec.misfire_grace_minutes,
                "next_run": _next_run(spec, self.config),
                "last_run": run.to_dict() if run else None,
            })
        return items

    def runs(self, name: str, limit: int = 50, *, status: str | None = None,
             since: datetime | None = None, until: datetime | None = None) -> list[JobRun]:
        """Runs of ``name``: a configured job, or one with runs recorded (``erp refresh``
        without a job of its kind records under ``erp-<mode>``)."""
        found = self.history.runs(name, limit=limit, status=status, since=since, until=until)
        if not found:
            self.spec(name)
        return found

    def queue(self, name: str) -> JobRun:
        self.spec(name)
        return self.history.queue(name)

    def pause(self, name: str) -> None:
        self.spec(name)
        self.history.set_paused(name, True)

    def resume(self, name: str) -> None:
        self.spec(name)
        self.history.set_paused(name, False)


def describe_trigger(spec: JobSpec) -> str:
    trigger = spec.trigger
    if isinstance(trigger, CronSpec):
        return f"cron {trigger.cron}"
    if isinstance(trigger, IntervalSpec):
        return f"every {trigger.length}"
    return f"once at {trigger.at.isoformat()}"


def _next_run(spec: JobSpec, config: JobsConfig) -> str | None:
    if not spec.enabled:
        return None
    now = datetime.now(UTC)
    upcoming = spec.make_trigger(config.zone).get_next_fire_time(
        latest_fire_time(spec.make_trigger(config.zone), now, spec.misfire_grace), now)
    return upcoming.astimezone(UTC).isoformat() if upcoming else None
