"""Saving source records: a chunk resolved in memory, then written with a few bulk statements.

The one save path: a single record (an exchange message, the pipeline's record-by-record
fallback, an admin's edit) is a chunk of one. The results are those of saving the records one
by one, in order: each record sees what the records before it did.

The chunk reads, in a handful of statements, what the records need (the stored records with the
chunk's keys, the owners of its identifiers, the golden profiles sharing its match keys, and the
source records and identifiers of the golden profiles it is likely to change), then resolves
the records one by one on an in-memory copy of that state, and finally writes the end state: every
golden profile once, whatever the number of its records in the chunk, and each table with one
bulk statement (:func:`gateway.store.bulk.insert_rows`: COPY on PostgreSQL). Audit rows and
review items keep their one-by-one order.

What is not known before the replay (a golden profile a fuzzy merge picks, a candidate that
only an earlier record of the chunk made worth scoring) is read when needed.

Concurrency (PostgreSQL): the rows of the stored golden profiles the chunk changes are locked
before anything is written, and their versions compared with those the replay started from;
if another writer changed one in between, the replay runs again under the locks.

Memory: everything here is per chunk and dropped with it.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    Connection,
    String,
    any_,
    bindparam,
    delete,
    func,
    insert,
    literal_column,
    select,
    text,
    update,
)
from sqlalchemy.sql.elements import ColumnElement

from gateway.errors import StoreError
from gateway.identity import candidates, golden, review
from gateway.identity.blocking import match_keys
from gateway.identity.decision import Candidate, Decision, decide
from gateway.identity.documents import (
    ChangeKind,
    GoldenChange,
    content_hash,
    display_name,
    new_golden_id,
)
from gateway.identity.features import MatchFeatures, features
from gateway.identity.golden import identifier_in
from gateway.identity.rules import IdentityRules
from gateway.identity.survivorship import LinkedRecord, build_golden
from gateway.store.bulk import insert_rows
from gateway.store.records import IncomingRecord, SaveOutcome, SaveResult
from gateway.store.tables import (
    audit_log,
    consent,
    golden_profile,
    identifier,
    match_key,
    source_record,
)

log = logging.getLogger(__name__)

Pair = tuple[str, str]

# Values per IN list: well under SQLite's 32,766 bound parameters and PostgreSQL's 65,535.
IN_CHUNK = 5000
# Ids given to the chunk's new source records until they are inserted: above every stored id,
# in insertion order, so survivorship orders records received at the same instant by id.
_PROVISIONAL = 1 << 61
# Replays of a chunk whose golden profiles another writer changed before they were locked.
_ATTEMPTS = 3


def save_chunk(
    conn: Connection, records: Sequence[IncomingRecord], rules: IdentityRules
) -> list[SaveResult]:
    """Save ``records`` in the caller's transaction; one result each, in order.

    :raises StoreError: golden profiles kept changing under the chunk (another writer).
    """
    if not records:
        return []
    prepared = [(features(r.document, rules.default_region), r) for r in records]
    for _ in range(_ATTEMPTS):
        chunk = _Chunk(conn, prepared, rules)
        chunk.load()
        chunk.replay()
        if chunk.lock_and_check():
            return chunk.write()
    raise StoreError("golden profiles of the chunk kept being changed by another writer: retry")


@dataclass(slots=True)
class _Golden:
    """A golden profile as the chunk sees it. ``records`` and ``identifiers`` are None until
    loaded (a candidate that is only scored needs neither)."""

    id: str
    version: int
    document: dict[str, Any]
    content_hash: str
    stored_version: int | None  # None: created by this chunk
    records: dict[int, LinkedRecord] | None = None
    identifiers: set[Pair] | None = None
    lineage: Any = None
    features: MatchFeatures | None = None
    changed: bool = False  # document (and version) changed
    lineage_changed: bool = False
    consents_changed: bool = False


@dataclass(slots=True)
class _Stored:
    """A source record by its key: stored before the chunk, or added by it."""

    id: int
    golden_id: str
    content_hash: str


@dataclass(slots=True)
class _Outcome:
    golden_id: str
    outcome: SaveOutcome
    record_id: int
    change: GoldenChange | None = None
    decision: Decision | None = None
    audit: dict[str, Any] | None = None


@dataclass(slots=True)
class _Writes:
    """What the replay leaves to write, by record id (provisional for new records)."""

    new_records: dict[int, tuple[IncomingRecord, str]] = field(default_factory=dict)
    updated_records: dict[int, IncomingRecord] = field(default_factory=dict)
    keys: dict[int, tuple[list[str], str]] = field(default_factory=dict)


class _Chunk:
    def __init__(
        self,
        conn: Connection,
        prepared: Sequence[tuple[MatchFeatures, IncomingRecord]],
        rules: IdentityRules,
    ) -> None:
        self.conn = conn
        self.postgresql = conn.dialect.name == "postgresql"
        self.rules = rules
        self.region = rules.default_region
        self.records = [r for _, r in prepared]
        self.features = [f for f, _ in prepared]
        self.keys = [match_keys(f, rules.blocking) for f in self.features]
        self.pairs = [
            list(dict.fromkeys((i.system, i.key) for i in r.profile.identifiers))
            for r in self.records
        ]
        self.now = datetime.now(UTC)
        self.stored: dict[Pair, _Stored] = {}  # source records by (system, key)
        self.goldens: dict[str, _Golden] = {}
        self.owners: dict[Pair, str | None] = {}  # identifier -> owner (None: nobody)
        self.stored_owners: dict[Pair, str | None] = {}  # the same as read, for the diff
        self.index: dict[str, dict[int, str]] = {}  # match key -> record id -> golden id
        self.record_keys: dict[int, list[str]] = defaultdict(list)  # the reverse, loaded keys
        self.writes = _Writes()
        self.outcomes: list[_Outcome] = []
        self.decisions: dict[int, tuple[object, Decision]] = {}  # by record index
        self._next_id = _PROVISIONAL

    # --- reading ----------------------------------------------------------------------------

    def _among(self, column: Any, values: Sequence[Any]) -> ColumnElement[bool]:
        """``column IN values`` with one parameter, however many values: ``= ANY(:array)``
        on PostgreSQL, ``IN (SELECT value FROM json_each(:json))`` on SQLite.

        Thousands of placeholders are slow to parse and plan, and on SQLite each list length
        is a statement of its own in the driver's statement cache: 128 of them with about
        2,000 placeholders held 58 MB (measured), the slow growth of a long import's RSS.
        """
        condition: ColumnElement[bool]
        if self.postgresql:
            condition = column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
        else:
            listed = bindparam(None, json.dumps(list(values)), type_=String())
            condition = column.in_(
                select(literal_column("value")).select_from(func.json_each(listed))
            )
        return condition

    def _identifier_in(self, pairs: Sequence[Pair]) -> ColumnElement[bool]:
        """:func:`gateway.identity.golden.identifier_in`, with :meth:`_among`."""
        return golden.identifier_in(pairs, self._among)

    def load(self) -> None:
        own = [(r.source_system, r.source_key) for r in self.records]
        self._load_stored(own)
        self._load_owners({p for pairs in self.pairs for p in pairs})
        self._load_keys(sorted({k for keys in self.keys for k in keys}))
        # What the stored state alone says each record will read (its candidates) and change
        # (the golden profile it joins): read in bulk now, so that the replay rarely has to.
        scored: set[str] = set()
        changing: set[str] = set()
        fuzzy: list[tuple[int, tuple[str, ...], dict[str, set[str]]]] = []
        for index, pair in enumerate(own):
            found = self.stored.get(pair)
            if found is not None:
                scored.add(found.golden_id)
                changing.add(found.golden_id)
                continue
            target = self.records[index].target
            if target is not None:
                scored.add(target)
                changing.add(target)
                continue
            owners = self._owners(pair, self.pairs[index])
            shared = self._shared(self.keys[index])
            scored.update(candidates.keep(shared, owners))
            deterministic = [g for g, keys in shared.items() if candidates.deterministic(keys)]
            changing.update(owners, deterministic)
            if shared and not owners and not deterministic:
                fuzzy.append((index, owners, shared))
        self._load_goldens(scored | changing)
        for index, owners, shared in fuzzy:
            target = self._decision(index, owners, shared).target
            if target is not None:
                changing.add(target)
        self._load_state(changing)

    def _load_stored(self, own: Sequence[Pair]) -> None:
        by_system: dict[str, set[str]] = defaultdict(set)
        for system, key in own:
            by_system[system].add(key)
        s = source_record.c
        for system, keys in by_system.items():
            ordered = sorted(keys)
            for start in range(0, len(ordered), IN_CHUNK):
                rows = self.conn.execute(
                    select(s.id, s.golden_id, s.content_hash, s.source_key).where(
                        s.source_system == system,
                        self._among(s.source_key, ordered[start : start + IN_CHUNK]),
                    )
                )
                for row in rows:
                    self.stored[(system, row.source_key)] = _Stored(
                        row.id, row.golden_id, row.content_hash
                    )

    def _load_owners(self, pairs: Iterable[Pair]) -> None:
        """Read the owners of identifiers not known yet (the chunk's own changes win)."""
        missing = sorted(p for p in pairs if p not in self.owners)
        for start in range(0, len(missing), IN_CHUNK):
            part = missing[start : start + IN_CHUNK]
            found = {
                (row.system, row.key): row.golden_id
                for row in self.conn.execute(
                    select(identifier.c.system, identifier.c.key, identifier.c.golden_id).where(
                        self._identifier_in(part)
                    )
                )
            }
            for pair in part:
                self.owners[pair] = self.stored_owners[pair] = found.get(pair)

    def _load_keys(self, keys: Sequence[str]) -> None:
        m = match_key.c
        for start in range(0, len(keys), IN_CHUNK):
            rows = self.conn.execute(
                select(m.key, m.source_record_id, m.golden_id).where(
                    self._among(m.key, keys[start : start + IN_CHUNK])
                )
            )
            for key, record_id, golden_id in rows:
                self.index.setdefault(key, {})[record_id] = golden_id
                self.record_keys[record_id].append(key)

    def _load_goldens(self, ids: Iterable[str]) -> None:
        """Rows of golden profiles not read yet."""
        missing = sorted(i for i in ids if i not in self.goldens)
        g = golden_profile.c
        for start in range(0, len(missing), IN_CHUNK):
            rows = self.conn.execute(
                select(g.id, g.version, g.document, g.content_hash).where(
                    self._among(g.id, missing[start : start + IN_CHUNK])
                )
            )
            for row in rows:
                self.goldens[row.id] = _Golden(
                    row.id, row.version, row.document, row.content_hash, row.version
                )

    def _load_state(self, ids: Iterable[str]) -> None:
        """Source records and identifiers of stored golden profiles about to be rebuilt."""
        wanted = sorted(i for i in ids if i in self.goldens and self.goldens[i].records is None)
        if not wanted:
            return
        for gid in wanted:
            self.goldens[gid].records = {}
            self.goldens[gid].identifiers = set()
        s = source_record.c
        i = identifier.c
        quoted: set[Pair] = set()
        for start in range(0, len(wanted), IN_CHUNK):
            part = wanted[start : start + IN_CHUNK]
            rows = self.conn.execute(
                select(
                    s.id, s.golden_id, s.source_system, s.source_key, s.received_at, s.document
                ).where(self._among(s.golden_id, part))
            )
            for row in rows:
                document = row.document or {}
                records = self.goldens[row.golden_id].records
                assert records is not None
                records[row.id] = LinkedRecord(
                    row.source_system, row.source_key, row.received_at, document, row.id
                )
                quoted.update(golden.pairs(document))
            owned = self.conn.execute(
                select(i.system, i.key, i.golden_id).where(self._among(i.golden_id, part))
            )
            for system, key, golden_id in owned:
                identifiers = self.goldens[golden_id].identifiers
                assert identifiers is not None
                identifiers.add((system, key))
                if (system, key) not in self.owners:
                    self.owners[(system, key)] = self.stored_owners[(system, key)] = golden_id
        self._load_owners(quoted)

    def _golden(self, golden_id: str, *, state: bool = False) -> _Golden:
        if golden_id not in self.goldens:
            self._load_goldens((golden_id,))
        if state:
            self._load_state((golden_id,))
        try:
            return self.goldens[golden_id]
        except KeyError:
            raise StoreError(f"golden profile {golden_id} not found") from None

    def _features(self, found: _Golden) -> MatchFeatures:
        if found.features is None:
            found.features = features(found.document, self.region)
        return found.features

    # --- the replay ---------------------------------------------------------------------------

    def replay(self) -> None:
        for index, record in enumerate(self.records):
            self.outcomes.append(self._save(index, record))

    def _save(self, index: int, record: IncomingRecord) -> _Outcome:
        own = (record.source_system, record.source_key)
        previous = self.stored.get(own)
        if previous is not None and previous.content_hash == record.content_hash:
            return _Outcome(previous.golden_id, "unchanged", previous.id)
        keys = self.keys[index]
        detail: dict[str, Any] = {"source_system": own[0], "source_key": own[1]}
        decision: Decision | None = None
        if previous is not None:
            # A known record stays with its golden profile: moving it is a person's decision
            # (unmerge, review), never a side effect of an update.
            target = self._golden(previous.golden_id, state=True)
            record_id = previous.id
            previous.content_hash = record.content_hash
            assert target.records is not None
            target.records[record_id] = _linked(record, record_id)
            if record_id >= _PROVISIONAL:
                self.writes.new_records[record_id] = (record, target.id)
            else:
                self.writes.updated_records[record_id] = record
            self._unindex(record_id)
            self._index(keys, record_id, target.id)
            change = self._recompute(target, "updated")
            outcome: SaveOutcome = "updated"
        else:
            decision = (
                Decision(record.target, "identifier", None)
                if record.target is not None
                else self._decide(index, own)
            )
            record_id = self._next_id
            self._next_id += 1
            if decision.target is None:
                target = self._create(record, record_id)
                change = GoldenChange(target.id, "created", 1, tuple(sorted(target.document)))
                outcome = "created"
            else:
                target = self._golden(decision.target, state=True)
                assert target.records is not None
                target.records[record_id] = _linked(record, record_id)
                change = self._recompute(target, "updated")
                outcome = "merged"
                detail["match"] = decision.match_detail()
            self.stored[own] = _Stored(record_id, target.id, record.content_hash)
            self.writes.new_records[record_id] = (record, target.id)
            self._index(keys, record_id, target.id)
        audit = {
            "at": self.now,
            "actor": record.actor,
            "action": "golden.create" if outcome == "created" else "golden.update",
            "golden_id": target.id,
            "partner": None,
            "purpose": None,
            "fields": list(change.fields),
            "message_id": None,
            "detail": {**detail, "version": change.version},
        }
        return _Outcome(target.id, outcome, record_id, change, decision, audit)

    def _decide(self, index: int, own: Pair) -> Decision:
        return self._decision(
            index, self._owners(own, self.pairs[index]), self._shared(self.keys[index])
        )

    def _decision(
        self, index: int, owners: tuple[str, ...], shared: dict[str, set[str]]
    ) -> Decision:
        found: dict[str, Candidate] = {}
        seen: list[tuple[str, frozenset[str], int]] = []
        for gid in candidates.keep(shared, owners):
            candidate = self._golden(gid)
            kinds = candidates.kinds(shared.get(gid, ()))
            found[gid] = Candidate(gid, self._features(candidate), kinds)
            seen.append((gid, kinds, candidate.version))
        # The decision load() made for this record stands while its candidates, their kinds
        # and versions are the same (most records: nothing earlier in the chunk touched them).
        signature = (owners, tuple(seen))
        known = self.decisions.get(index)
        if known is not None and known[0] == signature:
            return known[1]
        decision = decide(self.features[index], owners, found, self.rules)
        self.decisions[index] = (signature, decision)
        return decision

    def _owners(self, own: Pair, pairs: Sequence[Pair]) -> tuple[str, ...]:
        owned = [(p, gid) for p in pairs if (gid := self.owners.get(p)) is not None]
        return candidates.order_owners(own, owned)

    def _shared(self, keys: Sequence[str]) -> dict[str, set[str]]:
        shared: dict[str, set[str]] = defaultdict(set)
        for key in keys:
            for gid in self.index.get(key, {}).values():
                shared[gid].add(key)
        return shared

    def _index(self, keys: Sequence[str], record_id: int, golden_id: str) -> None:
        for key in keys:
            self.index.setdefault(key, {})[record_id] = golden_id
        self.record_keys[record_id] = list(keys)
        self.writes.keys[record_id] = (list(keys), golden_id)

    def _unindex(self, record_id: int) -> None:
        for key in self.record_keys.pop(record_id, ()):
            self.index.get(key, {}).pop(record_id, None)

    def _create(self, record: IncomingRecord, record_id: int) -> _Golden:
        """A new golden profile built from one record."""
        document, lineage = build_golden([record.linked], self.rules)
        # Built from one record, the document is most often that record's, value for value
        # (the very same objects): its hash is known already.
        digest = record.content_hash if document == record.document else content_hash(document)
        created = _Golden(
            new_golden_id(),
            1,
            document,
            digest,
            None,
            records={record_id: _linked(record, record_id)},
            identifiers=set(golden.pairs(document)),
            lineage=lineage,
        )
        for pair in created.identifiers or ():
            self.owners[pair] = created.id
        self.goldens[created.id] = created
        return created

    def _recompute(self, target: _Golden, kind: ChangeKind) -> GoldenChange:
        """:func:`gateway.identity.golden.recompute` in memory."""
        assert target.records is not None
        if not target.records:
            raise StoreError(f"golden profile {target.id} has no source record to be built from")
        document, lineage = build_golden(list(target.records.values()), self.rules)
        self._own_identifiers(target, document)
        digest = content_hash(document)
        target.lineage = lineage
        if digest == target.content_hash:
            target.lineage_changed = True
            return GoldenChange(target.id, kind, target.version, ())
        before = target.document
        target.version += 1
        target.document, target.content_hash, target.features = document, digest, None
        target.changed = True
        if document.get("consents") != before.get("consents"):
            target.consents_changed = True
        fields = sorted(
            k for k in document.keys() | before.keys() if document.get(k) != before.get(k)
        )
        return GoldenChange(target.id, kind, target.version, tuple(fields))

    def _own_identifiers(self, target: _Golden, document: dict[str, Any]) -> None:
        """:func:`gateway.identity.golden._own_identifiers` in memory."""
        pairs = golden.pairs(document)
        self._load_owners(pairs)
        mine = target.identifiers
        assert mine is not None
        others = {p for p in pairs if self.owners[p] not in (None, target.id)}
        for pair in pairs:
            if pair not in mine and pair not in others:
                mine.add(pair)
                self.owners[pair] = target.id
        for pair in mine - set(pairs):
            mine.discard(pair)
            self.owners[pair] = None
        golden.drop_identifiers(document, others)

    # --- writing --------------------------------------------------------------------------------

    def lock_and_check(self) -> bool:
        """Lock the stored golden profiles the replay changed; False if one changed since read
        (then their state is read again, under the lock, by a new replay)."""
        touched = sorted(
            g.id
            for g in self.goldens.values()
            if g.stored_version is not None and (g.changed or g.lineage_changed)
        )
        versions: dict[str, int] = {}
        c = golden_profile.c
        for start in range(0, len(touched), IN_CHUNK):
            rows = self.conn.execute(
                select(c.id, c.version)
                .where(self._among(c.id, touched[start : start + IN_CHUNK]))
                .order_by(c.id)
                .with_for_update(key_share=True)
            )
            versions.update((gid, version) for gid, version in rows)
        return all(versions.get(gid) == self.goldens[gid].stored_version for gid in touched)

    def write(self) -> list[SaveResult]:
        self._write_goldens()
        record_ids = self._write_records()
        self._write_keys(record_ids)
        self._write_identifiers()
        self._write_consents()
        review_ids = self._write_audit(record_ids)
        results: list[SaveResult] = []
        for index, done in enumerate(self.outcomes):
            record_id = record_ids.get(done.record_id, done.record_id)
            if done.change is None:
                results.append(SaveResult(done.golden_id, done.outcome, source_record_id=record_id))
                continue
            reviews = review_ids.get(index, ())
            results.append(
                SaveResult(
                    done.golden_id,
                    "review" if reviews else done.outcome,
                    (done.change,),
                    done.decision.match_detail() if done.decision is not None else None,
                    reviews,
                    record_id,
                )
            )
        return results

    def _write_goldens(self) -> None:
        created, changed, relined = [], [], []
        for g in self.goldens.values():
            if g.stored_version is None:
                created.append(
                    {
                        "id": g.id,
                        "version": g.version,
                        "display_name": display_name(g.document),
                        "document": g.document,
                        "content_hash": g.content_hash,
                        "lineage": g.lineage,
                        "created_at": self.now,
                        "updated_at": self.now,
                        "erased": False,
                    }
                )
            elif g.changed:
                changed.append(
                    {
                        "b_id": g.id,
                        "b_stored": g.stored_version,
                        "version": g.version,
                        "display_name": display_name(g.document),
                        "document": g.document,
                        "content_hash": g.content_hash,
                        "lineage": g.lineage,
                        "updated_at": self.now,
                    }
                )
            elif g.lineage_changed:
                relined.append({"b_id": g.id, "b_stored": g.stored_version, "lineage": g.lineage})
        insert_rows(self.conn, golden_profile, created)
        c = golden_profile.c
        for rows in (changed, relined):
            if not rows:
                continue
            result = self.conn.execute(
                update(golden_profile).where(
                    c.id == bindparam("b_id"), c.version == bindparam("b_stored")
                ),
                rows,
            )
            if result.rowcount not in (-1, len(rows)):
                raise StoreError(
                    "golden profiles of the chunk were changed by another writer: retry"
                )

    def _write_records(self) -> dict[int, int]:
        """Update the stored records, insert the new ones; provisional id -> id."""
        s = source_record.c
        updated = [
            {"b_id": record_id, **r.stored_values()}
            for record_id, r in self.writes.updated_records.items()
        ]
        if updated:
            self.conn.execute(update(source_record).where(s.id == bindparam("b_id")), updated)
        provisional = list(self.writes.new_records)
        if not provisional:
            return {}
        rows = [
            {
                **r.stored_values(),
                "golden_id": golden_id,
                "source_system": r.source_system,
                "source_key": r.source_key,
            }
            for r, golden_id in self.writes.new_records.values()
        ]
        if self.postgresql:
            # Ids drawn from the column's sequence first, so the rows can go in by COPY.
            ids = sorted(
                self.conn.execute(
                    text(
                        "SELECT nextval(pg_get_serial_sequence(:table, 'id')) "
                        "FROM generate_series(1, :n)"
                    ),
                    {"table": source_record.name, "n": len(rows)},
                ).scalars()
            )
            insert_rows(
                self.conn,
                source_record,
                [{"id": i, **row} for i, row in zip(ids, rows, strict=True)],
            )
        else:
            ids = list(
                self.conn.execute(
                    insert(source_record).returning(s.id, sort_by_parameter_order=True), rows
                ).scalars()
            )
        return dict(zip(provisional, (int(i) for i in ids), strict=True))

    def _write_keys(self, record_ids: dict[int, int]) -> None:
        stale = sorted(self.writes.updated_records)
        m = match_key.c
        for start in range(0, len(stale), IN_CHUNK):
            self.conn.execute(
                delete(match_key).where(
                    self._among(m.source_record_id, stale[start : start + IN_CHUNK])
                )
            )
        rows: list[dict[str, Any]] = [
            {"key": key, "source_record_id": record_ids.get(record_id, record_id), "golden_id": gid}
            for record_id, (keys, gid) in self.writes.keys.items()
            for key in keys
        ]
        rows.sort(key=lambda row: row["key"])  # B-tree inserts in key order touch fewer pages
        insert_rows(self.conn, match_key, rows)

    def _write_identifiers(self) -> None:
        moved = [p for p, owner in self.owners.items() if owner != self.stored_owners.get(p)]
        released = sorted(p for p in moved if self.stored_owners.get(p) is not None)
        for start in range(0, len(released), IN_CHUNK):
            self.conn.execute(
                delete(identifier).where(identifier_in(released[start : start + IN_CHUNK]))
            )
        claimed = [
            {"system": s, "key": k, "golden_id": self.owners[(s, k)]}
            for s, k in moved
            if self.owners[(s, k)] is not None
        ]
        insert_rows(self.conn, identifier, claimed)

    def _write_consents(self) -> None:
        replaced = sorted(
            g.id
            for g in self.goldens.values()
            if g.stored_version is not None and g.consents_changed
        )
        for start in range(0, len(replaced), IN_CHUNK):
            self.conn.execute(
                delete(consent).where(
                    self._among(consent.c.golden_id, replaced[start : start + IN_CHUNK])
                )
            )
        rows = [
            row
            for g in self.goldens.values()
            if g.stored_version is None or g.consents_changed
            for row in golden.consent_rows(g.id, g.document)
        ]
        insert_rows(self.conn, consent, rows)

    def _write_audit(self, record_ids: dict[int, int]) -> dict[int, tuple[int, ...]]:
        """One audit row per save, in order, each followed by the review items its record
        opened (with their own audit rows); returns the review item ids by record index."""
        pending: list[dict[str, Any]] = []
        opened: dict[int, tuple[int, ...]] = {}
        for index, done in enumerate(self.outcomes):
            if done.audit is None:
                continue
            pending.append(done.audit)
            decision = done.decision
            if decision is None or not decision.proposals:
                continue
            insert_rows(self.conn, audit_log, pending)
            pending = []
            kept_apart = golden.rejected(
                self.conn, done.golden_id, [p.candidate_id for p in decision.proposals]
            )
            record_id = record_ids.get(done.record_id, done.record_id)
            actor = self.records[index].actor
            opened[index] = tuple(
                review.open_item(
                    self.conn, done.golden_id, proposal, record_id, actor=actor, now=self.now
                )
                for proposal in decision.proposals
                if proposal.candidate_id not in kept_apart
            )
        insert_rows(self.conn, audit_log, pending)
        return opened


def _linked(record: IncomingRecord, record_id: int) -> LinkedRecord:
    return LinkedRecord(
        record.source_system, record.source_key, record.received_at, record.document, record_id
    )

