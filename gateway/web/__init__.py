"""The Flask app factory: one blueprint per surface, every endpoint with an access rule."""

from __future__ import annotations

from flask import Flask

from gateway.config import Settings, load_settings
from gateway.log_setup import configure_logging
from gateway.mapping_watch import watch_mappings
from gateway.runtime import Gateway
from gateway.web import (
    access,
    body,
    console,
    deliveries,
    disclosures,
    erasure_requests,
    errors,
    exchange,
    health,
    history,
    jobs,
    mappings,
    metrics,
    openapi,
    privacy_rights,
    profiles,
    quarantine,
    requestlog,
    requests,
    review,
    soap,
    tracing,
    uploads,
)
from gateway.web.access import check_rules
from gateway.web.context import EXTENSION


def create_app(settings: Settings | None = None, *, gateway: Gateway | None = None) -> Flask:
    """Build the app. Starts no scheduler and opens no connection until a request needs one.

    Without a gateway (``gunicorn 'gateway.web:create_app()'``) it also sets up logging from the
    settings and watches the mapping files (a save through another worker runs here too); a
    caller that passes its gateway does both itself.
    """
    if gateway is None:
        gateway = Gateway(settings or load_settings())
        configure_logging(gateway.settings.logging)
        watch_mappings(gateway.mapping_admin)
    app = Flask("gateway", static_folder=None)
    # One above the limit: read_body (gateway/web/body.py) must see the byte that is too many.
    app.config["MAX_CONTENT_LENGTH"] = gateway.settings.server.max_body_bytes + 1
    app.extensions[EXTENSION] = gateway
    requestlog.init_app(app)
    tracing.init_app(app)
    errors.init_app(app)
    access.init_app(app)
    body.init_app(app)  # after the access check: bodies of callers let in
    requests.init_app(app)  # before the blueprints: it bounds their <int:...> rules
    app.register_blueprint(health.bp)
    app.register_blueprint(metrics.bp)
    app.register_blueprint(profiles.bp)
    app.register_blueprint(review.bp)
    app.register_blueprint(quarantine.bp)
    app.register_blueprint(openapi.bp)
    app.register_blueprint(mappings.bp)
    app.register_blueprint(jobs.bp)
    app.register_blueprint(disclosures.bp)
    app.register_blueprint(history.bp)
    app.register_blueprint(deliveries.bp)
    app.register_blueprint(privacy_rights.bp)
    app.register_blueprint(erasure_requests.bp)
    app.register_blueprint(exchange.bp)
    app.register_blueprint(uploads.bp)
    app.register_blueprint(soap.bp)
    app.register_blueprint(console.bp)
    app.register_blueprint(console.root)
    check_rules(app)
    return app
