"""Identity resolution: which golden profile a source record belongs to, and what that golden
profile says.

Pure parts (no I/O): :mod:`normalize`, :mod:`features`, :mod:`blocking`, :mod:`scoring`,
:mod:`decision`, :mod:`survivorship`, :mod:`rules`. Parts that work on a database connection
inside the caller's transaction: :mod:`candidates` (the block query), :mod:`golden` (recompute,
merge, detach) and :mod:`review` (the review queue). :class:`gateway.store.ProfileStore` drives
them when a source record is saved.

Only the pure rules are exported here: the database parts import the store's tables, and the
store imports them, so importing them from this package's ``__init__`` would be circular.
"""

from gateway.identity.rules import FIELD_PATHS, IdentityRules, Strategy

__all__ = ["FIELD_PATHS", "IdentityRules", "Strategy"]
