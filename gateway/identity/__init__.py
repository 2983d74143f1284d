"""Identity resolution: which golden profile a source record belongs to, and what that golden
profile says.

Pure parts (no I/O): :mod:`normalize`, :mod:`features`, :mod:`blocking`, :mod:`candidates`,
:mod:`comparisons`, :mod:`model` (Fellegi-Sunter), :mod:`training`, :mod:`decision`,
:mod:`survivorship`, :mod:`rules`. Parts that still work on a database connection inside the
caller's transaction: :mod:`golden` (recompute, merge, detach) and :mod:`review` (the review
queue); the chunk (:mod:`gateway.store.chunk`) resolves and saves records.

Only the pure rules are exported here: the database parts import the store's tables, and the
store imports them, so importing them from this package's ``__init__`` would be circular.
"""

from gateway.identity.rules import FIELD_PATHS, IdentityRules, Strategy

__all__ = ["FIELD_PATHS", "IdentityRules", "Strategy"]
