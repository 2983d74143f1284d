"""Why a delivery attempt failed: one error type whose fields say whether a retry can help.

Messages name the partner, the delivery and the HTTP status or transport problem, never the
payload or the partner's answer body (either may hold personal data).
"""

from __future__ import annotations

from gateway.errors import ConflictError, GatewayError


class DeliveryError(GatewayError):
    """One attempt to send a delivery failed.

    ``retryable`` is False when sending the same bytes again cannot succeed (the partner refused
    the document with a 4xx other than 408/425/429, or it cannot be built or validated): such a
    delivery goes to the dead letter at once, to be replayed after the cause is fixed.
    """

    code = "delivery_failed"

    def __init__(
        self,
        reason: str,
        *,
        partner: str,
        retryable: bool,
        status_code: int | None = None,
    ) -> None:
        self.reason = reason
        self.partner = partner
        self.retryable = retryable
        self.status_code = status_code
        status = f" (HTTP {status_code})" if status_code is not None else ""
        super().__init__(f"partner '{partner}'{status}: {reason}")

    def to_dict(self) -> dict[str, object]:
        return {**super().to_dict(), "partner": self.partner, "retryable": self.retryable,
                "status_code": self.status_code}


class DeliveryStateError(ConflictError):
    """An admin action does not fit the delivery's status (retry a delivered one, say)."""

    code = "delivery_state"
