"""``cpex-gateway``: the command line.

Errors are one clear line on stderr (exit 2), never a traceback unless ``--debug`` is given.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click

from gateway.cli.context import CliState
from gateway.cli.db import db
from gateway.cli.deliveries import deliveries, dispatcher_command
from gateway.cli.importing import import_command
from gateway.cli.keys import keys
from gateway.cli.mapping import mapping
from gateway.cli.partners import partners
from gateway.cli.quarantine import quarantine
from gateway.cli.review import review
from gateway.cli.scheduler import erp, jobs, scheduler_command
from gateway.cli.serving import demo, serve
from gateway.cli.validating import validate
from gateway.config import LoggingSettings
from gateway.errors import GatewayError
from gateway.log_setup import configure_logging

EXIT_ERROR = 2


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Settings file (default: $CPEX_CONFIG or config/gateway.toml).",
)
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logging.")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, debug: bool) -> None:
    """CPEX Gateway: profile exchange between ERP, CRM base, personalization and partners."""
    ctx.obj = CliState(config_path=config_path, debug=debug)
    # Short commands log warnings only; long-running ones switch to [logging] once the
    # settings are read (gateway.cli.serving, scheduler, dispatcher).
    configure_logging(LoggingSettings(level="WARNING"), debug=debug)
    ctx.call_on_close(ctx.obj.close)


cli.add_command(validate)
cli.add_command(db)
cli.add_command(import_command)
cli.add_command(keys)
cli.add_command(partners)
cli.add_command(serve)
cli.add_command(demo)
cli.add_command(scheduler_command)
cli.add_command(jobs)
cli.add_command(erp)
cli.add_command(mapping)
cli.add_command(quarantine)
cli.add_command(review)
cli.add_command(dispatcher_command)
cli.add_command(deliveries)


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point: runs the group and turns gateway errors into one line."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    try:
        result = cli.main(args=args, prog_name="cpex-gateway", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except GatewayError as exc:
        if debug:
            raise
        click.echo(f"error: {exc}", err=True)
        return EXIT_ERROR
    return result if isinstance(result, int) else 0

