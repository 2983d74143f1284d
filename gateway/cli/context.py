"""What every command shares: the settings file and the lazily built :class:`Gateway`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import click

from gateway.config import load_settings
from gateway.log_setup import configure_logging

if TYPE_CHECKING:
    from gateway.runtime import Gateway


@dataclass
class CliState:
    config_path: str | None
    debug: bool
    home: str | None = None
    overrides: dict[str, Any] = field(default_factory=dict)  # dotted keys set last (the demo's)
    _gateway: Gateway | None = field(default=None, repr=False)

    @property
    def gateway(self) -> Gateway:
        if self._gateway is None:
            from gateway.runtime import Gateway  # the engine, schemas, mappings: not for --help

            settings = load_settings(self.config_path, overrides=self.overrides, home=self.home)
            self._gateway = Gateway(settings)
        return self._gateway

    def use_configured_logging(self) -> Gateway:
        """For long-running commands: log as ``[logging]`` says from here on; the gateway."""
        gateway = self.gateway
        configure_logging(gateway.settings.logging, debug=self.debug)
        return gateway

    def close(self) -> None:
        if self._gateway is not None:
            self._gateway.close()


pass_state = click.make_pass_decorator(CliState)
