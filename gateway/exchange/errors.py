"""Errors of the partner exchange, in the gateway's one family (each with a stable code)."""

from __future__ import annotations

from gateway.errors import GatewayError, TooManyRequestsError


class BadRequestError(GatewayError):
    """A well-formed, valid envelope that asks something the exchange does not do (an ``ack``
    sent as a request, GetProfile without a profile id or identifier). HTTP 400."""

    code = "bad_request"


class RateLimitedError(TooManyRequestsError):
    """The partner sent more requests than its ``rate_limit`` allows (HTTP 429)."""

    def __init__(
        self, partner: str, requests: int, per_seconds: int, *, retry_after: int = 1
    ) -> None:
        self.partner = partner
        super().__init__(
            f"partner '{partner}' is over its rate limit of {requests} requests in "
            f"{per_seconds} s: retry later",
            retry_after=retry_after,
        )


class LoginThrottledError(RateLimitedError):
    """Too many failed password logins lately, for a login name or from an address (429)."""

    code = "login_throttled"

    def __init__(self, what: str, failures: int, per_seconds: int, retry_after: int) -> None:
        self.partner = ""
        TooManyRequestsError.__init__(
            self,
            f"too many failed sign-ins for {what} ({failures} in {per_seconds} s): retry in "
            f"{retry_after} s",
            retry_after=retry_after,
        )
