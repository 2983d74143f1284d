"""ERP customer master data through the ingest pipeline, the same path as every other source.

Each refresh batch's customer rows carry the customer's own columns (names, company, address,
e-mail, credit code, currency: ``erp.customers.columns`` and the standard ones) beside the
figures. A customer whose own columns hash to what the snapshot row remembers
(``erp_customer.master_hash``) is skipped; the others are mapped with ``erp.master_mapping`` and
run through :class:`gateway.pipeline.runner.Pipeline`: validated as CPEX, identity resolved
(the identifier ``system = source_system, key = customer key``), stored with the ERP as source
(lineage; survivorship by ``identity.source_priority``), with their outbox events; a refused row
goes to the quarantine (its raw row holds the customer key), where it is retried after a fix;
it is fed again when its master data changes in the ERP (its hash is remembered as refused).

The hashes are written with the batch's snapshot rows and cursors, after the pipeline has
committed the profiles: a crash in between feeds the same rows again, which the pipeline finds
``unchanged``.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from operator import itemgetter
from typing import Any

from gateway.pipeline.runner import Batch, Pipeline
from gateway.runtime import Gateway

log = logging.getLogger(__name__)

# Record columns that are not master data (figures summed in the ERP, child-row checksums).
NOT_MASTER = frozenset(("order_count", "lifetime_value", "last_order_date", "open_invoices",
                        "balance", "checksum"))


REFUSED = "!"  # prefix of the hash of master data the pipeline refused


@dataclass
class MasterResult:
    """What master data did in one refresh: rows fed, skipped unchanged, pipeline outcomes."""

    fed: int = 0
    skipped: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)  # created, updated, … rejected
    rejected_keys: list[str] = field(default_factory=list)  # the first few

    def describe(self) -> str:
        counts = ", ".join(f"{n} {status}" for status, n in sorted(self.outcomes.items()))
        return (f"master data: {self.fed} fed ({counts or 'none'}), {self.skipped} skipped "
                "unchanged")


class MasterDataFeed:
    """Feeds changed customer rows of one refresh to the pipeline."""

    def __init__(self, gateway: Gateway, source_system: str, mapping: str, mode: str,
                 stored: Callable[[Sequence[str]], Mapping[str, str]]) -> None:
        """``stored``: the master-data hashes the snapshot holds, by key."""
        self.pipeline = Pipeline(gateway, Batch(
            source_system=source_system, source=f"ERP {source_system} {mode} refresh",
            mapping=mapping, actor=f"erp:{mode}"), keep_outcomes=False)
        self.stored = stored
        self.result = MasterResult()

    def feed(self, columns: Sequence[str], rows: Sequence[Sequence[Any]], as_of: datetime
             ) -> dict[str, str | None]:
        """Run the rows whose master data changed through the pipeline; each row's key with
        the hash to store (``!<hash>`` for a refused row: not fed again until it changes)."""
        own = [i for i, name in enumerate(columns) if name not in NOT_MASTER]
        names = [columns[i] for i in own]
        pick = itemgetter(*own)
        hashes: dict[str, str | None] = {}
        values_of: dict[str, tuple[Any, ...]] = {}
        for row in rows:
            key = str(row[0])
            values = pick(row) if len(own) > 1 else (pick(row),)
            hashes[key] = content_hash(values)
            values_of[key] = values
        known = self.stored(list(hashes)) if hashes else {}
        changed = [(k, dict(zip(names, values, strict=True)))
                   for k, values in values_of.items()
                   if known.get(k) not in (hashes[k], f"{REFUSED}{hashes[k]}")]
        self.result.skipped += len(hashes) - len(changed)
        if not changed:
            return hashes
        decoder = self.pipeline.decoder
        report = self.pipeline.run_decoded(
            decoder.row({**data, "extracted_at": as_of}, index)
            for index, (_, data) in enumerate(changed, start=1))
        self.result.fed += len(changed)
        self.result.outcomes.update(report.counts)
        for outcome in report.rejected:
            key = changed[outcome.index - 1][0]
            hashes[key] = f"{REFUSED}{hashes[key]}"
            if len(self.result.rejected_keys) < 20:
                self.result.rejected_keys.append(key)
            log.warning("ERP customer %s: master data refused (%s), quarantine %s", key,
                        outcome.code, outcome.quarantine_id)
        return hashes


def content_hash(values: Sequence[Any]) -> str:
    """A stable hash of a row's master-data values (their text, in column order; a missing
    value and an empty text differ)."""
    text = "\x1f".join("\x00" if v is None else str(v) for v in values)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()
