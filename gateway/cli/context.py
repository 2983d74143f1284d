"""What every command shares: the settings file and the lazily built :class:`Gateway`."""

from __future__ import annotations

from dataclasses import dataclass, field

import click

from gateway.config import load_settings
from gateway.runtime import Gateway


@dataclass
class CliState:
    config_path: str | None
    debug: bool
    _gateway: Gateway | None = field(default=None, repr=False)

    @property
    def gateway(self) -> Gateway:
        if self._gateway is None:
            self._gateway = Gateway(load_settings(self.config_path))
        return self._gateway

    def close(self) -> None:
        if self._gateway is not None:
            self._gateway.close()


pass_state = click.make_pass_decorator(CliState)
