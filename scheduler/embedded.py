"""The scheduler inside ``serve`` for the embedded (single-process SQLite) set-up.

Production runs ``cpex-gateway scheduler`` processes instead; never start this in gunicorn web
workers (each worker would be one more scheduler).
"""

from __future__ import annotations

from gateway.runtime import Gateway
from scheduler.config import JobsConfig, load_jobs
from scheduler.runner import SchedulerRunner


def start_embedded_scheduler(gateway: Gateway, config: JobsConfig | None = None
                             ) -> SchedulerRunner:
    """Start the jobs of ``config/jobs.toml`` in background threads; call ``.shutdown()`` to stop.

    :raises ConfigError: ``jobs.toml`` is invalid (naming the job and key).
    """
    runner = SchedulerRunner(gateway, config if config is not None else load_jobs(gateway.settings))
    runner.start()
    return runner
