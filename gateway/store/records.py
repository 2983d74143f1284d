"""What a save takes in and gives back (:mod:`gateway.store.chunk`, the one save path: a
single record is a chunk of one)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from gateway.errors import ModelError
from gateway.identity.documents import GoldenChange
from gateway.identity.survivorship import LinkedRecord
from gateway.model import Profile

SaveOutcome = Literal["created", "updated", "merged", "unchanged", "review"]


@dataclass(frozen=True, slots=True)
class SaveResult:
    """What :meth:`ProfileStore.save_source_profile` did with one source record.

    ``changes`` are the golden profile changes made (empty when unchanged): one outbox event
    each. ``match`` says how a new record was matched (via, golden id, score), ``review_ids``
    the review items it opened.
    """

    golden_id: str
    outcome: SaveOutcome
    changes: tuple[GoldenChange, ...] = ()
    match: dict[str, object] | None = None
    review_ids: tuple[int, ...] = ()
    source_record_id: int | None = None


@dataclass(frozen=True, slots=True)
class IncomingRecord:
    """One source record on its way in, with what is computed before the transaction
    (:func:`gateway.store.profiles.prepare_record`): the pipeline prepares a chunk, then saves
    it in one go."""

    profile: Profile
    document: dict[str, Any]
    content_hash: str
    source_system: str
    source_key: str
    raw: str
    received_at: datetime
    actor: str
    # The golden profile a new record joins whatever matching says (an admin's correction of
    # that profile); None: matching decides.
    target: str | None = None

    def __post_init__(self) -> None:
        """Every save passes here (one record or a chunk, import, exchange or an admin's edit):
        a record that is neither a person nor an organization would become an empty golden
        profile, or by survivorship wipe the names of the one it matches."""
        has_person = self.profile.person is not None
        if has_person == (self.profile.organization is not None):
            reason = (
                "a record is a person or an organization, not both"
                if has_person
                else "a record with neither a person nor an organization has nothing to "
                "identify it by"
            )
            raise ModelError(reason, path="Profile")

    @property
    def label(self) -> str:
        return f"{self.source_system}/{self.source_key}"

    @property
    def linked(self) -> LinkedRecord:
        return LinkedRecord(self.source_system, self.source_key, self.received_at, self.document)

    def stored_values(self) -> dict[str, Any]:
        """The ``source_record`` columns that change with each version of the record."""
        return {
            "raw": self.raw,
            "content_hash": self.content_hash,
            "received_at": self.received_at,
            "document": self.document,
        }
