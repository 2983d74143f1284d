"""``identity blocking-report FILE``: what the blocking rules make of a batch.

For each rule, the pairs of records it puts together (what the model would score); with the
truth (key → person), how many of the true pairs each rule keeps, and all rules together: the
best recall blocking allows, whatever the model does.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations

from gateway.identity.blocking import KINDS, match_keys
from gateway.identity.features import features
from gateway.identity.rules import IdentityRules
from gateway.model import to_dict
from gateway.model.xmlcodec import PROFILE_TAG, profile_from_element
from gateway.xml.parser import XMLLimits
from gateway.xml.stream import iter_records


@dataclass(frozen=True, slots=True)
class RuleFigures:
    rule: str
    pairs: int
    true_pairs_kept: int | None


@dataclass(frozen=True, slots=True)
class BlockingReport:
    records: int
    rules: tuple[RuleFigures, ...]
    all_rules: RuleFigures
    true_pairs: int | None


def blocking_report(
    path: str | os.PathLike[str],
    rules: IdentityRules,
    limits: XMLLimits,
    truth: Mapping[str, str] | None = None,
) -> BlockingReport:
    """Read the CPEX profiles of a batch (each keyed by its first identifier) and count."""
    keys_of: list[tuple[str, list[str]]] = []
    for element in iter_records(path, PROFILE_TAG, limits=limits):
        profile = profile_from_element(element)
        if not profile.identifiers:
            continue
        found = features(to_dict(profile), rules.default_region)
        keys_of.append((profile.identifiers[0].key, match_keys(found, rules.blocking)))
    true_pairs = _true_pairs(truth, [k for k, _ in keys_of]) if truth is not None else None
    figures = [_figures(rule, keys_of, true_pairs, (rule,), rules) for rule in rules.blocking]
    together = _figures("all rules", keys_of, true_pairs, rules.blocking, rules)
    return BlockingReport(
        len(keys_of), tuple(figures), together, len(true_pairs) if true_pairs is not None else None
    )


def _figures(
    label: str,
    keys_of: Sequence[tuple[str, list[str]]],
    true_pairs: set[frozenset[str]] | None,
    chosen: Sequence[str],
    rules: IdentityRules,
) -> RuleFigures:
    kinds = {_kind(rule) for rule in chosen}
    blocks: dict[str, list[str]] = defaultdict(list)
    for key, keys in keys_of:
        for k in keys:
            if k.partition(":")[0] in kinds:
                blocks[k].append(key)
    pairs: set[frozenset[str]] = set()
    for members in blocks.values():
        pairs.update(frozenset(p) for p in combinations(members, 2))
    kept = len(pairs & true_pairs) if true_pairs is not None else None
    return RuleFigures(label, len(pairs), kept)


def _kind(rule: str) -> str:
    return KINDS.get(rule, rule)


def _true_pairs(truth: Mapping[str, str], keys: Sequence[str]) -> set[frozenset[str]]:
    people: dict[str, list[str]] = defaultdict(list)
    for key in keys:
        if key in truth:
            people[truth[key]].append(key)
    return {frozenset(p) for members in people.values() for p in combinations(members, 2)}
