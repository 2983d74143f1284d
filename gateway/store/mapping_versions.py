"""The version history of mapping files: every saved text, who saved it, and the diff.

Admins save mappings through the API (author = the key's name) or edit files on disk (picked up
as author ``file``). Each version keeps the whole text, so a rollback is just saving an old text
again as a new version: history only grows, nothing is rewritten.
"""

from __future__ import annotations

import builtins
import difflib
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from gateway.errors import ConflictError, NotFoundError
from gateway.store import audit
from gateway.store.engine import store_error, write_transaction
from gateway.store.tables import mapping_version

FILE_AUTHOR = "file"


@dataclass(frozen=True, slots=True)
class MappingVersion:
    name: str
    version: int
    author: str
    created_at: datetime
    comment: str | None
    text: str
    content_hash: str
    diff: str


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class MappingHistory:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def record(
        self, name: str, text: str, *, author: str, comment: str | None = None
    ) -> tuple[MappingVersion, bool]:
        """Add ``text`` as the next version of ``name``; (version, True) if it was new.

        Saving the same text as the latest version records nothing and returns the latest.
        Two concurrent savers cannot take the same number: (name, version) is unique, and the
        loser gets a clear error to retry.
        """
        digest = text_hash(text)
        try:
            with write_transaction(self._engine) as conn:
                latest = _latest(conn, name)
                if latest is not None and latest.content_hash == digest:
                    return latest, False
                number = 1 if latest is None else latest.version + 1
                previous = "" if latest is None else latest.text
                diff = "".join(
                    difflib.unified_diff(
                        previous.splitlines(keepends=True),
                        text.splitlines(keepends=True),
                        fromfile=f"{name} v{number - 1}" if latest else "/dev/null",
                        tofile=f"{name} v{number}",
                    )
                )
                row: dict[str, Any] = {
                    "name": name,
                    "version": number,
                    "author": author,
                    "created_at": datetime.now(UTC),
                    "comment": comment,
                    "text": text,
                    "content_hash": digest,
                    "diff": diff,
                }
                conn.execute(insert(mapping_version).values(**row))
                audit.record(
                    conn,
                    actor=author,
                    action="mapping.saved",
                    detail={"mapping": name, "version": number, "comment": comment},
                )
                return MappingVersion(**row), True
        except IntegrityError as exc:
            raise ConflictError(
                f"mapping '{name}' was saved by someone else at the same time: try again"
            ) from exc
        except SQLAlchemyError as exc:
            raise store_error(f"saving mapping '{name}'", exc) from exc

    def latest(self, name: str) -> MappingVersion | None:
        with self._engine.connect() as conn:
            return _latest(conn, name)

    def get(self, name: str, version: int) -> MappingVersion:
        query = select(mapping_version).where(
            mapping_version.c.name == name, mapping_version.c.version == version
        )
        with self._engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            raise NotFoundError("mapping version", f"{name} v{version}")
        return _from_row(row)

    def list(self, name: str) -> list[MappingVersion]:
        """Every version of ``name``, newest first."""
        query = (
            select(mapping_version)
            .where(mapping_version.c.name == name)
            .order_by(mapping_version.c.version.desc())
        )
        with self._engine.connect() as conn:
            return [_from_row(r) for r in conn.execute(query)]

    def names(self) -> builtins.list[str]:
        query = select(mapping_version.c.name, func.max(mapping_version.c.version)).group_by(
            mapping_version.c.name
        )
        with self._engine.connect() as conn:
            return sorted(r[0] for r in conn.execute(query))


def _latest(conn: Connection, name: str) -> MappingVersion | None:
    query = (
        select(mapping_version)
        .where(mapping_version.c.name == name)
        .order_by(mapping_version.c.version.desc())
        .limit(1)
    )
    row = conn.execute(query).first()
    return None if row is None else _from_row(row)


def _from_row(row: object) -> MappingVersion:
    m = row._mapping  # type: ignore[attr-defined]
    return MappingVersion(
        name=m["name"],
        version=m["version"],
        author=m["author"],
        created_at=m["created_at"],
        comment=m["comment"],
        text=m["text"],
        content_hash=m["content_hash"],
        diff=m["diff"],
    )
