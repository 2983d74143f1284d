"""Pick up mapping files edited on disk while the gateway runs.

A daemon thread asks :meth:`MappingAdmin.sync_from_disk` every few seconds: a valid edit is
recorded as a new version (author ``file``) and runs; an invalid one is logged with its
file:line:column and the last good version keeps running.
"""

from __future__ import annotations

import logging
import threading

from gateway.errors import GatewayError
from gateway.mapping_admin import MappingAdmin

log = logging.getLogger(__name__)


class MappingWatcher:
    def __init__(self, admin: MappingAdmin, interval_seconds: float = 5.0) -> None:
        self._admin = admin
        self._interval = interval_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mapping-watcher", daemon=True)

    def start(self) -> MappingWatcher:
        self._thread.start()
        return self

    def shutdown(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self._interval + 5)

    def check_once(self) -> None:
        try:
            report = self._admin.sync_from_disk()
        except GatewayError as exc:  # the database is away for a moment: try again next round
            log.warning("mapping reload failed: %s", exc)
            return
        for version in report.recorded:
            log.info("mapping %s v%s picked up from disk", version.name, version.version)
        for file, errors in report.errors.items():
            for error in errors:
                log.error("mapping %s not loaded, the last good version runs: %s", file, error)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.check_once()


def watch_mappings(admin: MappingAdmin) -> MappingWatcher:
    """For every long-running process (serve, gunicorn workers, scheduler, dispatcher): a mapping
    saved through another process's API, or edited on disk, runs here within seconds too."""
    watcher = MappingWatcher(admin)
    watcher.check_once()  # the files as found, before the first record
    return watcher.start()
