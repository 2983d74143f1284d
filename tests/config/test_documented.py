"""Every settings key is documented in config/README.md and present in the sample file."""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import BaseModel

from gateway.config import Settings

REPO = Path(__file__).resolve().parents[2]


def _keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    keys = []
    for name, field in model.model_fields.items():
        if field.exclude:
            continue
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            keys += _keys(annotation, f"{prefix}{name}.")
        else:
            keys.append(f"{prefix}{name}")
    return keys


def test_every_key_is_documented() -> None:
    readme = (REPO / "config" / "README.md").read_text()
    keys = _keys(Settings)
    assert len(keys) >= 12
    missing = [k for k in keys if f"`{k}`" not in readme]
    assert missing == []


def test_sample_file_sets_every_key() -> None:
    data = tomllib.loads((REPO / "config" / "gateway.toml").read_text())
    flat = {f"{s}.{k}" for s, v in data.items() if isinstance(v, dict) for k in v}
    flat |= {k for k, v in data.items() if not isinstance(v, dict)}
    # [attributes.NAME] tables are named entries of one key (custom attributes), not sections
    flat = {"attributes" if k.startswith("attributes.") else k for k in flat}
    assert set(_keys(Settings)) == flat
