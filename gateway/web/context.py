"""Where the Flask app keeps its :class:`~gateway.runtime.Gateway`."""

from __future__ import annotations

from flask import Flask

from gateway.runtime import Gateway

EXTENSION = "cpex"


def gateway_of(app: Flask) -> Gateway:
    gateway: Gateway = app.extensions[EXTENSION]
    return gateway
