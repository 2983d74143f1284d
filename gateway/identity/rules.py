"""The identity settings as the matcher and survivorship use them: thresholds, source priority
and per-field strategies, checked once.

Kept apart from :mod:`gateway.config` (pydantic, file loading) so the identity code and its
tests need no settings file; :meth:`IdentityRules.from_settings` bridges the two.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Literal, get_args

from gateway.errors import ConfigError

if TYPE_CHECKING:
    from gateway.config import IdentitySettings
    from gateway.config_identity import IdentityConfig
    from gateway.identity.model import MatchModel

Strategy = Literal["priority", "most_recent", "most_complete", "union"]
STRATEGIES: tuple[str, ...] = get_args(Strategy)

# Golden profile fields that survivorship decides one by one. ``person`` and ``organization``
# are decided per attribute (a name from the CRM, a birth date from the ERP); the others as a
# whole value. ``identifiers`` (union, owned by one golden profile) and ``consents`` (the latest
# answer per purpose and recipient) follow fixed rules: they are not a matter of taste.
PERSON_FIELDS = (
    "given_name",
    "middle_name",
    "family_name",
    "prefix",
    "suffix",
    "birth_date",
    "gender",
    "language",
    "employment",
)
ORGANIZATION_FIELDS = ("name", "legal_form", "registration_number", "contacts")
WHOLE_FIELDS = (
    "addresses",
    "emails",
    "phones",
    "web",
    "preferences",
    "financial",
    "segments",
    "account",
    "attributes",
    "metadata",
)
LIST_FIELDS = frozenset({"addresses", "emails", "phones", "web", "segments", "attributes"})
FIELD_PATHS: tuple[str, ...] = (
    *(f"person.{name}" for name in PERSON_FIELDS),
    *(f"organization.{name}" for name in ORGANIZATION_FIELDS),
    *WHOLE_FIELDS,
)
# A rule may name a group ("person") to cover all its attributes.
_GROUPS = ("person", "organization")


@dataclass(frozen=True, slots=True)
class IdentityRules:
    """Matching bands, the match model, blocking rules and survivorship rules.

    The bands are match probabilities (:mod:`gateway.identity.model`): a candidate at or above
    ``merge_threshold`` is merged; between the two a review item is opened; below
    ``review_threshold`` it is ignored. ``model`` and ``blocking`` default to those of the
    shipped ``config/identity.toml``.
    """

    merge_threshold: float = 0.99
    review_threshold: float = 0.80
    source_priority: tuple[str, ...] = ()
    default_strategy: Strategy = "most_recent"
    field_strategy: Mapping[str, Strategy] = field(default_factory=dict)
    default_region: str = "GB"
    model: MatchModel = None  # type: ignore[assignment]  # None: the shipped file's
    blocking: tuple[str, ...] = ()
    # Every field path's strategy, worked out once (survivorship asks for each field of each
    # golden profile it builds).
    _strategies: Mapping[str, Strategy] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        if not 0.0 < self.review_threshold <= self.merge_threshold <= 1.0:
            raise ConfigError(
                f"need 0 < review_threshold ({self.review_threshold}) <= merge_threshold "
                f"({self.merge_threshold}) <= 1",
                key="identity.review_threshold",
            )
        _check_strategy(self.default_strategy, "identity.default_strategy")
        for path, strategy in self.field_strategy.items():
            key = f"identity.field_strategy.{path}"
            if path not in FIELD_PATHS and path not in _GROUPS:
                raise ConfigError(
                    f"unknown field '{path}' (one of: {', '.join((*_GROUPS, *FIELD_PATHS))})",
                    key=key,
                )
            _check_strategy(strategy, key)
            if strategy == "union" and path not in LIST_FIELDS:
                raise ConfigError(
                    f"'union' needs a list field ({', '.join(sorted(LIST_FIELDS))})", key=key
                )
        if self.default_strategy == "union":
            raise ConfigError(
                "'union' applies to list fields only", key="identity.default_strategy"
            )
        if self.model is None or not self.blocking:
            from gateway.config_identity import shipped

            defaults = shipped()
            if self.model is None:
                object.__setattr__(self, "model", defaults.model)
            if not self.blocking:
                object.__setattr__(self, "blocking", defaults.blocking)
        object.__setattr__(self, "field_strategy", MappingProxyType(dict(self.field_strategy)))
        object.__setattr__(
            self, "_strategies", MappingProxyType({p: self._strategy(p) for p in FIELD_PATHS})
        )

    def strategy(self, path: str) -> Strategy:
        """The strategy for a field path: its own rule, else its group's, else the default."""
        found = self._strategies.get(path)
        return found if found is not None else self._strategy(path)

    def _strategy(self, path: str) -> Strategy:
        group = path.partition(".")[0]
        return (
            self.field_strategy.get(path)
            or self.field_strategy.get(group)
            or (self.default_strategy)
        )

    def priority(self, source_system: str) -> int:
        """Rank of a source system under ``priority`` (0 is best; unlisted systems come last)."""
        try:
            return self.source_priority.index(source_system)
        except ValueError:
            return len(self.source_priority)

    def with_model(self, model: MatchModel) -> IdentityRules:
        """The same rules with another model (a trained version)."""
        return dataclasses.replace(self, model=model)

    @classmethod
    def from_settings(
        cls, settings: IdentitySettings, identity: IdentityConfig | None = None
    ) -> IdentityRules:
        """The rules of the ``[identity]`` config section and ``identity.toml`` (None: the
        shipped one)."""
        return cls(
            model=identity.model if identity is not None else None,  # type: ignore[arg-type]
            blocking=identity.blocking if identity is not None else (),
            merge_threshold=settings.merge_threshold,
            review_threshold=settings.review_threshold,
            source_priority=tuple(settings.source_priority),
            default_strategy=settings.default_strategy,
            field_strategy=dict(settings.field_strategy),
            default_region=settings.default_region,
        )


def _check_strategy(strategy: str, key: str) -> None:
    if strategy not in STRATEGIES:
        raise ConfigError(
            f"unknown strategy '{strategy}' (one of: {', '.join(STRATEGIES)})", key=key
        )
