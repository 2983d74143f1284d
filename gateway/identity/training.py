"""Learning the match model's parameters from the base, unsupervised, as Splink does.

- **u** from random pairs: among pairs of records drawn at random almost none are one person,
  so the share of each level among them is u.
- **m** by expectation-maximisation over the blocked pairs (records sharing a blocking key),
  with u held fixed: each round weighs every pair by its current match probability and takes
  each level's weighted share; it stops when no m moves by more than ``tolerance``. One
  session per blocking rule, leaving out the comparisons the rule fixes (all its pairs agree
  on them: they would teach EM nothing but that agreement); each m is the mean over the
  sessions that learnt it.
- **term frequencies** of given and family names, city and postcode: each value's share of the
  records (values seen once are left out: an unknown value counts as seen once).
- **prior**: the most matches one session found, over all pairs of records.

Pure: features in, a :class:`~gateway.identity.model.MatchModel` and the figures out; the
resolution service reads the records and stores the version.
"""

from __future__ import annotations

import math
import random
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from gateway.identity import comparisons as cmp
from gateway.identity.blocking import match_keys
from gateway.identity.features import MatchFeatures
from gateway.identity.model import LevelParameters, MatchModel

# Records in one block beyond which the block is skipped (a common surname's initial says
# little, and its pairs would swamp the rest).
MAX_BLOCK = 60
# Smallest m or u kept: a level never seen is rare, not impossible.
FLOOR = 1e-6
# Pseudo-pairs of the starting model's m and u added to what the data shows: a level seen
# rarely or never keeps about its default instead of falling to zero, and a comparison the data
# has no values for (no e-mail anywhere) keeps its defaults.
PRIOR_STRENGTH = 10.0

Vector = tuple[tuple[str, str], ...]  # (comparison, level) of every compared field


@dataclass(frozen=True, slots=True)
class Training:
    """A trained model and how it was learnt."""

    model: MatchModel
    records: int
    blocked_pairs: int
    random_pairs: int
    iterations: int
    converged: bool
    blocked_match_share: float

    def figures(self) -> dict[str, object]:
        return {
            "records": self.records,
            "blocked_pairs": self.blocked_pairs,
            "random_pairs": self.random_pairs,
            "iterations": self.iterations,
            "converged": self.converged,
            "blocked_match_share": round(self.blocked_match_share, 6),
        }


def train(
    records: Sequence[MatchFeatures],
    start: MatchModel,
    blocking: Sequence[str],
    *,
    random_pairs: int = 50_000,
    max_iterations: int = 30,
    tolerance: float = 1e-4,
    seed: int = 0,
) -> Training:
    """Learn from ``records`` (features of the source records), starting from ``start``.

    :raises ValueError: fewer than two records, or no blocked pair to learn m from.
    """
    if len(records) < 2:
        raise ValueError("training needs at least two records")
    rng = random.Random(seed)
    u, drawn = estimate_u(records, start, random_pairs, rng)
    sums: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    sessions: Counter[str] = Counter()
    matches = 0.0
    pairs_total = 0
    iterations, converged = 0, True
    for rule in blocking:
        blocked = blocked_pairs(records, (rule,))
        if not blocked:
            continue
        pairs_total += len(blocked)
        fixed = _fixed_by(rule)
        vectors = Counter(
            tuple(item for item in vector(start, records[i], records[j]) if item[0] not in fixed)
            for i, j in blocked
        )
        m, share, rounds, done = expectation_maximisation(
            vectors, start, u, max_iterations=max_iterations, tolerance=tolerance
        )
        iterations, converged = max(iterations, rounds), converged and done
        matches = max(matches, share * len(blocked))
        for comparison, levels in m.items():
            if comparison in fixed:
                continue
            sessions[comparison] += 1
            for level, value in levels.items():
                sums[comparison][level] += value
    if not pairs_total:
        raise ValueError("no two records share a blocking key: nothing to learn m from")
    m = {
        c: (
            {lvl: sums[c][lvl] / sessions[c] for lvl in levels}
            if sessions[c]
            else {lvl: p.m for lvl, p in levels.items()}
        )
        for c, levels in start.levels.items()
    }
    all_pairs = len(records) * (len(records) - 1) / 2
    prior = min(0.5, max(1e-9, matches / all_pairs))
    share = matches / pairs_total
    learnt = {
        comparison: MappingProxyType(
            {
                level: LevelParameters(m[comparison][level], u[comparison][level])
                for level in cmp.LEVELS[comparison]
            }
        )
        for comparison in start.levels
    }
    model = MatchModel(
        prior=prior,
        levels=MappingProxyType(learnt),
        term_frequencies=term_frequencies(records),
        nicknames=start.nicknames,
        merge_vetoes=start.merge_vetoes,
    )
    return Training(model, len(records), pairs_total, drawn, iterations, converged, share)


# The comparisons a blocking rule's parts fix: every pair of its blocks agrees on them, so one
# EM session per rule leaves them out and learns only the others' m (as Splink trains).
_FIXES = {
    "postcode": ("postcode",),
    "birth_date": ("birth_date",),
    "given": ("given_name",),
    "family": ("family_name",),
    "name": ("given_name", "family_name"),
    "city": ("city",),
}


def _fixed_by(rule: str) -> frozenset[str]:
    return frozenset(c for part in rule.split("+") for c in _FIXES.get(part, ()))


def vector(model: MatchModel, a: MatchFeatures, b: MatchFeatures) -> Vector:
    """The levels of a pair, names in the arrangement the model prefers."""
    straight = cmp.name_levels(a, b, model.nicknames, swapped=False)
    names = straight
    if a.given and a.family and b.given and b.family:
        turned = cmp.name_levels(a, b, model.nicknames, swapped=True)
        if _sum(model, turned) > _sum(model, straight):
            names = turned
    levels = {**names, **cmp.other_levels(a, b)}
    return tuple(sorted((c, lvl) for c, lvl in levels.items() if c in model.levels))


def estimate_u(
    records: Sequence[MatchFeatures], model: MatchModel, pairs: int, rng: random.Random
) -> tuple[dict[str, dict[str, float]], int]:
    """u of every level from up to ``pairs`` random pairs (Laplace-smoothed)."""
    n = len(records)
    drawn = min(pairs, n * (n - 1) // 2)
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for _ in range(drawn):
        i, j = rng.sample(range(n), 2)
        for comparison, level in vector(model, records[i], records[j]):
            counts[comparison][level] += 1
    return {c: _shares(counts[c], c, model, "u") for c in model.levels}, drawn


def blocked_pairs(
    records: Sequence[MatchFeatures], blocking: Sequence[str]
) -> set[tuple[int, int]]:
    """Index pairs of records sharing a key of a blocking rule (blocks over MAX_BLOCK skipped)."""
    blocks: dict[str, list[int]] = defaultdict(list)
    for index, features in enumerate(records):
        for key in match_keys(features, blocking):
            blocks[key].append(index)
    found: set[tuple[int, int]] = set()
    for members in blocks.values():
        if 1 < len(members) <= MAX_BLOCK:
            for x in range(len(members)):
                for y in range(x + 1, len(members)):
                    found.add((members[x], members[y]))
    return found


def expectation_maximisation(
    vectors: Mapping[Vector, int],
    start: MatchModel,
    u: Mapping[str, Mapping[str, float]],
    *,
    max_iterations: int,
    tolerance: float,
) -> tuple[dict[str, dict[str, float]], float, int, bool]:
    """m (u fixed) and the share of matches among the pairs: (m, share, rounds, converged)."""
    m = {c: {lvl: p.m for lvl, p in levels.items()} for c, levels in start.levels.items()}
    share = 0.1
    total = sum(vectors.values())
    for iteration in range(1, max_iterations + 1):
        weighted: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        matched = 0.0
        for levels, count in vectors.items():
            log_odds = math.log2(share / (1 - share)) + sum(
                math.log2(m[c][lvl] / u[c][lvl]) for c, lvl in levels
            )
            posterior = (
                1.0 if log_odds > 60 else 0.0 if log_odds < -60 else (1.0 / (1.0 + 2.0**-log_odds))
            )
            matched += posterior * count
            for c, lvl in levels:
                weighted[c][lvl] += posterior * count
        new_share = min(max(matched / total, FLOOR), 1 - FLOOR)
        new_m = {c: _shares(weighted[c], c, start, "m") for c in m}
        change = max(abs(new_m[c][lvl] - m[c][lvl]) for c in m for lvl in m[c])
        m, share = new_m, new_share
        if change < tolerance:
            return m, share, iteration, True
    return m, share, max_iterations, False


def term_frequencies(records: Sequence[MatchFeatures]) -> Mapping[str, Mapping[str, float]]:
    """Share of the records holding each value seen at least twice; ``""`` holds the share
    of a value seen once (what an unknown value counts as)."""
    counts: dict[str, Counter[str]] = {c: Counter() for c in sorted(cmp.TERM_FREQUENCY)}
    for f in records:
        if f.given:
            counts["given_name"][f.given_name] += 1
        if f.family:
            counts["family_name"][f.family_name] += 1
        counts["city"].update(set(f.cities))
        counts["postcode"].update(set(f.postcodes))
    tables: dict[str, Mapping[str, float]] = {}
    for comparison, counter in counts.items():
        total = sum(counter.values())
        if not total:
            continue
        table = {value: n / total for value, n in counter.items() if n > 1}
        table[""] = 1 / total
        tables[comparison] = MappingProxyType(table)
    return MappingProxyType(tables)


def _shares(
    counts: Mapping[str, float],
    comparison: str,
    model: MatchModel,
    side: str,
) -> dict[str, float]:
    """Each level's share of ``counts``, with :data:`PRIOR_STRENGTH` pseudo-pairs spread as
    the starting model's m or u."""
    levels = model.levels[comparison]
    total = sum(counts.get(level, 0) for level in levels) + PRIOR_STRENGTH
    return {
        level: max(FLOOR, (counts.get(level, 0) + PRIOR_STRENGTH * getattr(p, side)) / total)
        for level, p in levels.items()
    }


def _sum(model: MatchModel, levels: cmp.Levels) -> float:
    return sum(model.weight(c, lvl) for c, lvl in levels.items() if c in model.levels)
