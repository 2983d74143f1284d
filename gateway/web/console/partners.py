"""Partners: each partner's settings, keys (issue, rotate, revoke; a new key is shown once),
deliveries and dead letters with their error (retry, replay, retry every dead letter).

Keys are :class:`gateway.security.credentials.CredentialStore`'s (as ``cpex-gateway partners
add-key`` and ``keys rotate|revoke``), deliveries :mod:`gateway.delivery`'s (as
``/api/v1/deliveries``), partners the registry of ``config/partners/``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Response, current_app, render_template, request

from gateway.delivery import (
    DeliveryStateError,
    list_deliveries,
    replay_delivery,
    retry_delivery,
)
from gateway.delivery.records import STATUSES
from gateway.errors import NotFoundError
from gateway.monitoring import read_figures
from gateway.partners.registry import PartnerRegistry, load_partners, partners_dir
from gateway.partners.spec import PartnerSpec
from gateway.security.credentials import CredentialStore, IssuedKey, KeyRecord, Role
from gateway.web.console.auth import audited, done, page
from gateway.web.console.blueprint import bp
from gateway.web.context import gateway_of

ROTATION_OVERLAP = timedelta(days=7)  # as ``keys rotate`` by default
PAGE = 100
RETRY_ALL_LIMIT = 500


def _registry() -> PartnerRegistry:
    return load_partners(partners_dir(gateway_of(current_app).settings))


def _partner(partner_id: str) -> PartnerSpec:
    partner = _registry().find(partner_id)
    if partner is None:
        raise NotFoundError("partner", partner_id)
    return partner


def _keys(partner_id: str) -> list[KeyRecord]:
    store = CredentialStore(gateway_of(current_app).engine)
    return [k for k in store.list() if k.principal.partner_id == partner_id]


@bp.get("/partners")
@page
def partners() -> str:
    """Every registered partner with its channels, active keys and deliveries by state."""
    gateway = gateway_of(current_app)
    now = datetime.now(UTC)
    counts: dict[str, dict[str, int]] = {}
    for gauge in read_figures(gateway.engine, now):
        if gauge.name == "deliveries":
            for (partner, status), value in gauge.samples:
                counts.setdefault(partner, {})[status] = int(value)
    keys = CredentialStore(gateway.engine).list()
    active = {
        p.id: sum(1 for k in keys if k.principal.partner_id == p.id and k.status(now) == "active")
        for p in _registry()
    }
    return render_template(
        "partners.html", partners=list(_registry()), counts=counts, active=active
    )


@bp.get("/partners/<partner_id>")
@page
def partner(partner_id: str, issued: IssuedKey | None = None) -> str:
    """One partner: settings, keys, deliveries (``status`` narrows them)."""
    spec = _partner(partner_id)
    status = request.args.get("status") or None
    if status not in (None, *STATUSES):
        status = None
    deliveries = list_deliveries(
        gateway_of(current_app).engine, status=status, partner=partner_id, limit=PAGE
    )
    return render_template(
        "partner.html",
        partner=spec,
        keys=_keys(partner_id),
        deliveries=deliveries,
        status=status or "",
        statuses=STATUSES,
        issued=issued,
        now=datetime.now(UTC),
    )


@bp.post("/partners/<partner_id>/keys")
@page
def partner_key_issue(partner_id: str) -> str:
    spec = _partner(partner_id)
    issued = CredentialStore(gateway_of(current_app).engine).issue(
        f"{spec.id} key", Role.PARTNER, partner_id=spec.id
    )
    audited("partner.key_issue", partner=spec.id, new_key_id=issued.principal.key_id)
    return partner(partner_id, issued=issued)


@bp.post("/partners/<partner_id>/keys/<key_id>/rotate")
@page
def partner_key_rotate(partner_id: str, key_id: str) -> str:
    _own_key(partner_id, key_id)
    issued = CredentialStore(gateway_of(current_app).engine).rotate(
        key_id, overlap=ROTATION_OVERLAP
    )
    audited(
        "partner.key_rotate", partner=partner_id, key=key_id, new_key_id=issued.principal.key_id
    )
    return partner(partner_id, issued=issued)


@bp.post("/partners/<partner_id>/keys/<key_id>/revoke")
@page
def partner_key_revoke(partner_id: str, key_id: str) -> Response:
    _own_key(partner_id, key_id)
    CredentialStore(gateway_of(current_app).engine).revoke(key_id)
    audited("partner.key_revoke", partner=partner_id, key=key_id)
    return done(f"/console/partners/{partner_id}", f"key {key_id} revoked")


@bp.post("/deliveries/<int:delivery_id>/retry")
@page
def delivery_retry(delivery_id: int) -> Response:
    engine = gateway_of(current_app).engine
    sent = retry_delivery(engine, delivery_id, datetime.now(UTC))
    audited("delivery.retry", delivery=delivery_id, partner=sent.partner)
    return done(
        f"/console/partners/{sent.partner}",
        f"delivery {delivery_id} queued again (same message id)",
    )


@bp.post("/deliveries/<int:delivery_id>/replay")
@page
def delivery_replay(delivery_id: int) -> Response:
    engine = gateway_of(current_app).engine
    copy = replay_delivery(engine, delivery_id, datetime.now(UTC))
    audited("delivery.replay", delivery=delivery_id, partner=copy.partner, new=copy.id)
    return done(
        f"/console/partners/{copy.partner}",
        f"delivery {delivery_id} replayed as delivery {copy.id} (new message id)",
    )


@bp.post("/partners/<partner_id>/retry-dead")
@page
def partner_retry_dead(partner_id: str) -> Response:
    """Send every dead letter of the partner again."""
    _partner(partner_id)
    engine = gateway_of(current_app).engine
    now = datetime.now(UTC)
    retried = 0
    for dead in list_deliveries(engine, status="dead", partner=partner_id, limit=RETRY_ALL_LIMIT):
        try:
            retry_delivery(engine, dead.id, now)
        except DeliveryStateError:  # retried meanwhile by someone else
            continue
        retried += 1
    audited("delivery.retry_dead", partner=partner_id, retried=retried)
    return done(f"/console/partners/{partner_id}", f"{retried} dead letters queued again")


def _own_key(partner_id: str, key_id: str) -> None:
    """A key is changed only through its own partner's page."""
    if not any(k.principal.key_id == key_id for k in _keys(partner_id)):
        raise NotFoundError(f"key of partner {partner_id}", key_id)
