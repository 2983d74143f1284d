"""Errors of the partner exchange, in the gateway's one family (each with a stable code)."""

from __future__ import annotations

from gateway.errors import GatewayError


class BadRequestError(GatewayError):
    """A well-formed, valid envelope that asks something the exchange does not do (an ``ack``
    sent as a request, GetProfile without a profile id or identifier). HTTP 400."""

    code = "bad_request"


class RateLimitedError(GatewayError):
    """The partner sent more requests than its ``rate_limit`` allows (HTTP 429)."""

    code = "rate_limited"

    def __init__(
        self, partner: str, requests: int, per_seconds: int, *, retry_after: int = 1
    ) -> None:
        self.partner = partner
        self.retry_after = retry_after  # seconds until a request fits again
        super().__init__(
            f"partner '{partner}' is over its rate limit of {requests} requests in "
            f"{per_seconds} s: retry later"
        )


class LoginThrottledError(RateLimitedError):
    """Too many failed password logins lately, for a login name or from an address (429)."""

    code = "login_throttled"

    def __init__(self, what: str, failures: int, per_seconds: int, retry_after: int) -> None:
        self.partner = ""
        self.retry_after = retry_after
        GatewayError.__init__(
            self,
            f"too many failed sign-ins for {what} ({failures} in {per_seconds} s): retry in "
            f"{retry_after} s",
        )
