"""Wiring: an :class:`ErpRefresher` for a running gateway, from ``config/erp.toml``.

Kept apart from the refresh logic so that tests build refreshers from parts (a demo ERP, a
mapper of their choice) and the CLI, scheduler and demo build them from config in one call.
"""

from __future__ import annotations

import logging
from pathlib import Path

from gateway.erp.refresh import (
    ColumnSummaryMapper,
    ErpRefresher,
    MappingSummaryMapper,
    SummaryMapper,
)
from gateway.erp.settings import ErpSettings, erp_settings_from, load_erp_settings
from gateway.runtime import Gateway

log = logging.getLogger(__name__)


def summary_mapper_for(gateway: Gateway, erp: ErpSettings) -> SummaryMapper:
    """The mapping file ``erp.mapping`` (under ``paths.mappings``) if set, else the column map.

    :raises ConfigError: the mapping file named is missing or invalid (from the mapping engine).
    """
    if erp.mapping is None:
        return ColumnSummaryMapper(erp.credit_codes)
    from gateway.mapping import load_mapping

    return MappingSummaryMapper(load_mapping(gateway.settings.path("mappings") / erp.mapping))


def refresher_for(gateway: Gateway, erp: ErpSettings | None = None) -> ErpRefresher:
    """A refresher on the configured ERP (the connector connects on first read); with
    ``erp.master_mapping``, it feeds changed customers' master data through the pipeline.

    :raises NotFoundError: the master-data mapping is not among the loaded mappings.
    """
    erp = erp or load_erp_settings(gateway.settings)
    refresher = ErpRefresher(gateway.engine, erp.open(), summary_mapper_for(gateway, erp))
    if erp.master_mapping is not None:
        from gateway.erp.master import MasterDataFeed

        gateway.mappings.get(erp.master_mapping)  # refused now, not at the first changed row
        mapping, system = erp.master_mapping, erp.source_system

        def feed(mode: str) -> MasterDataFeed:
            return MasterDataFeed(gateway, system, mapping, mode, refresher.store.master_hashes)

        refresher.master = feed
    return refresher


def demo_erp_settings(gateway: Gateway, path: Path) -> ErpSettings:
    """ERP settings that read the demo ERP file at ``path``."""
    from gateway.erp.demo import demo_erp_options

    return erp_settings_from({"version": 1, "erp": demo_erp_options(path)}, file="demo",
                             base_dir=Path(gateway.settings.base_dir))


DEMO_ERP_FILE = "demo-erp.db"


def run_demo_erp(gateway: Gateway) -> str:
    """The demo's ERP story, as text: create the demo ERP, refresh it fully, change a few ERP
    rows, refresh incrementally, reconcile keys. Needs a migrated CRM base.

    The demo ERP is (re)created at ``<paths.var>/demo-erp.db``, where ``config/erp.toml`` points.
    """
    from gateway.erp.demo import change_demo_erp, create_demo_erp
    from gateway.erp.snapshot import erp_snapshot_for

    path = gateway.settings.path("var") / DEMO_ERP_FILE
    made = create_demo_erp(path)
    refresher = refresher_for(gateway, demo_erp_settings(gateway, path))
    try:
        first = refresher.full()
        changes = change_demo_erp(path)
        second = refresher.incremental()
        third = refresher.reconcile()
    finally:
        refresher.source.close()
    lines = [
        f"demo ERP {path.name}: {made.customers} customers, {made.orders} orders, "
        f"{made.invoices} invoices",
        f"ERP refresh 1, {first.describe()}",
        f"ERP changes: {changes.describe()}",
        f"ERP refresh 2, {second.describe()}",
        f"ERP refresh 3, {third.describe()}",
    ]
    shown = erp_snapshot_for(gateway.engine, ("erp", changes.new_order_for))
    if shown is not None:
        s = shown.summary
        lines.append(
            f"ERP figures of erp/{changes.new_order_for}: credit {s.credit_status.value}, "
            f"{s.order_count} orders, lifetime {s.lifetime_value} {s.currency}, balance "
            f"{s.balance} {s.currency}, as of {s.as_of:%Y-%m-%d %H:%M:%S} UTC"
        )
    return "\n".join(lines)
