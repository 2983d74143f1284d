"""``cpex-gateway demo``: the quick start on embedded defaults.

Binds the port first (a busy port is refused before any work), migrates, imports the demo
batch, runs the demo ERP's refreshes, issues a fresh demo admin key (revoking the earlier one,
and saying so), starts the demo partner endpoints on loopback with the demo's own delivery
settings (short backoff), then serves with the jobs running in-process.
"""

from __future__ import annotations

import os

import click

from gateway.cli.context import CliState, pass_state
from gateway.cli.demo_partner import (
    ACCEPTING,
    FAILING,
    DemoPartners,
    demo_delivery_toml,
    start_demo_partners,
)
from gateway.cli.serving import bind, run_server, scheduler_option
from gateway.security.credentials import CredentialStore, IssuedKey, Role

DEMO_BATCH = "demo-batch.xml"
DEMO_KEY_NAME = "demo admin"
DEMO_DELIVERY_FILE = "demo-delivery.toml"
#: Phone numbers typed without ``+`` are read in this region in the demo: the demo company (its
#: ERP, ``gateway/erp/demo.py``) is German, and so are most of its customers' numbers.
DEMO_REGION = "DE"
REGION_ENV = "CPEX_IDENTITY_DEFAULT_REGION"
OUTCOMES = ("created", "updated", "merged", "unchanged", "review", "rejected")


def issue_demo_key(keys: CredentialStore) -> tuple[IssuedKey, int]:
    """A fresh admin key for the demo, and how many earlier demo keys were revoked (one demo key
    at a time: the one printed last); keys with other names are left alone."""
    revoked = 0
    for earlier in keys.list():
        if earlier.principal.name == DEMO_KEY_NAME and earlier.revoked_at is None:
            keys.revoke(earlier.principal.key_id)
            revoked += 1
    return keys.issue(DEMO_KEY_NAME, Role.ADMIN), revoked


@click.command()
@click.option("--host", default=None, help="Interface to listen on (default from config).")
@click.option("--port", type=int, default=None, help="Port (default from config).")
@scheduler_option
@pass_state
def demo(state: CliState, host: str | None, port: int | None, with_scheduler: bool | None) -> None:
    """Quick start on embedded defaults: migrate, import the demo batch, refresh the demo ERP
    into the CRM base, deliver to the demo partners, then serve."""
    from gateway.delivery.settings import DELIVERY_CONFIG_ENV
    from gateway.erp.service import run_demo_erp
    from gateway.importer import import_batch
    from gateway.store.migrate import upgrade

    if not os.environ.get(REGION_ENV):
        state.overrides["identity.default_region"] = DEMO_REGION
    bound = bind(state, host, port)
    partners: DemoPartners | None = None
    try:
        gateway = state.gateway
        batch = gateway.settings.path("schemas") / "examples" / DEMO_BATCH
        if not batch.is_file():
            raise click.ClickException(
                f"the demo batch is not at {batch}: run the demo from the CPEX Gateway checkout, "
                "or point --config at its config/gateway.toml"
            )
        upgrade(gateway.engine)
        report = import_batch(gateway, batch)
        counts = report.counts
        click.echo(f"database: {gateway.engine.url.render_as_string(hide_password=True)}; phone "
                   f"numbers without + are read as {gateway.settings.identity.default_region} "
                   f"numbers (${REGION_ENV} to change)")
        click.echo(
            f"demo import of {batch.name}: {len(report.outcomes)} records, "
            + ", ".join(f"{counts[k]} {k}" for k in OUTCOMES)
        )
        click.echo(run_demo_erp(gateway))
        issued, revoked = issue_demo_key(CredentialStore(gateway.engine))
        if revoked:
            click.echo(
                f"earlier demo admin key{'s' if revoked > 1 else ''} revoked: {revoked} "
                "(other keys are left alone)"
            )
        click.echo(f"demo admin key (shown once): {issued.token}")
        click.echo(
            f'try:  curl -H "Authorization: Bearer {issued.token}" {bound.base_url}/api/v1/profiles'
        )
        click.echo(f"admin console: {bound.base_url}/console/  (sign in with the key above)")
        if os.environ.get(DELIVERY_CONFIG_ENV):
            click.echo(
                f"deliveries: as {os.environ[DELIVERY_CONFIG_ENV]} says "
                f"(${DELIVERY_CONFIG_ENV}); no demo partner endpoint"
            )
        else:
            partners = start_demo_partners(click.echo)
            settings_file = gateway.settings.path("var") / DEMO_DELIVERY_FILE
            settings_file.parent.mkdir(parents=True, exist_ok=True)
            settings_file.write_text(demo_delivery_toml(partners), encoding="utf-8")
            os.environ[DELIVERY_CONFIG_ENV] = str(settings_file)  # this process's dispatcher
            click.echo(
                f"demo partners on {partners.base_url}: {ACCEPTING} receives deliveries, "
                f"{FAILING} is down (its deliveries become dead letters within a "
                f"minute); delivery settings: {settings_file}"
            )
            click.echo(
                f'watch:  curl -H "Authorization: Bearer {issued.token}" '
                f"{bound.base_url}/api/v1/deliveries"
            )
    except BaseException:
        bound.server.close()
        if partners is not None:
            partners.close()
        raise
    run_server(state, bound, with_scheduler, on_stop=partners.close if partners else None)
