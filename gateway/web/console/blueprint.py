"""The console's one blueprint (``/console/``), which every screen module adds its pages to."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint

bp = Blueprint("console", __name__, url_prefix="/console", template_folder="templates")
# ``/`` of the gateway: a person who opens the server's address lands on the console.
root = Blueprint("console_root", __name__)

STATIC = Path(__file__).parent / "static"
