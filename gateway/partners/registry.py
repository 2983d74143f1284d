"""The partner registry: every ``config/partners/*.toml`` file, read and checked at start.

One file per partner, named after its id. A wrong file stops the start with a
:class:`~gateway.errors.ConfigError` naming the file and the dotted key (``privacy.purposes.1``),
never a value from it (a password hash is a secret). ``check_references`` adds what needs the
rest of the gateway: the schemas named are registered, the mapping files exist.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from gateway.bundled import bundled_dir
from gateway.config import Settings
from gateway.config_files import config_error, read_toml
from gateway.errors import ConfigError, PermissionDeniedError, UnknownSchemaError
from gateway.partners.spec import PartnerSpec
from gateway.xml.schemas import SchemaRegistry

log = logging.getLogger(__name__)

PARTNERS_FOLDER = "partners"
MAPPING_SUFFIXES = (".yaml", ".yml", ".toml")


def partners_dir(settings: Settings) -> Path:
    """``partners/`` beside the settings file (``config/partners``), or under ``config/`` of the
    project folder when the gateway runs on built-in defaults."""
    if settings.source != "defaults":
        source = Path(settings.source)
        if source.is_file():
            return source.resolve().parent / PARTNERS_FOLDER
    local = Path(settings.base_dir) / "config" / PARTNERS_FOLDER
    if local.is_dir():
        return local
    return bundled_dir("config") / PARTNERS_FOLDER


@dataclass(frozen=True)
class PartnerRegistry:
    """Partners by id. Immutable: a changed file takes effect at the next start."""

    folder: Path
    partners: dict[str, PartnerSpec]

    def __iter__(self) -> Iterator[PartnerSpec]:
        return iter(sorted(self.partners.values(), key=lambda p: p.id))

    def __len__(self) -> int:
        return len(self.partners)

    def find(self, partner_id: str | None) -> PartnerSpec | None:
        return self.partners.get(partner_id or "")

    def require(self, partner_id: str | None) -> PartnerSpec:
        """The partner a credential names.

        :raises PermissionDeniedError: no partner with that id is registered (a key issued for a
            partner whose file was since removed).
        """
        partner = self.find(partner_id)
        if partner is None:
            raise PermissionDeniedError(
                f"partner '{partner_id}' is not registered in {self.folder.name}/"
            )
        return partner

    def by_username(self, kind: str, username: str) -> PartnerSpec | None:
        """The partner whose ``auth.<kind>`` login (``basic`` or ``ws_security``) has this name."""
        for partner in self.partners.values():
            login = getattr(partner.auth, kind)
            if login is not None and login.username == username:
                return partner
        return None


def load_partners(folder: str | Path) -> PartnerRegistry:
    """Read and check every ``*.toml`` file of ``folder`` (a missing folder is no partners).

    :raises ConfigError: with the file and the dotted key of the first problem.
    """
    folder = Path(folder)
    partners: dict[str, PartnerSpec] = {}
    usernames: dict[tuple[str, str], str] = {}
    for path in sorted(folder.glob("*.toml")) if folder.is_dir() else []:
        spec = read_partner_file(path)
        if spec.id in partners:
            raise ConfigError(f"partner id '{spec.id}' is used twice", file=str(path), key="id")
        for kind in ("basic", "ws_security"):
            login = getattr(spec.auth, kind)
            if login is None:
                continue
            other = usernames.setdefault((kind, login.username), spec.id)
            if other != spec.id:
                raise ConfigError(
                    f"user name is also used by partner '{other}'",
                    file=str(path),
                    key=f"auth.{kind}.username",
                )
        partners[spec.id] = spec
    log.info("partner registry: %d partners from %s", len(partners), folder)
    return PartnerRegistry(folder, partners)


def read_partner_file(path: Path) -> PartnerSpec:
    """One partner file, checked; its id must be its file name.

    :raises ConfigError: naming ``path`` and the dotted key.
    """
    data = read_toml(path)
    if "version" not in data:
        raise ConfigError("missing key (this gateway reads version = 1)", file=str(path),
                          key="version")
    try:
        spec = PartnerSpec.model_validate(data)
    except ValidationError as exc:
        raise config_error(
            exc, file=str(path),
            unknown_hint="see config/partners/README.md for the keys a partner file has",
        ) from None
    if spec.id != path.stem:
        raise ConfigError(
            f"the partner id must be the file name ('{path.stem}')", file=str(path), key="id"
        )
    return spec


def check_references(
    registry: PartnerRegistry, schemas: SchemaRegistry, mappings_dir: Path
) -> list[ConfigError]:
    """Problems between the partner files and the rest of the gateway (empty: all good)."""
    problems: list[ConfigError] = []
    for partner in registry:
        file = str(registry.folder / f"{partner.id}.toml")
        for section in ("inbound", "outbound"):
            part = getattr(partner, section)
            if part is None:
                continue
            try:
                schemas.entry(part.schema_namespace)
            except UnknownSchemaError as exc:
                problems.append(ConfigError(exc.message, file=file, key=f"{section}.schema"))
            if part.mapping and not any(
                (mappings_dir / f"{part.mapping}{suffix}").is_file()
                for suffix in MAPPING_SUFFIXES
            ):
                problems.append(
                    ConfigError(
                        f"no mapping file '{part.mapping}' in {mappings_dir}",
                        file=file,
                        key=f"{section}.mapping",
                    )
                )
    return problems

