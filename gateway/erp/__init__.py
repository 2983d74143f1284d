"""The ERP snapshot in the CRM base and the refresh that fills it.

CRM reads never query the ERP: scheduled extractions (``scheduler``) pull changed customers
through a connector (``connectors``) into ``erp_customer``, and reads use
:func:`erp_snapshot_for`, which answers with the figures' extraction time and age.
"""

from gateway.erp.refresh import (
    ColumnSummaryMapper,
    ErpRefresher,
    MappingSummaryMapper,
    RefreshResult,
    SummaryMapper,
)
from gateway.erp.service import refresher_for, run_demo_erp
from gateway.erp.settings import ErpSettings, load_erp_settings
from gateway.erp.snapshot import ErpSnapshot, SnapshotRow, SnapshotStore, erp_snapshot_for

__all__ = [
    "ColumnSummaryMapper", "ErpRefresher", "ErpSettings", "ErpSnapshot", "MappingSummaryMapper",
    "RefreshResult", "SnapshotRow", "SnapshotStore", "SummaryMapper", "erp_snapshot_for",
    "load_erp_settings", "refresher_for", "run_demo_erp",
]
