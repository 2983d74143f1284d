"""Golden profiles and the source records they are built from.

:meth:`ProfileStore.save_source_profile` stores one source system's record and resolves its
identity (:mod:`gateway.identity`), in one transaction: the source record (raw payload, mapped
document, hash), its match keys, the golden profile recomputed from *all* its linked records by
survivorship (document, lineage, hash, version), identifiers, consents, review items and one
audit row per change. The result lists the golden changes: the pipeline writes its outbox rows
from them inside the same transaction (:meth:`ProfileStore.save_in_transaction`).

Outcomes: ``created`` (a new golden profile), ``updated`` (a known source record changed),
``merged`` (a new source record joined an existing golden profile: same identifier, e-mail,
phone or a fuzzy score above the merge threshold), ``review`` (a review item was opened; the
record is stored either way), ``unchanged`` (same mapped content as last time: nothing written).

The hash of a source record is taken over the *mapped* profile, not the raw payload: a resent
file that differs only in formatting is "unchanged", and a mapping fix that changes the result of
the same payload is an update instead of being skipped for ever.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.sql.elements import ColumnElement

from gateway.errors import ModelError, NotFoundError, PreconditionFailedError, StoreError
from gateway.identity import blocking, golden, normalize, review
from gateway.identity.documents import GoldenChange, content_hash, new_golden_id
from gateway.identity.rules import IdentityRules
from gateway.model import Profile, from_dict, to_dict
from gateway.pipeline import outbox
from gateway.store import chunk, match_models
from gateway.store.engine import store_error, write_transaction
from gateway.store.records import IncomingRecord, SaveOutcome, SaveResult
from gateway.store.tables import (
    audit_log,
    golden_alias,
    golden_profile,
    identifier,
    match_key,
    source_record,
)

log = logging.getLogger(__name__)

#: The source system of admins' corrections (:meth:`ProfileStore.edit`).
ADMIN_SOURCE = "gateway-admin"


class VersionConflictError(PreconditionFailedError):
    """A write based on a version of a golden profile that is no longer current (HTTP 412)."""

    code = "version_conflict"

    def __init__(self, golden_id: str, expected: int, current: int) -> None:
        self.golden_id = golden_id
        self.expected = expected
        self.current = current
        read = f"not {expected}" if expected >= 0 else "not the version given in If-Match"
        super().__init__(
            f"golden profile {golden_id} is at version {current}, {read}: "
            "read it again and reapply the change"
        )


__all__ = [
    "FieldSource",
    "GoldenChange",
    "IncomingRecord",
    "ProfileStore",
    "ProfileSummary",
    "SaveOutcome",
    "SaveResult",
    "SourceRecordSummary",
    "VersionConflictError",
    "content_hash",
    "new_golden_id",
    "prepare_record",
]


@dataclass(frozen=True, slots=True)
class ProfileSummary:
    """One line of a profile listing."""

    id: str
    display_name: str | None
    version: int
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class SourceRecordSummary:
    """A source record linked to a golden profile (what unmerge takes the id of)."""

    id: int
    source_system: str
    source_key: str
    received_at: datetime


class FieldSource(NamedTuple):
    """Where a golden field's value came from."""

    source_system: str
    source_key: str
    received_at: datetime


class ProfileStore:
    """The CRM base's golden profiles: saving source profiles, resolving identity, reading."""

    def __init__(self, engine: Engine, rules: IdentityRules | None = None) -> None:
        """:param rules: the ``[identity]`` settings (``IdentityRules.from_settings``); the
        built-in defaults when None."""
        self._engine = engine
        self._rules = rules or IdentityRules()
        self._active = match_models.ActiveRules(self._rules)

    @property
    def engine(self) -> Engine:
        return self._engine

    @property
    def rules(self) -> IdentityRules:
        return self._rules

    def rules_on(self, conn: Connection) -> IdentityRules:
        """The rules with the match model in force: the newest trained version, else the
        configured one."""
        return self._active.on(conn)

    @property
    def reviews(self) -> review.ReviewQueue:
        """The review queue on the same database and rules."""
        return review.ReviewQueue(self._engine, self._rules)

    # --- writing ----------------------------------------------------------------------------

    def save_source_profile(
        self,
        profile: Profile,
        *,
        source_system: str,
        raw: bytes | str,
        received_at: datetime | None = None,
        actor: str = "import",
    ) -> SaveResult:
        """Store one source system's profile and fold it into its golden profile.

        The record's key in its system is the profile's identifier for ``source_system``. A
        known record updates its golden profile; a new one is matched (identifiers, e-mail,
        phone, then fuzzy within its blocks) and joins a golden profile or gets a new one. A
        record whose mapped content is the same as last time is "unchanged" and writes nothing.

        :param raw: the payload as received; bytes must be UTF-8 (readers decode other encodings).
        :raises ModelError: the profile has no identifier for ``source_system``.
        :raises StoreError: the raw payload is not UTF-8, or the database failed; nothing of the
            record is stored then.
        """
        incoming = prepare_record(profile, source_system, raw, received_at, actor)
        try:
            with write_transaction(self._engine) as conn:
                (result,) = chunk.save_chunk(conn, [incoming], self.rules_on(conn))
        except SQLAlchemyError as exc:
            raise store_error(f"saving source record {incoming.label}", exc) from exc
        log.debug("source record %s: %s %s", incoming.label, result.outcome, result.golden_id)
        return result

    def save_in_transaction(
        self,
        conn: Connection,
        profile: Profile,
        *,
        source_system: str,
        raw: bytes | str,
        received_at: datetime | None = None,
        actor: str = "import",
    ) -> SaveResult:
        """:meth:`save_source_profile` inside the caller's transaction (``write_transaction``).

        For the pipeline: it adds its outbox rows from ``result.changes`` before committing, and
        may store many records per transaction. Driver errors are left to the caller.
        """
        incoming = prepare_record(profile, source_system, raw, received_at, actor)
        (result,) = chunk.save_chunk(conn, [incoming], self.rules_on(conn))
        return result

    def save_many(self, conn: Connection, records: Sequence[IncomingRecord]) -> list[SaveResult]:
        """Save a chunk of prepared records in the caller's transaction, in their order.

        Gives the same results as saving them one by one, in a few statements per chunk
        (:mod:`gateway.store.chunk`): what the records share with the base is read in bulk,
        the one-by-one resolution is replayed in memory, and the end state is written with one
        executemany per table. Driver errors are left to the caller, which retries the chunk
        record by record to tell the bad record from the good ones.
        """
        return chunk.save_chunk(conn, records, self.rules_on(conn))

    def unmerge(self, golden_id: str, source_record_id: int, *, actor: str = "admin") -> str:
        """Detach a source record into a golden profile of its own; both are recomputed from
        their remaining records and the pair is remembered as kept apart.

        :returns: the new golden id.
        :raises NotFoundError: no such golden profile (or alias), or no such source record
            linked to it (another profile's record is not found either: its id is not told).
        :raises ConflictError: the record is the profile's only record.
        """
        try:
            with write_transaction(self._engine) as conn:
                current = self._resolve_in(conn, golden_id)
                old, created = golden.detach(
                    conn, current, source_record_id, self._rules, datetime.now(UTC), actor=actor
                )
                outbox.write_changes(conn, (old, created), cause={"action": "unmerge"})
        except SQLAlchemyError as exc:
            raise store_error(f"unmerging {source_record_id} from {golden_id}", exc) from exc
        return created.golden_id

    def merge(self, a: str, b: str, *, actor: str = "admin") -> str:
        """Merge two golden profiles by hand: the older id survives, the other is its alias.

        :returns: the surviving id.
        """
        try:
            with write_transaction(self._engine) as conn:
                ids = sorted({self._resolve_in(conn, a), self._resolve_in(conn, b)})
                if len(ids) == 2:
                    change = golden.merge(
                        conn, ids[0], ids[1], self._rules, datetime.now(UTC), actor=actor
                    )
                    outbox.write_changes(conn, (change,), cause={"action": "merge"})
        except SQLAlchemyError as exc:
            raise store_error(f"merging {a} and {b}", exc) from exc
        return ids[0]

    def edit(
        self,
        golden_id: str,
        profile: Profile,
        *,
        expected_version: int,
        actor: str = "admin",
    ) -> SaveResult:
        """An admin's correction of a golden profile, checked against the version read.

        The correction is a source record of its own (system :data:`ADMIN_SOURCE`, key: the
        golden id), linked to the profile and folded in by survivorship like any other: the
        golden profile stays the result of its source records, and a later unmerge or recompute
        keeps the correction. ``expected_version`` is the version the admin saw (the ETag).

        :raises NotFoundError: no such golden profile (an alias answers for its survivor).
        :raises VersionConflictError: the profile's version is not ``expected_version``;
            nothing is changed.
        """
        document = to_dict(dataclasses.replace(profile, id=None))
        try:
            with write_transaction(self._engine) as conn:
                current = self._resolve_in(conn, golden_id)
                golden.lock(conn, current)
                version = conn.execute(
                    select(golden_profile.c.version).where(golden_profile.c.id == current)
                ).scalar_one()
                if version != expected_version:
                    raise VersionConflictError(current, expected_version, version)
                incoming = IncomingRecord(
                    profile=profile,
                    document=document,
                    content_hash=content_hash(document),
                    source_system=ADMIN_SOURCE,
                    source_key=current,
                    raw=json.dumps(document, sort_keys=True, ensure_ascii=False),
                    received_at=datetime.now(UTC),
                    actor=actor,
                    target=current,
                )
                (result,) = chunk.save_chunk(conn, [incoming], self.rules_on(conn))
                outbox.write_changes(conn, result.changes, cause={"action": "edit"})
        except SQLAlchemyError as exc:
            raise store_error(f"editing golden profile {golden_id}", exc) from exc
        return result

    def version_of(self, golden_id: str) -> tuple[str, int]:
        """(current id, version) of a golden profile: what an ETag is made from.

        :raises NotFoundError: no such golden profile.
        """
        try:
            with self._engine.connect() as conn:
                current = self._resolve_in(conn, golden_id)
                version = conn.execute(
                    select(golden_profile.c.version).where(golden_profile.c.id == current)
                ).scalar_one()
        except SQLAlchemyError as exc:
            raise store_error(f"reading the version of {golden_id}", exc) from exc
        return current, int(version)

    def search(
        self,
        *,
        email: str | None = None,
        phone: str | None = None,
        name: str | None = None,
        postcode: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[int, list[ProfileSummary]]:
        """Golden profiles matching every criterion given, in id order: (total, page).

        E-mail and phone are compared normalised (through the match keys, so any linked
        record's address or number finds the profile); the postcode normalised; the name as a
        case-insensitive part of the display name.
        """
        g = golden_profile.c
        conditions: list[ColumnElement[bool]] = []
        keys: list[ColumnElement[bool]] = []
        if email is not None:
            keys.append(match_key.c.key == f"{blocking.EMAIL}:{normalize.email(email) or email}")
        if phone is not None:
            number = normalize.phone(phone, self._rules.default_region) or phone
            keys.append(match_key.c.key == f"{blocking.PHONE}:{number}")
        if postcode is not None:
            prefix = f"{blocking.POSTCODE_INITIAL}:{normalize.postcode(postcode)}:"
            keys.append(match_key.c.key.startswith(prefix, autoescape=True))
        for condition in keys:
            conditions.append(g.id.in_(select(match_key.c.golden_id).where(condition)))
        if name is not None:
            conditions.append(func.lower(g.display_name).contains(name.lower(), autoescape=True))
        page = (
            select(g.id, g.display_name, g.version, g.updated_at)
            .where(*conditions)
            .order_by(g.id)
            .limit(limit)
            .offset(offset)
        )
        total = select(func.count()).select_from(golden_profile).where(*conditions)
        try:
            with self._engine.connect() as conn:
                return (
                    int(conn.execute(total).scalar_one()),
                    [ProfileSummary(*row) for row in conn.execute(page)],
                )
        except SQLAlchemyError as exc:
            raise store_error("searching golden profiles", exc) from exc

    # --- reading ----------------------------------------------------------------------------

    def resolve_id(self, golden_id: str) -> str:
        """The current id of a golden profile: itself, or the survivor of a merge it was in.

        :raises NotFoundError: neither a golden profile nor an alias of one.
        """
        try:
            with self._engine.connect() as conn:
                return self._resolve_in(conn, golden_id)
        except SQLAlchemyError as exc:
            raise store_error(f"resolving golden id {golden_id}", exc) from exc

    def get(self, golden_id: str) -> Profile:
        """The golden profile, with ``id`` set; an alias answers with its survivor.

        :raises NotFoundError: no golden profile has that id (nor had it before a merge).
        """
        target = func.coalesce(
            select(golden_alias.c.golden_id)
            .where(golden_alias.c.alias_id == golden_id)
            .scalar_subquery(),
            golden_id,
        )
        query = select(golden_profile.c.id, golden_profile.c.document).where(
            golden_profile.c.id == target
        )
        try:
            with self._engine.connect() as conn:
                row = conn.execute(query).first()
        except SQLAlchemyError as exc:
            raise store_error(f"reading golden profile {golden_id}", exc) from exc
        if row is None:
            raise NotFoundError("golden profile", golden_id)
        return _profile(row.id, row.document)

    def lineage(self, golden_id: str) -> dict[str, FieldSource]:
        """For each field of the golden profile (``person.given_name``, ``emails`` ...), the
        source record it came from and that record's time of receipt.

        :raises NotFoundError: no such golden profile (an alias answers for its survivor).
        """
        try:
            with self._engine.connect() as conn:
                current = self._resolve_in(conn, golden_id)
                paths = golden.lineage_of(conn, current) or {}
                s = source_record.c
                received = {
                    (row.source_system, row.source_key): row.received_at
                    for row in conn.execute(
                        select(s.source_system, s.source_key, s.received_at).where(
                            s.golden_id == current
                        )
                    )
                }
        except SQLAlchemyError as exc:
            raise store_error(f"reading the lineage of {golden_id}", exc) from exc
        return {
            path: FieldSource(system, key, received[(system, key)])
            for path, (system, key) in sorted(paths.items())
            if (system, key) in received
        }

    def source_records(self, golden_id: str) -> list[SourceRecordSummary]:
        """The source records linked to a golden profile, oldest first.

        :raises NotFoundError: no such golden profile (an alias answers for its survivor).
        """
        s = source_record.c
        try:
            with self._engine.connect() as conn:
                current = self._resolve_in(conn, golden_id)
                rows = conn.execute(
                    select(s.id, s.source_system, s.source_key, s.received_at)
                    .where(s.golden_id == current)
                    .order_by(s.received_at, s.id)
                ).all()
        except SQLAlchemyError as exc:
            raise store_error(f"listing source records of {golden_id}", exc) from exc
        return [SourceRecordSummary(*row) for row in rows]

    def matches(self, golden_id: str) -> dict[tuple[str, str], dict[str, Any]]:
        """How each linked source record was matched when it arrived, by (system, key): the
        ``match`` of its audit row (via, model version, probability, each field's level and
        weight). Records that created their profile, or were linked by hand, have none.

        :raises NotFoundError: no such golden profile (an alias answers for its survivor).
        """
        a = audit_log.c
        try:
            with self._engine.connect() as conn:
                current = self._resolve_in(conn, golden_id)
                ids = [
                    current,
                    *conn.execute(
                        select(golden_alias.c.alias_id).where(golden_alias.c.golden_id == current)
                    ).scalars(),
                ]
                rows = conn.execute(
                    select(a.detail)
                    .where(a.golden_id.in_(ids), a.action == "golden.update")
                    .order_by(a.id)
                )
                found = {
                    (d["source_system"], d["source_key"]): d["match"]
                    for (d,) in rows
                    if d and d.get("match") and "source_key" in d
                }
        except SQLAlchemyError as exc:
            raise store_error(f"reading the matches of {golden_id}", exc) from exc
        return found

    def find_by_identifier(self, system: str, key: str) -> Profile | None:
        """The golden profile that holds identifier ``system``/``key``, if any."""
        query = (
            select(golden_profile.c.id, golden_profile.c.document)
            .join(identifier, identifier.c.golden_id == golden_profile.c.id)
            .where(identifier.c.system == system, identifier.c.key == key)
        )
        try:
            with self._engine.connect() as conn:
                row = conn.execute(query).first()
        except SQLAlchemyError as exc:
            raise store_error(f"finding identifier {system}/{key}", exc) from exc
        return None if row is None else _profile(row.id, row.document)

    def count(self) -> int:
        """How many golden profiles there are (aliases not counted)."""
        query = select(func.count()).select_from(golden_profile)
        try:
            with self._engine.connect() as conn:
                return int(conn.execute(query).scalar() or 0)
        except SQLAlchemyError as exc:
            raise store_error("counting golden profiles", exc) from exc

    def list_ids(self, limit: int = 100, offset: int = 0) -> list[str]:
        """A page of golden ids in id order: stable for paging, and creation order to the
        millisecond (ids start with a timestamp)."""
        return [summary.id for summary in self.list_summaries(limit, offset)]

    def list_summaries(self, limit: int = 100, offset: int = 0) -> list[ProfileSummary]:
        """A page of (id, display name, version, updated) in id order, without the documents."""
        if limit < 0 or offset < 0:
            raise ValueError(f"limit and offset must not be negative (got {limit}, {offset})")
        g = golden_profile.c
        query = select(g.id, g.display_name, g.version, g.updated_at).order_by(g.id)
        query = query.limit(limit).offset(offset)
        try:
            with self._engine.connect() as conn:
                return [ProfileSummary(*row) for row in conn.execute(query)]
        except SQLAlchemyError as exc:
            raise store_error("listing golden profiles", exc) from exc

    @staticmethod
    def _resolve_in(conn: Connection, golden_id: str) -> str:
        current = golden.resolve(conn, golden_id)
        exists = conn.execute(
            select(golden_profile.c.id).where(golden_profile.c.id == current)
        ).scalar()
        if exists is None:
            raise NotFoundError("golden profile", golden_id)
        return current


# --- the save, step by step (all inside the caller's transaction) ---------------------------


def prepare_record(
    profile: Profile,
    source_system: str,
    raw: bytes | str,
    received_at: datetime | None,
    actor: str,
) -> IncomingRecord:
    keys = [i.key for i in profile.identifiers if i.system == source_system]
    if not keys:
        raise ModelError(
            f"no identifier for source system '{source_system}': a source record needs its key",
            path="Profile.identifiers",
        )
    source_key = keys[0]
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise StoreError(
                f"raw payload of source record {source_system}/{source_key} is not UTF-8 "
                f"(byte {exc.start})"
            ) from exc
    document = to_dict(profile)
    document.pop("id", None)  # the golden id is not part of a source record's content
    return IncomingRecord(
        profile=profile,
        document=document,
        content_hash=content_hash(document),
        source_system=source_system,
        source_key=source_key,
        raw=raw,
        received_at=received_at or datetime.now(UTC),
        actor=actor,
    )


def _profile(golden_id: str, document: dict[str, Any]) -> Profile:
    return dataclasses.replace(from_dict(Profile, document), id=golden_id)


# --- a chunk at once: gateway.store.chunk ------------------------------------------------------
