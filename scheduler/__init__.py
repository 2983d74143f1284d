"""Scheduled jobs: definitions from ``config/jobs.toml``, the APScheduler runner, the cluster lock
(lease row + advisory lock) and the run history."""

from scheduler.config import JobsConfig, JobSpec, jobs_from, load_jobs
from scheduler.embedded import start_embedded_scheduler
from scheduler.history import JobHistory, JobRun
from scheduler.runner import SchedulerRunner
from scheduler.service import JobsService

__all__ = [
    "JobHistory", "JobRun", "JobSpec", "JobsConfig", "JobsService", "SchedulerRunner",
    "jobs_from", "load_jobs", "start_embedded_scheduler",
]
