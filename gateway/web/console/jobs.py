"""Jobs: every configured job with its next and last run; run now, pause, resume.

The same :class:`scheduler.service.JobsService` as ``/api/v1/jobs``: a run asked for here is
queued for a scheduler process (a web worker never runs a job).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from flask import Response, current_app, render_template, request

from gateway.errors import BadRequestError
from gateway.web.console.auth import actor, audited, done, page
from gateway.web.console.blueprint import bp
from gateway.web.context import gateway_of

if TYPE_CHECKING:
    from scheduler.service import JobsService


def jobs_service() -> JobsService:
    from scheduler.service import JobsService  # the scheduler layer sits beside web, not below

    return JobsService(gateway_of(current_app))


@bp.get("/jobs")
@page
def jobs() -> str:
    """Every job: trigger, paused, next run, last run with its outcome and duration."""
    return render_template("jobs.html", jobs=jobs_service().overview())


@bp.get("/jobs/<name>")
@page
def job_runs(name: str) -> str:
    """One job's run history, newest first, by status and the day it was queued."""
    from scheduler.history import STATUSES

    service = jobs_service()
    service.spec(name)  # 404 for an unknown job
    status = request.args.get("status") or None
    if status not in STATUSES:
        status = None
    since, until = _day("since"), _day("until")
    runs = service.runs(
        name, 200, status=status, since=since, until=until + timedelta(days=1) if until else None
    )
    return render_template(
        "job_runs.html",
        name=name,
        runs=runs,
        statuses=STATUSES,
        status=status or "",
        since=request.args.get("since", ""),
        until=request.args.get("until", ""),
    )


def _day(arg: str) -> datetime | None:
    """A ``YYYY-MM-DD`` query argument as the start of that day (UTC)."""
    raw = request.args.get(arg, "").strip()
    if not raw:
        return None
    try:
        return datetime.strptime(raw, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError as exc:
        raise BadRequestError("a day is written YYYY-MM-DD", path=arg) from exc


@bp.post("/jobs/<name>/run")
@page
def job_run(name: str) -> Response:
    run = jobs_service().queue(name)
    audited("job.run", job=name, run_id=run.id)
    return done("/console/jobs", f"{name}: run {run.id} queued for the scheduler by {actor()}")


@bp.post("/jobs/<name>/pause")
@page
def job_pause(name: str) -> Response:
    jobs_service().pause(name)
    audited("job.pause", job=name)
    return done("/console/jobs", f"{name} paused")


@bp.post("/jobs/<name>/resume")
@page
def job_resume(name: str) -> Response:
    jobs_service().resume(name)
    audited("job.resume", job=name)
    return done("/console/jobs", f"{name} resumed")
