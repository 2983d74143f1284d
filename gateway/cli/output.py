"""What every ``list`` command shares: a ``--json`` flag and one way to print JSON."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def json_option(command: F) -> F:
    """``--json``: the rows as one JSON array on stdout (for scripts), instead of lines."""
    return click.option(
        "--json", "as_json", is_flag=True, help="One JSON array on stdout instead of lines."
    )(command)


def echo_json(rows: Any) -> None:
    """Print ``rows`` as indented JSON; dates and times as ISO 8601 text."""
    click.echo(json.dumps(rows, indent=2, ensure_ascii=False, default=_plain))


def _plain(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")
