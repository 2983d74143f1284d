"""The Fellegi-Sunter match model, as Splink builds it: per-field levels, m and u, a prior.

For a pair of profiles each comparison (:mod:`gateway.identity.comparisons`) gives a level; the
level's Bayes factor is ``m / u``: how much likelier that level is among pairs of one person
(m) than among random pairs (u). The match weight is the prior's log-odds plus the sum of
``log2(m / u)`` over the comparisons that have values on both sides (a missing value is no
evidence); the match probability is ``2^w / (1 + 2^w)``.

Term frequencies (Splink's adjustment): for an exact agreement on a comparison with a frequency
table, the u of the level is replaced by the frequency of the agreed value, so a shared rare
surname weighs more than a shared "Smith". Values not in the table count as rare (the table's
smallest frequency).

Pure: parameters in, explanations out. The parameters come from ``config/identity.toml``
(:mod:`gateway.config_identity`) or a trained version (:mod:`gateway.identity.training`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from gateway.identity import comparisons as cmp
from gateway.identity.features import MatchFeatures

MISSING = "missing"
# Weights are clipped so that one value cannot decide alone (a u of 0 learnt from a sample).
MAX_WEIGHT = 30.0


@dataclass(frozen=True, slots=True)
class LevelParameters:
    m: float
    u: float

    @property
    def weight(self) -> float:
        return _clip(math.log2(self.m / self.u))


@dataclass(frozen=True, slots=True)
class MatchModel:
    """The parameters: prior, m and u per comparison level, term frequencies, merge vetoes.

    ``version`` is None for the shipped defaults, else the stored model version's number.
    """

    prior: float  # probability that two records drawn at random are one person
    levels: Mapping[str, Mapping[str, LevelParameters]]
    term_frequencies: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    nicknames: cmp.Nicknames = field(default_factory=dict)
    # Each veto is a set of (comparison, level) that together forbid an automatic merge;
    # the level "missing" holds when either side lacks the value.
    merge_vetoes: tuple[tuple[tuple[str, str], ...], ...] = ()
    version: int | None = None
    _tf_floor: Mapping[str, float] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )
    _weights: Mapping[str, Mapping[str, float]] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        if not 0.0 < self.prior < 1.0:
            raise ValueError(f"prior must be between 0 and 1 (got {self.prior})")
        for comparison, levels in self.levels.items():
            if comparison not in cmp.LEVELS:
                raise ValueError(f"unknown comparison '{comparison}'")
            if tuple(levels) != cmp.LEVELS[comparison]:
                raise ValueError(
                    f"comparison '{comparison}' needs the levels "
                    f"{', '.join(cmp.LEVELS[comparison])} in that order"
                )
        for veto in self.merge_vetoes:
            for comparison, level in veto:
                if level != MISSING and level not in cmp.LEVELS.get(comparison, ()):
                    raise ValueError(f"unknown merge veto level '{comparison}.{level}'")
        floor = {c: min(t.values()) for c, t in self.term_frequencies.items() if t}
        object.__setattr__(self, "_tf_floor", floor)
        weights = {c: {lvl: p.weight for lvl, p in ls.items()} for c, ls in self.levels.items()}
        object.__setattr__(self, "_weights", weights)

    @property
    def prior_weight(self) -> float:
        return math.log2(self.prior / (1 - self.prior))

    @property
    def label(self) -> str:
        return "default" if self.version is None else f"v{self.version}"

    def weight(self, comparison: str, level: str, value: str | None = None) -> float:
        """``log2(m / u)`` of a level, with the term frequency of ``value`` for an exact
        agreement where the comparison has a frequency table."""
        if value is None or level != "exact" or comparison not in self._tf_floor:
            return self._weights[comparison][level]
        tf = self.term_frequencies[comparison].get(value, self._tf_floor[comparison])
        return _clip(math.log2(self.levels[comparison][level].m / tf))

    def with_version(self, version: int) -> MatchModel:
        return MatchModel(
            self.prior,
            self.levels,
            self.term_frequencies,
            self.nicknames,
            self.merge_vetoes,
            version,
        )

    def parameters(self) -> dict[str, Any]:
        """JSON-ready parameters (stored with a model version; term frequencies apart)."""
        return {
            "prior": self.prior,
            "levels": {
                c: {level: {"m": p.m, "u": p.u} for level, p in levels.items()}
                for c, levels in self.levels.items()
            },
        }


@dataclass(frozen=True, slots=True)
class FieldWeight:
    level: str
    weight: float


@dataclass(frozen=True, slots=True)
class MatchScore:
    """A pair's match probability (``total``) and how it came about, field by field."""

    total: float
    match_weight: float
    fields: MappingProxyType[str, FieldWeight]
    prior_weight: float
    model: str
    swapped_names: bool = False
    vetoed_by: str | None = None  # the levels that forbid an automatic merge

    @property
    def components(self) -> MappingProxyType[str, float]:
        """The weight of each compared field."""
        return MappingProxyType({name: f.weight for name, f in self.fields.items()})

    def level(self, comparison: str) -> str | None:
        found = self.fields.get(comparison)
        return found.level if found is not None else None

    def as_dict(self) -> dict[str, object]:
        """JSON-ready, rounded: stored with review items and audit rows (levels and weights,
        never the compared values)."""
        return {
            "total": round(self.total, 6),
            "match_weight": round(self.match_weight, 3),
            "prior_weight": round(self.prior_weight, 3),
            "model": self.model,
            "fields": {
                name: {"level": f.level, "weight": round(f.weight, 3)}
                for name, f in self.fields.items()
            },
            **({"swapped_names": True} if self.swapped_names else {}),
            **({"vetoed_by": self.vetoed_by} if self.vetoed_by else {}),
        }


def score(
    model: MatchModel,
    a: MatchFeatures,
    b: MatchFeatures,
    shared_kinds: frozenset[str] = frozenset(),
) -> MatchScore:
    """The match probability of two profiles, with each field's level and weight.

    :param shared_kinds: match key kinds the two are known to share (``e``: an e-mail, ``p``:
        a phone). A golden profile's document shows the surviving e-mail and phones only; its
        match keys hold those of every linked source record.
    """
    others = cmp.other_levels(a, b)
    if "e" in shared_kinds:
        others["email"] = "exact"
    if "p" in shared_kinds:
        others["phone"] = "exact"
    straight = _weigh(model, a, b, cmp.name_levels(a, b, model.nicknames, swapped=False), False)
    fields = straight
    swapped = False
    if a.given and a.family and b.given and b.family:
        turned = _weigh(model, a, b, cmp.name_levels(a, b, model.nicknames, swapped=True), True)
        if sum(f.weight for f in turned.values()) > sum(f.weight for f in straight.values()):
            fields, swapped = turned, True
    fields.update(_weigh(model, a, b, others, False))
    total_weight = model.prior_weight + sum(f.weight for f in fields.values())
    veto = next(
        (
            " & ".join(f"{c}.{level}" for c, level in combination)
            for combination in model.merge_vetoes
            if all(_level_of(fields, c) == level for c, level in combination)
        ),
        None,
    )
    return MatchScore(
        total=probability(total_weight),
        match_weight=total_weight,
        fields=MappingProxyType(fields),
        prior_weight=model.prior_weight,
        model=model.label,
        swapped_names=swapped,
        vetoed_by=veto,
    )


def probability(match_weight: float) -> float:
    if match_weight > 60:
        return 1.0
    odds: float = 2.0**match_weight
    return odds / (1.0 + odds)


def _weigh(
    model: MatchModel, a: MatchFeatures, b: MatchFeatures, levels: cmp.Levels, swapped: bool
) -> dict[str, FieldWeight]:
    out: dict[str, FieldWeight] = {}
    for comparison, level in levels.items():
        if comparison not in model.levels:
            continue
        value = _agreed(comparison, a, b, swapped) if level == "exact" else None
        out[comparison] = FieldWeight(level, model.weight(comparison, level, value))
    return out


def _agreed(comparison: str, a: MatchFeatures, b: MatchFeatures, swapped: bool) -> str | None:
    """The value both sides share, for the term-frequency adjustment."""
    if comparison == "given_name":
        return a.given_name
    if comparison == "family_name":
        return a.family_name
    if comparison == "city":
        shared = set(a.cities) & set(b.cities)
    elif comparison == "postcode":
        shared = set(a.postcodes) & set(b.postcodes)
    else:
        return None
    return min(shared) if shared else None


def _level_of(fields: Mapping[str, FieldWeight], comparison: str) -> str:
    found = fields.get(comparison)
    return found.level if found is not None else MISSING


def _clip(weight: float) -> float:
    return max(-MAX_WEIGHT, min(MAX_WEIGHT, weight))


def from_parameters(
    parameters: Mapping[str, Any],
    term_frequencies: Mapping[str, Mapping[str, float]],
    base: MatchModel,
    version: int,
) -> MatchModel:
    """A stored version's model: its prior, m, u and term frequencies, with the nicknames and
    vetoes of ``base`` (the configured model).

    :raises ValueError: the stored levels are not those of this gateway's comparisons.
    """
    stored = parameters["levels"]
    levels = {  # in this gateway's order: a JSONB column keeps no key order
        comparison: MappingProxyType(
            {
                level: LevelParameters(
                    float(stored[comparison][level]["m"]), float(stored[comparison][level]["u"])
                )
                for level in cmp.LEVELS[comparison]
            }
        )
        for comparison in cmp.LEVELS
        if comparison in stored
    }
    return MatchModel(
        prior=float(parameters["prior"]),
        levels=MappingProxyType(levels),
        term_frequencies=MappingProxyType(
            {c: MappingProxyType(dict(t)) for c, t in term_frequencies.items()}
        ),
        nicknames=base.nicknames,
        merge_vetoes=base.merge_vetoes,
        version=version,
    )
