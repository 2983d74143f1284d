"""The shape of a partner file (``config/partners/<id>.toml``): typed, versioned, strict.

These pydantic models are the contract; :mod:`gateway.partners.registry` reads the files and
turns any problem into a :class:`~gateway.errors.ConfigError` naming the file and the dotted key.
Secrets never live here: API keys are issued into the database (only their hash is kept) and
passwords appear only as scrypt hashes.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from gateway.model import DataCategory, Purpose, Recipient
from gateway.partners.passwords import PasswordHash, parse_hash
from gateway.privacy.policy import DisclosurePolicy, known_field_paths
from gateway.privacy.trust import PARTNER_PREFIX, ForeignIdentifiers, IdentifierTrust

PARTNER_ID = re.compile(r"^[a-z][a-z0-9-]{1,62}$")
SYSTEM_CODE = re.compile(r"^[A-Za-z][A-Za-z0-9_.:-]{0,63}$")
SUPPORTED_VERSIONS = (1,)
SYSTEM_PREFIX = PARTNER_PREFIX


class Operation(StrEnum):
    """What a partner may ask of the gateway (the inbound operations of the exchange)."""

    UPSERT = "upsert"
    QUERY = "query"
    ERASE = "erase"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PasswordLogin(_Section):
    """A user name and the scrypt hash of its password (HTTP Basic or UsernameToken)."""

    username: str = Field(min_length=1, max_length=100)
    password_hash: str

    @field_validator("password_hash")
    @classmethod
    def _valid_hash(cls, value: str) -> str:
        parse_hash(value)
        return value

    @property
    def parsed_hash(self) -> PasswordHash:
        return parse_hash(self.password_hash)


class AuthSpec(_Section):
    """How the partner proves who it is. API keys: ``cpex-gateway partners add-key <id>``."""

    api_key: bool = True
    basic: PasswordLogin | None = None
    ws_security: PasswordLogin | None = None

    @model_validator(mode="after")
    def _some_way_in(self) -> AuthSpec:
        if not (self.api_key or self.basic or self.ws_security):
            raise ValueError("at least one of api_key, basic or ws_security is needed")
        return self


class InboundSpec(_Section):
    """What the partner sends: the schema (namespace) its records validate against, and the
    mapping file that turns them into canonical profiles (none: they are CPEX profiles).

    ``format`` is what the partner's own platform emits (``cpex``: CPEX envelopes, to
    ``/cpex/v1/exchange`` over REST or SOAP; ``xml``, ``json``, ``csv``: its own documents, to
    ``POST /cpex/v1/records``, read by ``mapping``); ``json_schema`` a JSON Schema file under
    ``schemas/partners/`` its JSON documents must meet (XML documents meet the XSD registered for
    ``schema``); ``samples`` files under the mappings folder that ``partners check`` runs through
    schema and mapping."""

    schema_namespace: str = Field("urn:cpex:profile:1.0", alias="schema", min_length=1)
    mapping: str | None = None
    # Identifier systems besides its own (partner:<id>) the partner is trusted to assert; keys
    # of any other system in its records are refused with the record, or stripped.
    trusted_identifiers: tuple[str, ...] = ()
    foreign_identifiers: ForeignIdentifiers = ForeignIdentifiers.REJECT
    format: Literal["cpex", "xml", "json", "csv"] = "cpex"
    json_schema: str | None = None
    samples: tuple[str, ...] = ()

    @field_validator("trusted_identifiers")
    @classmethod
    def _system_codes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [s for s in value if not SYSTEM_CODE.match(s)]
        if bad:
            raise ValueError(f"not a system code: {', '.join(map(repr, bad))}")
        return value

    @model_validator(mode="after")
    def _own_format_needs_mapping(self) -> InboundSpec:
        if self.format != "cpex" and self.mapping is None:
            raise ValueError(f"format '{self.format}' needs the 'mapping' that reads it")
        if self.json_schema is not None and self.format != "json":
            raise ValueError("'json_schema' is for format 'json'")
        return self


class RestEndpoint(_Section):
    kind: Literal["rest"]
    url: str = Field(pattern=r"^https?://")
    format: Literal["xml", "json"] = "xml"


class SoapEndpoint(_Section):
    kind: Literal["soap"]
    wsdl: str = Field(min_length=1)
    operation: str = Field(min_length=1)


class WebhookEndpoint(_Section):
    kind: Literal["webhook"]
    url: str = Field(pattern=r"^https?://")


Endpoint = Annotated[RestEndpoint | SoapEndpoint | WebhookEndpoint, Field(discriminator="kind")]


class OutboundSpec(_Section):
    """Where and how profile changes are delivered to the partner (used by the dispatcher)."""

    mapping: str | None = None
    schema_namespace: str = Field("urn:cpex:profile:1.0", alias="schema", min_length=1)
    endpoint: Endpoint


class PrivacySpec(_Section):
    """What the partner may receive: see :class:`gateway.privacy.DisclosurePolicy`."""

    recipient: Recipient
    purposes: tuple[Purpose, ...] = Field(min_length=1)
    categories: tuple[DataCategory, ...] = ()
    fields: tuple[str, ...] = ()
    identifier_systems: tuple[str, ...] | None = None  # default: the partner's own system

    @field_validator("fields")
    @classmethod
    def _known_fields(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(value) - known_field_paths())
        if unknown:
            raise ValueError(
                f"unknown field path(s) {', '.join(unknown)}; known: "
                + ", ".join(sorted(known_field_paths()))
            )
        return value

    @field_validator("purposes")
    @classmethod
    def _no_repeats(cls, value: tuple[Purpose, ...]) -> tuple[Purpose, ...]:
        if len(set(value)) != len(value):
            raise ValueError("a purpose is listed twice")
        return value


class RateLimit(_Section):
    requests: int = Field(ge=1)
    per_seconds: int = Field(60, ge=1, le=86400)


class PartnerSpec(_Section):
    """One partner file."""

    version: int
    id: str = Field(pattern=PARTNER_ID.pattern)
    name: str = Field(min_length=1, max_length=200)
    operations: tuple[Operation, ...] = ()
    auth: AuthSpec = AuthSpec()
    inbound: InboundSpec | None = None
    outbound: OutboundSpec | None = None
    privacy: PrivacySpec
    rate_limit: RateLimit | None = None

    @field_validator("version")
    @classmethod
    def _supported(cls, value: int) -> int:
        if value not in SUPPORTED_VERSIONS:
            raise ValueError(
                f"unsupported version {value} (this gateway reads {SUPPORTED_VERSIONS})"
            )
        return value

    @model_validator(mode="after")
    def _inbound_for_upsert(self) -> PartnerSpec:
        if Operation.UPSERT in self.operations and self.inbound is None:
            raise ValueError("operation 'upsert' needs an [inbound] section")
        return self

    @property
    def system(self) -> str:
        """The partner's system code: the ``Sender`` of its envelopes and the identifier system of
        its records (``partner:<id>``, as in the CPEX samples)."""
        return f"{SYSTEM_PREFIX}{self.id}"

    def allows(self, operation: Operation) -> bool:
        return operation in self.operations

    @property
    def identifier_trust(self) -> IdentifierTrust:
        """The identifier systems the partner may assert in its records, and what becomes of
        the others (:meth:`IdentifierTrust.screen`)."""
        inbound = self.inbound or InboundSpec()
        return IdentifierTrust(
            self.system, frozenset(inbound.trusted_identifiers), inbound.foreign_identifiers
        )

    @property
    def policy(self) -> DisclosurePolicy:
        """The partner's disclosure policy, for :func:`gateway.privacy.disclose`."""
        p = self.privacy
        systems = p.identifier_systems if p.identifier_systems is not None else (self.system,)
        return DisclosurePolicy(
            partner=self.id,
            recipient=p.recipient,
            purposes=p.purposes,
            categories=frozenset(p.categories),
            fields=frozenset(p.fields),
            identifier_systems=frozenset(systems),
            system=self.system,
        )
