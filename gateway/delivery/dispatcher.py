"""The dispatcher: fan-out then send, round after round; one per process, any number per database.

:meth:`Dispatcher.run_once` is what the ``outbox_dispatch`` job runs every few seconds inside
``serve`` (SQLite); ``cpex-gateway dispatcher`` runs :meth:`Dispatcher.run` in worker
processes on PostgreSQL, where ``SKIP LOCKED`` shares the rows between them.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from gateway.delivery.fanout import FanOutResult, fan_out
from gateway.delivery.payload import PayloadBuilder
from gateway.delivery.sender import Sender, SendResult
from gateway.delivery.settings import DeliverySettings, load_delivery_settings
from gateway.delivery.transports import Transport, Transports
from gateway.partners.registry import PartnerRegistry, load_partners, partners_dir
from gateway.runtime import Gateway

log = logging.getLogger(__name__)

#: Fan-out rounds per :meth:`Dispatcher.run_once` at most (each takes ``batch`` events).
MAX_FANOUT_ROUNDS = 20


def dispatcher_name() -> str:
    """host:pid:random — who holds a lease, readable in the delivery rows."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass(frozen=True, slots=True)
class RoundResult:
    fanned_out: FanOutResult
    sent: SendResult

    @property
    def busy(self) -> bool:
        """Whether the round found work (so the next should start without waiting)."""
        return bool(self.fanned_out.events or self.sent.claimed)


class Dispatcher:
    def __init__(
        self,
        gateway: Gateway,
        *,
        partners: PartnerRegistry | None = None,
        settings: DeliverySettings | None = None,
        transport: Transport | None = None,
        owner: str | None = None,
    ) -> None:
        self.gateway = gateway
        self.partners = partners or load_partners(partners_dir(gateway.settings))
        self.settings = settings or load_delivery_settings(gateway.settings)
        self.owner = owner or dispatcher_name()
        self._transports = transport or Transports(
            self.settings, Path(gateway.settings.path("schemas"))
        )
        builder = PayloadBuilder(gateway.schemas, gateway.mappings, self.settings.sender)
        self.sender = Sender(gateway.engine, self.partners, self.settings, builder,
                             self._transports, owner=self.owner,
                             consent_sources=gateway.settings.privacy.trusted_consent_sources)

    def run_once(self, now: datetime | None = None) -> RoundResult:
        """Route every due event (bounded), then send one batch of due deliveries."""
        total = FanOutResult()
        for _ in range(MAX_FANOUT_ROUNDS):
            result = fan_out(self.gateway.engine, list(self.partners), self.settings,
                             owner=self.owner, now=now or datetime.now(UTC),
                             consent_sources=self.gateway.settings.privacy.trusted_consent_sources)
            total = FanOutResult(total.events + result.events,
                                 total.deliveries + result.deliveries,
                                 total.failed + result.failed)
            if result.events < self.settings.batch:
                break
        sent = self.sender.send_due(now or datetime.now(UTC))
        return RoundResult(total, sent)

    def run(self, stop: threading.Event, *, max_seconds: float | None = None,
            idle_seconds: float = 1.0, exit_when_idle: bool = False) -> None:
        """Rounds until ``stop`` is set (or ``max_seconds`` have passed, or with
        ``exit_when_idle`` a round found nothing due); waits ``idle_seconds`` after a round that
        found nothing. A failing round is logged and the loop goes on."""
        deadline = time.monotonic() + max_seconds if max_seconds is not None else None
        while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
            try:
                busy = self.run_once().busy
            except Exception:
                log.exception("dispatcher %s: round failed", self.owner)
                busy = False
            if not busy and exit_when_idle:
                return
            if not busy:
                stop.wait(idle_seconds if deadline is None
                          else max(0.0, min(idle_seconds, deadline - time.monotonic())))

    def close(self) -> None:
        close = getattr(self._transports, "close", None)
        if close is not None:
            close()
