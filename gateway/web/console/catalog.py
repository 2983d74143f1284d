"""Data dictionary: :func:`gateway.catalog.build_catalog` over the live mappings and partner
files, as ``cpex-gateway catalog`` prints it; ``field`` narrows it to fields whose path holds it,
``partner`` to what one partner receives."""

from __future__ import annotations

from flask import current_app, render_template, request

from gateway.catalog import build_catalog
from gateway.partners.registry import load_partners, partners_dir
from gateway.web.console.auth import page
from gateway.web.console.blueprint import bp
from gateway.web.context import gateway_of


@bp.get("/catalog")
@page
def catalog() -> str:
    """Every canonical field: category, what writes and reads it, who may receive it."""
    gateway = gateway_of(current_app)
    built = build_catalog(gateway.mappings, load_partners(partners_dir(gateway.settings)))
    wanted = request.args.get("field", "").strip().lower()
    partner = request.args.get("partner", "").strip()
    fields = [
        f
        for f in built.fields
        if wanted in f.path.lower()
        and (not partner or any(r.partner == partner for r in f.received_by))
    ]
    return render_template(
        "catalog.html", fields=fields, partners=built.partners, wanted=wanted, partner=partner
    )
