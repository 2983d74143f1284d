"""The data folders the gateway ships with: ``schemas/``, ``mappings/`` and ``config/``.

In a checkout (and an editable install) they are the top-level folders beside ``gateway/``; a
built wheel carries copies under ``gateway/bundled/`` (``setup.py`` puts them there), so an
install that runs outside the checkout still finds its schemas, sample mappings and default
configuration. A deployment's own folders (its home: ``--home``/``$CPEX_HOME``, or the folder of
its ``config/gateway.toml``) come first; these are the fall-back.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

BundledName = Literal["schemas", "mappings", "config"]
PACKAGE = Path(__file__).resolve().parent


def bundled_dir(name: BundledName) -> Path:
    """The shipped folder ``name``: the wheel's copy when installed, else the checkout's."""
    installed = PACKAGE / "bundled" / name
    return installed if installed.is_dir() else PACKAGE.parent / name
