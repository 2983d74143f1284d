"""The one inbound path: parse (hardened) -> validate -> map -> resolve identity -> store ->
outbox event, per record, in chunks of one transaction each.

This package's ``__init__`` imports nothing on purpose: the store writes outbox rows through
:mod:`gateway.pipeline.outbox`, and importing the runner here would make that a cycle.
Import what you need from the modules: :mod:`.runner` (``Pipeline``), :mod:`.files`
(``import_file``), :mod:`.quarantine`, :mod:`.messages`, :mod:`.outbox`.
"""

# The store writes outbox rows (gateway.store.profiles and gateway.identity.review import
# gateway.pipeline.outbox), so the store package must be loaded before any pipeline module:
# loading it first lets it import the outbox while this package is still empty.
import gateway.store  # noqa: F401
