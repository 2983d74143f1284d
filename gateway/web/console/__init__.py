"""The admin console under ``/console/``: server-rendered pages over the services the REST API
uses, signed in with an admin or monitor key (docs/console.md).

Each screen is a module adding its pages to the one blueprint; nothing here holds a rule of its
own: listing, deciding and saving are the services' (quarantine, review queue, profile store,
jobs, deliveries, credentials, mapping admin), called with the signed-in key's name.
"""

from __future__ import annotations

from gateway.web.console import (
    auth,
    catalog,
    jobs,
    mappings,
    overview,
    partners,
    profiles,
    quarantine,
    review,
)
from gateway.web.console.blueprint import bp, root

__all__ = [
    "auth",
    "bp",
    "catalog",
    "jobs",
    "mappings",
    "overview",
    "partners",
    "profiles",
    "quarantine",
    "review",
    "root",
]
