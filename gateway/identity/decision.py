"""Which golden profile a new source record joins, and which pairs need a person's eye.

Pure: the candidates come in already fetched. The order of evidence, strongest first:

1. deterministic rules: an identifier the record carries is already owned by a golden profile
   (its own key first, then any other system's key it quotes; which systems a source may
   assert is decided before, by the partner's trust); an organisation with the same
   registration number, or the same name and postcode;
2. the match model (:mod:`gateway.identity.model`): the candidate with the highest match
   probability, if at or above the merge band and not vetoed (a different given name or birth
   date never merges automatically). A shared e-mail or phone is strong evidence in the model,
   not a merge by itself: families share a phone, colleagues a switchboard.

Other candidates at or above the review band (and golden profiles owning *other* identifiers of
the record, which would be a merge of two golden profiles) become proposals for the review
queue; a record never merges two golden profiles by itself, so clusters grow one record at a
time and never join two profiles whose pairwise probability is below the review band.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from gateway.identity.features import MatchFeatures
from gateway.identity.model import MatchScore, score
from gateway.identity.rules import IdentityRules

Via = Literal["identifier", "organization", "model"]
# Review items one record may open: beyond a few, the block is too coarse to be worth a person's
# time, and the queue would fill with noise.
MAX_PROPOSALS = 3


@dataclass(frozen=True, slots=True)
class Candidate:
    """A golden profile that shares an identifier or a match key with the incoming record."""

    golden_id: str
    features: MatchFeatures
    shared_kinds: frozenset[str] = frozenset()  # match key kinds in common (blocking.EMAIL ...)


@dataclass(frozen=True, slots=True)
class Proposal:
    """A pair for the review queue: the incoming record's golden profile and this candidate."""

    candidate_id: str
    reason: Literal["identifier", "model"]
    score: MatchScore | None

    def details(self) -> dict[str, object]:
        """What a reviewer sees about why the pair was proposed (no personal values)."""
        scored = self.score.as_dict() if self.score is not None else {}
        return {"reason": self.reason, **scored}


@dataclass(frozen=True, slots=True)
class Decision:
    """``target`` is None for a new golden profile."""

    target: str | None
    via: Via | None
    score: MatchScore | None
    proposals: tuple[Proposal, ...] = field(default=())

    def match_detail(self) -> dict[str, object] | None:
        """For audit rows and results: how the record was matched (None: it was not)."""
        if self.target is None:
            return None
        scored = self.score.as_dict() if self.score is not None else {}
        return {"via": self.via, "golden_id": self.target, **scored}


def decide(
    incoming: MatchFeatures,
    owners: Sequence[str],
    candidates: Mapping[str, Candidate],
    rules: IdentityRules,
) -> Decision:
    """Decide for one new source record.

    :param owners: golden profiles owning identifiers of the record, strongest first (the one
        owning the record's own key, then the others oldest first).
    :param candidates: golden profiles found through match keys (owners may be among them).
    """
    model = rules.model
    scores = {
        gid: score(model, incoming, c.features, c.shared_kinds)
        for gid, c in candidates.items()
        if c.features.organization == incoming.organization
        and not _other_registration(incoming, c.features)
    }
    target: str | None = None
    via: Via | None = None
    if owners:
        target, via = owners[0], "identifier"
    elif incoming.organization:
        target = _same_organization(incoming, candidates)
        via = "organization" if target is not None else None
    if target is None:
        merge = [
            (gid, s)
            for gid, s in scores.items()
            if s.total >= rules.merge_threshold and s.vetoed_by is None
        ]
        if merge:
            target, _ = min(merge, key=lambda item: (-item[1].total, item[0]))
            via = "model"

    proposals = [Proposal(gid, "identifier", scores.get(gid)) for gid in owners[1:]]
    ranked = sorted(scores.items(), key=lambda item: (-item[1].total, item[0]))
    for gid, found in ranked:
        if gid == target or gid in owners or found.total < rules.review_threshold:
            continue
        proposals.append(Proposal(gid, "model", found))
    return Decision(
        target,
        via,
        scores.get(target) if target is not None else None,
        tuple(proposals[:MAX_PROPOSALS]),
    )


def _other_registration(a: MatchFeatures, b: MatchFeatures) -> bool:
    """Two organisations with registration numbers that differ: two companies."""
    return bool(a.registration and b.registration and not set(a.registration) & set(b.registration))


def _same_organization(incoming: MatchFeatures, candidates: Mapping[str, Candidate]) -> str | None:
    """The oldest organisation with the same registration number, else with the same name and
    postcode."""
    same_registration, same_name = [], []
    for gid, candidate in candidates.items():
        other = candidate.features
        if not other.organization:
            continue
        if set(incoming.registration) & set(other.registration):
            same_registration.append(gid)
        elif (
            incoming.family
            and incoming.family == other.family
            and set(incoming.postcodes) & set(other.postcodes)
            and not (incoming.registration and other.registration)
        ):
            same_name.append(gid)
    found = same_registration or same_name
    return min(found) if found else None
