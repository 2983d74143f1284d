"""Logging for the long-running processes: level and format from ``[logging]``, and the request
id of the HTTP request being served on every record logged while serving it.

``text`` is for people at a terminal; ``json`` (python-json-logger) is one object per line for a
log shipper. Records never carry request bodies or query strings: both may hold personal data.
"""

from __future__ import annotations

import logging
import sys
from contextvars import ContextVar

from pythonjsonlogger.json import JsonFormatter

from gateway.config import LoggingSettings

# The id of the request this thread is serving ("-" outside a request).
current_request_id: ContextVar[str] = ContextVar("cpex_request_id", default="-")

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"
JSON_FIELDS = ("asctime", "levelname", "name", "request_id", "message")
_HANDLER_NAME = "cpex"
# Libraries whose INFO lines repeat what we log better: the development server's access line
# (ours is gateway.access), APScheduler's every-few-seconds job lines (runs are in the job
# history), Alembic's context lines on each schema check. Their warnings still show.
_CHATTY = ("werkzeug", "apscheduler", "alembic")


class _CurrentStderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time (as logging's own last-resort handler),
    so a handler made while stderr was redirected never writes to a closed stream."""

    @property
    def stream(self) -> object:
        return sys.stderr

    @stream.setter
    def stream(self, _value: object) -> None:
        pass


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every record passing through the handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id.get()
        return True


def configure_logging(settings: LoggingSettings, *, debug: bool = False) -> logging.Handler:
    """Send the root logger to stderr in the configured format and level (DEBUG with --debug).

    Idempotent: a second call replaces the handler it installed instead of adding another.
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.get_name() == _HANDLER_NAME:
            root.removeHandler(handler)
    handler = _CurrentStderr()
    handler.set_name(_HANDLER_NAME)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(_formatter(settings.format))
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if debug else settings.level)
    for name in _CHATTY:
        logging.getLogger(name).setLevel(logging.DEBUG if debug else logging.WARNING)
    return handler


def _formatter(kind: str) -> logging.Formatter:
    if kind == "json":
        return JsonFormatter(list(JSON_FIELDS), rename_fields={"levelname": "level",
                                                              "name": "logger",
                                                              "asctime": "time"})
    return logging.Formatter(TEXT_FORMAT)
