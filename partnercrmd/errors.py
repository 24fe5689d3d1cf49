"""The one error hierarchy of partnercrmd.

Every error a user or client can see carries a stable `code` (for programs)
and a human `message` (for people). The API turns these into
`{"Message": ..., "Code": ...}` with `status`, in one place (api/middleware.py).
"""

from __future__ import annotations


class PartnerError(Exception):
    """Base of every error partnercrmd reports to a client or user."""

    status = 500
    code = "internal_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class BadRequest(PartnerError):
    status = 400
    code = "bad_request"


class Unauthorized(PartnerError):
    status = 401
    code = "unauthorized"


class PaymentRequired(PartnerError):
    """The user has no valid licence for this (Search, DoAction)."""

    status = 402
    code = "unlicensed"


class Forbidden(PartnerError):
    status = 403
    code = "forbidden"


class NotFound(PartnerError):
    status = 404
    code = "not_found"


class Conflict(PartnerError):
    status = 409
    code = "conflict"


class Unsupported(PartnerError):
    """The address book cannot do this (no such capability)."""

    status = 422
    code = "unsupported"


class TooManyRequests(PartnerError):
    status = 429
    code = "rate_limited"


class AddinError(PartnerError):
    """An add-in failed in a way it understands: use the stable keys
    `cannot_connect`, `invalid_auth`, `timeout`, `invalid_data`, `not_found`, `unknown`, and
    `sign_in_required` (`SIGN_IN_REQUIRED`: the user's sign-in was revoked or expired for good; only the
    user signing in again cures it, so the book's status becomes "Sign in again")."""

    status = 502
    code = "unknown"


SIGN_IN_REQUIRED = "sign_in_required"
"""The `AddinError` key of a grant the user must renew by signing in again (OAuth `invalid_grant`)."""


class ConfigError(PartnerError):
    """A configuration value is missing or wrong (CLI, UI, add-in settings)."""

    status = 400
    code = "invalid_config"
