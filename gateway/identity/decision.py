"""Which golden profile a new source record joins, and which pairs need a person's eye.

Pure: the candidates come in already fetched (:mod:`gateway.identity.candidates`). The order of
evidence, strongest first:

1. an identifier the record carries is already owned by a golden profile (its own key first,
   then any other system's key it quotes);
2. a shared normalised e-mail, then a shared E.164 phone, unless the names clearly differ
   (:data:`~gateway.identity.scoring.CONTACT_NAME_VETO`);
3. the best fuzzy score, if at or above the merge threshold and corroborated.

Other candidates at or above the review threshold (and golden profiles owning *other*
identifiers of the record, which would be a merge of two golden profiles) become proposals for
the review queue; a record never merges two golden profiles by itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from gateway.identity import blocking
from gateway.identity.features import MatchFeatures
from gateway.identity.rules import IdentityRules
from gateway.identity.scoring import MatchScore, score

Via = Literal["identifier", "email", "phone", "fuzzy"]
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
    reason: Via
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
    scores = {gid: score(incoming, c.features, c.shared_kinds) for gid, c in candidates.items()}
    target: str | None = None
    via: Via | None = None
    if owners:
        target, via = owners[0], "identifier"
    else:
        target, via = _contact_match(candidates, scores)
        if target is None:
            target, via = _fuzzy_match(scores, rules)

    proposals = [Proposal(gid, "identifier", scores.get(gid)) for gid in owners[1:]]
    ranked = sorted(scores.items(), key=lambda item: (-item[1].total, item[0]))
    for gid, found in ranked:
        if gid == target or gid in owners or found.total < rules.review_threshold:
            continue
        proposals.append(Proposal(gid, "fuzzy", found))
    return Decision(
        target,
        via,
        scores.get(target) if target is not None else None,
        tuple(proposals[:MAX_PROPOSALS]),
    )


def _contact_match(
    candidates: Mapping[str, Candidate], scores: Mapping[str, MatchScore]
) -> tuple[str | None, Via | None]:
    best: tuple[tuple[bool, float, str], str, Via] | None = None
    for gid, candidate in candidates.items():
        by_email = blocking.EMAIL in candidate.shared_kinds
        by_phone = blocking.PHONE in candidate.shared_kinds
        if not (by_email or by_phone) or scores[gid].name_conflict:
            continue
        # E-mail beats phone, then the higher score, then the older golden profile.
        rank = (not by_email, -scores[gid].total, gid)
        if best is None or rank < best[0]:
            best = (rank, gid, "email" if by_email else "phone")
    return (best[1], best[2]) if best is not None else (None, None)


def _fuzzy_match(
    scores: Mapping[str, MatchScore], rules: IdentityRules
) -> tuple[str | None, Via | None]:
    merge = [
        (gid, s) for gid, s in scores.items() if s.total >= rules.merge_threshold and s.corroborated
    ]
    if not merge:
        return None, None
    gid, _ = min(merge, key=lambda item: (-item[1].total, item[0]))
    return gid, "fuzzy"
