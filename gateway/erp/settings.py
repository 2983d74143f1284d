"""``config/erp.toml``: which ERP to read, with which connector, and which tables and columns.

The file is a contract like ``gateway.toml``: a ``version`` key, unknown keys refused, every error
a :class:`~gateway.errors.ConfigError` naming the file and the dotted key. The gateway reads the
keys it owns (``connector``, ``source_system``, ``mapping``, ``credit_codes``); everything else
in ``[erp]`` is the connector's, validated by the connector's own ``Options`` model, so a new
connector brings its own keys without touching this module.

It lives beside ``gateway.toml`` (or is named by ``CPEX_ERP_CONFIG``); a relative SQLite path in
it is resolved against the project folder, as in ``gateway.toml``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from connectors.base import RecordSource, connector_class
from gateway.config import Settings
from gateway.config_files import config_error, config_file, read_toml
from gateway.errors import ConfigError
from gateway.model import CreditStatus

ERP_CONFIG_ENV = "CPEX_ERP_CONFIG"
SUPPORTED_VERSIONS = (1,)
_GATEWAY_KEYS = ("connector", "source_system", "mapping", "credit_codes", "master_mapping")


@dataclass(frozen=True)
class ErpSettings:
    """The validated ``[erp]`` section."""

    connector: str
    source_system: str
    options: BaseModel  # the connector's validated Options
    credit_codes: Mapping[str, CreditStatus] = field(default_factory=dict)
    mapping: str | None = None  # a mapping file under paths.mappings, for ERP rows
    file: str = "defaults"
    base_dir: Path = Path(".")
    # a mapping file (under paths.mappings) for customer master data, fed through the ingest
    # pipeline by every refresh (gateway.erp.master); None: figures only
    master_mapping: str | None = None

    def open(self) -> RecordSource:
        """A connector on the ERP (it connects on first read, not here)."""
        source: RecordSource = connector_class(self.connector)(
            self.source_system, self.options, base_dir=self.base_dir
        )
        return source


def load_erp_settings(settings: Settings, path: Path | None = None) -> ErpSettings:
    """Read and validate the ERP config (``path`` or :func:`config_file`).

    :raises ConfigError: the file is missing or unreadable, or a key is unknown or wrong.
    """
    file = path or config_file(settings, "erp.toml", ERP_CONFIG_ENV)
    if not file.is_file():
        raise ConfigError("ERP config file not found (see config/README.md)", file=str(file))
    data = read_toml(file)
    return erp_settings_from(data, file=str(file), base_dir=Path(settings.base_dir))


def erp_settings_from(data: Mapping[str, Any], *, file: str, base_dir: Path) -> ErpSettings:
    """Validate a parsed ERP config (``{"version": 1, "erp": {...}}``)."""
    unknown = sorted(set(data) - {"version", "erp"})
    if unknown:
        raise ConfigError("unknown key", file=file, key=unknown[0])
    if data.get("version", 1) not in SUPPORTED_VERSIONS:
        raise ConfigError(f"unsupported version {data.get('version')!r}", file=file,
                          key="version")
    section = data.get("erp")
    if not isinstance(section, Mapping):
        raise ConfigError("an [erp] section is required", file=file, key="erp")
    connector = section.get("connector", "erp_sql")
    try:
        cls = connector_class(str(connector))
    except LookupError as exc:
        raise ConfigError(str(exc), file=file, key="erp.connector") from None
    source_system = section.get("source_system", "erp")
    if not isinstance(source_system, str) or not source_system.strip():
        raise ConfigError("must be a non-empty string", file=file, key="erp.source_system")
    mapping = section.get("mapping")
    if mapping is not None and not isinstance(mapping, str):
        raise ConfigError("must be a file name", file=file, key="erp.mapping")
    master_mapping = section.get("master_mapping")
    if master_mapping is not None and not isinstance(master_mapping, str):
        raise ConfigError("must be a file name", file=file, key="erp.master_mapping")
    codes = _credit_codes(section.get("credit_codes", {}), file)
    if mapping is not None and codes:
        raise ConfigError("not used when erp.mapping names a mapping file: translate credit "
                          "codes with the mapping's code list", file=file, key="erp.credit_codes")
    rest = {k: v for k, v in section.items() if k not in _GATEWAY_KEYS}
    try:
        options = cls.Options.model_validate(rest)
    except ValidationError as exc:
        raise config_error(exc, file=file, prefix=["erp"]) from None
    except ConfigError as exc:  # a connector's check across keys names its key itself
        raise ConfigError(exc.reason, file=file, key=exc.key) from None
    return ErpSettings(str(connector), source_system, options, codes, mapping, file, base_dir,
                       master_mapping)


def _credit_codes(raw: Any, file: str) -> dict[str, CreditStatus]:
    if not isinstance(raw, Mapping):
        raise ConfigError("must be a table of ERP code = status", file=file,
                          key="erp.credit_codes")
    codes: dict[str, CreditStatus] = {}
    for code, status in raw.items():
        try:
            codes[str(code)] = CreditStatus(status)
        except ValueError:
            allowed = ", ".join(s.value for s in CreditStatus)
            raise ConfigError(f"'{status}' is not a credit status ({allowed})", file=file,
                              key=f"erp.credit_codes.{code}") from None
    return codes
