"""Golden profiles on a connection, inside the caller's transaction: create, recompute from
linked source records, merge two, detach a record, resolve an alias.

Invariants kept here: a golden document is always :func:`build_golden` of its source records;
an identifier belongs to one golden profile (first come) and appears in that profile's document
only; the consent rows mirror the document; a merged-away id is an alias of its survivor (one
hop: aliases of an absorbed profile are moved on to the new survivor).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, false, func, insert, or_, select, update
from sqlalchemy.sql.elements import ColumnElement

from gateway.errors import ConflictError, NotFoundError, StoreError
from gateway.identity.documents import (
    ChangeKind,
    GoldenChange,
    content_hash,
    display_name,
    new_golden_id,
)
from gateway.identity.rules import IdentityRules
from gateway.identity.survivorship import Lineage, LinkedRecord, build_golden
from gateway.store import audit
from gateway.store.tables import (
    consent,
    golden_alias,
    golden_profile,
    identifier,
    match_key,
    match_rejection,
    review_item,
    source_record,
)


def resolve(conn: Connection, golden_id: str) -> str:
    """The surviving id for an alias, else the id itself (whether or not it exists)."""
    survivor = conn.execute(
        select(golden_alias.c.golden_id).where(golden_alias.c.alias_id == golden_id)
    ).scalar()
    return survivor if survivor is not None else golden_id


def lock(conn: Connection, golden_id: str) -> None:
    """Lock a golden profile's row for this transaction (PostgreSQL; SQLite's writer holds the
    database already).

    Taken *before* inserting rows that reference the profile: those inserts take a key-share
    lock on it, and two writers each holding that and then asking for the row lock deadlock.
    ``FOR NO KEY UPDATE`` does not conflict with key-share locks, so others can keep inserting.

    :raises NotFoundError: no such golden profile.
    """
    found = conn.execute(
        select(golden_profile.c.id)
        .where(golden_profile.c.id == golden_id)
        .with_for_update(key_share=True)
    ).scalar()
    if found is None:
        raise NotFoundError("golden profile", golden_id)


def recompute(
    conn: Connection,
    golden_id: str,
    rules: IdentityRules,
    now: datetime,
    kind: ChangeKind = "updated",
) -> GoldenChange:
    """Rebuild a golden profile from its linked source records and store it if it changed.

    The row is locked first (:func:`lock`), so concurrent records for one customer take turns;
    the version check is the second guard, for writers that did not lock. The change has no
    fields (and the version stays) when the document came out the same.

    :raises StoreError: the row changed under us, or the profile has no source record left.
    """
    row = conn.execute(
        select(golden_profile.c.version, golden_profile.c.document, golden_profile.c.content_hash)
        .where(golden_profile.c.id == golden_id)
        .with_for_update(key_share=True)
    ).first()
    if row is None:
        raise NotFoundError("golden profile", golden_id)
    records = load_records(conn, golden_id)
    if not records:
        raise StoreError(f"golden profile {golden_id} has no source record to be built from")
    document, lineage = build_golden(records, rules)
    _own_identifiers(conn, golden_id, document)
    digest = content_hash(document)
    if digest == row.content_hash:
        conn.execute(
            update(golden_profile).where(golden_profile.c.id == golden_id).values(lineage=lineage)
        )
        return GoldenChange(golden_id, kind, row.version, ())
    version = row.version + 1
    changed = conn.execute(
        update(golden_profile)
        .where(golden_profile.c.id == golden_id, golden_profile.c.version == row.version)
        .values(
            version=version,
            display_name=display_name(document),
            document=document,
            content_hash=digest,
            lineage=lineage,
            updated_at=now,
        )
    )
    if changed.rowcount != 1:
        raise StoreError(f"golden profile {golden_id} was changed by another writer: retry")
    if document.get("consents") != row.document.get("consents"):
        conn.execute(delete(consent).where(consent.c.golden_id == golden_id))
        _insert_consents(conn, golden_id, document)
    fields = sorted(
        k for k in document.keys() | row.document.keys() if document.get(k) != row.document.get(k)
    )
    return GoldenChange(golden_id, kind, version, tuple(fields))


def merge(
    conn: Connection,
    survivor: str,
    absorbed: str,
    rules: IdentityRules,
    now: datetime,
    *,
    actor: str,
    detail: Mapping[str, Any] | None = None,
) -> GoldenChange:
    """Move everything of ``absorbed`` to ``survivor``, keep ``absorbed`` as an alias, rebuild.

    :raises NotFoundError: either profile does not exist (an alias must be resolved first).
    """
    found = set(
        conn.execute(
            select(golden_profile.c.id)
            .where(golden_profile.c.id.in_((survivor, absorbed)))
            .with_for_update()
        ).scalars()
    )
    for golden_id in (survivor, absorbed):
        if golden_id not in found:
            raise NotFoundError("golden profile", golden_id)
    for table in (source_record, match_key, identifier, golden_alias):
        conn.execute(update(table).where(table.c.golden_id == absorbed).values(golden_id=survivor))
    conn.execute(delete(consent).where(consent.c.golden_id == absorbed))
    conn.execute(
        insert(golden_alias), {"alias_id": absorbed, "golden_id": survivor, "merged_at": now}
    )
    _move_rejections(conn, absorbed, survivor)
    _move_open_reviews(conn, absorbed, survivor, now)
    conn.execute(delete(golden_profile).where(golden_profile.c.id == absorbed))
    change = recompute(conn, survivor, rules, now, kind="merged")
    change = GoldenChange(survivor, "merged", change.version, change.fields, absorbed)
    audit.record(
        conn,
        actor=actor,
        action="golden.merge",
        golden_id=survivor,
        fields=change.fields,
        detail={"absorbed_id": absorbed, "version": change.version, **(detail or {})},
        at=now,
    )
    return change


def detach(
    conn: Connection,
    golden_id: str,
    source_record_id: int,
    rules: IdentityRules,
    now: datetime,
    *,
    actor: str,
) -> tuple[GoldenChange, GoldenChange]:
    """Give one source record a golden profile of its own and rebuild both.

    The pair is remembered as rejected: a person said these are two customers.

    :returns: the change of the old profile, then the new profile's creation.
    :raises NotFoundError: no such source record linked to ``golden_id``.
    :raises ConflictError: the record is the profile's only record.
    """
    owner = conn.execute(
        select(source_record.c.golden_id).where(source_record.c.id == source_record_id)
    ).scalar()
    if owner != golden_id:  # another profile's record is not found *here*: name no other id
        raise NotFoundError(f"source record of golden profile {golden_id}", str(source_record_id))
    linked = conn.execute(
        select(func.count()).select_from(source_record).where(source_record.c.golden_id == owner)
    ).scalar_one()
    if linked < 2:
        raise ConflictError(
            f"source record {source_record_id} is the only record of golden profile {golden_id}: "
            "there is nothing to unmerge"
        )
    new_id = new_golden_id()
    conn.execute(  # a placeholder, so the record can point at it; rebuilt below as version 1
        insert(golden_profile),
        {
            "id": new_id,
            "version": 0,
            "document": {},
            "content_hash": "",
            "created_at": now,
            "updated_at": now,
            "erased": False,
        },
    )
    conn.execute(
        update(source_record).where(source_record.c.id == source_record_id).values(golden_id=new_id)
    )
    conn.execute(
        update(match_key)
        .where(match_key.c.source_record_id == source_record_id)
        .values(golden_id=new_id)
    )
    # The old profile first: it lets go of identifiers only the detached record carried.
    old = recompute(conn, golden_id, rules, now, kind="unmerged")
    new = recompute(conn, new_id, rules, now, kind="created")
    remember_rejection(conn, golden_id, new_id, actor=actor, now=now)
    audit.record(
        conn,
        actor=actor,
        action="golden.unmerge",
        golden_id=golden_id,
        fields=old.fields,
        detail={
            "source_record_id": source_record_id,
            "new_golden_id": new_id,
            "version": old.version,
        },
        at=now,
    )
    audit.record(
        conn,
        actor=actor,
        action="golden.create",
        golden_id=new_id,
        fields=new.fields,
        detail={"source_record_id": source_record_id, "unmerged_from": golden_id, "version": 1},
        at=now,
    )
    return old, new


def load_records(conn: Connection, golden_id: str) -> list[LinkedRecord]:
    s = source_record.c
    rows = conn.execute(
        select(s.id, s.source_system, s.source_key, s.received_at, s.document).where(
            s.golden_id == golden_id
        )
    )
    return [
        LinkedRecord(r.source_system, r.source_key, r.received_at, r.document or {}, r.id)
        for r in rows
    ]


def lineage_of(conn: Connection, golden_id: str) -> Lineage | None:
    return conn.execute(
        select(golden_profile.c.lineage).where(golden_profile.c.id == golden_id)
    ).scalar()


def rejected(conn: Connection, golden_id: str, others: list[str]) -> set[str]:
    """Those of ``others`` a person has kept apart from ``golden_id``."""
    if not others:
        return set()
    r = match_rejection.c
    rows = conn.execute(
        select(r.golden_low, r.golden_high).where(
            or_(
                (r.golden_low == golden_id) & r.golden_high.in_(others),
                (r.golden_high == golden_id) & r.golden_low.in_(others),
            )
        )
    )
    return {high if low == golden_id else low for low, high in rows}


def remember_rejection(
    conn: Connection,
    a: str,
    b: str,
    *,
    actor: str,
    now: datetime,
    review_item_id: int | None = None,
) -> None:
    """Keep ``a`` and ``b`` apart from now on (idempotent)."""
    low, high = sorted((a, b))
    exists = conn.execute(
        select(func.count())
        .select_from(match_rejection)
        .where(match_rejection.c.golden_low == low, match_rejection.c.golden_high == high)
    ).scalar_one()
    if not exists:
        conn.execute(
            insert(match_rejection),
            {
                "golden_low": low,
                "golden_high": high,
                "rejected_at": now,
                "actor": actor,
                "review_item_id": review_item_id,
            },
        )


# --- helpers ------------------------------------------------------------------------------


def identifier_in(
    pairs: Iterable[tuple[str, str]],
    among: Callable[[Any, Sequence[str]], ColumnElement[bool]] | None = None,
) -> ColumnElement[bool]:
    """``(system, key) IN pairs`` as ``system = ? AND key IN (...)`` per system, OR-ed;
    ``among(column, keys)`` builds the ``IN`` (default: ``column.in_(keys)``).

    Not a row-value ``IN``: SQLite answers that with a full scan of the identifier table (seen
    in ``EXPLAIN QUERY PLAN``), while this form searches the primary key.
    """
    by_system: dict[str, list[str]] = {}
    for system, key in pairs:
        by_system.setdefault(system, []).append(key)
    return or_(
        false(),
        *(
            and_(identifier.c.system == system,
                 among(identifier.c.key, keys) if among else identifier.c.key.in_(keys))
            for system, keys in by_system.items()
        ),
    )


def pairs(document: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The (system, key) of every identifier of a document."""
    return [(i["system"], i["key"]) for i in document.get("identifiers", ())]


def _own_identifiers(conn: Connection, golden_id: str, document: dict[str, Any]) -> None:
    """Claim the document's free identifiers, release those no record carries any more, and
    leave out of the document those another golden profile owns."""
    wanted = pairs(document)
    condition = identifier.c.golden_id == golden_id
    if wanted:
        condition = or_(condition, identifier_in(wanted))
    rows = conn.execute(
        select(identifier.c.system, identifier.c.key, identifier.c.golden_id).where(condition)
    ).all()
    mine = {(r.system, r.key) for r in rows if r.golden_id == golden_id}
    others = {(r.system, r.key) for r in rows if r.golden_id != golden_id}
    free = [p for p in wanted if p not in mine and p not in others]
    if free:
        conn.execute(
            insert(identifier), [{"system": s, "key": k, "golden_id": golden_id} for s, k in free]
        )
    stale = mine - set(wanted)
    if stale:
        conn.execute(
            delete(identifier).where(
                identifier.c.golden_id == golden_id,
                identifier_in(sorted(stale)),
            )
        )
    drop_identifiers(document, others)


def drop_identifiers(document: dict[str, Any], others: set[tuple[str, str]]) -> None:
    """Leave out of a golden document the identifiers another golden profile owns."""
    if not others:
        return
    kept = [i for i in document["identifiers"] if (i["system"], i["key"]) not in others]
    if kept:
        document["identifiers"] = kept
    else:
        del document["identifiers"]


def _insert_consents(conn: Connection, golden_id: str, document: Mapping[str, Any]) -> None:
    rows = consent_rows(golden_id, document)
    if rows:
        conn.execute(insert(consent), rows)


def consent_rows(golden_id: str, document: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The ``consent`` rows that mirror a golden document's consents."""
    return [
        {
            "golden_id": golden_id,
            "purpose": c["purpose"],
            "recipient": c["recipient"],
            "status": c["status"],
            "given_at": datetime.fromisoformat(c["given"]),
            "expires_at": datetime.fromisoformat(c["expires"]) if c.get("expires") else None,
            "source": c.get("source"),
        }
        for c in document.get("consents") or ()
    ]


def _move_rejections(conn: Connection, absorbed: str, survivor: str) -> None:
    r = match_rejection.c
    rows = conn.execute(
        select(match_rejection).where(or_(r.golden_low == absorbed, r.golden_high == absorbed))
    ).all()
    if not rows:
        return
    involved = or_(r.golden_low == absorbed, r.golden_high == absorbed)
    conn.execute(delete(match_rejection).where(involved))
    for row in rows:
        other = row.golden_high if row.golden_low == absorbed else row.golden_low
        if other != survivor:
            remember_rejection(
                conn,
                other,
                survivor,
                actor=row.actor,
                now=row.rejected_at,
                review_item_id=row.review_item_id,
            )


def _move_open_reviews(conn: Connection, absorbed: str, survivor: str, now: datetime) -> None:
    """Open items about the absorbed profile now concern the survivor; an item that has become
    a pair of the survivor with itself is settled by the merge."""
    item = review_item.c
    for column in (item.golden_id, item.candidate_id):
        conn.execute(
            update(review_item)
            .where(column == absorbed, item.status == "open")
            .values({column.name: survivor})
        )
    conn.execute(
        update(review_item)
        .where(item.status == "open", item.golden_id == item.candidate_id)
        .values(status="superseded", decided_at=now, decided_by="merge")
    )
