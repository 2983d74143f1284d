"""The running gateway's shared parts, built from settings: engine, schema registry, store.

Nothing here is created at import time; the CLI and the Flask app factory each build one
:class:`Gateway` and close it when done.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine

from gateway.config import Settings
from gateway.xml.parser import XMLLimits
from gateway.xml.schemas import SchemaRegistry

if TYPE_CHECKING:
    from gateway.config_identity import IdentityConfig
    from gateway.mapping import MappingSet
    from gateway.mapping_admin import MappingAdmin
    from gateway.store.profiles import ProfileStore


@dataclass
class Gateway:
    settings: Settings
    _engine: Engine | None = field(default=None, repr=False)

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            from gateway.store.engine import make_engine

            self._engine = make_engine(self.settings.database_url, echo=self.settings.database.echo)
        return self._engine

    @cached_property
    def schemas(self) -> SchemaRegistry:
        return SchemaRegistry(self.settings.path("schemas"))

    @cached_property
    def mappings(self) -> MappingSet:
        """Every mapping file of the mappings folder, compiled (invalid ones reported)."""
        from gateway.mapping import MappingSet  # parts are imported when first used (CLI start-up)

        return MappingSet(self.settings.path("mappings"), schemas=self.schemas,
                          attributes=self.settings.attribute_declarations)

    @cached_property
    def mapping_admin(self) -> MappingAdmin:
        from gateway.mapping_admin import MappingAdmin
        from gateway.store.mapping_versions import MappingHistory

        return MappingAdmin(self.mappings, MappingHistory(self.engine))

    @cached_property
    def profiles(self) -> ProfileStore:
        """The CRM base store with the ``[identity]`` rules of the settings: the one place a
        store is built, so no caller can forget the configured thresholds and survivorship."""
        from gateway.identity.rules import IdentityRules
        from gateway.store.profiles import ProfileStore

        rules = IdentityRules.from_settings(self.settings.identity, self.identity_config)
        return ProfileStore(self.engine, rules)

    @cached_property
    def identity_config(self) -> IdentityConfig:
        """``identity.toml`` beside the settings file (``$CPEX_IDENTITY_FILE`` to choose
        another; the shipped one for a deployment without its own), checked: the default match
        model, blocking rules and merge vetoes."""
        import os

        from gateway.config_files import config_file
        from gateway.config_identity import IDENTITY_FILE, SHIPPED, load_identity_file

        path = config_file(self.settings, IDENTITY_FILE, "CPEX_IDENTITY_FILE")
        if not path.exists() and not os.environ.get("CPEX_IDENTITY_FILE"):
            path = SHIPPED
        return load_identity_file(path)

    def erase_person(
        self,
        conn: Connection,
        golden_id: str,
        *,
        actor: str,
        requested_by: str | None,
        message_id: str | None,
        now: datetime,
    ) -> None:
        """Erase a person on the caller's connection, the one way the gateway erases (profile,
        records, quarantine, outbox payloads, notices to earlier recipients). Here because the
        pipeline (an erase record of a batch) sits below the delivery package that sends the
        notices: the runtime is where the layers are put together."""
        from gateway.delivery.rights import erase_in_transaction

        erase_in_transaction(conn, golden_id, actor=actor, requested_by=requested_by,
                             message_id=message_id, now=now)

    def erase_for_source(
        self,
        conn: Connection,
        golden_id: str,
        *,
        source_system: str,
        actor: str,
        requested_by: str | None,
        message_id: str | None,
        now: datetime,
    ) -> None:
        """The erasure a source that holds a record of the person asks for: a partner's erases
        only what it contributed and files a request for the rest
        (:func:`gateway.delivery.partner_erasure.erase_contribution`); any other source's
        erases the person (:meth:`erase_person`)."""
        from gateway.delivery.partner_erasure import erase_contribution
        from gateway.privacy.trust import PARTNER_PREFIX

        if not source_system.startswith(PARTNER_PREFIX):
            self.erase_person(conn, golden_id, actor=actor, requested_by=requested_by,
                              message_id=message_id, now=now)
            return
        erase_contribution(
            conn, golden_id, partner=requested_by or source_system[len(PARTNER_PREFIX):],
            system=source_system, rules=self.profiles.rules,
            rest=self.settings.privacy.partner_erasure, message_id=message_id, now=now,
        )

    @property
    def xml_limits(self) -> XMLLimits:
        return self.settings.xml.limits

    def close(self) -> None:
        self.__dict__.pop("profiles", None)  # built on the engine disposed below
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
