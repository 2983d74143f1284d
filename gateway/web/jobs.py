"""``/api/v1/jobs``: scheduled jobs for ops (admin keys only). Runs asked for here are queued
for a scheduler process: a web worker never runs a job."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Blueprint, Response, current_app, jsonify

from gateway.web.access import Access, access
from gateway.web.context import gateway_of
from gateway.web.requests import int_arg

if TYPE_CHECKING:
    from scheduler.service import JobsService

bp = Blueprint("jobs", __name__, url_prefix="/api/v1/jobs")


def _service() -> JobsService:
    from scheduler.service import JobsService

    return JobsService(gateway_of(current_app))


@bp.get("")
@access(Access.ADMIN)
def list_jobs() -> Response:
    """Configured jobs with trigger, paused flag, next run and last run."""
    return jsonify({"items": _service().overview()})


@bp.get("/<name>/runs")
@access(Access.ADMIN)
def job_runs(name: str) -> Response:
    """Run history of one job, newest first (``limit``)."""
    limit = int_arg("limit", 50, 1, 500)
    return jsonify({"job": name, "items": [r.to_dict() for r in _service().runs(name, limit)]})


@bp.post("/<name>/run")
@access(Access.ADMIN)
def run_job(name: str) -> tuple[Response, int]:
    """Queue a manual run of the job for the scheduler (202 with the run id)."""
    run = _service().queue(name)
    return jsonify({"queued": run.to_dict(), "href": f"/api/v1/jobs/{name}/runs"}), 202


@bp.post("/<name>/pause")
@access(Access.ADMIN)
def pause_job(name: str) -> Response:
    """Pause the job: scheduled slots are skipped until it is resumed."""
    _service().pause(name)
    return jsonify({"job": name, "paused": True})


@bp.post("/<name>/resume")
@access(Access.ADMIN)
def resume_job(name: str) -> Response:
    """Resume a paused job."""
    _service().resume(name)
    return jsonify({"job": name, "paused": False})
