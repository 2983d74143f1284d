"""Gateway settings: defaults here, then ``config/gateway.toml``, then ``CPEX_*`` variables.

The file is a contract: a ``version`` key, typed sections, unknown keys refused. Every problem
stops the process with a :class:`~gateway.errors.ConfigError` naming the file and the dotted key.
An environment variable ``CPEX_<SECTION>_<KEY>`` (upper case) overrides ``[section] key``; its
value is read as a TOML value (``8080``, ``true``, ``"text"``) and, failing that, as a string.
Relative paths (and a relative SQLite file) are resolved against the project folder (the
deployment's home): the parent of the folder that holds the config file; without a config file,
``home`` (``--home``, ``$CPEX_HOME``) or the working folder. A ``schemas`` or ``mappings`` folder
left at its default and missing there is the one the gateway ships (:mod:`gateway.bundled`).
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from gateway.bundled import bundled_dir
from gateway.config_files import config_error, read_toml
from gateway.errors import ConfigError
from gateway.identity.rules import IdentityRules
from gateway.model.profile import AttributeDeclaration, DataCategory
from gateway.xml.parser import XMLLimits

CONFIG_ENV = "CPEX_CONFIG"
HOME_ENV = "CPEX_HOME"
DEFAULT_CONFIG = Path("config/gateway.toml")
SUPPORTED_VERSIONS = (1,)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class DatabaseSettings(_Section):
    url: str = Field("sqlite:///var/cpex.db", min_length=1)
    echo: bool = False


class ServerSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    max_body_bytes: int = Field(10 * 1024 * 1024, ge=1024)
    threads: int = Field(8, ge=1, le=256)  # requests served at once by ``serve``
    # The address partners reach the gateway at (the WSDL's service address); never taken from
    # a request's Host header. Empty: http://host:port.
    public_url: str = Field("", pattern=r"^(https?://[^\s/]+(/\S*)?)?$")

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")


class XMLSettings(_Section):
    max_document_bytes: int = Field(10 * 1024 * 1024, ge=1024)
    max_depth: int = Field(64, ge=4, le=250)
    max_namespaces: int = Field(64, ge=4, le=1024)
    max_attributes: int = Field(256, ge=8, le=4096)

    @property
    def limits(self) -> XMLLimits:
        return XMLLimits(
            max_bytes=self.max_document_bytes,
            max_depth=self.max_depth,
            max_namespaces=self.max_namespaces,
            max_attributes=self.max_attributes,
        )


class PathSettings(_Section):
    schemas: str = "schemas"
    mappings: str = "mappings"
    var: str = "var"


class LoggingSettings(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["text", "json"] = "text"  # json: one object per line, for log shippers


class IdentitySettings(_Section):
    """Identity resolution (checked further by :class:`gateway.identity.IdentityRules`)."""

    merge_threshold: float = Field(0.99, gt=0, le=1)
    review_threshold: float = Field(0.80, gt=0, le=1)
    source_priority: list[str] = []
    default_strategy: Literal["priority", "most_recent", "most_complete"] = "most_recent"
    field_strategy: dict[str, Literal["priority", "most_recent", "most_complete", "union"]] = {}
    default_region: str = Field("GB", pattern=r"^[A-Z]{2}$")

    @model_validator(mode="after")
    def _rules_hold(self) -> IdentitySettings:
        """Threshold order and field names: checked where the rules are defined, once."""
        try:
            IdentityRules.from_settings(self)
        except ConfigError as exc:
            raise ValueError(exc.message) from None
        return self


class ConsoleSettings(_Section):
    idle_minutes: int = Field(30, ge=1, le=24 * 60)  # a console session unused this long ends


class PrivacySettings(_Section):
    """Whose consents decide what partners receive, and what a partner's erase request does."""

    # Source systems whose recorded consents decide disclosures to partners (default deny: a
    # consent from any other source, a partner's own above all, never widens a disclosure).
    consent_sources: list[str] = ["erp", "crm", "gateway-admin"]
    # What a partner's erase does beyond its own records: "request" files an erasure request
    # for a steward; "erase" erases the whole person at once.
    partner_erasure: Literal["request", "erase"] = "request"

    @model_validator(mode="after")
    def _no_partner_sources(self) -> PrivacySettings:
        partners = [s for s in self.consent_sources if s.startswith("partner:")]
        if partners:
            raise ValueError(
                f"a partner's consents never decide what others' data is disclosed for: remove "
                f"{', '.join(partners)} from consent_sources"
            )
        return self

    @property
    def trusted_consent_sources(self) -> frozenset[str]:
        return frozenset(self.consent_sources)


class AttributeSettings(_Section):
    """One custom attribute (``[attributes.NAME]``): its type, data category (for consent and
    partner field policy), whether it is searchable and whether it holds several values."""

    type: Literal["text", "integer", "decimal", "boolean", "date", "datetime"] = "text"
    category: Literal["identity", "contact", "demographic", "financial", "preference",
                      "online"] = "preference"
    searchable: bool = False
    many: bool = False


_ATTRIBUTE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]{0,63}$")


class Settings(_Section):
    version: int = 1
    database: DatabaseSettings = DatabaseSettings()
    server: ServerSettings = ServerSettings()
    xml: XMLSettings = XMLSettings()
    paths: PathSettings = PathSettings()
    logging: LoggingSettings = LoggingSettings()
    identity: IdentitySettings = IdentitySettings()
    console: ConsoleSettings = ConsoleSettings()
    privacy: PrivacySettings = PrivacySettings()
    attributes: dict[str, AttributeSettings] = {}
    # Where the settings came from, and what relative paths are resolved against.
    source: str = Field("defaults", exclude=True)
    base_dir: str = Field(".", exclude=True)

    @model_validator(mode="after")
    def _attribute_names(self) -> Settings:
        bad = [name for name in self.attributes if not _ATTRIBUTE_NAME.match(name)]
        if bad:
            raise ValueError(f"attribute names are letters, digits, '_', '.', '-' (at most 64, "
                             f"not starting with a digit): {', '.join(sorted(bad))}")
        return self

    def path(self, name: Literal["schemas", "mappings", "var"]) -> Path:
        value = getattr(self.paths, name)
        resolved = _resolve(Path(self.base_dir), value)
        if name != "var" and value == name and not resolved.is_dir():
            return bundled_dir(name)  # left at its default, absent: the shipped one
        return resolved

    @property
    def attribute_declarations(self) -> dict[str, AttributeDeclaration]:
        """The declared custom attributes as the model states them."""
        return {
            name: AttributeDeclaration(name, a.type, DataCategory(a.category), a.searchable,
                                       a.many)
            for name, a in self.attributes.items()
        }

    @property
    def database_url(self) -> str:
        """The database URL with a relative SQLite file made absolute (under the project)."""
        url = self.database.url
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
            return prefix + str(_resolve(Path(self.base_dir), url[len(prefix):]))
        return url


def load_settings(
    path: str | os.PathLike[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    home: str | os.PathLike[str] | None = None,
) -> Settings:
    """Load and validate settings.

    ``path`` defaults to ``$CPEX_CONFIG``, else ``config/gateway.toml`` under ``home`` (default
    ``$CPEX_HOME``, else the working folder) if that file exists, else the built-in defaults (the
    embedded SQLite set-up, with ``var/`` under that home). ``overrides`` are dotted keys set
    last (used by tests and command-line options).
    """
    env = os.environ if environ is None else environ
    explicit = path is not None or CONFIG_ENV in env
    home_dir = Path(home if home is not None else env.get(HOME_ENV) or ".")
    if (home is not None or env.get(HOME_ENV)) and not home_dir.is_dir():
        raise ConfigError("home folder not found (make one with 'cpex-gateway init DIR')",
                          file=str(home_dir))
    file = Path(path if path is not None else env.get(CONFIG_ENV, home_dir / DEFAULT_CONFIG))
    data: dict[str, Any] = {}
    if file.is_file():
        data = read_toml(file)
        source, base_dir = str(file), file.resolve().parent.parent
    elif explicit:
        raise ConfigError("config file not found", file=str(file))
    else:
        source, base_dir = "defaults", home_dir.resolve()
    from_env = _apply_environment(data, env)
    for dotted, value in (overrides or {}).items():
        _set_dotted(data, dotted, value)
    version = data.get("version", 1)
    if version not in SUPPORTED_VERSIONS:
        raise ConfigError(
            f"unsupported config version {version!r} (this gateway reads {SUPPORTED_VERSIONS})",
            file=source,
            key="version",
        )
    try:
        return Settings.model_validate({**data, "source": source, "base_dir": str(base_dir)})
    except ValidationError as exc:
        error = config_error(
            exc, file=source, unknown_hint="see config/README.md for the keys this gateway reads"
        )
        if error.key in from_env:
            error = ConfigError(
                error.reason, file=f"environment variable {from_env[error.key]}", key=error.key
            )
        raise error from None


def _apply_environment(data: dict[str, Any], env: Mapping[str, str]) -> dict[str, str]:
    """Set every key that has a ``CPEX_<SECTION>_<KEY>`` variable; return key -> variable name."""
    used: dict[str, str] = {}
    for section_name, section_field in Settings.model_fields.items():
        section_type = section_field.annotation
        if not (isinstance(section_type, type) and issubclass(section_type, _Section)):
            continue
        for key in section_type.model_fields:
            var = f"CPEX_{section_name}_{key}".upper()
            if var in env:
                _set_dotted(data, f"{section_name}.{key}", _parse_env_value(env[var]))
                used[f"{section_name}.{key}"] = var
    return used


def _parse_env_value(raw: str) -> Any:
    try:
        return tomllib.loads(f"value = {raw}")["value"]
    except tomllib.TOMLDecodeError:
        return raw


def _set_dotted(data: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    node = data
    for name in parents:
        node = node.setdefault(name, {})
    node[last] = value


def _resolve(base: Path, value: str) -> Path:
    path = Path(value)
    return path if path.is_absolute() else base / path
