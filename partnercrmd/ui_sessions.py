"""Sessions of the configuration pages: one-time login tokens, the sessions they start and their anti-forgery tokens.

Kept in memory: a restart logs everyone out.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field

from aiohttp import web

from .errors import Forbidden

LOGIN_TTL = 120.0
SESSION_TTL = 12 * 3600.0
SESSION_COOKIE = "partnercrmd_session"


@dataclass
class UiSessions:
    """One-time login tokens and the sessions they start (in memory: a restart logs everyone out)."""

    logins: dict[str, float] = field(default_factory=dict)
    sessions: dict[str, tuple[float, str]] = field(default_factory=dict)
    """session id → (expiry, anti-forgery token)."""

    def new_login(self) -> str:
        token = secrets.token_urlsafe(32)
        now = time.monotonic()
        self.logins = {t: exp for t, exp in self.logins.items() if exp > now}
        self.logins[token] = now + LOGIN_TTL
        return token

    def discard_login(self, token: str) -> None:
        """Forget a login token no one will use (the window it was for could not be shown)."""
        self.logins.pop(token, None)

    def redeem(self, token: str) -> str:
        expiry = self.logins.pop(token, 0.0)
        if expiry < time.monotonic():
            raise Forbidden("This link has expired or was used already; open the window again from your phone client.")
        session = secrets.token_urlsafe(32)
        self.sessions[session] = (time.monotonic() + SESSION_TTL, secrets.token_urlsafe(24))
        return session

    def csrf(self, request: web.Request) -> str:
        session = self.sessions.get(request.cookies.get(SESSION_COOKIE, ""))
        if session is None or session[0] < time.monotonic():
            raise Forbidden(
                "Please open this window from your phone client, or run `partnercrmd ui` in a terminal.",
                code="no_session",
            )
        return session[1]
