"""The inbound partner exchange (upsert, query, erase), shared by the REST and SOAP endpoints."""

from gateway.exchange.errors import BadRequestError, RateLimitedError
from gateway.exchange.ratelimit import RateLimiter
from gateway.exchange.service import ExchangeService, Request

__all__ = ["BadRequestError", "ExchangeService", "RateLimitedError", "RateLimiter", "Request"]
