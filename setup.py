"""Build hook: the wheel carries the data folders (``schemas/``, ``mappings/``, ``config/``)
under ``gateway/bundled/`` so that an install outside the checkout finds them
(:mod:`gateway.bundled`). Everything else is in ``pyproject.toml``."""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
DATA = ("schemas", "mappings", "config")
SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", ".*")


class BuildWithData(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads the checkout's folders
        for name in DATA:
            target = Path(self.build_lib) / "gateway" / "bundled" / name
            shutil.copytree(ROOT / name, target, ignore=SKIP, dirs_exist_ok=True)


setup(cmdclass={"build_py": BuildWithData})
