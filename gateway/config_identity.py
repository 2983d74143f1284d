"""``config/identity.toml``: the match model's default parameters, blocking rules and vetoes.

Read once at start (:func:`load_identity_file`) and checked like every config file: strict
types, unknown keys refused, every comparison with all of its levels, m and u each summing to
about 1; a mistake names the file and the dotted key.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from gateway.bundled import bundled_dir
from gateway.config_files import config_error, read_toml
from gateway.errors import ConfigError
from gateway.identity import blocking
from gateway.identity import comparisons as cmp
from gateway.identity.model import MISSING, LevelParameters, MatchModel
from gateway.identity.normalize import fold

IDENTITY_FILE = "identity.toml"
#: The shipped file (what a store without settings uses, and a deployment without its own).
SHIPPED = bundled_dir("config") / IDENTITY_FILE
SUPPORTED_VERSIONS = (1,)
_SUM_TOLERANCE = 0.02


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class _Level(_Strict):
    m: float = Field(gt=0, le=1)
    u: float = Field(gt=0, le=1)


class _Nicknames(_Strict):
    groups: list[list[str]] = []


class IdentityFile(_Strict):
    version: int = 1
    probability_two_random_records_match: float = Field(gt=0, lt=1)
    blocking: list[str] = Field(min_length=1)
    merge_vetoes: list[list[str]] = []
    comparisons: dict[str, dict[str, _Level]]
    nicknames: _Nicknames = _Nicknames()

    @field_validator("version")
    @classmethod
    def _version(cls, version: int) -> int:
        if version not in SUPPORTED_VERSIONS:
            raise ValueError(f"unsupported version {version} (reads {SUPPORTED_VERSIONS})")
        return version

    @field_validator("blocking")
    @classmethod
    def _blocking(cls, rules: list[str]) -> list[str]:
        for rule in rules:
            blocking.check_rule(rule)
        return rules

    @field_validator("comparisons")
    @classmethod
    def _comparisons(
        cls, comparisons: dict[str, dict[str, _Level]]
    ) -> dict[str, dict[str, _Level]]:
        for comparison, levels in comparisons.items():
            wanted = cmp.LEVELS.get(comparison)
            if wanted is None:
                raise ValueError(
                    f"unknown comparison '{comparison}' (one of: {', '.join(cmp.LEVELS)})"
                )
            if set(levels) != set(wanted):
                raise ValueError(
                    f"comparison '{comparison}' needs exactly the levels {', '.join(wanted)}"
                )
            for side in ("m", "u"):
                total = sum(getattr(level, side) for level in levels.values())
                if abs(total - 1) > _SUM_TOLERANCE:
                    raise ValueError(
                        f"the {side} probabilities of '{comparison}' add up to {total:.4f}, not 1"
                    )
        return comparisons

    @field_validator("merge_vetoes")
    @classmethod
    def _vetoes(cls, vetoes: list[list[str]]) -> list[list[str]]:
        for veto in vetoes:
            for item in veto:
                comparison, _, level = item.partition(".")
                if level != MISSING and level not in cmp.LEVELS.get(comparison, ()):
                    raise ValueError(
                        f"merge veto '{item}' is not a comparison.level (or comparison.missing)"
                    )
        return vetoes


@dataclass(frozen=True, slots=True)
class IdentityConfig:
    """What the file says: the default model and the blocking rules."""

    model: MatchModel
    blocking: tuple[str, ...]


def load_identity_file(path: Path) -> IdentityConfig:
    """Read and check the file.

    :raises ConfigError: the file is missing, not TOML, or a key is wrong (named).
    """
    if not path.is_file():
        raise ConfigError("identity model file not found", file=str(path))
    try:
        parsed = IdentityFile.model_validate(read_toml(path))
    except ValidationError as exc:
        raise config_error(
            exc, file=str(path), unknown_hint="see config/README.md, identity.toml"
        ) from None
    return IdentityConfig(_model(parsed), tuple(parsed.blocking))


@lru_cache(maxsize=4)
def shipped() -> IdentityConfig:
    """The shipped ``config/identity.toml`` (read once)."""
    return load_identity_file(SHIPPED)


def _model(parsed: IdentityFile) -> MatchModel:
    levels = {
        comparison: MappingProxyType(
            {
                level: LevelParameters(
                    parsed.comparisons[comparison][level].m, parsed.comparisons[comparison][level].u
                )
                for level in cmp.LEVELS[comparison]
            }
        )
        for comparison in cmp.LEVELS
        if comparison in parsed.comparisons
    }
    nicknames: dict[str, set[str]] = {}
    for group in parsed.nicknames.groups:
        names = {fold(name) for name in group if fold(name)}
        for name in names:
            nicknames.setdefault(name, set()).update(names - {name})
    return MatchModel(
        prior=parsed.probability_two_random_records_match,
        levels=MappingProxyType(levels),
        nicknames=MappingProxyType({k: frozenset(v) for k, v in nicknames.items()}),
        merge_vetoes=tuple(
            tuple((item.partition(".")[0], item.partition(".")[2]) for item in veto)
            for veto in parsed.merge_vetoes
        ),
    )
