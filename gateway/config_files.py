"""Reading the TOML files people edit, and turning validation failures into one clear error.

Shared by every loader (gateway settings, partners, ERP, jobs) so that a mistake reads the same
everywhere: ``<file>, key '<dotted.key>': <reason>`` — no values repeated (they may be secrets).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from gateway.bundled import bundled_dir
from gateway.errors import ConfigError

if TYPE_CHECKING:
    from gateway.config import Settings

UNKNOWN_KEY = "unknown key"


def read_toml(file: Path) -> dict[str, Any]:
    """The file's data, or a :class:`ConfigError` naming the file (and the line, for syntax)."""
    try:
        with file.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", file=str(file)) from exc
    except OSError as exc:
        raise ConfigError(f"cannot be read: {exc.strerror}", file=str(file)) from exc


def config_error(
    exc: ValidationError,
    *,
    file: str,
    prefix: Sequence[str] = (),
    unknown_hint: str | None = None,
) -> ConfigError:
    """The first problem pydantic found, as a ConfigError with the dotted key of the file.

    Pydantic's own location steps that are not keys of the file (validator and union member
    names such as ``function-after[...]``) are left out.
    """
    first = exc.errors()[0]
    steps = [str(p) for p in first["loc"] if not _internal_step(str(p))]
    key = ".".join([*prefix, *steps]) or None
    if first["type"] == "extra_forbidden":
        reason = f"{UNKNOWN_KEY} ({unknown_hint})" if unknown_hint else UNKNOWN_KEY
    else:
        reason = str(first["msg"]).removeprefix("Value error, ")
    return ConfigError(reason, file=file, key=key)


def config_file(settings: Settings, name: str, env_var: str,
                environ: Mapping[str, str] | None = None) -> Path:
    """Where a companion file of ``gateway.toml`` is: ``$env_var``, else beside the settings file,
    else ``config/<name>`` under the project folder, else the shipped one."""
    env = os.environ if environ is None else environ
    if env.get(env_var):
        return Path(env[env_var])
    if settings.source not in ("defaults", "") and Path(settings.source).is_file():
        return Path(settings.source).parent / name
    local = Path(settings.base_dir) / "config" / name
    if local.exists():
        return local
    return bundled_dir("config") / name


def _internal_step(step: str) -> bool:
    return "[" in step or step.startswith("function-")
