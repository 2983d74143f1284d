"""``cpex-gateway``: the command line.

Errors are one clear line on stderr (exit 2), never a traceback unless ``--debug`` is given.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from importlib import import_module
from importlib.metadata import PackageNotFoundError, version

import click

from gateway.cli.context import CliState
from gateway.config import LoggingSettings
from gateway.errors import GatewayError
from gateway.log_setup import configure_logging

EXIT_ERROR = 2


# Each command's module is imported only when that command runs (or for --help): a command
# pays for its own imports, not for every other command's (bench/bench_cli_startup.py).
COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("gateway.cli.init", "init_command"),
    "validate": ("gateway.cli.validating", "validate"),
    "db": ("gateway.cli.db", "db"),
    "import": ("gateway.cli.importing", "import_command"),
    "keys": ("gateway.cli.keys", "keys"),
    "partners": ("gateway.cli.partners", "partners"),
    "serve": ("gateway.cli.serving", "serve"),
    "demo": ("gateway.cli.demo", "demo"),
    "scheduler": ("gateway.cli.scheduler", "scheduler_command"),
    "jobs": ("gateway.cli.scheduler", "jobs"),
    "erp": ("gateway.cli.scheduler", "erp"),
    "mapping": ("gateway.cli.mapping", "mapping"),
    "catalog": ("gateway.cli.catalog", "catalog"),
    "quarantine": ("gateway.cli.quarantine", "quarantine"),
    "review": ("gateway.cli.review", "review"),
    "identity": ("gateway.cli.identity", "identity"),
    "dispatcher": ("gateway.cli.deliveries", "dispatcher_command"),
    "deliveries": ("gateway.cli.deliveries", "deliveries"),
    "erasure-requests": ("gateway.cli.erasure_requests", "erasure_requests"),
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported by name on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        command = getattr(import_module(target[0]), target[1])
        assert isinstance(command, click.Command)
        return command


def package_version() -> str:
    try:
        return version("cpex-gateway")
    except PackageNotFoundError:  # pragma: no cover - running from a checkout without install
        return "unknown"


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_version(), "--version", prog_name="cpex-gateway",
                      message="%(prog)s %(version)s")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Settings file (default: $CPEX_CONFIG, else config/gateway.toml of the home).",
)
@click.option(
    "--home",
    type=click.Path(file_okay=False),
    default=None,
    help="The deployment's folder: config/, mappings/, var/ (default: $CPEX_HOME, else the "
    "working folder; 'cpex-gateway init DIR' writes one).",
)
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logging.")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, home: str | None, debug: bool) -> None:
    """CPEX Gateway: profile exchange between ERP, CRM base, personalization and partners."""
    ctx.obj = CliState(config_path=config_path, debug=debug, home=home)
    # Short commands log warnings only; long-running ones switch to [logging] once the
    # settings are read (gateway.cli.serving, scheduler, dispatcher).
    configure_logging(LoggingSettings(level="WARNING"), debug=debug)
    ctx.call_on_close(ctx.obj.close)


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

