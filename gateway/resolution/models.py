"""``identity train | model | explain | rescore``: the match model against the base."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from gateway.errors import NotFoundError, StoreError
from gateway.identity import golden
from gateway.identity.features import MatchFeatures, features
from gateway.identity.model import MatchScore, score
from gateway.identity.training import Training, train
from gateway.store import audit, match_models
from gateway.store.engine import store_error, write_transaction
from gateway.store.profiles import ProfileStore
from gateway.store.tables import golden_profile, review_item, source_record

log = logging.getLogger(__name__)

#: Source records read for training at most (a random sample of the base beyond that).
TRAINING_SAMPLE = 100_000


def train_model(
    store: ProfileStore, *, actor: str = "cli", sample: int = TRAINING_SAMPLE, seed: int = 0
) -> tuple[int, Training]:
    """Learn m, u, the prior and term frequencies from the source records and store them as
    the newest model version (which matching uses from then on).

    :raises StoreError: fewer than two records, or no pair shares a blocking key.
    """
    rules = store.rules
    s = source_record.c
    try:
        with store.engine.connect() as conn:
            ids = list(conn.execute(select(s.id).order_by(s.id)).scalars())
            if len(ids) > sample:
                ids = sorted(random.Random(seed).sample(ids, sample))
            records: list[MatchFeatures] = []
            for start in range(0, len(ids), 5000):
                part = ids[start : start + 5000]
                rows = conn.execute(select(s.document).where(s.id.in_(part)))
                records += [features(doc or {}, rules.default_region) for (doc,) in rows]
    except SQLAlchemyError as exc:
        raise store_error("reading source records for training", exc) from exc
    try:
        trained = train(records, rules.model, rules.blocking, seed=seed)
    except ValueError as exc:
        raise StoreError(f"cannot train the match model: {exc}") from exc
    try:
        with write_transaction(store.engine) as conn:
            version = match_models.save(
                conn,
                trained.model,
                records=trained.records,
                figures=trained.figures(),
                actor=actor,
            )
            audit.record(
                conn,
                actor=actor,
                action="identity.train",
                golden_id=None,
                detail={"model_version": version, **trained.figures()},
                at=datetime.now(UTC),
            )
    except SQLAlchemyError as exc:
        raise store_error("storing the match model", exc) from exc
    log.info("match model v%d trained on %d records", version, trained.records)
    return version, trained


def model_version(store: ProfileStore, version: int | None = None) -> match_models.ModelVersion:
    """A stored version (None: the newest).

    :raises NotFoundError: no such version.
    """
    try:
        with store.engine.connect() as conn:
            return match_models.get(conn, version)
    except SQLAlchemyError as exc:
        raise store_error("reading the match model", exc) from exc


def explain(store: ProfileStore, a: str, b: str) -> MatchScore:
    """The model's view of two golden profiles (aliases resolve to their survivors).

    :raises NotFoundError: either profile does not exist.
    """
    try:
        with store.engine.connect() as conn:
            rules = store.rules_on(conn)
            found = []
            for golden_id in (a, b):
                current = golden.resolve(conn, golden_id)
                document = conn.execute(
                    select(golden_profile.c.document).where(golden_profile.c.id == current)
                ).scalar()
                if document is None:
                    raise NotFoundError("golden profile", golden_id)
                found.append(features(document, rules.default_region))
    except SQLAlchemyError as exc:
        raise store_error(f"explaining {a} and {b}", exc) from exc
    return score(rules.model, found[0], found[1])


@dataclass(frozen=True, slots=True)
class Rescored:
    merged: int
    closed: int
    kept: int


def rescore(store: ProfileStore, *, actor: str = "identity-rescore") -> Rescored:
    """Score every open review item again with the model in force: at or above the merge band
    (and not vetoed) the pair is merged; below the review band it is closed as two people;
    each with its audit entry (that of approving or rejecting the item)."""
    try:
        with store.engine.connect() as conn:
            items = conn.execute(
                select(review_item.c.id, review_item.c.golden_id, review_item.c.candidate_id)
                .where(review_item.c.status == "open")
                .order_by(review_item.c.id)
            ).all()
            rules = store.rules_on(conn)
    except SQLAlchemyError as exc:
        raise store_error("reading open review items", exc) from exc
    merged = closed = kept = 0
    queue = store.reviews
    for item_id, golden_id, candidate_id in items:
        try:
            found = explain(store, golden_id, candidate_id)
        except NotFoundError:
            kept += 1
            continue
        if found.total >= rules.merge_threshold and found.vetoed_by is None:
            _decided(queue.approve, item_id, actor)
            merged += 1
        elif found.total < rules.review_threshold:
            _decided(queue.reject, item_id, actor)
            closed += 1
        else:
            kept += 1
    return Rescored(merged, closed, kept)


def _decided(decide: Callable[[int, str], object], item_id: int, actor: str) -> None:
    try:
        decide(item_id, actor)
    except StoreError as exc:  # decided meanwhile (a merge settled it)
        log.info("review item %d: %s", item_id, exc)
