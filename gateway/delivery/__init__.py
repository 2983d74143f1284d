"""Outbound delivery: outbox events become partner deliveries, sent with retries, audited.

The path: :mod:`.fanout` (event -> one delivery per entitled partner, :mod:`.routing` decides)
-> :mod:`.sender` (claim, build with :mod:`.payload`, send with :mod:`.transports`, record) with
:mod:`.backoff` between failed attempts and a dead letter after the last; :mod:`.records` is the
admin face (list, retry, replay); :mod:`.notices` writes the opt-out and erasure events;
:mod:`.rights` serves a person's right of access and erasure; :mod:`.dispatcher` runs it all.
"""

from gateway.delivery.dispatcher import Dispatcher, RoundResult
from gateway.delivery.errors import DeliveryError, DeliveryStateError
from gateway.delivery.records import (
    Delivery,
    get_delivery,
    list_deliveries,
    replay_delivery,
    retry_delivery,
)
from gateway.delivery.routing import DeliveryKind
from gateway.delivery.settings import DeliverySettings, load_delivery_settings

__all__ = [
    "Delivery",
    "DeliveryError",
    "DeliveryKind",
    "DeliverySettings",
    "DeliveryStateError",
    "Dispatcher",
    "RoundResult",
    "get_delivery",
    "list_deliveries",
    "load_delivery_settings",
    "replay_delivery",
    "retry_delivery",
]
