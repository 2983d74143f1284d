"""``config/delivery.toml``: how the dispatcher delivers (optional; built-in defaults without it).

Kept apart from ``gateway.toml`` because only dispatcher processes read it, and apart from the
partner files because it holds what *we* need to reach a partner (an address override for a
local WSDL, which environment variable holds the credential), not what the partner may do::

    version = 1
    sender = "cpex"              # our system name in the envelopes we send (Header/Sender)
    max_attempts = 12            # after this many failures a delivery goes to the dead letter
    backoff_seconds = 5          # first retry delay; doubles per attempt ...
    backoff_max_seconds = 3600   # ... up to this
    jitter = 0.2                 # +-20 % random spread, so retries of many rows do not align
    timeout_seconds = 10         # connect and read timeout of one request
    batch = 50                   # rows claimed per round
    lease_seconds = 120          # a claimed row whose dispatcher went silent is taken again

    [partners.globex]            # optional, per partner
    address = "https://partners.globex.example/soap"   # where to send instead of the partner
                                 # file's URL (REST, webhook) or the WSDL's service address (SOAP)
    wsdl = "partners/globex.wsdl"   # SOAP: the WSDL to load instead of the partner file's
    auth = { kind = "bearer", token_env = "CPEX_OUT_GLOBEX_TOKEN" }
    # auth = { kind = "basic", username = "hub", password_env = "CPEX_OUT_GLOBEX_PASSWORD" }
    # auth = { kind = "ws_security", username = "hub", password_env = "CPEX_OUT_GLOBEX_PASSWORD" }
    signing_secret_env = "CPEX_OUT_GLOBEX_SIGNING"   # HMAC-sign REST/webhook bodies

Secrets are never in the file: only the names of the environment variables that hold them.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gateway.config import Settings
from gateway.config_files import config_error, config_file, read_toml
from gateway.errors import ConfigError

DELIVERY_CONFIG_ENV = "CPEX_DELIVERY_CONFIG"
SUPPORTED_VERSIONS = (1,)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BearerAuth(_Strict):
    kind: Literal["bearer"]
    token_env: str = Field(min_length=1)

    def headers(self, environ: Mapping[str, str]) -> dict[str, str]:
        return {"Authorization": f"Bearer {_secret(environ, self.token_env)}"}


class _PasswordAuth(_Strict):
    username: str = Field(min_length=1)
    password_env: str = Field(min_length=1)

    def credentials(self, environ: Mapping[str, str]) -> tuple[str, str]:
        return self.username, _secret(environ, self.password_env)


class BasicAuth(_PasswordAuth):
    kind: Literal["basic"]


class WsSecurityAuth(_PasswordAuth):
    """A WS-Security UsernameToken (password as text, so use HTTPS) in each SOAP request's
    header: what many enterprise SOAP services ask for instead of HTTP authentication."""

    kind: Literal["ws_security"]


OutboundAuth = Annotated[BearerAuth | BasicAuth | WsSecurityAuth, Field(discriminator="kind")]


class PartnerDelivery(_Strict):
    """What we need to reach one partner beyond its partner file."""

    address: str | None = Field(None, pattern=r"^https?://")
    wsdl: str | None = Field(None, min_length=1)  # SOAP: a local copy (under schemas/) or URL
    auth: OutboundAuth | None = None
    signing_secret_env: str | None = Field(None, min_length=1)  # see gateway/delivery/signing.py

    def signing_secret(self, environ: Mapping[str, str]) -> str | None:
        """The shared secret REST and webhook bodies are signed with, if the partner has one."""
        if self.signing_secret_env is None:
            return None
        return _secret(environ, self.signing_secret_env, key="signing_secret_env")


class DeliverySettings(_Strict):
    version: int = 1
    sender: str = Field("cpex", min_length=1, max_length=64)
    max_attempts: int = Field(12, ge=1, le=100)
    backoff_seconds: float = Field(5.0, ge=0)
    backoff_max_seconds: float = Field(3600.0, ge=0)
    jitter: float = Field(0.2, ge=0, le=1)
    timeout_seconds: float = Field(10.0, gt=0, le=300)
    batch: int = Field(50, ge=1, le=1000)
    lease_seconds: float = Field(120.0, gt=0)
    partners: dict[str, PartnerDelivery] = Field(default_factory=dict)

    def partner(self, partner_id: str) -> PartnerDelivery:
        return self.partners.get(partner_id) or PartnerDelivery()


def load_delivery_settings(settings: Settings, path: Path | None = None) -> DeliverySettings:
    """The delivery settings: ``path``, ``$CPEX_DELIVERY_CONFIG``, or ``delivery.toml`` beside
    ``gateway.toml``; the defaults when no such file exists.

    :raises ConfigError: naming the file and the dotted key of the first problem.
    """
    file = path or config_file(settings, "delivery.toml", DELIVERY_CONFIG_ENV)
    if not file.is_file():
        if path is not None:
            raise ConfigError("delivery config file not found", file=str(file))
        return DeliverySettings()
    data = read_toml(file)
    if data.get("version", 1) not in SUPPORTED_VERSIONS:
        raise ConfigError(f"unsupported version (this gateway reads {SUPPORTED_VERSIONS})",
                          file=str(file), key="version")
    try:
        return DeliverySettings.model_validate(data)
    except ValidationError as exc:
        raise config_error(exc, file=str(file)) from None


def delivery_problems(
    delivery: DeliverySettings, partner_ids: Collection[str], environ: Mapping[str, str]
) -> tuple[list[str], list[str]]:
    """What ``partners check`` says of ``delivery.toml``: errors (a section for a partner that is
    not registered) and warnings (credentials whose environment variable is not set here: the
    dispatcher will need them where it runs)."""
    errors: list[str] = []
    warnings: list[str] = []
    for partner_id, reach in sorted(delivery.partners.items()):
        where = f"delivery.toml partners.{partner_id}"
        if partner_id not in partner_ids:
            errors.append(f"{where}: no partner '{partner_id}' is registered")
        auth = reach.auth
        needed = {
            "auth.token_env": auth.token_env if isinstance(auth, BearerAuth) else None,
            "auth.password_env": auth.password_env if isinstance(auth, _PasswordAuth) else None,
            "signing_secret_env": reach.signing_secret_env,
        }
        warnings += [f"{where}.{key}: environment variable {name} is not set"
                     for key, name in needed.items() if name and not environ.get(name)]
    return errors, warnings


def _secret(environ: Mapping[str, str], name: str, *, key: str = "auth") -> str:
    value = environ.get(name)
    if not value:
        raise ConfigError(f"environment variable {name} (an outbound credential) is not set",
                          key=key)
    return value
