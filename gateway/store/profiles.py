"""Golden profiles and the source records they are built from.

A source system sends one profile per customer; :meth:`ProfileStore.save_source_profile` links it
to a golden profile by exact identifier match (fuzzy matching, review and survivorship come
later) and keeps, in one transaction: the golden row (document, hash, version), the source record
(raw payload and the hash of its mapped profile), the identifiers, the consents and one audit row.

The hash of a source record is taken over the *mapped* profile, not the raw payload: a resent
file that differs only in formatting is "unchanged", and a mapping fix that changes the result of
the same payload is an update instead of being skipped for ever.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import Connection, Engine, delete, func, insert, select, tuple_, update
from sqlalchemy.exc import SQLAlchemyError

from gateway.errors import ModelError, NotFoundError, StoreError
from gateway.model import Identifier, Profile, from_dict, to_dict
from gateway.store import audit
from gateway.store.engine import store_error, write_transaction
from gateway.store.tables import consent, golden_profile, identifier, source_record

log = logging.getLogger(__name__)

SaveOutcome = Literal["created", "updated", "unchanged"]


@dataclass(frozen=True, slots=True)
class SaveResult:
    """What :meth:`ProfileStore.save_source_profile` did with one source record."""

    golden_id: str
    outcome: SaveOutcome


@dataclass(frozen=True, slots=True)
class ProfileSummary:
    """One line of a profile listing."""

    id: str
    display_name: str | None
    version: int
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class _Incoming:
    """One source record on its way in, with what is computed before the transaction."""

    profile: Profile
    document: dict[str, Any]
    content_hash: str
    source_system: str
    source_key: str
    raw: str
    received_at: datetime
    actor: str

    @property
    def label(self) -> str:
        return f"{self.source_system}/{self.source_key}"


class ProfileStore:
    """The CRM base's golden profiles: saving source profiles and reading golden ones."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

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

        The record's key in its system is the profile's identifier for ``source_system``. If any
        identifier of the profile is known, that golden profile is updated (its document becomes
        this profile, keeping identifiers it already had); otherwise a golden profile is created.
        A record whose mapped content is the same as last time is "unchanged" and writes nothing.

        :param raw: the payload as received; bytes must be UTF-8 (readers decode other encodings).
        :raises ModelError: the profile has no identifier for ``source_system``.
        :raises StoreError: the identifiers belong to several golden profiles, the raw payload is
            not UTF-8, or the database failed; nothing of the record is stored then.
        """
        incoming = _prepare(profile, source_system, raw, received_at, actor)
        try:
            with write_transaction(self._engine) as conn:
                result = _save(conn, incoming)
        except SQLAlchemyError as exc:
            raise store_error(f"saving source record {incoming.label}", exc) from exc
        log.debug("source record %s: %s %s", incoming.label, result.outcome, result.golden_id)
        return result

    def get(self, golden_id: str) -> Profile:
        """The golden profile, with ``id`` set.

        :raises NotFoundError: no golden profile has that id.
        """
        query = select(golden_profile.c.document).where(golden_profile.c.id == golden_id)
        document = self._read(f"reading golden profile {golden_id}", query)
        if document is None:
            raise NotFoundError("golden profile", golden_id)
        return _profile(golden_id, document)

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
        """How many golden profiles there are."""
        query = select(func.count()).select_from(golden_profile)
        return int(self._read("counting golden profiles", query) or 0)

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

    def _read(self, action: str, query: Any) -> Any:
        """The first column of the first row of ``query``, or None."""
        try:
            with self._engine.connect() as conn:
                return conn.execute(query).scalar()
        except SQLAlchemyError as exc:
            raise store_error(action, exc) from exc


def new_golden_id() -> str:
    """``gp_`` + 12 hex digits of milliseconds since the epoch + 80 random bits.

    Time first, so ids sort in creation order and B-tree inserts stay at the right edge (as
    with ULIDs); the random part makes collisions between processes negligible.
    """
    return f"gp_{time.time_ns() // 1_000_000:012x}{secrets.token_hex(10)}"


def content_hash(document: dict[str, Any]) -> str:
    """sha256 of the document's canonical JSON (sorted keys, no spaces)."""
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --- the save, step by step (all inside the caller's transaction) ---------------------------


def _prepare(
    profile: Profile,
    source_system: str,
    raw: bytes | str,
    received_at: datetime | None,
    actor: str,
) -> _Incoming:
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
    document = _document(profile)
    return _Incoming(
        profile=profile,
        document=document,
        content_hash=content_hash(document),
        source_system=source_system,
        source_key=source_key,
        raw=raw,
        received_at=received_at or datetime.now(UTC),
        actor=actor,
    )


def _save(conn: Connection, incoming: _Incoming) -> SaveResult:
    previous = conn.execute(
        select(source_record.c.id, source_record.c.golden_id, source_record.c.content_hash).where(
            source_record.c.source_system == incoming.source_system,
            source_record.c.source_key == incoming.source_key,
        )
    ).first()
    if previous is not None and previous.content_hash == incoming.content_hash:
        return SaveResult(previous.golden_id, "unchanged")

    golden_id = _match(conn, incoming)
    if golden_id is None:
        golden_id, version, fields = _create_golden(conn, incoming)
        outcome: SaveOutcome = "created"
    else:
        version, fields = _update_golden(conn, golden_id, incoming)
        outcome = "updated"

    values = {
        "golden_id": golden_id,
        "raw": incoming.raw,
        "content_hash": incoming.content_hash,
        "received_at": incoming.received_at,
    }
    if previous is None:
        conn.execute(
            insert(source_record),
            {**values, "source_system": incoming.source_system, "source_key": incoming.source_key},
        )
    else:
        conn.execute(update(source_record).where(source_record.c.id == previous.id), values)

    audit.record(
        conn,
        actor=incoming.actor,
        action=f"golden.{'create' if outcome == 'created' else 'update'}",
        golden_id=golden_id,
        fields=fields,
        detail={
            "source_system": incoming.source_system,
            "source_key": incoming.source_key,
            "version": version,
        },
    )
    return SaveResult(golden_id, outcome)


def _match(conn: Connection, incoming: _Incoming) -> str | None:
    """The one golden profile that holds any of the identifiers, or None.

    :raises StoreError: they belong to more than one: merging golden profiles needs review.
    """
    pairs = [(i.system, i.key) for i in incoming.profile.identifiers]
    found = sorted(
        conn.execute(
            select(identifier.c.golden_id)
            .where(tuple_(identifier.c.system, identifier.c.key).in_(pairs))
            .distinct()
        ).scalars()
    )
    if len(found) > 1:
        raise StoreError(
            f"identifiers of source record {incoming.label} belong to {len(found)} golden "
            f"profiles ({', '.join(found)}): merging them needs review"
        )
    return found[0] if found else None


def _create_golden(conn: Connection, incoming: _Incoming) -> tuple[str, int, list[str]]:
    """Insert a golden profile from the incoming one; returns id, version, fields written."""
    golden_id = new_golden_id()
    golden = dataclasses.replace(
        incoming.profile, id=None, identifiers=_merge_identifiers(incoming.profile.identifiers, ())
    )
    document = to_dict(golden)
    now = datetime.now(UTC)
    conn.execute(
        insert(golden_profile),
        {
            "id": golden_id,
            "version": 1,
            "display_name": _display_name(golden),
            "document": document,
            "content_hash": content_hash(document),
            "created_at": now,
            "updated_at": now,
            "erased": False,
        },
    )
    _link_identifiers(conn, golden_id, golden.identifiers)
    _replace_consents(conn, golden_id, golden)
    return golden_id, 1, sorted(document)


def _update_golden(conn: Connection, golden_id: str, incoming: _Incoming) -> tuple[int, list[str]]:
    """Make the incoming profile the golden document; returns the version and fields changed.

    The row is locked (PostgreSQL) so that concurrent records for one customer take turns; the
    version check is the second guard, for writers that did not lock.
    """
    row = conn.execute(
        select(golden_profile.c.version, golden_profile.c.document, golden_profile.c.content_hash)
        .where(golden_profile.c.id == golden_id)
        .with_for_update()
    ).one()
    old = from_dict(Profile, row.document)
    golden = dataclasses.replace(
        incoming.profile,
        id=None,
        identifiers=_merge_identifiers(incoming.profile.identifiers, old.identifiers),
    )
    document = to_dict(golden)
    digest = content_hash(document)
    if digest == row.content_hash:
        return row.version, []
    version = row.version + 1
    changed = conn.execute(
        update(golden_profile)
        .where(golden_profile.c.id == golden_id, golden_profile.c.version == row.version)
        .values(
            version=version,
            display_name=_display_name(golden),
            document=document,
            content_hash=digest,
            updated_at=datetime.now(UTC),
        )
    )
    if changed.rowcount != 1:
        raise StoreError(f"golden profile {golden_id} was changed by another writer: retry")
    _link_identifiers(
        conn, golden_id, tuple(i for i in golden.identifiers if i not in old.identifiers)
    )
    _replace_consents(conn, golden_id, golden)
    return version, sorted(
        k for k in document.keys() | row.document.keys() if document.get(k) != row.document.get(k)
    )


def _merge_identifiers(
    new: tuple[Identifier, ...], old: tuple[Identifier, ...]
) -> tuple[Identifier, ...]:
    """The new identifiers first, then the old ones the new profile does not carry, no repeats.

    A golden profile never loses an identifier: the identifier table (used for matching) and the
    document must agree, and the other source records still point here.
    """
    return tuple(dict.fromkeys(new + old))


def _link_identifiers(
    conn: Connection, golden_id: str, identifiers: tuple[Identifier, ...]
) -> None:
    if identifiers:
        conn.execute(
            insert(identifier),
            [{"system": i.system, "key": i.key, "golden_id": golden_id} for i in identifiers],
        )


def _replace_consents(conn: Connection, golden_id: str, golden: Profile) -> None:
    """The consent rows mirror the golden document's consents (for policy queries)."""
    conn.execute(delete(consent).where(consent.c.golden_id == golden_id))
    if golden.consents:
        conn.execute(
            insert(consent),
            [
                {
                    "golden_id": golden_id,
                    "purpose": c.purpose.value,
                    "recipient": c.recipient.value,
                    "status": c.status.value,
                    "given_at": c.given,
                    "expires_at": c.expires,
                    "source": c.source,
                }
                for c in golden.consents
            ],
        )


# --- documents ----------------------------------------------------------------------------


def _document(profile: Profile) -> dict[str, Any]:
    """The stored JSON of a profile; the id is a column, not part of the document."""
    return to_dict(dataclasses.replace(profile, id=None))


def _profile(golden_id: str, document: dict[str, Any]) -> Profile:
    return dataclasses.replace(from_dict(Profile, document), id=golden_id)


def _display_name(profile: Profile) -> str | None:
    if profile.person is None and profile.organization is None:
        return None
    return profile.display_name[:200]
